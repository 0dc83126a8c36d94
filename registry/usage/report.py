"""The usage figures of accounts per day, as `strata usage` prints them and the console shows
them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date

from sqlalchemy import select

from registry.db import Database
from registry.models import AccountUsageDay
from registry.usage.stored import stored_bytes

MB_MS_PER_GB_SECOND = 1024 * 1000


@dataclass(frozen=True)
class DayUsage:
    day: date
    invocations: int
    errors: int
    throttles: int
    requests: int
    billed_duration_ms: int
    memory_mb_ms: int
    stored_bytes: int  # the day's peak, as sampled

    @property
    def gb_seconds(self) -> float:
        """Lambda's compute figure: memory in GB times billed duration in seconds."""
        return self.memory_mb_ms / MB_MS_PER_GB_SECOND

    def as_json(self) -> dict:
        figures = asdict(self)
        del figures["memory_mb_ms"]
        return {**figures, "day": self.day.isoformat(), "gb_seconds": round(self.gb_seconds, 6)}


@dataclass(frozen=True)
class AccountUsage:
    account_id: str
    stored_bytes: int  # now: what the account's blobs take
    days: list[DayUsage] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "account_id": self.account_id,
            "stored_bytes": self.stored_bytes,
            "days": [day.as_json() for day in self.days],
        }


def usage(db: Database, *, since: date, account_id: str | None = None) -> list[AccountUsage]:
    """Every account with usage since `since` (a UTC day) or stored bytes, ordered by id; its
    days oldest first, only those it used."""
    query = select(AccountUsageDay).where(AccountUsageDay.day >= since)
    if account_id is not None:
        query = query.where(AccountUsageDay.account_id == account_id)
    query = query.order_by(AccountUsageDay.account_id, AccountUsageDay.day)
    days: dict[str, list[DayUsage]] = {}
    with db.read() as session:
        for row in session.scalars(query):
            days.setdefault(row.account_id, []).append(
                DayUsage(
                    day=row.day,
                    invocations=row.invocations,
                    errors=row.errors,
                    throttles=row.throttles,
                    requests=row.requests,
                    billed_duration_ms=row.billed_duration_ms,
                    memory_mb_ms=row.memory_mb_ms,
                    stored_bytes=row.stored_bytes,
                )
            )
    stored = stored_bytes(db, account_id)
    accounts = sorted(set(days) | set(stored))
    if account_id is not None and account_id not in accounts:
        accounts = [account_id]
    return [AccountUsage(a, stored.get(a, 0), days.get(a, [])) for a in accounts]
