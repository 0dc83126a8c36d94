"""The sweep that keeps the tables bounded: minute detail for 15 days, then hours; hours and days
for 15 months. Sweeps of several processes at once never count a minute twice."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select

from registry.db import Database
from registry.models import AccountUsageDay, FunctionMetric
from registry.usage import retention
from registry.usage.recorder import UsageRecorder
from registry.usage.tally import utc_day
from tests.usage.records import new_account_id, ran

NOW = 1_900_000_000.0
DAY = 86400


def rows(db, account_id: str) -> list[tuple]:
    with db.read() as session:
        return [
            (r.resolution, r.period_start, r.invocations, r.errors, r.duration_min, r.duration_max)
            for r in session.scalars(
                select(FunctionMetric)
                .where(FunctionMetric.account_id == account_id)
                .order_by(FunctionMetric.resolution, FunctionMetric.period_start)
            )
        ]


def days(db, account_id: str) -> list:
    with db.read() as session:
        return session.scalars(
            select(AccountUsageDay.day).where(AccountUsageDay.account_id == account_id)
        ).all()


def record(db, account_id: str, *invocations: tuple[float, float, str]) -> None:
    recorder = UsageRecorder(db)
    for at, duration, outcome in invocations:
        recorder.ran(ran(account_id, at=at, duration_ms=duration, outcome=outcome))
    recorder.flush()


def test_sweep__minutes_older_than_15_days_become_their_hour(db):
    account = new_account_id()
    old_hour = int(NOW - 16 * DAY) // 3600 * 3600
    recent = NOW - 14 * DAY
    record(
        db,
        account,
        (old_hour + 5, 10.0, "success"),
        (old_hour + 65, 30.0, "timeout"),
        (old_hour + 3599, 20.0, "success"),
        (recent, 7.0, "success"),
    )
    retention.sweep(db, now=NOW)
    recent_minute = int(recent) // 60 * 60
    assert rows(db, account) == [
        (60, recent_minute, 1, 0, 7.0, 7.0),
        (3600, old_hour, 3, 1, 10.0, 30.0),
    ]


def test_sweep__hours_and_days_older_than_15_months_are_deleted(db):
    account = new_account_id()
    too_old = NOW - 456 * DAY
    kept = NOW - 454 * DAY
    record(db, account, (too_old, 1.0, "success"), (kept, 1.0, "success"))
    retention.sweep(db, now=NOW)
    assert [r[:2] for r in rows(db, account)] == [(3600, int(kept) // 3600 * 3600)]
    assert days(db, account) == [utc_day(kept)]
    assert utc_day(kept) - utc_day(too_old) == timedelta(days=2)


def test_sweep__sweeps_running_at_once_roll_each_minute_up_once(database_url):
    account = new_account_id()
    sweepers = [Database(database_url) for _ in range(3)]
    try:
        old = int(NOW - 20 * DAY) // 3600 * 3600
        record(sweepers[0], account, *[(old + 60 * i, 1.0, "success") for i in range(30)])
        start = threading.Barrier(len(sweepers))

        def sweep(db):
            start.wait()
            retention.sweep(db, now=NOW)

        threads = [threading.Thread(target=sweep, args=(db,)) for db in sweepers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        retention.sweep(sweepers[0], now=NOW)
        assert [r[:3] for r in rows(sweepers[0], account)] == [(3600, old, 30)]
    finally:
        for db in sweepers:
            db.dispose()
