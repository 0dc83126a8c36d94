"""The CloudWatch Logs API (JSON 1.1, `X-Amz-Target: Logs_20140328.<Operation>`, signed for
`logs`) over registry.logs: this module only reads the operations' parameters, answers in
CloudWatch Logs' shapes and renders its error shapes."""

from __future__ import annotations

import json
from collections.abc import Callable

from flask import Response, current_app, g

from registry.api import rpc
from registry.api.context import services
from registry.api.requests import raw_body
from registry.errors import (
    InvalidParameterValue,
    ResourceConflict,
    ResourceNotFound,
    ServiceUnavailable,
    StrataError,
)
from registry.logs import names, patterns
from registry.logs.errors import LogInvalidParameter, LogLimitExceeded
from registry.logs.reads import FILTER_PAGE_EVENTS, MAX_EVENTS_PER_PAGE
from registry.logs.store import MAX_LISTING, LogStore

SIGNING_NAME = "logs"
TARGET_PREFIX = "Logs_20140328"
CONTENT_TYPE = "application/x-amz-json-1.1"

# Domain errors as CloudWatch Logs names them; every client error answers 400.
_ERRORS: tuple[tuple[type[Exception], str, int], ...] = (
    (ResourceNotFound, "ResourceNotFoundException", 400),
    (ResourceConflict, "ResourceAlreadyExistsException", 400),
    (LogLimitExceeded, "LimitExceededException", 400),
    (InvalidParameterValue, "InvalidParameterException", 400),
    (ServiceUnavailable, "ServiceUnavailableException", 500),
)


class UnknownOperation(InvalidParameterValue):
    """An operation of CloudWatch Logs this server does not serve (UnknownOperationException)."""


def _store() -> LogStore:
    return current_app.extensions["function_logs"].store


def _account() -> str:
    return g.caller.account_id


def create_log_group(params: dict) -> dict:
    _store().create_group(_account(), names.check_group_name(_string(params, "logGroupName")))
    return {}


def delete_log_group(params: dict) -> dict:
    _store().delete_group(_account(), names.check_group_name(_string(params, "logGroupName")))
    return {}


def put_retention_policy(params: dict) -> dict:
    days = _integer(params, "retentionInDays", required=True)
    _store().set_retention(_account(), _string(params, "logGroupName"), days)
    return {}


def delete_retention_policy(params: dict) -> dict:
    _store().set_retention(_account(), _string(params, "logGroupName"), None)
    return {}


def describe_log_groups(params: dict) -> dict:
    prefix = _string(params, "logGroupNamePrefix", required=False)
    pattern = _string(params, "logGroupNamePattern", required=False)
    if prefix and pattern:
        raise LogInvalidParameter(
            "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters."
        )
    groups, token = _store().groups(
        _account(),
        prefix=prefix,
        contains=pattern,
        limit=_limit(params, MAX_LISTING),
        token=_string(params, "nextToken", required=False),
    )
    region = services().settings.region
    answer: dict = {
        "logGroups": [
            {
                "logGroupName": group.name,
                "creationTime": group.created_at_ms,
                **({"retentionInDays": group.retention_days} if group.retention_days else {}),
                "metricFilterCount": 0,
                "arn": names.group_arn(region, _account(), group.name),
                "storedBytes": group.stored_bytes,
                "logGroupClass": "STANDARD",
                "logGroupArn": names.group_arn(region, _account(), group.name).removesuffix(":*"),
            }
            for group in groups
        ]
    }
    if token:
        answer["nextToken"] = token
    return answer


def describe_log_streams(params: dict) -> dict:
    group = _group(params)
    order = _string(params, "orderBy", required=False) or "LogStreamName"
    if order not in ("LogStreamName", "LastEventTime"):
        raise LogInvalidParameter(
            f"1 validation error detected: Value '{order}' at 'orderBy' failed to satisfy "
            "constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime]"
        )
    streams, token = _store().streams(
        _account(),
        group,
        prefix=_string(params, "logStreamNamePrefix", required=False),
        by_last_event=order == "LastEventTime",
        descending=bool(params.get("descending")),
        limit=_limit(params, MAX_LISTING),
        token=_string(params, "nextToken", required=False),
    )
    region = services().settings.region
    answer: dict = {
        "logStreams": [
            {
                "logStreamName": stream.name,
                "creationTime": stream.created_at_ms,
                **_present(
                    firstEventTimestamp=stream.first_event_ms,
                    lastEventTimestamp=stream.last_event_ms,
                    lastIngestionTime=stream.last_ingestion_ms,
                ),
                "arn": names.stream_arn(region, _account(), group, stream.name),
                "storedBytes": stream.stored_bytes,
            }
            for stream in streams
        ]
    }
    if token:
        answer["nextToken"] = token
    return answer


def get_log_events(params: dict) -> dict:
    page = _store().get_events(
        _account(),
        _group(params),
        _string(params, "logStreamName"),
        start_ms=_integer(params, "startTime"),
        end_ms=_integer(params, "endTime"),
        limit=_limit(params, MAX_EVENTS_PER_PAGE),
        token=_string(params, "nextToken", required=False),
        from_head=bool(params.get("startFromHead")),
    )
    return {
        "events": [
            {"timestamp": e.timestamp_ms, "message": e.message, "ingestionTime": e.ingestion_ms}
            for e in page.events
        ],
        "nextForwardToken": page.forward_token,
        "nextBackwardToken": page.backward_token,
    }


def filter_log_events(params: dict) -> dict:
    stream_names = params.get("logStreamNames")
    if stream_names is not None and (
        not isinstance(stream_names, list) or not all(isinstance(n, str) for n in stream_names)
    ):
        raise LogInvalidParameter("logStreamNames must be a list of log stream names.")
    page = _store().filter_events(
        _account(),
        _group(params),
        pattern=patterns.parse(_string(params, "filterPattern", required=False)),
        stream_names=stream_names,
        stream_prefix=_string(params, "logStreamNamePrefix", required=False),
        start_ms=_integer(params, "startTime"),
        end_ms=_integer(params, "endTime"),
        limit=_limit(params, MAX_EVENTS_PER_PAGE, default=FILTER_PAGE_EVENTS),
        token=_string(params, "nextToken", required=False),
    )
    answer: dict = {
        "events": [
            {
                "logStreamName": e.stream,
                "timestamp": e.timestamp_ms,
                "message": e.message,
                "ingestionTime": e.ingestion_ms,
                "eventId": str(e.id),
            }
            for e in page.events
        ],
        "searchedLogStreams": [],
    }
    if page.next_token:
        answer["nextToken"] = page.next_token
    return answer


def delete_log_stream(params: dict) -> dict:
    _store().delete_stream(_account(), _group(params), _string(params, "logStreamName"))
    return {}


OPERATIONS: dict[str, Callable[[dict], dict]] = {
    "CreateLogGroup": create_log_group,
    "DeleteLogGroup": delete_log_group,
    "PutRetentionPolicy": put_retention_policy,
    "DeleteRetentionPolicy": delete_retention_policy,
    "DescribeLogGroups": describe_log_groups,
    "DescribeLogStreams": describe_log_streams,
    "GetLogEvents": get_log_events,
    "FilterLogEvents": filter_log_events,
    "DeleteLogStream": delete_log_stream,
}


def dispatch(operation: str) -> Response:
    handler = OPERATIONS.get(operation)
    if handler is None:
        raise UnknownOperation(f"Operation {operation} is not supported by this endpoint.")
    try:
        params = json.loads(bytes(raw_body()) or b"{}")
    except ValueError:
        raise LogInvalidParameter("The request body is not valid JSON.") from None
    if not isinstance(params, dict):
        raise LogInvalidParameter("The request body must be a JSON object.")
    return Response(json.dumps(handler(params)), mimetype=CONTENT_TYPE)


def render_error(error: StrataError) -> Response:
    code, status = "UnknownOperationException", 400
    if not isinstance(error, UnknownOperation):
        code, status = next(
            ((name, status) for cls, name, status in _ERRORS if isinstance(error, cls)),
            ("InvalidParameterException", 400),
        )
    response = Response(
        json.dumps({"__type": code, "message": str(error)}), status=status, mimetype=CONTENT_TYPE
    )
    response.headers["x-amzn-ErrorType"] = code
    return response


def register() -> None:
    rpc.register(
        rpc.RpcService(
            signing_name=SIGNING_NAME,
            target_prefix=TARGET_PREFIX,
            dispatch=dispatch,
            render_error=render_error,
        )
    )


def _group(params: dict) -> str:
    identifier = _string(params, "logGroupIdentifier", required=False)
    name = _string(params, "logGroupName", required=False)
    if identifier and name:
        raise LogInvalidParameter(
            "LogGroup name and LogGroup ARN are mutually exclusive parameters."
        )
    if identifier:
        return names.group_from_identifier(identifier, _account())
    if not name:
        raise LogInvalidParameter("Either logGroupName or logGroupIdentifier must be given.")
    return names.check_group_name(name)


def _string(params: dict, key: str, *, required: bool = True) -> str | None:
    value = params.get(key)
    if value is None:
        if required:
            raise LogInvalidParameter(f"The parameter {key} is required.")
        return None
    if not isinstance(value, str):
        raise LogInvalidParameter(f"The parameter {key} must be a string.")
    return value


def _integer(params: dict, key: str, *, required: bool = False) -> int | None:
    value = params.get(key)
    if value is None:
        if required:
            raise LogInvalidParameter(f"The parameter {key} is required.")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise LogInvalidParameter(f"The parameter {key} must be an integer.")
    return value


def _limit(params: dict, most: int, default: int | None = None) -> int:
    limit = _integer(params, "limit")
    if limit is None:
        return default or most
    if not 1 <= limit <= most:
        bound = "greater than or equal to 1" if limit < 1 else f"less than or equal to {most}"
        raise LogInvalidParameter(
            f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy "
            f"constraint: Member must have value {bound}"
        )
    return limit


def _present(**values) -> dict:
    return {key: value for key, value in values.items() if value is not None}
