"""Executor speed against the floor of a bare interpreter start, measured in the same run.

    .venv/bin/python bench/bench_executor.py [--cold N] [--warm N] [--seconds S]

Prints: cold start of a trivial python handler under strict isolation (wall time of the invoke
that starts the environment) vs `/usr/bin/python3 -c pass`; warm round trip p50/p99 (pool.invoke
in, response out); warm invocations per second across a pool of 2 environments; a burst of
--evict N cold starts that must first tear down another function's N idle environments (the
node's memory budget holds one set), against the same burst into free memory.
Targets (issue 4): cold <= floor + 40 ms; warm p50 < 2 ms, p99 < 10 ms; >= 500 invocations/s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from registry.executor import EnvironmentPool, FunctionSpec, HostCapabilities

FLOOR = ["/usr/bin/python3", "-c", "pass"]


def ms(seconds: float) -> float:
    return seconds * 1000


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cold", type=int, default=15)
    parser.add_argument("--warm", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--evict", type=int, default=100)
    args = parser.parse_args()

    host = HostCapabilities.detect()
    root = Path(tempfile.mkdtemp(prefix="strata-bench-"))
    os.chmod(root, 0o755)
    (root / "task").mkdir()
    (root / "task" / "app.py").write_text("def handler(event, context):\n    return event\n")
    (root / "task" / "sleepy.py").write_text(
        "import time\ndef handler(event, context):\n    time.sleep(0.3)\n"
    )
    os.chmod(root / "task", 0o755)
    os.chmod(root / "task" / "app.py", 0o644)
    os.chmod(root / "task" / "sleepy.py", 0o644)
    spec = FunctionSpec(root, "app.handler", "python3.11", isolation="strict")
    try:
        with EnvironmentPool(host=host, max_environments_per_spec=2) as pool:
            pool.invoke(spec, b"{}")  # prepares the /tmp image template and a spare volume
            pool.discard(spec)
            floor, cold, init = [], [], []
            for _ in range(args.cold):  # interleaved so drift hits both equally
                t = time.perf_counter()
                subprocess.run(FLOOR, check=True)
                floor.append(ms(time.perf_counter() - t))
                time.sleep(
                    0.05
                )  # let the spare /tmp volume be prepared, as between real cold starts
                t = time.perf_counter()
                result = pool.invoke(spec, b"{}")
                cold.append(ms(time.perf_counter() - t))
                init.append(result.report.init_duration_ms)
                pool.discard(spec)
            burst = []
            for _ in range(max(3, args.cold // 3)):  # back to back: spares may not be ready yet
                t = time.perf_counter()
                pool.invoke(spec, b"{}")
                burst.append(ms(time.perf_counter() - t))
                pool.discard(spec)
            floor_ms, cold_ms = statistics.median(floor), statistics.median(cold)
            burst_ms = statistics.median(burst)
            print(f"floor  /usr/bin/python3 -c pass       median {floor_ms:7.2f} ms")
            print(
                f"cold   strict invoke (init {statistics.median(init):.2f} ms) "
                f"median {cold_ms:7.2f} ms  = floor + {cold_ms - floor_ms:.2f} ms "
                f"(target <= +40 ms; ratio {cold_ms / floor_ms:.2f}x floor)"
            )
            print(
                f"cold   strict, back to back (spares still preparing) median {burst_ms:7.2f} ms"
                f"  = floor + {burst_ms - floor_ms:.2f} ms (ratio {burst_ms / floor_ms:.2f}x floor)"
            )

            pool.invoke(spec, b"{}")
            warm = []
            for _ in range(args.warm):
                t = time.perf_counter()
                pool.invoke(spec, b'{"k": 1}')
                warm.append(ms(time.perf_counter() - t))
            p50, p99 = percentile(warm, 0.50), percentile(warm, 0.99)
            print(
                f"warm   round trip p50 {p50:.3f} ms (target < 2 ms; {p50 / floor_ms:.4f}x floor), "
                f"p99 {p99:.3f} ms (target < 10 ms; {p99 / floor_ms:.4f}x floor)"
            )

            pool.prewarm(spec, 2)
            stop = time.monotonic() + args.seconds
            counts = [0, 0]

            def worker(i):
                while time.monotonic() < stop:
                    pool.invoke(spec, b"{}")
                    counts[i] += 1

            threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
            begin = time.monotonic()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            rate = sum(counts) / (time.monotonic() - begin)
            print(
                f"rate   {rate:7.0f} warm invocations/s across 2 environments "
                f"(target >= 500; {rate / 500:.2f}x target; floor-process rate "
                f"{1000 / floor_ms:.0f}/s, ratio {rate / (1000 / floor_ms):.1f}x)"
            )
        if args.evict:
            eviction(host, root, args.evict)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def eviction(host: HostCapabilities, root: Path, count: int) -> None:
    """Two functions' bursts of `count`, each handler sleeping 0.3 s, under a memory budget that
    holds one burst's environments: the second must tear down the first's, idle by then."""
    first, second = (
        FunctionSpec(root, "sleepy.handler", "python3.11", isolation="strict", memory_mb=mb)
        for mb in (128, 129)
    )
    with EnvironmentPool(host=host, memory_budget_mb=count * 129 + 64) as pool:
        pool.invoke(first, b"{}")  # prepares the /tmp image template
        pool.discard(first)
        free, evicting = (_burst(pool, spec, count) for spec in (first, second))
    print(
        f"evict  {count} cold starts at once: {evicting:.2f} s while tearing down another "
        f"function's {count} idle environments, {free:.2f} s into free memory "
        f"(ratio {evicting / free:.2f}x)"
    )


def _burst(pool: EnvironmentPool, spec: FunctionSpec, count: int) -> float:
    threads = [threading.Thread(target=pool.invoke, args=(spec, b"{}")) for _ in range(count)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
