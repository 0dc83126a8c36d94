"""Through boto3 against a real `strata serve` (two workers sharing one memory budget): no fixed
number of environments per version holds concurrent invocations back, and past the node's
memory budget an invocation is throttled, never run."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest
from botocore.exceptions import ClientError

from tests.support import require_service
from tests.support.functions import create, handler_zip
from tests.support.server import StrataServer, backend_env

AT_ONCE = 24
BUDGET_MB = AT_ONCE * 128
SLEEPER = handler_zip(
    """
    import time, uuid
    ENVIRONMENT = uuid.uuid4().hex  # once per environment
    def handler(event, context):
        started = time.time()
        time.sleep(event["sleep"])
        return {"environment": ENVIRONMENT, "started": started, "ended": time.time()}
    """
)


@pytest.fixture(scope="module")
def server(tmp_path_factory, request):
    require_service(os.geteuid() == 0, "the executor's sandboxes need root")
    data_dir = tmp_path_factory.mktemp("strata-memory")
    env = {
        **backend_env("sqlite-fs", data_dir, request),
        "STRATA_MEMORY_BUDGET_MB": str(BUDGET_MB),
        "STRATA_MEMORY_WAIT": "0.5",
    }
    server = StrataServer(data_dir=data_dir, env=env)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _invoke_all(lam, name: str, sleep: float, count: int) -> list:
    """Answers (a payload dict, or the ClientError) of `count` invocations sent at once."""
    answers: list = [None] * count
    body = json.dumps({"sleep": sleep}).encode()

    def call(index: int) -> None:
        try:
            response = lam.invoke(FunctionName=name, Payload=body)
            answers[index] = json.loads(response["Payload"].read())
        except ClientError as error:
            answers[index] = error

    threads = [threading.Thread(target=call, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_concurrent_invocations_of_one_function__run_at_once(server):
    lam = server.client(server.new_account(), max_pool_connections=AT_ONCE)
    create(lam, "wide", SLEEPER, MemorySize=128)

    started = time.monotonic()
    answers = _invoke_all(lam, "wide", 3.0, AT_ONCE)
    wall = time.monotonic() - started

    assert all(isinstance(a, dict) for a in answers), answers
    assert len({a["environment"] for a in answers}) == AT_ONCE
    # A moment when every one of them was running: none waited for another to finish.
    assert max(a["started"] for a in answers) < min(a["ended"] for a in answers)
    assert wall < 3.0 + 4.0  # one invocation's time and the cold starts


def test_invocations_past_the_nodes_memory__are_throttled(server):
    lam = server.client(server.new_account(), max_pool_connections=8)
    create(lam, "large", SLEEPER, MemorySize=1024)
    fits = BUDGET_MB // 1024

    answers = _invoke_all(lam, "large", 3.0, fits + 2)

    refused = [a for a in answers if isinstance(a, ClientError)]
    assert sum(isinstance(a, dict) for a in answers) == fits
    assert len(refused) == 2
    error = refused[0].response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert error["Error"]["Code"] == "TooManyRequestsException"
    assert error["Reason"] == "ConcurrentInvocationLimitExceeded"
    assert f"{BUDGET_MB} MB" in error["Error"]["Message"]
