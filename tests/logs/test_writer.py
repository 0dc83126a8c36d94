"""The writer: invocations' logs stored off the invocation path, under the function's group and
its environment's stream, within the flush interval; the account's quota kept."""

from __future__ import annotations

import time

from registry.executor.report import InvocationResult, Report
from registry.invocations.observers import InvocationObservers, Ran
from registry.logs.patterns import parse
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
