"""Adding counts to the shared rows: one upsert per row that adds to what is stored
(`INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n`), so any number of processes on any
number of nodes may write the same minute or day at once without losing a count."""

from __future__ import annotations

from datetime import date

from sqlalchemy import case
from sqlalchemy.orm import Session

from registry.db import dialect_insert
from registry.models import AccountUsageDay, FunctionMetric
from registry.usage.tally import Batch, DayCounts, DayKey, MinuteCounts

_MINUTE_SUMS = ("invocations", "errors", "throttles", "duration_count", "duration_sum")
_DAY_SUMS = (
    "invocations",
    "errors",
    "throttles",
    "requests",
    "billed_duration_ms",
    "memory_mb_ms",
)


def add_batch(session: Session, batch: Batch, *, resolution: int = 60) -> None:
    """Rows are written in key order, so that two writers' transactions on PostgreSQL take the
    rows' locks in the same order and never deadlock."""
    if batch.minutes:
        add_metrics(
            session,
            [
                (account_id, function_name, start, counts)
                for (account_id, function_name, start), counts in sorted(batch.minutes.items())
            ],
            resolution=resolution,
        )
    if batch.days:
        _add_days(session, sorted(batch.days.items()))


def add_metrics(
    session: Session, rows: list[tuple[str, str, int, MinuteCounts]], *, resolution: int
) -> None:
    table = FunctionMetric.__table__
    statement = dialect_insert(session, table)
    stored, new = table.c, statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=["account_id", "function_name", "resolution", "period_start"],
        set_={
            **{name: stored[name] + new[name] for name in _MINUTE_SUMS},
            "duration_min": case(
                (stored.duration_min.is_(None), new.duration_min),
                (new.duration_min < stored.duration_min, new.duration_min),
                else_=stored.duration_min,
            ),
            "duration_max": case(
                (stored.duration_max.is_(None), new.duration_max),
                (new.duration_max > stored.duration_max, new.duration_max),
                else_=stored.duration_max,
            ),
            "concurrent_max": case(
                (new.concurrent_max > stored.concurrent_max, new.concurrent_max),
                else_=stored.concurrent_max,
            ),
        },
    )
    session.execute(
        statement,
        [
            {
                "account_id": account_id,
                "function_name": function_name,
                "resolution": resolution,
                "period_start": start,
                "invocations": counts.invocations,
                "errors": counts.errors,
                "throttles": counts.throttles,
                "duration_count": counts.duration_count,
                "duration_sum": counts.duration_sum,
                "duration_min": counts.duration_min,
                "duration_max": counts.duration_max,
                "concurrent_max": counts.concurrent_max,
            }
            for account_id, function_name, start, counts in rows
        ],
    )


def _add_days(session: Session, rows: list[tuple[DayKey, DayCounts]]) -> None:
    table = AccountUsageDay.__table__
    statement = dialect_insert(session, table)
    statement = statement.on_conflict_do_update(
        index_elements=["account_id", "day"],
        set_={name: table.c[name] + statement.excluded[name] for name in _DAY_SUMS},
    )
    session.execute(
        statement,
        [
            {
                "account_id": account_id,
                "day": day,
                **{name: getattr(counts, name) for name in _DAY_SUMS},
            }
            for (account_id, day), counts in rows
        ],
    )


def raise_stored(session: Session, day: date, figures: dict[str, int]) -> None:
    """Each account's stored bytes for the day become the larger of what is there and its
    figure: the day's peak, whichever process sampled it last."""
    if not figures:
        return
    table = AccountUsageDay.__table__
    statement = dialect_insert(session, table)
    statement = statement.on_conflict_do_update(
        index_elements=["account_id", "day"],
        set_={
            "stored_bytes": case(
                (
                    statement.excluded.stored_bytes > table.c.stored_bytes,
                    statement.excluded.stored_bytes,
                ),
                else_=table.c.stored_bytes,
            )
        },
    )
    session.execute(
        statement,
        [
            {"account_id": account_id, "day": day, "stored_bytes": size}
            | dict.fromkeys(_DAY_SUMS, 0)
            for account_id, size in sorted(figures.items())
        ],
    )
