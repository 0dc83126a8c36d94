"""Function logs benchmark: what storing logs costs an invocation, and how fast `aws logs tail`
gets its first page from a group holding 100,000 events.

    .venv/bin/python bench/bench_logs.py [--seconds 5] [--rounds 6] [--backend sqlite|pg|both]

Figures:
  invoke   warm Invoke of a handler that prints two lines, p50 of sequential signed requests and
           throughput under 8 concurrent clients (wrk, gunicorn 2 workers x 4 threads), on a
           server storing function logs and on one with STRATA_FUNCTION_LOGS=off, measured in
           turns in the same run (goal: logs on within 10 % of off); the CPU the workers spent
           per invocation under that load (the writer's cost, undisturbed by other load on the
           machine); and the events stored
  tail     the FilterLogEvents request `aws logs tail GROUP --since 5m` sends first (interleaved,
           startTime, no pattern) over a group of 100,000 events in 50 streams, all in the last
           5 minutes, so the first page is a full one: the request alone
           (p50 of 30, over HTTP) and through boto3's logs client, which the CLI uses, parsing
           included (goal < 200 ms), on SQLite and PostgreSQL; the same page asked with
           limit=10,000; and a filter pattern that matches one event in a thousand
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from bench.bench_invoke import ROLE, RUNTIME, create_active, handler_zip  # noqa: E402
from bench.common import (  # noqa: E402
    BIN,
    CREDENTIALS,
    dev_client,
    signed_headers,
    start_strata,
    stop,
    worker_pids,
    wrk,
)

HANDLER = (
    "def handler(event, context):\n"
    "    print('processing order', event.get('bench'))\n"
    "    print('done')\n"
    "    return {'ok': True}\n"
)
EVENTS = 100_000
STREAMS = 50
GOAL_TAIL_MS = 200.0
DEV_ACCOUNT = "000000000000"


def workers_cpu_s(master: int) -> float:
    """CPU seconds the server's gunicorn workers have spent (the log writer's thread is theirs;
    the handlers' own processes, the same with logs on or off, are not counted)."""
    ticks = 0
    for pid in worker_pids(master):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def sequential_p50(url: str, path: str, headers: dict, body: bytes, count: int = 300) -> float:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        samples.append((time.perf_counter() - started) * 1000)
        if response.status != 200:
            raise RuntimeError(f"invoke answered {response.status}")
    connection.close()
    return statistics.median(samples)


def invoke_section(seconds: int, rounds: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="strata-bench-logs-"))
    servers = {}
    try:
        for label, env in (("logs on", {}), ("logs off", {"STRATA_FUNCTION_LOGS": "off"})):
            process, url = start_strata(work / label.replace(" ", "-"), env=env)
            servers[label] = (process, url)
            create_active(
                dev_client(url),
                FunctionName="bench",
                Runtime=RUNTIME,
                Role=ROLE,
                Handler="app.handler",
                Code={"ZipFile": handler_zip(HANDLER)},
            )
        path = "/2015-03-31/functions/bench/invocations"
        body = b'{"bench": true}'
        figures: dict[str, list[tuple[float, float, float]]] = {label: [] for label in servers}
        for _label, (_, url) in servers.items():  # warm both workers' environments
            wrk(url + path, signed_headers(url + path, "POST", body), 2, method="POST", body=body)
        # In turns, so that a slower minute of the machine falls on both alike, and each going
        # first every other round: with both servers storing no logs, whichever went first in
        # every round measured some 10 % slower.
        for turn in range(rounds):
            order = list(servers.items())
            for label, (process, url) in order[::-1] if turn % 2 else order:
                headers = signed_headers(url + path, "POST", body)
                p50 = sequential_p50(url, path, headers, body)
                before = workers_cpu_s(process.pid)
                rps, _p50_load = wrk(url + path, headers, seconds, method="POST", body=body)
                cpu_ms = (workers_cpu_s(process.pid) - before) * 1000 / (rps * seconds)
                figures[label].append((p50, rps, cpu_ms))
        print(f"\nwarm Invoke, {rounds} rounds of {seconds} s each, in turns (median [range])")
        print(f"{'':10} {'p50 ms':>20} {'req/s':>18} {'worker CPU ms/invoke':>24}")
        median = {}
        for label, rows in figures.items():
            columns = list(zip(*rows, strict=True))
            median[label] = [statistics.median(column) for column in columns]
            cells = [f"{statistics.median(c):.2f} [{min(c):.2f}-{max(c):.2f}]" for c in columns]
            print(f"{label:10} {cells[0]:>20} {cells[1]:>18} {cells[2]:>24}")
        on, off = median["logs on"], median["logs off"]
        p50_ratio, rps_ratio, cpu_ratio = on[0] / off[0], on[1] / off[1], on[2] / off[2]
        verdict = "ok" if p50_ratio <= 1.10 and rps_ratio >= 0.90 else "MISS"
        print(
            f"on/off     p50 x{p50_ratio:.3f}, throughput x{rps_ratio:.3f}, "
            f"worker CPU per invocation x{cpu_ratio:.3f}  (goal within 10 %) {verdict}"
        )
        per_flush = max(1, round(on[1] / 2 * 0.2))  # two workers, a flush every 200 ms
        writer = writer_cpu_ms(per_flush)
        print(
            f"writer     {writer:.3f} ms CPU per invocation in-process ({per_flush} per flush), "
            f"{writer / off[2] * 100:.1f} % of a worker's CPU per invocation with logs off"
        )
        time.sleep(1)
        stored = dev_client(servers["logs on"][1], "logs").describe_log_streams(
            logGroupName="/aws/lambda/bench"
        )["logStreams"]
        print(
            f"stored     {len(stored)} streams, "
            f"{sum(s['storedBytes'] for s in stored) / 1e6:.1f} MB of events"
        )
    finally:
        for process, _ in servers.values():
            stop(process)
        shutil.rmtree(work, ignore_errors=True)


def writer_cpu_ms(per_flush: int, flushes: int = 80) -> float:
    """The writer's own CPU per invocation, in-process on a fresh SQLite database, storing
    `per_flush` invocations of the benchmark handler's log per flush: the cost storage adds to
    a worker, measured apart from everything else the machine runs."""
    from registry import db as database
    from registry.executor.report import InvocationResult, Report
    from registry.invocations.observers import Ran
    from registry.logs.store import LogStore
    from registry.logs.writer import LogWriter

    request_id = "8c1f6c2a-2a3c-4b0e-9a55-0d9f5a1f0e11"
    text = (
        f"START RequestId: {request_id} Version: $LATEST\nprocessing order True\ndone\n"
        f"END RequestId: {request_id}\nREPORT RequestId: {request_id}\tDuration: 1.52 ms\t"
        "Billed Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 41 MB\n"
    )
    report = Report(request_id, 1.52, 128, 41, None)
    result = InvocationResult(request_id, b"{}", None, "success", text, report)
    work = Path(tempfile.mkdtemp(prefix="strata-bench-writer-"))
    try:
        url = f"sqlite:///{work / 'writer.db'}"
        database.upgrade(url)
        db = database.Database(url)
        writer = LogWriter(LogStore(db), quota_bytes=1 << 30)
        now = time.time()
        record = Ran(
            DEV_ACCOUNT, 1, "bench", "$LATEST", "RequestResponse", "1-ab", now, now, result
        )
        writer.submit(record)
        writer.flush()
        began = time.process_time()
        for _ in range(flushes):
            for _ in range(per_flush):
                writer.submit(record)
            writer.flush()
        spent = time.process_time() - began
        db.dispose()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return spent * 1000 / (flushes * per_flush)


def seed_events(database_url: str) -> None:
    """100,000 events of Lambda's shape in the last 5 minutes, 50 streams, through the store."""
    from registry.db import Database
    from registry.logs.events import Event
    from registry.logs.store import Batch, LogStore

    db = Database(database_url)
    store = LogStore(db)
    now_ms = int(time.time() * 1000)
    per_stream = EVENTS // STREAMS
    start = now_ms - 240_000
    for s in range(STREAMS):
        stream = f"2026/12/03/[$LATEST]{s:032x}"
        events = []
        for i in range(per_stream):
            n = s * per_stream + i
            if i % 4 == 0:
                text = f"START RequestId: {n:08d}-0000-4000-8000-000000000000 Version: $LATEST"
            elif i % 4 == 3:
                text = (
                    f"REPORT RequestId: {n:08d}-0000-4000-8000-000000000000\tDuration: 1.52 ms"
                    "\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 41 MB"
                )
            else:
                needle = " needle" if n % 1000 == 1 else ""
                text = f"[INFO] processing order {n} for customer c-{n % 977}{needle}"
            events.append(Event(start + (i * 240_000) // per_stream, text))
        for chunk in range(0, per_stream, 1000):
            store.append(
                [Batch(DEV_ACCOUNT, "/aws/lambda/tailed", stream, events[chunk : chunk + 1000])]
            )
    db.dispose()


def signed_logs_request(url: str, operation: str, params: dict) -> tuple[bytes, dict]:
    body = json.dumps(params).encode()
    request = AWSRequest(
        method="POST",
        url=url + "/",
        data=body,
        headers={
            "X-Amz-Target": f"Logs_20140328.{operation}",
            "Content-Type": "application/x-amz-json-1.1",
        },
    )
    SigV4Auth(CREDENTIALS, "logs", "us-east-1").add_auth(request)
    return body, dict(request.headers.items())


def tail_section(label: str, env: dict, database_url: str, requests: int) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="strata-bench-logs-tail-"))
    try:
        if database_url:
            subprocess.run(
                [str(BIN / "strata"), "db", "upgrade", "--data-dir", str(data_dir)],
                env={**os.environ, **env},
                check=True,
                capture_output=True,
            )
        process, url = start_strata(data_dir, env=env)
        try:
            started = time.monotonic()
            seed_events(database_url or f"sqlite:///{data_dir / 'strata.db'}")
            seeded = time.monotonic() - started
            print(f"\n{label}: {EVENTS:,} events in {STREAMS} streams (seeded in {seeded:.1f} s)")
            print(f"{'first page of aws logs tail --since 5m':44} {'events':>7} {'p50 ms':>8}")
            cases = (
                ("as tail asks", None, None),
                ("with limit 10,000", None, 10_000),
                ("pattern 'needle' (1 in 1,000)", "needle", None),
            )
            for name, pattern, limit in cases:
                params = {
                    "logGroupName": "/aws/lambda/tailed",
                    "interleaved": True,
                    "startTime": int((time.time() - 300) * 1000),
                }
                if limit:
                    params["limit"] = limit
                if pattern:
                    params["filterPattern"] = pattern
                raw, count = raw_p50(url, params, requests)
                client = dev_client(url, "logs")
                samples = []
                for _ in range(max(10, requests // 3)):
                    began = time.perf_counter()
                    client.filter_log_events(**params)
                    samples.append((time.perf_counter() - began) * 1000)
                via_boto3 = statistics.median(samples)
                verdict = "ok" if via_boto3 < GOAL_TAIL_MS else "MISS"
                verdict = f"  goal < {GOAL_TAIL_MS:.0f} {verdict}" if not limit else ""
                print(f"{'  ' + name + ', HTTP request':44} {count:7} {raw:8.1f}")
                print(
                    f"{'  ' + name + ', boto3 (as the CLI)':44} {count:7} {via_boto3:8.1f}{verdict}"
                )
            cli = tail_cli_seconds(url)
            if cli is not None:
                print(f"  `aws logs tail` (CLI v2), whole command to its first line: {cli:.2f} s")
        finally:
            stop(process)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def raw_p50(url: str, params: dict, requests: int) -> tuple[float, int]:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    samples, count = [], 0
    for _ in range(requests):
        body, headers = signed_logs_request(url, "FilterLogEvents", params)
        began = time.perf_counter()
        connection.request("POST", "/", body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        samples.append((time.perf_counter() - began) * 1000)
        if response.status != 200:
            raise RuntimeError(f"FilterLogEvents answered {response.status}: {data[:300]!r}")
        count = len(json.loads(data)["events"])
    connection.close()
    return statistics.median(samples), count


def tail_cli_seconds(url: str) -> float | None:
    """The whole `aws logs tail` command (the CLI's own start-up is most of it)."""
    if not Path("/usr/bin/aws").exists():
        return None
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/tmp"),
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "PYTHONUNBUFFERED": "1",
    }
    began = time.perf_counter()
    process = subprocess.Popen(
        ["/usr/bin/aws", "--endpoint-url", url, "logs", "tail", "/aws/lambda/tailed",
         "--since", "5m"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        process.stdout.readline()
        return time.perf_counter() - began
    finally:
        process.kill()
        process.wait()


def run_postgres(requests: int) -> None:
    from tests.support.postgres import PostgresUnavailable, start_cluster

    try:
        cluster = start_cluster()
    except PostgresUnavailable as reason:
        print(f"\nPostgreSQL: not measured ({reason})")
        return
    try:
        with cluster.connect_admin() as admin:
            admin.execute('CREATE DATABASE "bench_logs"')
        url = f"postgresql+psycopg://{cluster.user}@{cluster.host}:{cluster.port}/bench_logs"
        tail_section("PostgreSQL", {"STRATA_DATABASE_URL": url}, url, requests)
    finally:
        cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--backend", choices=("sqlite", "pg", "both"), default="both")
    parser.add_argument("--sections", default="invoke,tail")
    args = parser.parse_args()
    sections = set(args.sections.split(","))
    if "invoke" in sections:
        if not shutil.which("wrk"):
            sys.exit("wrk is needed for the load (apt-get install wrk)")
        invoke_section(args.seconds, args.rounds)
    if "tail" in sections:
        if args.backend in ("sqlite", "both"):
            tail_section("SQLite", {"STRATA_DATABASE_URL": ""}, "", args.requests)
        if args.backend in ("pg", "both"):
            run_postgres(args.requests)


if __name__ == "__main__":
    main()
