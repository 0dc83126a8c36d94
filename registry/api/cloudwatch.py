"""CloudWatch's metric reads for the AWS/Lambda namespace: GetMetricStatistics, GetMetricData and
ListMetrics, over the caller's own functions only. The figures come from registry.usage.metrics;
this module only reads the operations' parameters and shapes their answers."""

from __future__ import annotations

from datetime import datetime, timezone

from flask import Response, g

from registry.api import rpc
from registry.api.cloudwatch_protocols import CloudWatchError, protocol, timestamp
from registry.api.context import services
from registry.errors import (
    InvalidParameterCombination,
    InvalidParameterValue,
    InvalidSignature,
    MissingAuthenticationToken,
    MissingParameter,
    RequestTooLarge,
    ServiceUnavailable,
    StrataError,
    TooManyRequests,
    UnrecognizedClient,
)
from registry.usage import metrics
from registry.usage.metrics import MetricQuery

SIGNING_NAME = "monitoring"
TARGET_PREFIX = "GraniteServiceVersion20100801"
MAX_METRIC_DATA_QUERIES = 500


class UnknownOperation(InvalidParameterValue):
    """An operation of CloudWatch this server does not serve (InvalidAction to its clients)."""


def get_metric_statistics(params: dict) -> dict:
    statistics = metrics.check_statistics(
        _list(params, "Statistics"), _list(params, "ExtendedStatistics")
    )
    query = _metric_query(params, params)
    points = metrics.datapoints(services().db, g.caller.account_id, query)
    return {
        "Label": query.metric_name,
        "Datapoints": [
            {
                "Timestamp": _moment(point.timestamp),
                **{name: float(point.statistic(name)) for name in statistics},
                "Unit": point.unit,
            }
            for point in points
        ],
    }


def get_metric_data(params: dict) -> dict:
    queries = _list(params, "MetricDataQueries")
    if not queries:
        raise MissingParameter("The parameter MetricDataQueries is required.")
    if len(queries) > MAX_METRIC_DATA_QUERIES:
        raise InvalidParameterValue(
            f"The collection MetricDataQueries must not have a size greater than "
            f"{MAX_METRIC_DATA_QUERIES}."
        )
    descending = params.get("ScanBy", "TimestampDescending") != "TimestampAscending"
    results = []
    for item in queries:
        if not isinstance(item, dict) or not item.get("Id"):
            raise MissingParameter("The parameter MetricDataQueries.member.N.Id is required.")
        if item.get("Expression"):
            raise InvalidParameterValue(
                f"Metric math is not supported; the query {item['Id']} must give a MetricStat."
            )
        stat_params = item.get("MetricStat")
        if not isinstance(stat_params, dict):
            raise MissingParameter(
                f"The query {item['Id']} must give MetricStat (Metric, Period and Stat)."
            )
        statistic = _required(stat_params, "Stat")
        metrics.check_statistics([statistic])
        query = _metric_query(
            {**params, **stat_params}, _dict(stat_params, "Metric"), unit=stat_params.get("Unit")
        )
        points = metrics.datapoints(services().db, g.caller.account_id, query)
        if descending:
            points.reverse()
        if _flag(item.get("ReturnData", True)):
            results.append(
                {
                    "Id": item["Id"],
                    "Label": item.get("Label") or query.metric_name,
                    "Timestamps": [_moment(point.timestamp) for point in points],
                    "Values": [float(point.statistic(statistic)) for point in points],
                    "StatusCode": "Complete",
                }
            )
    return {"MetricDataResults": results, "Messages": []}


def list_metrics(params: dict) -> dict:
    dimensions = {}
    for dimension in _list(params, "Dimensions"):
        if not isinstance(dimension, dict) or not dimension.get("Name"):
            raise MissingParameter("The parameter Dimensions.member.N.Name is required.")
        dimensions[dimension["Name"]] = dimension.get("Value")
    found = metrics.list_metrics(
        services().db,
        g.caller.account_id,
        namespace=params.get("Namespace"),
        metric_name=params.get("MetricName"),
        dimensions=dimensions,
    )
    return {
        "Metrics": [
            {
                "Namespace": metrics.NAMESPACE,
                "MetricName": metric.metric_name,
                "Dimensions": [
                    {"Name": name, "Value": value} for name, value in metric.dimensions.items()
                ],
            }
            for metric in found
        ]
    }


OPERATIONS = {
    "GetMetricStatistics": get_metric_statistics,
    "GetMetricData": get_metric_data,
    "ListMetrics": list_metrics,
}


def dispatch(operation: str) -> Response:
    handler = OPERATIONS.get(operation)
    if handler is None:
        raise UnknownOperation(f"The operation {operation} is not served here.")
    speaks = protocol()
    return speaks.answer(operation, handler(speaks.read()))


def render_error(error: StrataError) -> Response:
    return protocol().error(_cloudwatch_error(error))


# Refusals before the operation runs, with the query codes CloudWatch gives them.
_REFUSALS: dict[type[StrataError], tuple[str, str, int]] = {
    MissingAuthenticationToken: ("MissingAuthenticationToken", "MissingAuthenticationToken", 403),
    UnrecognizedClient: ("InvalidClientTokenId", "InvalidClientTokenId", 403),
    InvalidSignature: ("SignatureDoesNotMatch", "SignatureDoesNotMatch", 403),
    rpc.WrongSigningService: ("SignatureDoesNotMatch", "SignatureDoesNotMatch", 403),
    TooManyRequests: ("Throttling", "Throttling", 400),
    RequestTooLarge: ("RequestEntityTooLarge", "RequestEntityTooLarge", 413),
}


def _cloudwatch_error(error: StrataError) -> CloudWatchError:
    message = str(error)
    refusal = next((_REFUSALS[c] for c in type(error).__mro__ if c in _REFUSALS), None)
    if refusal is not None:
        return CloudWatchError(*refusal, message)
    if isinstance(error, UnknownOperation):
        return CloudWatchError("InvalidAction", "InvalidAction", 400, message)
    if isinstance(error, MissingParameter):
        return CloudWatchError(
            "MissingParameter", "MissingRequiredParameterException", 400, message
        )
    if isinstance(error, InvalidParameterCombination):
        return CloudWatchError(
            "InvalidParameterCombination", "InvalidParameterCombinationException", 400, message
        )
    if isinstance(error, InvalidParameterValue):
        return CloudWatchError(
            "InvalidParameterValue", "InvalidParameterValueException", 400, message
        )
    if not isinstance(error, ServiceUnavailable):
        # Only the errors above are raised on purpose here; anything else is a bug to look into.
        from registry.api.errors import internal_error

        internal_error(error)
    return CloudWatchError(
        "InternalServiceError",
        "InternalServiceFault",
        500,
        f"An internal error occurred; retry later. Request id: {g.get('request_id', '-')}.",
        sender=False,
    )


def register() -> None:
    rpc.register(
        rpc.RpcService(
            signing_name=SIGNING_NAME,
            target_prefix=TARGET_PREFIX,
            dispatch=dispatch,
            render_error=render_error,
            query_actions=frozenset(OPERATIONS),
            speaks_cbor=True,
            renders_refusals=True,
        )
    )


def _metric_query(params: dict, metric: dict, unit: str | None = None) -> MetricQuery:
    dimensions = {}
    for dimension in _list(metric, "Dimensions"):
        if not isinstance(dimension, dict) or not dimension.get("Name"):
            raise MissingParameter("The parameter Dimensions.member.N.Name is required.")
        dimensions[dimension["Name"]] = str(dimension.get("Value", ""))
    return MetricQuery(
        namespace=_required(metric, "Namespace"),
        metric_name=_required(metric, "MetricName"),
        dimensions=dimensions,
        start=timestamp(_required(params, "StartTime"), "StartTime"),
        end=timestamp(_required(params, "EndTime"), "EndTime"),
        period=_integer(_required(params, "Period"), "Period"),
        unit=unit if unit is not None else params.get("Unit"),
    )


def _required(params: dict, name: str):
    value = params.get(name)
    if value is None or value == "":
        raise MissingParameter(f"The parameter {name} is required.")
    return value


def _list(params: dict, name: str) -> list:
    value = params.get(name)
    if value is None or value == "":  # the query protocol sends an empty list as `Name=`
        return []
    if not isinstance(value, list):
        raise InvalidParameterValue(f"The parameter {name} must be a list.")
    return value


def _dict(params: dict, name: str) -> dict:
    value = params.get(name)
    if not isinstance(value, dict):
        raise MissingParameter(f"The parameter {name} is required.")
    return value


def _integer(value, name: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidParameterValue(f"The parameter {name} must be an integer.") from None
    if isinstance(value, float) and value != number:
        raise InvalidParameterValue(f"The parameter {name} must be an integer.")
    return number


def _flag(value) -> bool:
    return value not in (False, "false", "False", "0")


def _moment(epoch_seconds: int) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, timezone.utc)
