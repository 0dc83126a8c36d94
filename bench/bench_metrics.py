"""Metrics benchmark: what recording costs a warm Invoke, and what a scrape costs.

    .venv/bin/python bench/bench_metrics.py [--seconds 10] [--functions 200]

Two `strata serve --dev` servers (2 workers x 4 threads each) run the same trivial Python
handler, one with metrics (the default) and one with STRATA_METRICS=off; they are measured
alternately, twice each, and the better round of each is kept:
  warm p50     sequential signed Invoke requests on one connection (500)
  throughput   8 concurrent connections (wrk replaying a pre-signed request)
  ratio        metrics on / off
Then, on the metrics server, --functions more functions are invoked once each (about 30 series
apiece), and GET /metrics is timed (p50 and p99 of 50 scrapes, each on a fresh connection) with
the number of series it returned.

Needs `wrk` (Debian package) for the load.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--functions", type=int, default=200)
    args = parser.parse_args()
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
    finally:
        stop(on)
        stop(off)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
