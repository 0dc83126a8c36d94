"""Item 8 replayed through boto3 against a real `strata serve`: what a handler leaves running gets
no CPU between invocations, and one account cannot hold more execution environments than its
bound (STRATA_ACCOUNT_MAX_ENVIRONMENTS)."""

from __future__ import annotations

import json
import threading
import time

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import select

from registry.models import FunctionEvent
from tests.support import require_service
from tests.support.cpu import SPINNER_SOURCE, cpu_seconds_of_uid, pids_of_uid
from tests.support.functions import create, handler_zip
from tests.support.server import StrataServer, backend_env

BOUND = 2

SPINNER = handler_zip(SPINNER_SOURCE)


@pytest.fixture(scope="module")
def server(tmp_path_factory, request):
    """One app process (every invocation meets the same warm pool) with a small account bound."""
    import os

    require_service(os.geteuid() == 0, "the executor's freezer and uid drop need root")
    data_dir = tmp_path_factory.mktemp("strata-limits")
    env = {
        **backend_env("sqlite-fs", data_dir, request),
        "STRATA_ACCOUNT_MAX_ENVIRONMENTS": str(BOUND),
    }
    server = StrataServer(data_dir=data_dir, env=env)
    server.start("--workers", "1")
    try:
        yield server
    finally:
        server.stop()


def _client(server):
    return server.client(server.new_account())


def _invoke(lam, name: str, event: dict) -> dict:
    response = lam.invoke(FunctionName=name, Payload=json.dumps(event).encode())
    assert "FunctionError" not in response, response["Payload"].read()
    return json.loads(response["Payload"].read())


def _cpu_over(uid: int, seconds: float) -> float:
    before = cpu_seconds_of_uid(uid)
    time.sleep(seconds)
    return cpu_seconds_of_uid(uid) - before


def test_handler_forks_detached_busy_loop__gets_no_cpu_between_invocations(server):
    lam = _client(server)
    # One vCPU's worth of memory, so the loop gets a fair share of a busy test machine when it runs.
    create(lam, "spinner", SPINNER, MemorySize=1769)

    uid = _invoke(lam, "spinner", {"spin": True})["uid"]
    idle = _cpu_over(uid, 1.5)
    before = cpu_seconds_of_uid(uid)
    again = _invoke(lam, "spinner", {"sleep": 0.6})
    during = cpu_seconds_of_uid(uid) - before
    idle_again = _cpu_over(uid, 0.5)
    loop_alive = len(pids_of_uid(uid)) >= 2  # the runtime and the loop: frozen, not gone
    lam.delete_function(FunctionName="spinner")
    deadline = time.monotonic() + 5
    while pids_of_uid(uid) and time.monotonic() < deadline:
        time.sleep(0.05)

    assert loop_alive
    assert idle <= 0.03 and idle_again <= 0.03  # no host CPU while the environment is idle
    assert again["uid"] == uid and during >= 0.05  # it runs only while an invocation does
    assert pids_of_uid(uid) == []  # and goes with the environment


def test_account_invokes_many_functions_at_once__holds_no_more_environments_than_its_bound(server):
    lam, other = _client(server), _client(server)
    for name in ("busy-0", "busy-1", "busy-2"):
        create(lam, name, SPINNER)
    create(other, "elsewhere", SPINNER)
    answers: dict[str, dict] = {}

    def hold(name: str) -> None:
        answers[name] = _invoke(lam, name, {"sleep": 2.5})

    holders = [threading.Thread(target=hold, args=(f"busy-{i}",)) for i in range(BOUND)]
    for thread in holders:
        thread.start()
    time.sleep(1.2)  # both cold starts are done; both environments are busy

    with pytest.raises(ClientError) as refused:
        lam.invoke(FunctionName="busy-2", Payload=b"{}")
    throttled_event = lam.invoke(FunctionName="busy-2", InvocationType="Event", Payload=b"{}")
    event_id = throttled_event["ResponseMetadata"]["RequestId"]
    elsewhere = _invoke(other, "elsewhere", {})
    while_held = _event_when(server, event_id, lambda row: row.last_error is not None, 1.0)
    for thread in holders:
        thread.join()
    after = _invoke(lam, "busy-2", {})  # now idle ones of its other functions make room
    live = {
        uid for uid in {a["uid"] for a in answers.values()} | {after["uid"]} if pids_of_uid(uid)
    }

    error = refused.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert error["Error"]["Code"] == "TooManyRequestsException"
    assert error["Error"]["Message"] == "Rate Exceeded."
    assert error["Reason"] == "ConcurrentInvocationLimitExceeded"
    assert "uid" in elsewhere  # another account is not held back
    assert len(live) <= BOUND and after["uid"] in live
    # The throttled event is not lost nor charged an attempt: it runs once room is made.
    assert (while_held.status, while_held.attempts) == ("pending", 0)
    assert while_held.last_error == "Rate Exceeded."
    done = _event_when(server, event_id, lambda row: row.status != "pending", 15.0)
    assert (done.status, done.attempts) == ("succeeded", 1)


def _event_when(server, request_id: str, condition, timeout: float) -> FunctionEvent | None:
    deadline = time.monotonic() + timeout
    while True:
        with server.db.read() as session:
            row = session.scalar(
                select(FunctionEvent).where(FunctionEvent.request_id == request_id)
            )
        if (row is not None and condition(row)) or time.monotonic() > deadline:
            return row
        time.sleep(0.05)
