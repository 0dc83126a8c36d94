"""Asynchronous invocations: 202 at once, Lambda's retries, no accepted event lost to a restart."""

from __future__ import annotations

import signal
import time

import pytest
from sqlalchemy import select

from registry.models import FunctionEvent
from tests.support.functions import create, handler_zip
from tests.support.server import StrataServer, backend_env


def event_row(server, request_id: str) -> FunctionEvent | None:
    with server.db.read() as session:
        return session.scalar(select(FunctionEvent).where(FunctionEvent.request_id == request_id))


def wait_for_status(server, request_id: str, status: str, timeout: float) -> FunctionEvent:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = event_row(server, request_id)
        if row is not None and row.status == status:
            return row
        time.sleep(0.2)
    raise AssertionError(
        f"event {request_id} is {row and row.status}, not {status}:\n{server.log()[-3000:]}"
    )


def send_event(lam, name: str, payload: bytes = b"{}") -> str:
    response = lam.invoke(FunctionName=name, InvocationType="Event", Payload=payload)
    assert response["StatusCode"] == 202 and response["Payload"].read() == b""
    return response["ResponseMetadata"]["RequestId"]


def test_event__accepted_with_202_and_run_once(lam, strata_server):
    create(
        lam,
        "async-ok",
        handler_zip(
            "import time\n\ndef handler(event, context):\n    time.sleep(1)\n    return 'done'\n"
        ),
    )
    started = time.monotonic()
    request_id = send_event(lam, "async-ok")
    assert time.monotonic() - started < 0.9  # answered before the handler could finish
    row = wait_for_status(strata_server, request_id, "succeeded", 30)
    assert (row.attempts, row.last_error) == (1, None)


def test_event__function_error_is_retried_twice_with_growing_delays(lam, strata_server):
    create(
        lam,
        "async-fails",
        handler_zip("def handler(event, context):\n    raise RuntimeError('always')\n"),
    )
    started = time.monotonic()
    request_id = send_event(lam, "async-fails", b'{"try": 1}')
    row = wait_for_status(strata_server, request_id, "failed", 60)
    assert row.attempts == 3
    assert "always" in row.last_error
    assert time.monotonic() - started >= 3  # 1 s, then 2 s between the attempts


@pytest.fixture
def own_server(tmp_path, request):
    server = StrataServer(data_dir=tmp_path, env=backend_env("sqlite-fs", tmp_path, request))
    server.start()
    yield server
    server.stop(signal.SIGKILL)


def test_event__accepted_events_survive_a_server_killed_midway(own_server):
    lam = own_server.client(own_server.new_account())
    create(
        lam,
        "durable",
        handler_zip(
            "import time\n\ndef handler(event, context):\n    time.sleep(2)\n    return 'done'\n"
        ),
    )
    running = send_event(lam, "durable", b'{"n": 1}')
    queued = [send_event(lam, "durable", b'{"n": %d}' % n) for n in range(2, 6)]
    deadline = time.monotonic() + 10
    while event_row(own_server, running).lease_owner is None:
        assert time.monotonic() < deadline, own_server.log()
        time.sleep(0.05)

    own_server.stop(signal.SIGKILL)  # master and workers, mid-invocation
    assert event_row(own_server, running).status == "pending"
    own_server.start()
    for request_id in [running, *queued]:
        assert wait_for_status(own_server, request_id, "succeeded", 60).attempts == 1


@pytest.fixture
def unsandboxable_server(tmp_path, request):
    """A server told to require strict isolation on a host without the cgroups it needs."""
    env = {
        **backend_env("sqlite-fs", tmp_path, request),
        "STRATA_EXECUTOR_ISOLATION": "strict",
        "STRATA_EXECUTOR_DISABLE": "cgroups",
    }
    server = StrataServer(data_dir=tmp_path, env=env)
    server.start()
    yield server
    server.stop(signal.SIGKILL)


def test_sandbox_failure__invoke_is_a_service_exception_and_events_are_retried(
    unsandboxable_server,
):
    lam = unsandboxable_server.client(unsandboxable_server.new_account())
    create(lam, "unrunnable")
    started = time.monotonic()
    with pytest.raises(lam.exceptions.ServiceException) as failed:
        lam.invoke(FunctionName="unrunnable", Payload=b"{}")
    assert time.monotonic() - started < 10
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert "strict isolation is not available" in failed.value.response["Error"]["Message"]
    request_id = send_event(
        lam, "unrunnable"
    )  # accepted; a sandbox failure is retried like an error
    row = wait_for_status(unsandboxable_server, request_id, "failed", 30)
    assert row.attempts == 3 and "strict isolation" in row.last_error
