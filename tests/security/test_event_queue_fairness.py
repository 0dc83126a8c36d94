"""Item 9: one account's asynchronous backlog neither delays another account's events nor grows
without bound. Replayed through boto3 against a real server, on both backend pairs."""

from __future__ import annotations

import signal
import time

import pytest
from sqlalchemy import func, select

from registry.models import Function, FunctionEvent
from tests.support.functions import create, handler_zip
from tests.support.server import StrataServer, backend_env

QUEUE_BOUND = 12
SLOW = handler_zip(
    "import time\n\ndef handler(event, context):\n    time.sleep(3)\n    return 'slow'\n"
)
QUICK = handler_zip("def handler(event, context):\n    return 'quick'\n")


@pytest.fixture(scope="module", params=["sqlite-fs", "pg-s3"])
def server(request, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp(f"fair-{request.param}")
    env = {
        **backend_env(request.param, data_dir, request),
        "STRATA_EVENT_QUEUE_MAX_PER_ACCOUNT": str(QUEUE_BOUND),
    }
    server = StrataServer(data_dir=data_dir, env=env)
    server.start()
    try:
        yield server
    finally:
        server.stop(signal.SIGKILL)  # backlogs left running die with it


def send_event(lam, name: str, payload: bytes = b"{}") -> str:
    response = lam.invoke(FunctionName=name, InvocationType="Event", Payload=payload)
    assert response["StatusCode"] == 202
    return response["ResponseMetadata"]["RequestId"]


def event_row(server, request_id: str) -> FunctionEvent | None:
    with server.db.read() as session:
        return session.scalar(select(FunctionEvent).where(FunctionEvent.request_id == request_id))


def pending_of(server, account_id: str) -> int:
    with server.db.read() as session:
        return session.scalar(
            select(func.count())
            .select_from(FunctionEvent)
            .join(Function, Function.id == FunctionEvent.function_id)
            .where(Function.account_id == account_id, FunctionEvent.status == "pending")
        )


def events_of(server, account_id: str) -> int:
    with server.db.read() as session:
        return session.scalar(
            select(func.count())
            .select_from(FunctionEvent)
            .join(Function, Function.id == FunctionEvent.function_id)
            .where(Function.account_id == account_id)
        )


def test_event_backlog_of_one_account__does_not_delay_another_accounts_event(server):
    noisy_account, other_account = server.new_account(), server.new_account()
    noisy, other = server.client(noisy_account), server.client(other_account)
    create(noisy, "backlog", SLOW, Timeout=10)
    create(other, "punctual", QUICK)
    # The backlog: as many 3 s events as the account may queue, far more than the server has
    # event workers (2 app processes x 3), so first-come-first-served would keep the other
    # account's event waiting for three rounds (~9 s).
    for n in range(QUEUE_BOUND):
        send_event(noisy, "backlog", b'{"n": %d}' % n)
    time.sleep(0.5)  # the backlog's first events are running

    sent = time.monotonic()
    request_id = send_event(other, "punctual")
    claimed_after = None
    deadline = sent + 20
    while time.monotonic() < deadline:
        row = event_row(server, request_id)
        if claimed_after is None and (row.lease_owner is not None or row.status != "pending"):
            claimed_after = time.monotonic() - sent
            backlog_left = pending_of(server, noisy_account.account_id)
        if row.status != "pending":
            break
        time.sleep(0.05)
    assert row.status == "succeeded", server.log()[-3000:]
    assert claimed_after is not None and claimed_after < 2.0, f"waited {claimed_after} s"
    assert time.monotonic() - sent < 10.0  # and it ran, not merely leased
    assert backlog_left >= QUEUE_BOUND - 6  # it overtook the backlog: most of it still waits


def test_event_flood__past_the_account_bound_is_throttled_and_nothing_more_is_stored(server):
    flooder_account, bystander_account = server.new_account(), server.new_account()
    flooder, bystander = server.client(flooder_account), server.client(bystander_account)
    create(flooder, "flood", SLOW, Timeout=10)
    create(bystander, "unaffected", QUICK)
    big = b'{"pad": "' + b"x" * 200_000 + b'"}'
    for _ in range(QUEUE_BOUND):
        send_event(flooder, "flood", big)

    for _ in range(3):  # every further event is refused, as a throttle a client may retry
        with pytest.raises(flooder.exceptions.TooManyRequestsException) as refused:
            flooder.invoke(FunctionName="flood", InvocationType="Event", Payload=big)
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
        assert f"({QUEUE_BOUND})" in refused.value.response["Error"]["Message"]
    assert events_of(server, flooder_account.account_id) == QUEUE_BOUND  # nothing more stored

    # Another account's queue is its own: accepted and run.
    request_id = send_event(bystander, "unaffected")
    deadline = time.monotonic() + 20
    while event_row(server, request_id).status == "pending":
        assert time.monotonic() < deadline, server.log()[-3000:]
        time.sleep(0.1)
    assert event_row(server, request_id).status == "succeeded"
    # The flooder's synchronous invocations are not part of the bound.
    assert flooder.invoke(FunctionName="flood", InvocationType="DryRun")["StatusCode"] == 204
