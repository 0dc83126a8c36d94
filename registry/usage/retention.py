"""How long the figures are kept, so the tables stay bounded.

As CloudWatch does, a function's metrics keep minute detail for 15 days and hour detail for 15
months (455 days): minute rows older than 15 days are rolled up into hour rows, hour rows older
than 15 months are deleted. An account's daily usage is kept 15 months as well, long enough to
compare a month with the same month a year before.
"""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import delete

from registry.db import Database
from registry.models import AccountUsageDay, FunctionMetric
from registry.usage.counters import add_metrics
from registry.usage.tally import MINUTE, MinuteCounts, utc_day

HOUR = 3600
MINUTE_DETAIL_DAYS = 15
RETENTION_DAYS = 455


def sweep(db: Database, now: float | None = None) -> None:
    """Any number of processes may sweep at once: the minute rows are claimed by deleting them
    (DELETE ... RETURNING), so only the transaction that removed a row adds it to its hour."""
    now = time.time() if now is None else now
    minute_cutoff = int(now) - MINUTE_DETAIL_DAYS * 86400
    hour_cutoff = int(now) - RETENTION_DAYS * 86400
    metric = FunctionMetric
    with db.write() as session:
        claimed = session.execute(
            delete(metric)
            .where(metric.resolution == MINUTE, metric.period_start < minute_cutoff)
            .returning(
                metric.account_id,
                metric.function_name,
                metric.period_start,
                metric.invocations,
                metric.errors,
                metric.throttles,
                metric.duration_count,
                metric.duration_sum,
                metric.duration_min,
                metric.duration_max,
                metric.concurrent_max,
            )
        ).all()
        hours: dict[tuple[str, str, int], MinuteCounts] = {}
        for row in claimed:
            key = (row.account_id, row.function_name, row.period_start // HOUR * HOUR)
            hours.setdefault(key, MinuteCounts()).add(
                MinuteCounts(
                    row.invocations,
                    row.errors,
                    row.throttles,
                    row.duration_count,
                    row.duration_sum,
                    row.duration_min,
                    row.duration_max,
                    row.concurrent_max,
                )
            )
        if hours:
            add_metrics(
                session,
                [(*key, counts) for key, counts in sorted(hours.items())],
                resolution=HOUR,
            )
        session.execute(
            delete(metric).where(metric.resolution == HOUR, metric.period_start < hour_cutoff)
        )
        session.execute(
            delete(AccountUsageDay).where(
                AccountUsageDay.day < utc_day(now) - timedelta(days=RETENTION_DAYS)
            )
        )
