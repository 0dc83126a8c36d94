"""Lambda's concurrency limits at Invoke, through boto3 against real servers: past a function's
reserved concurrency or the account's unreserved share, a synchronous invocation is answered 429
TooManyRequestsException with Lambda's Reason, and an Event invocation waits in the queue."""

from __future__ import annotations

import threading
import time

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import update

from registry.models import Account
from tests.invocations.test_async_invocations import event_row, send_event, wait_for_status
from tests.support.functions import create, handler_zip

SLEEPER = handler_zip(
    "import time\n\ndef handler(event, context):\n    time.sleep(event.get('sleep', 0))\n"
    "    return 'slept'\n"
)


def invoke(lam, name: str, sleep: float = 0) -> dict:
    response = lam.invoke(FunctionName=name, Payload=f'{{"sleep": {sleep}}}'.encode())
    assert "FunctionError" not in response, response["Payload"].read()
    return response


def throttle_of(lam, name: str) -> ClientError:
    with pytest.raises(lam.exceptions.TooManyRequestsException) as throttled:
        invoke(lam, name)
    return throttled.value


def in_background(lam, name: str, sleep: float) -> threading.Thread:
    """Starts an invocation and returns once the server runs it."""
    thread = threading.Thread(target=invoke, args=(lam, name, sleep), daemon=True)
    thread.start()
    time.sleep(min(1.0, sleep / 2))
    return thread


def test_invoke__past_the_reserved_concurrency_answers_429_with_lambdas_reason(lam):
    create(lam, "reserved-one", SLEEPER)
    lam.put_function_concurrency(FunctionName="reserved-one", ReservedConcurrentExecutions=1)
    busy = in_background(lam, "reserved-one", 2.5)

    error = throttle_of(lam, "reserved-one")
    assert error.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    busy.join(10)
    assert invoke(lam, "reserved-one")["StatusCode"] == 200  # its unit came back at once


def test_invoke__reserved_zero_throttles_every_invocation_until_deleted(lam):
    create(lam, "switched-off", SLEEPER)
    assert invoke(lam, "switched-off")["StatusCode"] == 200  # warm, and its unit lingering
    lam.put_function_concurrency(FunctionName="switched-off", ReservedConcurrentExecutions=0)
    for _ in range(2):
        assert throttle_of(lam, "switched-off").response["Reason"] == (
            "ReservedFunctionConcurrentInvocationLimitExceeded"
        )
    lam.delete_function_concurrency(FunctionName="switched-off")
    assert invoke(lam, "switched-off")["StatusCode"] == 200


def test_invoke__past_the_accounts_limit_answers_429_and_reservations_stay_usable(
    strata_server, account, lam
):
    create(lam, "everyday", SLEEPER)
    create(lam, "critical", SLEEPER)
    lam.put_function_concurrency(FunctionName="critical", ReservedConcurrentExecutions=1)
    # Below Lambda's floor of 100, which `strata accounts` refuses: set in the database so that
    # two executions reach the limit.
    with strata_server.db.write() as session:
        session.execute(
            update(Account).where(Account.id == account.account_id).values(concurrency_limit=2)
        )
    busy = in_background(lam, "everyday", 2.5)

    error = throttle_of(lam, "everyday")
    assert error.response["Reason"] == "ConcurrentInvocationLimitExceeded"
    assert invoke(lam, "critical")["StatusCode"] == 200  # its reservation is its own
    busy.join(10)


def test_event_invocation__a_throttled_event_stays_queued_and_runs_once_allowed(strata_server, lam):
    create(lam, "held-back", SLEEPER)
    lam.put_function_concurrency(FunctionName="held-back", ReservedConcurrentExecutions=0)
    request_id = send_event(lam, "held-back")
    time.sleep(3)  # a few throttled tries, one each second
    row = event_row(strata_server, request_id)
    assert (row.status, row.attempts) == ("pending", 0)
    assert "Rate Exceeded" in (row.last_error or "")

    lam.delete_function_concurrency(FunctionName="held-back")
    row = wait_for_status(strata_server, request_id, "succeeded", 30)
    assert row.attempts == 1
