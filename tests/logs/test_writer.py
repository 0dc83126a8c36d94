"""The writer: invocations' logs stored off the invocation path, under the function's group and
its environment's stream, within the flush interval; the account's quota kept; a database
outage delays them and loses none."""

from __future__ import annotations

import time

from registry import db as database
from registry.errors import ServiceUnavailable
from registry.executor.report import InvocationResult, Report
from registry.invocations.observers import InvocationObservers, Ran
from registry.logs.errors import LogResourceNotFound
from registry.logs.patterns import parse
from registry.logs.store import LogStore
from registry.logs.writer import LogWriter


def ran(account: str, text: str, *, env: str = "77-abc", at: float | None = None) -> Ran:
    at = time.time() if at is None else at
    report = Report(
        request_id="r", duration_ms=1.0, memory_size_mb=128, max_memory_used_mb=None,
        init_duration_ms=None,
    )  # fmt: skip
    result = InvocationResult(
        request_id="r", outcome="success", payload=b"{}", function_error=None, logs=text,
        report=report,
        environment_id=env,
    )  # fmt: skip
    return Ran(account, 1, "orders", "$LATEST", "RequestResponse", env, at, at + 0.01, result)


LOG = "START RequestId: r Version: $LATEST\nhello\nEND RequestId: r\nREPORT RequestId: r\n"


def test_writer__stores_an_invocations_lines_within_a_second(log_store, new_account):
    account = new_account()
    writer = LogWriter(log_store, quota_bytes=10**9)
    observers = InvocationObservers()
    observers.on_ran(writer.submit)
    writer.start()
    try:
        observers.ran(ran(account, LOG))
        deadline = time.monotonic() + 1.0
        found = []
        while time.monotonic() < deadline and len(found) < 4:
            try:
                found = log_store.filter_events(account, "/aws/lambda/orders", pattern=parse(None))
                found = found.events
            except Exception:
                found = []
            time.sleep(0.02)
    finally:
        writer.stop()
    assert [e.message for e in found] == LOG.splitlines()
    assert found[0].stream.endswith("[$LATEST]" + "77abc".rjust(32, "0"))


def test_writer__one_stream_per_environment(log_store, new_account):
    account = new_account()
    writer = LogWriter(log_store, quota_bytes=10**9)
    for env in ("1-aa", "1-bb", "1-aa"):
        writer.submit(ran(account, LOG, env=env))
    writer.flush()
    streams, _ = log_store.streams(account, "/aws/lambda/orders")
    assert len(streams) == 2


def test_writer__past_the_quota_the_oldest_events_go(log_store, new_account):
    account = new_account()
    size = sum(len(line.encode()) + 26 for line in LOG.splitlines())
    writer = LogWriter(log_store, quota_bytes=3 * size)
    for i in range(5):
        writer.submit(ran(account, LOG.replace("hello", f"hello {i}"), at=1_000.0 + i))
        writer.flush()
    left = log_store.filter_events(account, "/aws/lambda/orders", pattern=parse("hello"))
    assert log_store.account_bytes(account) <= 3 * size
    assert [e.message for e in left.events][-1] == "hello 4"
    assert "hello 0" not in [e.message for e in left.events]


def test_writer__logs_of_invocations_while_the_database_is_down_are_stored_once_it_is_back(
    postgres_cluster, postgres_url, new_account
):
    database.upgrade(postgres_url)
    db = database.Database(postgres_url)
    store = LogStore(db)
    account = new_account()
    writer = LogWriter(store, quota_bytes=10**9)
    writer.start()
    name = postgres_url.rsplit("/", 1)[1]
    found: list[str] = []
    try:
        postgres_cluster.allow_connections(name, False)
        for i in range(3):
            writer.submit(ran(account, LOG.replace("hello", f"during {i}"), env=f"9-{i}"))
            time.sleep(0.3)  # each record meets failing flushes
        postgres_cluster.allow_connections(name, True)
        deadline = time.monotonic() + 10
        while len(found) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
            try:
                page = store.filter_events(account, "/aws/lambda/orders", pattern=parse("during"))
            except (ServiceUnavailable, LogResourceNotFound):  # down, or nothing stored yet
                continue
            found = [event.message for event in page.events]
    finally:
        postgres_cluster.allow_connections(name, True)
        writer.stop()
        db.dispose()
    assert sorted(found) == ["during 0", "during 1", "during 2"]
    assert writer.dropped == 0
