"""Destinations of asynchronous invocations: once an event is done for good, Lambda's invocation
record of it (version 1.0) becomes an event of the destination function its setting names for that
outcome, stored in the same transaction as the outcome, so a record is neither lost nor sent twice.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select

from registry.functions.event_invoke_config import parse_function_destination
from registry.functions.names import LATEST
from registry.limits import ASYNC_PAYLOAD_BYTES
from registry.models import Function, FunctionEvent

log = logging.getLogger(__name__)

# Functions whose destinations name each other would pass records back and forth for ever; as
# Lambda's recursive loop detection (RecursiveLoop: Terminate) does, a chain stops after this many.
MAX_CHAIN = 16


@dataclass(frozen=True)
class Finished:
    """An event done for good, as its record tells it."""

    event: FunctionEvent
    condition: str  # Success, RetriesExhausted or EventAgeExceeded
    function_arn: str  # qualified as invoked
    executed_version: str | None  # None: its last attempt did not run
    response: bytes = b""
    function_error: str | None = None


def deliver(session, destinations: dict, finished: Finished) -> bool:
    """Stores the record as an event of the destination for this outcome, if one is set and still
    exists; True when one was stored."""
    outcome = "OnSuccess" if finished.condition == "Success" else "OnFailure"
    destination = destinations.get(outcome)
    target = parse_function_destination(destination) if destination else None
    if target is None:
        return False
    function = session.scalar(
        select(Function).where(
            Function.account_id == target.account_id, Function.name == target.name
        )
    )
    if function is None:
        log.warning(
            "event %s: destination %s no longer exists", finished.event.request_id, destination
        )
        return False
    now = datetime.now(timezone.utc)
    record = invocation_record(finished, now)
    payload = json.dumps(record).encode()
    refusal = None
    if _chain_length(record) > MAX_CHAIN:
        refusal = "a recursive loop of destinations"
    elif len(payload) > ASYNC_PAYLOAD_BYTES:
        refusal = f"larger than an asynchronous payload may be ({ASYNC_PAYLOAD_BYTES} bytes)"
    if refusal:
        log.warning(
            "event %s: its record is not sent to %s: %s",
            finished.event.request_id,
            destination,
            refusal,
        )
        return False
    session.add(
        FunctionEvent(
            function_id=function.id,
            qualifier=target.qualifier or LATEST,
            request_id=str(uuid.uuid4()),
            payload=payload,
            client_context=None,
            status="pending",
            attempts=0,
            not_before=time.time(),
            created_at=now,
        )
    )
    return True


def invocation_record(finished: Finished, now: datetime) -> dict:
    event = finished.event
    record = {
        "version": "1.0",
        "timestamp": now.isoformat(timespec="milliseconds")[:23] + "Z",
        "requestContext": {
            "requestId": event.request_id,
            "functionArn": finished.function_arn,
            "condition": finished.condition,
            "approximateInvokeCount": event.attempts,
        },
        "requestPayload": _document(event.payload),
    }
    if finished.executed_version is not None:
        context = {"statusCode": 200, "executedVersion": finished.executed_version}
        if finished.function_error:
            context["functionError"] = finished.function_error
        record["responseContext"] = context
        record["responsePayload"] = _document(finished.response)
    return record


def _document(raw: bytes):
    """A payload as the JSON it holds, or as text when it is not JSON."""
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode("utf-8", "replace")


def _chain_length(record: dict) -> int:
    """How many records are nested in this one, itself included (a record of an event that was a
    record holds it as its requestPayload)."""
    length, document = 0, record
    while isinstance(document, dict) and isinstance(document.get("requestContext"), dict):
        length += 1
        document = document.get("requestPayload")
    return length
