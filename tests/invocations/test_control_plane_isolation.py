"""Invocations never hold the registry's request threads: GetLayerVersion and ListFunctions answer
at once while slow functions run, and past the invocation pool's bound an invocation is throttled
(429 TooManyRequestsException), never queued behind the others."""

from __future__ import annotations

import json
import threading
import time

import pytest

from tests.metrics.scrape import scrape
from tests.support.functions import create, handler_zip
from tests.support.server import StrataServer, backend_env
from tests.support.zips import layer_zip

SLEEPS = handler_zip(
    """
    import time

    def handler(event, context):
        time.sleep(event["sleep"])
        return {"slept": event["sleep"]}
    """
)
# Well above what a request costs on a loaded 2-core machine, far below the seconds a request
# waited when invocations held the registry's 8 threads.
CONTROL_PLANE_BOUND_S = 0.5
HELD_S = 5


def _invoke_in_background(lam, name: str, sleep: float, outcomes: list) -> threading.Thread:
    def run():
        try:
            response = lam.invoke(FunctionName=name, Payload=json.dumps({"sleep": sleep}))
            outcomes.append(json.loads(response["Payload"].read()))
        except Exception as error:  # kept for the assertion, with its message
            outcomes.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _sent_invocations(lam) -> threading.Semaphore:
    """Released as each Invoke request leaves the client: measuring starts once all have, so the
    figures are the server's, not this process's threads preparing requests."""
    sent = threading.Semaphore(0)
    lam.meta.events.register("before-send.lambda.Invoke", lambda **_: sent.release())
    return sent


def _control_plane_latencies(lam, layer_arn: str, running: list[threading.Thread]) -> list:
    """Seconds each GetLayerVersion and ListFunctions took while `running` were alive."""
    latencies = []
    while any(thread.is_alive() for thread in running):
        for call in (
            lambda: lam.get_layer_version_by_arn(Arn=layer_arn),
            lambda: lam.list_functions(MaxItems=10),
        ):
            started = time.perf_counter()
            call()
            latencies.append(time.perf_counter() - started)
        time.sleep(0.02)
    return latencies


def test_control_plane__answers_at_once_while_invocations_fill_the_old_request_threads(
    strata_server, account
):
    # Three times the 8 request threads (2 workers x 4) that invocations used to hold; two
    # functions, so that each worker's environments per version let all of them run at once.
    lam = strata_server.client(account, max_pool_connections=64, read_timeout=60)
    for name in ("sleeper-a", "sleeper-b"):
        create(lam, name, SLEEPS, Timeout=30)
    layer_arn = lam.publish_layer_version(LayerName="fetched", Content={"ZipFile": layer_zip()})[
        "LayerVersionArn"
    ]
    # Environments started first: what is measured is waiting behind invocations, not the CPU
    # that two dozen cold starts take from a 2-core machine.
    warming: list = []
    for thread in [
        _invoke_in_background(lam, f"sleeper-{'ab'[i % 2]}", 1, warming) for i in range(24)
    ]:
        thread.join(30)
    assert warming == [{"slept": 1}] * 24
    outcomes: list = []
    sent = _sent_invocations(lam)
    started = time.monotonic()
    running = [_invoke_in_background(lam, f"sleeper-{'ab'[i % 2]}", 3, outcomes) for i in range(24)]
    for _ in running:
        assert sent.acquire(timeout=10)
    latencies = _control_plane_latencies(lam, layer_arn, running)

    assert outcomes == [{"slept": 3}] * 24
    assert time.monotonic() - started >= 3
    assert len(latencies) >= 10
    slowest = max(latencies)
    assert slowest < CONTROL_PLANE_BOUND_S, sorted(latencies)[-5:]


@pytest.fixture
def small_invocation_pool(request, tmp_path):
    """A server whose one worker runs at most two synchronous invocations at once."""
    server = StrataServer(data_dir=tmp_path, env=backend_env("sqlite-fs", tmp_path, request))
    server.start("--workers", "1", "--invocation-threads", "2")
    try:
        yield server
    finally:
        server.stop()


def test_invoke__past_the_invocation_pool_is_throttled_at_once_and_the_registry_still_answers(
    small_invocation_pool,
):
    server = small_invocation_pool
    lam = server.client(read_timeout=60)
    create(lam, "slow", SLEEPS, Timeout=30)
    layer_arn = lam.publish_layer_version(LayerName="fetched", Content={"ZipFile": layer_zip()})[
        "LayerVersionArn"
    ]
    # Three at once for two threads: whichever arrives last is throttled, the others run.
    outcomes: list = []
    begun = time.monotonic()
    invoking = [_invoke_in_background(lam, "slow", HELD_S, outcomes) for _ in range(3)]
    deadline = time.monotonic() + 10
    while not any(isinstance(outcome, Exception) for outcome in outcomes):
        assert time.monotonic() < deadline, f"never throttled: {outcomes}"
        time.sleep(0.01)
    answered_in = time.monotonic() - begun
    error = next(outcome for outcome in outcomes if isinstance(outcome, Exception))
    throttled = error.response

    # Queued, it would have waited out the held invocations.
    assert answered_in < HELD_S / 2
    assert throttled["Error"]["Message"] == "Rate Exceeded."
    assert throttled["Reason"] == "ConcurrentInvocationLimitExceeded"
    assert throttled["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert isinstance(error, lam.exceptions.TooManyRequestsException)
    # The front's own answer has its request-log line too, under the id the client was given.
    request_id = throttled["ResponseMetadata"]["RequestId"]
    lines = [line.split() for line in server.log().splitlines() if request_id in line]
    assert len(lines) == 1 and {"operation=Invoke", "status=429"} <= set(lines[0]), lines
    # Each throttle the front answered (the client's retry included) is counted with the
    # application's answers.
    logged = [
        line
        for line in server.log().splitlines()
        if {"operation=Invoke", "status=429"} <= set(line.split())
    ]
    counted = scrape(server.url).value(
        "strata_http_requests_total", service="lambda", operation="Invoke", status="429"
    )
    assert counted == len(logged) >= 1
    # The registry, and invocations that answer at once, are not behind the full pool.
    started = time.perf_counter()
    assert lam.get_layer_version_by_arn(Arn=layer_arn)["Version"] == 1
    assert [f["FunctionName"] for f in lam.list_functions()["Functions"]] == ["slow"]
    event = lam.invoke(FunctionName="slow", InvocationType="Event", Payload=b'{"sleep": 0}')
    assert event["StatusCode"] == 202
    assert time.perf_counter() - started < 3 * CONTROL_PLANE_BOUND_S
    assert sum(thread.is_alive() for thread in invoking) == 2

    for thread in invoking:
        thread.join(30)
    assert outcomes[1:] == [{"slept": HELD_S}] * 2
    # The threads come back: the next invocation runs.
    response = lam.invoke(FunctionName="slow", Payload=json.dumps({"sleep": 0}))
    assert json.loads(response["Payload"].read()) == {"slept": 0}
