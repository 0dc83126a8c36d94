"""Metrics benchmark: what recording costs a warm Invoke, and what a scrape costs.

    .venv/bin/python bench/bench_metrics.py [--seconds 10] [--functions 200]

Two `strata serve --dev` servers (2 workers x 4 threads each) run the same trivial Python
handler, one with metrics (the default) and one with STRATA_METRICS=off; they are measured
alternately, twice each, and the better round of each is kept:
  warm p50     sequential signed Invoke requests on one connection (500)
  throughput   8 concurrent connections (wrk replaying a pre-signed request)
  ratio        metrics on / off
Then, on the metrics server, --functions more functions are invoked once each (about 33 series
apiece), and GET /metrics is timed (p50 and p99 of 50 scrapes, each on a fresh connection) with
the number of series it returned. Last, the CPU time recording one warm invocation costs (its
HTTP request and the invoker's report, into multiprocess files), measured in a process of its
own, which the machine's other load does not blur as much as the end-to-end figures.

Needs `wrk` (Debian package) for the load.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from bench.bench_invoke import (  # noqa: E402
    ROLE,
    RUNTIME,
    client,
    create_active,
    handler_zip,
    sequential_p50,
)
from bench.common import signed_headers, start_strata, stop, wrk  # noqa: E402

PATH = "/2015-03-31/functions/bench/invocations"
BODY = b'{"bench": true}'


def prepare(url: str) -> dict:
    create_active(
        client(url),
        FunctionName="bench",
        Runtime=RUNTIME,
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": handler_zip()},
    )
    headers = signed_headers(url + PATH, "POST", BODY)
    wrk(url + PATH, headers, 2, method="POST", body=BODY)  # warm both workers
    return headers


def measure(url: str, headers: dict, seconds: int) -> tuple[float, float]:
    """(warm p50 ms, requests/s)."""
    p50 = sequential_p50(url, PATH, headers, BODY)
    rps, _ = wrk(url + PATH, headers, seconds, method="POST", body=BODY)
    return p50, rps


def scrape_times(url: str, functions: int) -> tuple[float, float, int]:
    lam = client(url)
    code = handler_zip()
    names = [f"bench-{i}" for i in range(functions)]

    def create_and_invoke(name: str) -> None:
        create_active(
            lam,
            FunctionName=name,
            Runtime=RUNTIME,
            Role=ROLE,
            Handler="app.handler",
            Code={"ZipFile": code},
        )
        lam.invoke(FunctionName=name, Payload=b"{}")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(create_and_invoke, names))
    samples, body = [], b""
    for _ in range(50):
        started = time.perf_counter()
        with urllib.request.urlopen(url + "/metrics", timeout=30) as response:
            body = response.read()
        samples.append((time.perf_counter() - started) * 1000)
    series = sum(1 for line in body.decode().splitlines() if line and not line.startswith("#"))
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1], series


def cpu_costs(functions: int, count: int = 20000) -> tuple[float, float]:
    """(CPU microseconds to record one warm invocation: what the request hook and the invocation
    observer write; CPU milliseconds of a scrape once `functions` functions have run, as one
    worker's files hold them). Run with PROMETHEUS_MULTIPROC_DIR set, before prometheus_client
    is imported."""
    from registry.executor.report import InvocationResult, Report
    from registry.invocations.observers import Ran
    from registry.metrics import instruments
    from registry.metrics.exposition import scrape
    from registry.metrics.invocations import InvocationMetrics
    from registry.metrics.labels import FunctionLabels

    observer = InvocationMetrics(FunctionLabels())

    def ran(name: str, init_ms: float | None = None) -> Ran:
        result = InvocationResult(
            "id", b"{}", None, "success", "", Report("id", 1.2, 128, 40, init_ms)
        )
        return Ran("000000000000", 1, name, "$LATEST", "RequestResponse", "env", 0, 0, result)

    record = ran("bench")
    started = time.process_time()
    for _ in range(count):
        instruments.HTTP_REQUESTS.labels("lambda", "Invoke", "200").inc()
        instruments.HTTP_DURATION.labels("lambda", "Invoke").observe(0.003)
        observer.ran(record)
    recording_us = (time.process_time() - started) / count * 1e6
    for index in range(functions):
        observer.ran(ran(f"bench-{index}", init_ms=250.0))
    started = time.process_time()
    for _ in range(5):
        scrape(None)
    return recording_us, (time.process_time() - started) / 5 * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--functions", type=int, default=200)
    parser.add_argument("--recording-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.recording_only:
        print("{:.1f} {:.0f}".format(*cpu_costs(args.functions)))
        return
    if not shutil.which("wrk"):
        sys.exit("wrk is needed for the load (apt-get install wrk)")
    work = Path(tempfile.mkdtemp(prefix="strata-bench-metrics-"))
    on, on_url = start_strata(work / "on")
    off, off_url = start_strata(work / "off", env={"STRATA_METRICS": "off"})
    try:
        headers = {url: prepare(url) for url in (on_url, off_url)}
        rounds: dict[str, list[tuple[float, float]]] = {on_url: [], off_url: []}
        for _ in range(2):
            for url in (off_url, on_url):
                rounds[url].append(measure(url, headers[url], args.seconds))
        (on_p50, on_rps), (off_p50, off_rps) = (
            (min(p for p, _ in rounds[url]), max(r for _, r in rounds[url]))
            for url in (on_url, off_url)
        )
        stop(off)
        print(
            f"warm Invoke p50      metrics on {on_p50:6.2f} ms   off {off_p50:6.2f} ms   "
            f"ratio {on_p50 / off_p50:.3f}"
        )
        print(
            f"Invoke throughput    metrics on {on_rps:6.0f} /s   off {off_rps:6.0f} /s   "
            f"ratio {on_rps / off_rps:.3f}"
        )
        p50, p99, series = scrape_times(on_url, args.functions)
        print(
            f"GET /metrics         p50 {p50:.1f} ms, p99 {p99:.1f} ms, {series} series "
            f"({args.functions + 1} functions, 2 workers)"
        )
        with tempfile.TemporaryDirectory() as files:
            recording = subprocess.run(
                [sys.executable, __file__, "--recording-only", f"--functions={args.functions}"],
                env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": files},
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
        print(f"recording one warm invocation: {recording[0]} us of CPU (its request and its run)")
        print(f"one scrape: {recording[1]} ms of CPU ({args.functions} functions in one process)")
    finally:
        stop(on)
        stop(off)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
