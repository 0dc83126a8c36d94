"""Usage and metrics benchmark: what counting costs an invocation, what a flush costs, and how
fast GetMetricStatistics reads a function's stored figures.

    .venv/bin/python bench/bench_usage.py [--calls 200000] [--functions 1000]

Run in-process against a migrated SQLite file and a throwaway PostgreSQL cluster (the one the
tests start; skipped when PostgreSQL is not installed):
  observe      microseconds one invocation costs the invoking thread (UsageRecorder.ran),
               alone and with 8 threads recording at once
  flush        milliseconds of one flush: a busy function's minute and day (2 rows), and
               --functions functions of one account each in its own minute row
  read         milliseconds of GetMetricStatistics' read (registry.usage.metrics.datapoints)
               over 15 days of minute rows of one function: 1 hour at 60 s, 1 day at 3600 s,
               15 days at 86400 s
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from registry.db import Database, upgrade
from registry.executor.report import InvocationResult, Report
from registry.invocations.observers import Ran
from registry.usage import metrics
from registry.usage.counters import add_batch
from registry.usage.metrics import MetricQuery
from registry.usage.recorder import UsageRecorder
from registry.usage.tally import Batch, DayCounts, MinuteCounts

ACCOUNT = "123456789012"


def record(at: float, function: str = "fn") -> Ran:
    result = InvocationResult("r", b"{}", None, "success", "", Report("r", 12.3, 128, 40))
    return Ran(ACCOUNT, 1, function, "$LATEST", "RequestResponse", "e", at, at, result)


def observe(db: Database, calls: int, threads: int) -> float:
    recorder = UsageRecorder(db, running=lambda _: 0)
    per_thread = calls // threads
    now = time.time()
    records = [record(now + i % 120) for i in range(1000)]
    barrier = threading.Barrier(threads + 1)

    def work() -> None:
        barrier.wait()
        for i in range(per_thread):
            recorder.ran(records[i % 1000])

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    return elapsed / (per_thread * threads) * 1e6


def flush_ms(db: Database, rows: int, rounds: int = 20) -> float:
    minute = int(time.time()) // 60 * 60
    times = []
    for round_ in range(rounds):
        batch = Batch()
        for f in range(rows):
            batch.minutes[(ACCOUNT, f"fn-{f}", minute - round_ * 60)] = MinuteCounts(
                10, 1, 0, 10, 123.0, 1.0, 30.0, 2
            )
        batch.days[(ACCOUNT, _today())] = DayCounts(10, 1, 0, 10, 200, 1)
        started = time.perf_counter()
        with db.write() as session:
            add_batch(session, batch)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _today():
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).date()


def read_ms(db: Database) -> dict[str, float]:
    now = int(time.time()) // 60 * 60
    batch = Batch()
    for i in range(15 * 1440):
        batch.minutes[(ACCOUNT, "busy", now - i * 60)] = MinuteCounts(
            5, 0, 0, 5, 50.0, 5.0, 15.0, 1
        )
    with db.write() as session:
        add_batch(session, batch)
    figures = {}
    for label, span, period in (
        ("1 h / 60 s", 3600, 60),
        ("1 d / 3600 s", 86400, 3600),
        ("15 d / 86400 s", 15 * 86400, 86400),
    ):
        query = MetricQuery(
            "AWS/Lambda", "Duration", {"FunctionName": "busy"}, now - span + 60, now + 60, period
        )
        times = []
        for _ in range(10):
            started = time.perf_counter()
            metrics.datapoints(db, ACCOUNT, query)
            times.append((time.perf_counter() - started) * 1000)
        figures[label] = statistics.median(times)
    return figures


def run(name: str, url: str, args) -> None:
    upgrade(url)
    db = Database(url)
    try:
        alone = observe(db, args.calls, 1)
        contended = observe(db, args.calls, 8)
        busy = flush_ms(db, 1)
        many = flush_ms(db, args.functions, rounds=5)
        reads = read_ms(db)
    finally:
        db.dispose()
    print(f"{name}:")
    print(f"  observe   {alone:.2f} us per invocation alone, {contended:.2f} us with 8 threads")
    print(f"  flush     {busy:.2f} ms (1 function), {many:.1f} ms ({args.functions} functions)")
    for label, ms in reads.items():
        print(f"  read      {label}: {ms:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--functions", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        run("SQLite", f"sqlite:///{scratch}/usage.db", args)
    try:
        from tests.support.postgres import PostgresUnavailable, start_cluster
    except ImportError:
        return
    try:
        cluster = start_cluster()
    except PostgresUnavailable as error:
        print(f"PostgreSQL: skipped ({error})")
        return
    try:
        with cluster.connect_admin() as admin:
            admin.execute('CREATE DATABASE "bench_usage"')
        run(
            "PostgreSQL",
            f"postgresql+psycopg://{cluster.user}@{cluster.host}:{cluster.port}/bench_usage",
            args,
        )
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
