"""Node.js runtimes against the floor of a bare node start, beside Python's, in the same run.

    .venv/bin/python bench/bench_nodejs.py [--cold N] [--warm N] [--runtime nodejs20.x ...]

For each runtime (default: nodejs20.x and python3.11): cold start of a trivial handler under
strict isolation (wall time of the invoke that starts the environment) against the bare
interpreter started by its absolute path (`node -e 0`, `python3.11 -c pass`) in an environment
as empty as the sandbox's, and the warm round trip p50/p99 (pool.invoke in, response out).
Targets (issue 17): Node.js cold <= bare node + 40 ms; warm p50 < 2 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from registry.executor import EnvironmentPool, FunctionSpec, HostCapabilities
from registry.executor.interpreters import find_node, find_python
from registry.executor.spec import NODEJS_RUNTIME, PYTHON_RUNTIME

HANDLERS = {
    "nodejs": ("index.mjs", "export const handler = async (event) => event;\n"),
    "python": ("app.py", "def handler(event, context):\n    return event\n"),
}


def ms(seconds: float) -> float:
    return seconds * 1000


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# The runtime in the sandbox sees Lambda's variables only, never the caller's; the floor must
# not pay for the caller's either (NODE_EXTRA_CA_CERTS alone costs node 18 and 20 a CA bundle's
# parsing at start, 65 ms of CPU; node 22 reads it lazily).
FLOOR_ENV = {"PATH": os.defpath}


def floor_command(runtime: str) -> list[str]:
    node = NODEJS_RUNTIME.fullmatch(runtime)
    if node:
        return [str(find_node(int(node.group(1))).path), "-e", "0"]
    python = PYTHON_RUNTIME.fullmatch(runtime)
    return [str(find_python(python.group(1)).path), "-c", "pass"]


def bundle(root: Path, runtime: str) -> tuple[Path, str]:
    kind = "nodejs" if runtime.startswith("nodejs") else "python"
    name, source = HANDLERS[kind]
    path = root / runtime
    (path / "task").mkdir(parents=True)
    (path / "task" / name).write_text(source)
    for entry in (path, path / "task"):
        os.chmod(entry, 0o755)
    os.chmod(path / "task" / name, 0o644)
    return path, f"{name.split('.')[0]}.handler"


def measure(pool: EnvironmentPool, spec: FunctionSpec, floor: list[str], cold_n: int, warm_n: int):
    pool.invoke(spec, b"{}")  # prepares the /tmp image template and a spare volume
    pool.discard(spec)
    floors, colds, inits = [], [], []
    for _ in range(cold_n):  # interleaved so drift hits both equally
        t = time.perf_counter()
        subprocess.run(floor, check=True, stdout=subprocess.DEVNULL, env=FLOOR_ENV)
        floors.append(ms(time.perf_counter() - t))
        time.sleep(0.05)  # let the spare /tmp volume be prepared, as between real cold starts
        t = time.perf_counter()
        result = pool.invoke(spec, b"{}")
        colds.append(ms(time.perf_counter() - t))
        assert result.outcome == "success", result.logs
        inits.append(result.report.init_duration_ms)
        pool.discard(spec)
    pool.invoke(spec, b"{}")
    warm = []
    for _ in range(warm_n):
        t = time.perf_counter()
        pool.invoke(spec, b'{"k": 1}')
        warm.append(ms(time.perf_counter() - t))
    pool.discard(spec)
    return (
        statistics.median(floors),
        statistics.median(colds),
        statistics.median(inits),
        percentile(warm, 0.5),
        percentile(warm, 0.99),
        min(floors),
        min(colds),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cold", type=int, default=15)
    parser.add_argument("--warm", type=int, default=2000)
    parser.add_argument("--runtime", action="append", dest="runtimes")
    parser.add_argument("--memory", type=int, default=128, help="MB (CPU shares follow it)")
    args = parser.parse_args()
    runtimes = args.runtimes or ["nodejs20.x", "python3.11"]

    host = HostCapabilities.detect()
    root = Path(tempfile.mkdtemp(prefix="strata-bench-nodejs-"))
    os.chmod(root, 0o755)
    rows = {}
    with EnvironmentPool(host=host, max_environments_per_spec=1) as pool:
        for runtime in runtimes:
            path, handler = bundle(root, runtime)
            spec = FunctionSpec(path, handler, runtime, isolation="strict", memory_mb=args.memory)
            floor = floor_command(runtime)
            rows[runtime] = (floor, *measure(pool, spec, floor, args.cold, args.warm))
    for runtime, (floor, floor_ms, cold_ms, init_ms, p50, p99, floor_min, cold_min) in rows.items():
        bare = " ".join([Path(floor[0]).name, *floor[1:]])
        print(f"{runtime:<12} bare {bare:<20} median {floor_ms:7.2f} ms  best {floor_min:7.2f} ms")
        print(
            f"{runtime:<12} cold strict invoke (init {init_ms:.2f} ms) median {cold_ms:7.2f} ms"
            f"  = bare + {cold_ms - floor_ms:.2f} ms ({cold_ms / floor_ms:.2f}x); "
            f"best {cold_min:.2f} ms = bare's best + {cold_min - floor_min:.2f} ms"
        )
        print(f"{runtime:<12} warm round trip p50 {p50:.3f} ms  p99 {p99:.3f} ms")
    node = [r for r in rows if r.startswith("nodejs")]
    python = [r for r in rows if r.startswith("python")]
    if node and python:
        n, p = rows[node[0]], rows[python[0]]
        print(
            f"{node[0]} vs {python[0]}: cold {n[2] - p[2]:+.2f} ms, "
            f"over its bare interpreter {(n[2] - n[1]) - (p[2] - p[1]):+.2f} ms, "
            f"warm p50 {n[4] - p[4]:+.3f} ms"
        )


if __name__ == "__main__":
    main()
