"""UsageRecorder: what every invocation, throttle and signed request adds to the per-minute and
per-day rows, written by flushes that add to what is stored, from any number of writers."""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from registry.db import Database, upgrade
from registry.errors import ServiceUnavailable
from registry.invocations.observers import InvocationObservers
from registry.models import AccountUsageDay, FunctionMetric
from registry.usage.recorder import UsageRecorder
from registry.usage.report import usage
from registry.usage.tally import utc_day
from tests.usage.records import new_account_id, ran, throttled


def day_row(db, account_id: str) -> AccountUsageDay:
    with db.read() as session:
        return session.scalars(
            select(AccountUsageDay).where(AccountUsageDay.account_id == account_id)
        ).one()


def minute_rows(db, account_id: str) -> list[FunctionMetric]:
    with db.read() as session:
        return session.scalars(
            select(FunctionMetric)
            .where(FunctionMetric.account_id == account_id)
            .order_by(FunctionMetric.function_name, FunctionMetric.period_start)
        ).all()


def test_recorder__an_invocation_reaches_its_minute_and_its_day_at_the_next_flush(db):
    account = new_account_id()
    recorder = UsageRecorder(db)
    at = 1_800_000_125.5  # 2027-01-15T08:02:05.5Z
    recorder.ran(ran(account, "orders", duration_ms=12.5, at=at))
    recorder.ran(ran(account, "orders", duration_ms=40.25, outcome="timeout", at=at + 1))
    assert minute_rows(db, account) == []  # nothing written by the invoking thread
    recorder.flush()
    (minute,) = minute_rows(db, account)
    assert (minute.function_name, minute.resolution, minute.period_start) == (
        "orders",
        60,
        1_800_000_120,
    )
    assert (minute.invocations, minute.errors, minute.throttles) == (2, 1, 0)
    assert (minute.duration_count, minute.duration_sum) == (2, 52.75)
    assert (minute.duration_min, minute.duration_max) == (12.5, 40.25)
    day = day_row(db, account)
    assert (day.day, day.invocations, day.errors) == (date(2027, 1, 15), 2, 1)


def test_recorder__billed_duration_is_each_invocation_rounded_up_to_the_millisecond(db):
    account = new_account_id()
    recorder = UsageRecorder(db)
    for duration in (0.2, 1.0, 1.01, 99.5, 250.999):
        recorder.ran(ran(account, duration_ms=duration))
    recorder.flush()
    assert day_row(db, account).billed_duration_ms == 1 + 1 + 2 + 100 + 251


def test_recorder__gb_seconds_are_memory_in_gb_times_billed_seconds(db):
    account = new_account_id()
    recorder = UsageRecorder(db)
    for _ in range(3):
        recorder.ran(ran(account, duration_ms=999.1, memory_mb=512))  # billed 1000 ms
    recorder.ran(ran(account, duration_ms=99.9, memory_mb=128))  # billed 100 ms
    recorder.flush()
    (figures,) = usage(db, since=date(2000, 1, 1), account_id=account)
    (today,) = figures.days
    assert today.billed_duration_ms == 3100
    assert today.gb_seconds == pytest.approx(3 * 0.5 * 1.0 + 0.125 * 0.1)


def test_recorder__throttles_and_signed_requests_count_for_the_account_only(db):
    account, other = new_account_id(), new_account_id()
    recorder = UsageRecorder(db)
    recorder.throttled(throttled(account, "busy"))
    recorder.throttled(throttled(account, "busy"))
    for _ in range(5):
        recorder.request(account)
    recorder.request(other)
    recorder.flush()
    day = day_row(db, account)
    assert (day.invocations, day.throttles, day.requests) == (0, 2, 5)
    (minute,) = minute_rows(db, account)
    assert (minute.invocations, minute.throttles, minute.duration_min) == (0, 2, None)
    assert day_row(db, other).requests == 1


def test_recorder__concurrency_is_the_most_executions_seen_running_as_one_ended(db):
    account = new_account_id()
    others_running = iter([3, 0, 1])
    recorder = UsageRecorder(db, running=lambda function_id: next(others_running))
    for _ in range(3):
        recorder.ran(ran(account, at=1_800_000_000))
    recorder.flush()
    (minute,) = minute_rows(db, account)
    assert minute.concurrent_max == 4


def test_recorder__observes_the_invokers_observers(db):
    account = new_account_id()
    recorder = UsageRecorder(db)
    observers = InvocationObservers()
    recorder.observe(observers)
    observers.ran(ran(account))
    observers.throttled(throttled(account))
    recorder.flush()
    day = day_row(db, account)
    assert (day.invocations, day.throttles) == (1, 1)


def test_recorder__two_writers_flushing_the_same_rows_at_once_lose_no_count(database_url):
    """As two server processes (each with its own engine) adding to one minute and one day."""
    account = new_account_id()
    at = time.time()
    writers = [Database(database_url), Database(database_url)]
    try:
        recorders = [UsageRecorder(db) for db in writers]
        start = threading.Barrier(2)

        def work(recorder: UsageRecorder) -> None:
            start.wait()
            for round_ in range(20):
                for _ in range(5):
                    recorder.ran(ran(account, duration_ms=1.5, at=at))
                    recorder.request(account)
                recorder.flush()
                if round_ % 5 == 0:
                    recorder.ran(ran(account, "other", at=at))

        threads = [threading.Thread(target=work, args=(r,)) for r in recorders]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for recorder in recorders:
            recorder.flush()
        day = day_row(writers[0], account)
        assert (day.invocations, day.requests) == (2 * (100 + 4), 2 * 100)
        assert day.billed_duration_ms == 2 * (100 * 2 + 4 * 10)
        by_function = {row.function_name: row for row in minute_rows(writers[0], account)}
        assert by_function["fn"].invocations == 200
        assert by_function["fn"].duration_sum == pytest.approx(300.0)
        assert by_function["other"].invocations == 8
    finally:
        for db in writers:
            db.dispose()


def test_recorder__counts_a_flush_could_not_write_are_written_by_the_next(tmp_path):
    url = f"sqlite:///{tmp_path / 'late.db'}"
    db = Database(url)  # no schema yet: every write fails
    try:
        account = new_account_id()
        recorder = UsageRecorder(db)
        recorder.ran(ran(account))
        with pytest.raises(ServiceUnavailable):
            recorder.flush()
        recorder.ran(ran(account))
        upgrade(url)
        recorder.flush()
        assert day_row(db, account).invocations == 2
    finally:
        db.dispose()


def test_recorder__stop_writes_what_was_counted_since_the_last_flush(db):
    account = new_account_id()
    recorder = UsageRecorder(db, flush_seconds=3600)
    recorder.start()
    recorder.ran(ran(account))
    recorder.request(account)
    recorder.stop()
    day = day_row(db, account)
    assert (day.invocations, day.requests) == (1, 1)


def test_recorder__its_thread_flushes_about_every_second(db):
    account = new_account_id()
    recorder = UsageRecorder(db, flush_seconds=0.05)
    recorder.start()
    try:
        recorder.ran(ran(account))
        deadline = time.monotonic() + 5
        while not minute_rows(db, account) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert minute_rows(db, account)[0].invocations == 1
    finally:
        recorder.stop()


def test_tally__days_are_utc_days():
    midnight = 1_800_057_600  # 2027-01-16T00:00:00Z
    assert utc_day(midnight - 0.001) == date(2027, 1, 15)
    assert utc_day(midnight) == date(2027, 1, 16)
    assert utc_day(midnight) - timedelta(days=1) == utc_day(midnight - 1)
