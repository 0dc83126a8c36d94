"""Invocation metrics against a real two-worker server: each counter moves by exactly the
invocations made, whatever worker ran them."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.config import Config

from tests.metrics.scrape import scrape
from tests.support.functions import ECHO, create, handler_zip

FAILING = handler_zip("def handler(event, context):\n    raise ValueError('no')\n")
HUNGRY = handler_zip(
    "def handler(event, context):\n    blob = bytearray(400 * 1024 * 1024)\n    return len(blob)\n"
)
SLEEPER = handler_zip(
    "import time\n\ndef handler(event, context):\n    time.sleep(event.get('sleep', 0))\n"
    "    return 'slept'\n"
)


def without_retries(server, credentials):
    """A client that sends each request once: botocore retries a throttle by default."""
    return boto3.client(
        "lambda",
        endpoint_url=server.url,
        region_name=server.region,
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        config=Config(retries={"total_max_attempts": 1}),
    )


def test_invocations__counters_move_by_exactly_the_invocations_and_requests_made(
    strata_server, account
):
    lam = without_retries(strata_server, account)
    create(lam, "echo", ECHO)
    create(lam, "fails", FAILING)
    create(lam, "slow", SLEEPER, Timeout=1)
    create(lam, "hungry", HUNGRY)
    create(lam, "off", ECHO)
    lam.put_function_concurrency(FunctionName="off", ReservedConcurrentExecutions=0)
    before = scrape(strata_server.url)

    for _ in range(7):
        lam.get_function(FunctionName="echo")
    for _ in range(5):
        assert "FunctionError" not in lam.invoke(FunctionName="echo", Payload=b"{}")
    assert lam.invoke(FunctionName="fails", Payload=b"{}")["FunctionError"] == "Unhandled"
    assert "FunctionError" in lam.invoke(FunctionName="slow", Payload=b'{"sleep": 3}')
    oom = json.loads(lam.invoke(FunctionName="hungry", Payload=b"{}")["Payload"].read())
    # Killed at its memory limit where a cgroup holds it; where only an rlimit does, the
    # allocation fails inside the handler instead.
    oom_outcome = "out_of_memory" if oom["errorType"] == "Runtime.OutOfMemory" else "function_error"
    for _ in range(2):
        with pytest.raises(lam.exceptions.TooManyRequestsException):
            lam.invoke(FunctionName="off", Payload=b"{}")
    after = scrape(strata_server.url)

    def requests(operation: str, status: str) -> float:
        labels = {"service": "lambda", "operation": operation, "status": status}
        return after.value("strata_http_requests_total", **labels) - before.value(
            "strata_http_requests_total", **labels
        )

    assert requests("GetFunction", "200") == 7
    assert requests("Invoke", "200") == 8  # function errors and timeouts answer 200 too
    assert requests("Invoke", "429") == 2
    timed = {"service": "lambda", "operation": "GetFunction"}
    assert (
        after.value("strata_http_request_duration_seconds_count", **timed)
        - before.value("strata_http_request_duration_seconds_count", **timed)
        == 7
    )

    me = account.account_id
    invoked = "strata_invocations_total"
    assert after.value(invoked, account=me, function="echo", invocation_type="RequestResponse") == 5
    assert after.total(invoked, account=me) == 8  # throttled invocations never ran
    errors = "strata_invocation_errors_total"
    assert after.value(errors, account=me, function="fails", outcome="function_error") == 1
    assert after.value(errors, account=me, function="slow", outcome="timeout") == 1
    assert after.value(errors, account=me, function="hungry", outcome=oom_outcome) == 1
    assert after.total(errors, account=me) == 3
    assert (
        after.value(
            "strata_throttles_total",
            account=me,
            function="off",
            reason="ReservedFunctionConcurrentInvocationLimitExceeded",
        )
        == 2
    )

    starts = "strata_invocation_starts_total"
    cold = after.value(starts, account=me, function="echo", start="cold")
    warm = after.value(starts, account=me, function="echo", start="warm")
    # Each worker that ran it started one environment; the rest found it warm.
    assert 1 <= cold <= 2 and cold + warm == 5
    duration = "strata_invocation_duration_seconds"
    assert after.value(f"{duration}_count", account=me, function="echo") == 5
    assert after.value(f"{duration}_bucket", account=me, function="slow", le="0.5") == 0
    assert after.value(f"{duration}_bucket", account=me, function="slow", le="5.0") == 1
    init = "strata_invocation_init_duration_seconds"
    assert after.value(f"{init}_count", account=me, function="echo") == cold
    assert after.value(f"{init}_sum", account=me, function="echo") > 0
