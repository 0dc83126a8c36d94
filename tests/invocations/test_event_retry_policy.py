"""The Event queue follows a function's asynchronous invocation setting: no more retries than
MaximumRetryAttempts, no run of an event older than MaximumEventAgeInSeconds, and the invocation
record of each finished event delivered to the destination function its setting names."""

from __future__ import annotations

import json
import time
from datetime import timedelta

from sqlalchemy import select, update

from registry.models import Function, FunctionEvent
from tests.invocations.test_async_invocations import event_row, send_event, wait_for_status
from tests.support.functions import create, handler_zip

FAILS = handler_zip("def handler(event, context):\n    raise RuntimeError('always')\n")
SUCCEEDS = handler_zip("def handler(event, context):\n    return {'doubled': event['n'] * 2}\n")
SUCCEEDS_QUIETLY = handler_zip("def handler(event, context):\n    return 'ok'\n")
# A destination that answers what it was sent, so its own event's row shows it ran the record.
RECORDS = handler_zip("def handler(event, context):\n    return event['requestContext']\n")


def destination_events(server, account_id: str, name: str) -> list[FunctionEvent]:
    with server.db.read() as session:
        return list(
            session.scalars(
                select(FunctionEvent)
                .join(Function, Function.id == FunctionEvent.function_id)
                .where(Function.account_id == account_id, Function.name == name)
            )
        )


def wait_for_destination_event(server, account_id: str, name: str) -> FunctionEvent:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = [e for e in destination_events(server, account_id, name) if e.status != "pending"]
        if found:
            return found[0]
        time.sleep(0.2)
    raise AssertionError(f"no event reached {name}:\n{server.log()[-3000:]}")


def test_maximum_retry_attempts_0__a_failing_event_runs_once(lam, strata_server):
    create(lam, "no-retries", FAILS)
    lam.put_function_event_invoke_config(FunctionName="no-retries", MaximumRetryAttempts=0)

    row = wait_for_status(strata_server, send_event(lam, "no-retries"), "failed", 30)

    assert row.attempts == 1
    assert "always" in row.last_error


def test_maximum_retry_attempts_of_an_alias__applies_to_events_invoked_through_it(
    lam, strata_server
):
    create(lam, "alias-retries", FAILS, Publish=True)
    lam.create_alias(FunctionName="alias-retries", Name="live", FunctionVersion="1")
    lam.put_function_event_invoke_config(FunctionName="alias-retries", MaximumRetryAttempts=0)
    lam.put_function_event_invoke_config(
        FunctionName="alias-retries", Qualifier="live", MaximumRetryAttempts=1
    )

    through_alias = send_event(lam, "alias-retries:live")
    unqualified = send_event(lam, "alias-retries")

    assert wait_for_status(strata_server, through_alias, "failed", 30).attempts == 2
    assert wait_for_status(strata_server, unqualified, "failed", 30).attempts == 1


def test_maximum_event_age__an_event_grown_older_is_dropped_without_a_run(lam, strata_server):
    create(lam, "too-old", SUCCEEDS)
    lam.put_function_concurrency(FunctionName="too-old", ReservedConcurrentExecutions=0)
    lam.put_function_event_invoke_config(FunctionName="too-old", MaximumEventAgeInSeconds=60)
    request_id = send_event(lam, "too-old", b'{"n": 1}')
    time.sleep(1.5)  # throttled meanwhile: kept, waiting for room to run
    assert event_row(strata_server, request_id).status == "pending"

    with strata_server.db.write() as session:  # a minute passes
        row = session.scalar(select(FunctionEvent).where(FunctionEvent.request_id == request_id))
        session.execute(
            update(FunctionEvent)
            .where(FunctionEvent.id == row.id)
            .values(created_at=row.created_at - timedelta(seconds=61))
        )

    row = wait_for_status(strata_server, request_id, "failed", 30)
    assert row.attempts == 0
    assert "older than its maximum age (60 s)" in row.last_error


def test_on_failure_destination__receives_the_record_once_retries_are_exhausted(
    lam, strata_server, account
):
    create(lam, "fails-to-sink", FAILS)
    create(lam, "failure-sink", RECORDS)
    sink = f"arn:aws:lambda:us-east-1:{account.account_id}:function:failure-sink"
    lam.put_function_event_invoke_config(
        FunctionName="fails-to-sink",
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": sink}},
    )

    request_id = send_event(lam, "fails-to-sink", b'{"order": 7}')
    wait_for_status(strata_server, request_id, "failed", 30)

    delivered = wait_for_destination_event(strata_server, account.account_id, "failure-sink")
    assert delivered.status == "succeeded"  # the sink ran it
    record = json.loads(delivered.payload)
    assert record["version"] == "1.0"
    assert record["requestContext"] == {
        "requestId": request_id,
        "functionArn": (
            f"arn:aws:lambda:us-east-1:{account.account_id}:function:fails-to-sink:$LATEST"
        ),
        "condition": "RetriesExhausted",
        "approximateInvokeCount": 1,
    }
    assert record["requestPayload"] == {"order": 7}
    assert record["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert record["responsePayload"]["errorType"] == "RuntimeError"


def test_on_success_destination__receives_the_response(lam, strata_server, account):
    create(lam, "succeeds-to-sink", SUCCEEDS)
    create(lam, "success-sink", RECORDS)
    lam.put_function_event_invoke_config(
        FunctionName="succeeds-to-sink",
        DestinationConfig={
            "OnSuccess": {
                "Destination": f"arn:aws:lambda:us-east-1:{account.account_id}:function:"
                "success-sink"
            }
        },
    )

    request_id = send_event(lam, "succeeds-to-sink", b'{"n": 21}')
    wait_for_status(strata_server, request_id, "succeeded", 30)

    record = json.loads(
        wait_for_destination_event(strata_server, account.account_id, "success-sink").payload
    )
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] == {"doubled": 42}
    assert destination_events(strata_server, account.account_id, "succeeds-to-sink")[0].status == (
        "succeeded"
    )


def test_destinations_naming_each_other__stop_after_lambdas_recursion_limit(
    lam, strata_server, account
):
    arn = f"arn:aws:lambda:us-east-1:{account.account_id}:function:"
    create(lam, "ping", SUCCEEDS_QUIETLY)
    create(lam, "pong", SUCCEEDS_QUIETLY)
    for name, other in (("ping", "pong"), ("pong", "ping")):
        lam.put_function_event_invoke_config(
            FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": arn + other}}
        )

    send_event(lam, "ping", b'{"n": 0}')

    def finished() -> list[FunctionEvent]:
        events = destination_events(strata_server, account.account_id, "ping")
        events += destination_events(strata_server, account.account_id, "pong")
        return [e for e in events if e.status != "pending"]

    deadline = time.monotonic() + 120
    while len(finished()) < 17 and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(3)  # time for an 18th, were the chain to go on
    done = finished()
    assert len(done) == 17, strata_server.log()[-3000:]  # the event and 16 records
    assert all(e.status == "succeeded" for e in done)
