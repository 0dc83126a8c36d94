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

from sqlalchemy import case, func, select

from registry.db import Database
from registry.errors import InvalidParameterCombination, InvalidParameterValue, MissingParameter
from registry.models import FunctionMetric
from registry.usage.retention import HOUR
from registry.usage.tally import MINUTE, MinuteCounts

RESOLUTIONS = (MINUTE, HOUR)  # the minutes kept 15 days, and the hours they become

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
    buckets = _buckets(db, account_id, query.dimensions.get("FunctionName"), start, query)
    found = []
    for bucket in buckets:
        point = _datapoint(query.metric_name, unit, bucket)
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


@dataclass(frozen=True)
class _Bucket:
    start: int
    counts: MinuteCounts
    # the stored periods with executions, and the sum, least and most of their peaks
    peaks: int
    peak_sum: int
    peak_min: int | None
    peak_max: int | None


def _buckets(
    db: Database, account_id: str, function_name: str | None, start: int, query: MetricQuery
) -> list[_Bucket]:
    """The figures of each period asked for, added up by the database. Stored periods are first
    added up over the functions asked for: with no dimension, the peaks of concurrency of the
    account's functions in one minute are the executions of all of them at once."""
    m = FunctionMetric
    stored = select(
        m.period_start,
        func.sum(m.invocations).label("invocations"),
        func.sum(m.errors).label("errors"),
        func.sum(m.throttles).label("throttles"),
        func.sum(m.duration_count).label("duration_count"),
        func.sum(m.duration_sum).label("duration_sum"),
        func.min(m.duration_min).label("duration_min"),
        func.max(m.duration_max).label("duration_max"),
        func.sum(m.concurrent_max).label("concurrent"),
    ).where(
        m.account_id == account_id,
        # Both resolutions named, so that the primary key's index ranges over the period only.
        m.resolution.in_(RESOLUTIONS),
        m.period_start >= start,
        m.period_start < query.end,
    )
    if function_name is not None:
        stored = stored.where(m.function_name == function_name)
    periods = stored.group_by(m.period_start).subquery()
    bucket = ((periods.c.period_start - start) // query.period).label("bucket")
    running = case((periods.c.concurrent > 0, periods.c.concurrent))
    by_bucket = (
        select(
            bucket,
            func.sum(periods.c.invocations),
            func.sum(periods.c.errors),
            func.sum(periods.c.throttles),
            func.sum(periods.c.duration_count),
            func.sum(periods.c.duration_sum),
            func.min(periods.c.duration_min),
            func.max(periods.c.duration_max),
            func.count(running),
            func.sum(periods.c.concurrent),
            func.min(running),
            func.max(running),
        )
        .group_by(bucket)
        .order_by(bucket)
    )
    with db.connect() as connection:
        rows = connection.execute(by_bucket).all()
    return [
        _Bucket(
            start=start + int(row[0]) * query.period,
            # PostgreSQL sums BIGINTs as NUMERIC, which arrives as a Decimal.
            counts=MinuteCounts(
                int(row[1]),
                int(row[2]),
                int(row[3]),
                int(row[4]),
                float(row[5]),
                None if row[6] is None else float(row[6]),
                None if row[7] is None else float(row[7]),
            ),
            peaks=int(row[8]),
            peak_sum=int(row[9] or 0),
            peak_min=row[10],
            peak_max=row[11],
        )
        for row in rows
    ]


def _datapoint(metric: str, unit: str, bucket: _Bucket) -> Datapoint | None:
    total, at = bucket.counts, bucket.start
    if metric == "Invocations":
        return _ones(at, unit, total.invocations)
    if metric == "Throttles":
        return _ones(at, unit, total.throttles)
    if metric == "Errors":
        if not total.invocations:
            return None
        return Datapoint(
            at,
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
            at,
            unit,
            total.duration_count,
            total.duration_sum,
            total.duration_min or 0.0,
            total.duration_max or 0.0,
        )
    if not bucket.peaks:
        return None
    return Datapoint(
        at, unit, bucket.peaks, bucket.peak_sum, int(bucket.peak_min), int(bucket.peak_max)
    )


def _ones(bucket: int, unit: str, count: int) -> Datapoint | None:
    if not count:
        return None
    return Datapoint(bucket, unit, count, count, 1.0, 1.0)
