"""The AWS/Lambda metrics of CloudWatch, read from the per-minute rows of an account's functions:
Invocations, Errors, Throttles, Duration and ConcurrentExecutions, per function (dimension
FunctionName) or over all of the account's functions (no dimension).

Each metric is made of samples as Lambda emits them: Invocations a 1 per invocation, Errors a 0
or 1 per invocation, Throttles a 1 per throttled request, Duration the milliseconds of each
invocation, ConcurrentExecutions the peak of each minute.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from registry.db import Database
from registry.errors import InvalidParameterCombination, InvalidParameterValue, MissingParameter
from registry.models import FunctionMetric
from registry.usage.tally import MINUTE, MinuteCounts

NAMESPACE = "AWS/Lambda"
UNITS = {
    "Invocations": "Count",
    "Errors": "Count",
    "Throttles": "Count",
    "Duration": "Milliseconds",
    "ConcurrentExecutions": "Count",
}
STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
MAX_DATAPOINTS = 1440
# ListMetrics, as CloudWatch's, names the metrics that received data in the past two weeks.
LISTED_SECONDS = 14 * 86400


@dataclass(frozen=True)
class MetricQuery:
    namespace: str
    metric_name: str
    dimensions: dict[str, str]
    start: float  # epoch seconds
    end: float
    period: int
    unit: str | None = None


@dataclass(frozen=True)
class Datapoint:
    timestamp: int  # epoch seconds: the start of its period
    unit: str
    sample_count: float
    sum: float
    minimum: float
    maximum: float

    @property
    def average(self) -> float:
        return self.sum / self.sample_count

    def statistic(self, name: str) -> float:
        return {
            "SampleCount": self.sample_count,
            "Average": self.average,
            "Sum": self.sum,
            "Minimum": self.minimum,
            "Maximum": self.maximum,
        }[name]


@dataclass(frozen=True)
class Metric:
    metric_name: str
    dimensions: dict[str, str]


def check_statistics(statistics: Iterable[str], extended: Iterable[str] = ()) -> list[str]:
    statistics, extended = list(statistics), list(extended)
    if extended:
        raise InvalidParameterValue(
            "Percentile statistics (ExtendedStatistics) are not kept; ask for SampleCount, "
            "Average, Sum, Minimum or Maximum."
        )
    if not statistics:
        raise MissingParameter("The parameter Statistics or ExtendedStatistics must be specified.")
    for name in statistics:
        if name not in STATISTICS:
            raise InvalidParameterValue(
                f"The parameter Statistics contains '{name}'; the statistics are "
                + ", ".join(STATISTICS)
                + "."
            )
    return statistics


def datapoints(db: Database, account_id: str, query: MetricQuery) -> list[Datapoint]:
    """The periods of [start, end) with samples, oldest first; empty for a metric, namespace,
    dimension or unit this server does not emit."""
    _check_range(query)
    unit = UNITS.get(query.metric_name)
    if (
        query.namespace != NAMESPACE
        or unit is None
        or (query.unit is not None and query.unit != unit)
        or set(query.dimensions) - {"FunctionName"}
    ):
        return []
    start = int(query.start) // MINUTE * MINUTE
    rows = _rows(db, account_id, query.dimensions.get("FunctionName"), start, query.end)
    buckets: dict[int, list[tuple[MinuteCounts, int]]] = {}
    for period_start, (counts, functions) in sorted(_per_period(rows).items()):
        bucket = start + (period_start - start) // query.period * query.period
        buckets.setdefault(bucket, []).append((counts, functions))
    found = []
    for bucket, periods in sorted(buckets.items()):
        point = _datapoint(query.metric_name, bucket, unit, periods)
        if point is not None:
            found.append(point)
    return found


def list_metrics(
    db: Database,
    account_id: str,
    *,
    namespace: str | None = None,
    metric_name: str | None = None,
    dimensions: dict[str, str | None] | None = None,
    now: float | None = None,
) -> list[Metric]:
    """Every metric of each function that ran or was throttled in the past two weeks, and the
    same over all the account's functions (no dimension); `dimensions` filters by name, and by
    value where one is given."""
    if namespace not in (None, NAMESPACE):
        return []
    since = int(time.time() if now is None else now) - LISTED_SECONDS
    with db.read() as session:
        names = session.scalars(
            select(FunctionMetric.function_name)
            .distinct()
            .where(FunctionMetric.account_id == account_id, FunctionMetric.period_start >= since)
            .order_by(FunctionMetric.function_name)
        ).all()
    wanted = dimensions or {}
    if set(wanted) - {"FunctionName"}:
        return []
    sets = [{"FunctionName": name} for name in names]
    if names and not wanted:
        sets.append({})
    if "FunctionName" in wanted and wanted["FunctionName"] is not None:
        sets = [s for s in sets if s.get("FunctionName") == wanted["FunctionName"]]
    elif "FunctionName" in wanted:
        sets = [s for s in sets if s]
    return [
        Metric(name, dims)
        for dims in sets
        for name in UNITS
        if metric_name is None or metric_name == name
    ]


def _check_range(query: MetricQuery) -> None:
    if query.period < MINUTE or query.period % MINUTE:
        raise InvalidParameterValue(
            f"The parameter Period must be a multiple of 60; {query.period} is not."
        )
    if query.start >= query.end:
        raise InvalidParameterValue(
            "The parameter StartTime must be less than the parameter EndTime."
        )
    requested = -(-int(query.end - query.start) // query.period)
    if requested > MAX_DATAPOINTS:
        raise InvalidParameterCombination(
            f"You have requested up to {requested:,} datapoints, which exceeds the limit of "
            f"{MAX_DATAPOINTS:,}. You may reduce the datapoints requested by increasing Period, "
            "or decreasing the time range."
        )


def _rows(db: Database, account_id: str, function_name: str | None, start: int, end: float):
    metric = FunctionMetric
    query = select(metric).where(
        metric.account_id == account_id,
        metric.period_start >= start,
        metric.period_start < end,
    )
    if function_name is not None:
        query = query.where(metric.function_name == function_name)
    with db.read() as session:
        return session.scalars(query).all()


def _per_period(rows) -> dict[int, tuple[MinuteCounts, int]]:
    """Each stored period's counts over the functions asked for, and the sum of their peaks of
    concurrency (with no dimension, executions of all the account's functions at once)."""
    periods: dict[int, tuple[MinuteCounts, int]] = {}
    for row in rows:
        counts = MinuteCounts(
            row.invocations,
            row.errors,
            row.throttles,
            row.duration_count,
            row.duration_sum,
            row.duration_min,
            row.duration_max,
        )
        known, concurrent = periods.get(row.period_start, (MinuteCounts(), 0))
        known.add(counts)
        periods[row.period_start] = (known, concurrent + row.concurrent_max)
    return periods


def _datapoint(
    metric: str, bucket: int, unit: str, periods: list[tuple[MinuteCounts, int]]
) -> Datapoint | None:
    total = MinuteCounts()
    for counts, _ in periods:
        total.add(counts)
    if metric == "Invocations":
        return _ones(bucket, unit, total.invocations)
    if metric == "Throttles":
        return _ones(bucket, unit, total.throttles)
    if metric == "Errors":
        if not total.invocations:
            return None
        return Datapoint(
            bucket,
            unit,
            total.invocations,
            total.errors,
            0.0 if total.errors < total.invocations else 1.0,
            1.0 if total.errors else 0.0,
        )
    if metric == "Duration":
        if not total.duration_count:
            return None
        return Datapoint(
            bucket,
            unit,
            total.duration_count,
            total.duration_sum,
            total.duration_min or 0.0,
            total.duration_max or 0.0,
        )
    peaks = [concurrent for _, concurrent in periods if concurrent]
    if not peaks:
        return None
    return Datapoint(bucket, unit, len(peaks), sum(peaks), min(peaks), max(peaks))


def _ones(bucket: int, unit: str, count: int) -> Datapoint | None:
    if not count:
        return None
    return Datapoint(bucket, unit, count, count, 1.0, 1.0)
