"""Invoke benchmark: warm Invoke through the HTTP API, and the first Invoke of a function with the
five-layer realistic set, each against a baseline measured in the same run.

    python bench/merge_corpus.py          # once: builds bench/corpus/layer{1..5}.zip
    .venv/bin/python bench/bench_invoke.py [--seconds 10]

Figures:
  warm p50     sequential signed Invoke requests of a trivial Python handler (target < 5 ms),
               against the executor's own warm invoke in-process (no HTTP, no database)
  throughput   8 concurrent clients (wrk replaying a pre-signed request; target >= 300/s),
               gunicorn 2 workers x 4 threads
  first invoke CreateFunction with the five corpus layers, then the first Invoke: merge, cold
               start and run (target < 1.5 s for the invoke), against merging the same inputs
               in-process with an empty cache
  control      GetLayerVersion p50/p99 on a server with 100 synchronous invocations of a 5 s
  plane        function in flight (goal p99 <= 25 ms), against the same on the idle server;
               how many were in flight, how many ran at once, and the front's memory per
               waiting invocation (--sections control)
  burst        through boto3 against a fresh `strata serve --dev` each: 100 invocations of a
               5 s function sent at once (goal: all succeed within 8 s), and of a 1 s function,
               cold then warm (goals: <= 3.0 s and <= 1.5 s); the CPU the server's process tree
               spent per cold start (--sections burst; --repeat N runs it N times and prints
               the spread and how many runs met each goal)

Needs `wrk` (Debian package) for the load. To compare with other code, run the same script with
PYTHONPATH pointing at that checkout: the servers it starts then run that code.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from bench.common import (  # noqa: E402
    dev_client,
    proc_status_kb,
    signed_headers,
    start_strata,
    stop,
    worker_pids,
    wrk,
)
from registry.executor import EnvironmentPool, FunctionSpec  # noqa: E402
from registry.merge import MergeInput, merge  # noqa: E402

CORPUS = [BENCH / "corpus" / f"layer{i}.zip" for i in range(1, 6)]
RUNTIME = "python3.11"
HANDLER_SOURCE = "def handler(event, context):\n    return {'ok': True}\n"
ROLE = "arn:aws:iam::000000000000:role/bench"


def handler_zip(source: str = HANDLER_SOURCE) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


def client(url: str, **config):
    return dev_client(url, read_timeout=120, **config)


def create_active(lam, **params) -> dict:
    """CreateFunction, then wait until the function is Active (its bundle prepared), as
    Invoke requires."""
    created = lam.create_function(**params)
    lam.get_waiter("function_active_v2").wait(
        FunctionName=params["FunctionName"], WaiterConfig={"Delay": 0.02, "MaxAttempts": 3000}
    )
    return created


def sequential_p50(url: str, path: str, headers: dict, body: bytes, count: int = 500) -> float:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port))
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        samples.append((time.perf_counter() - started) * 1000)
        if response.status != 200 or response.getheader("X-Amz-Function-Error"):
            raise RuntimeError(f"invoke answered {response.status}")
    connection.close()
    return statistics.median(samples)


def executor_p50(work: Path, count: int = 500) -> float:
    """The executor alone: a warm environment of the same handler, invoked in-process."""
    bundle = work / "bundle"
    (bundle / "task").mkdir(parents=True)
    (bundle / "task" / "app.py").write_text(HANDLER_SOURCE)
    for path in (work, bundle, bundle / "task"):
        path.chmod(0o755)
    (bundle / "task" / "app.py").chmod(0o644)
    with EnvironmentPool() as pool:
        spec = FunctionSpec(bundle, "app.handler", RUNTIME)
        pool.invoke(spec, b"{}")
        samples = []
        for _ in range(count):
            started = time.perf_counter()
            pool.invoke(spec, b"{}")
            samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def merge_baseline(work: Path, code: Path) -> float:
    """Merging the five layers and the code in-process with an empty extraction cache."""
    started = time.perf_counter()
    merge(
        [MergeInput(path) for path in CORPUS],
        work / "merged",
        function=MergeInput(code),
        cache_dir=work / "merge-cache",
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument(
        "--repeat", type=int, default=1, help="burst: runs on fresh servers, then their spread"
    )
    parser.add_argument(
        "--sections",
        default="warm,control,burst",
        help="comma-separated: warm (the first three), control, burst",
    )
    args = parser.parse_args()
    sections = set(args.sections.split(","))
    if "warm" in sections:
        warm_and_first_invoke(args.seconds)
    if "control" in sections:
        control_plane_beside_invocations(args.seconds)
    if "burst" in sections:
        burst(args.repeat)


def warm_and_first_invoke(seconds: int) -> None:
    if not shutil.which("wrk"):
        sys.exit("wrk is needed for the load (apt-get install wrk)")
    missing = [str(p) for p in CORPUS if not p.exists()]
    if missing:
        sys.exit(f"missing {', '.join(missing)}: run bench/merge_corpus.py first")
    work = Path(tempfile.mkdtemp(prefix="strata-bench-invoke-"))
    strata, url = start_strata(work / "data")
    try:
        lam = client(url)
        code = handler_zip()
        create_active(
            lam,
            FunctionName="bench",
            Runtime=RUNTIME,
            Role=ROLE,
            Handler="app.handler",
            Code={"ZipFile": code},
        )
        path = "/2015-03-31/functions/bench/invocations"
        body = b'{"bench": true}'
        headers = signed_headers(url + path, "POST", body)
        # Warm both workers' environments before measuring.
        wrk(url + path, headers, 2, method="POST", body=body)
        p50 = sequential_p50(url, path, headers, body)
        rps, p50_load = wrk(url + path, headers, seconds, method="POST", body=body)
        executor = executor_p50(work / "executor")

        arns = [
            lam.publish_layer_version(
                LayerName=f"corpus{i}",
                Content={"ZipFile": p.read_bytes()},
                CompatibleRuntimes=[RUNTIME],
            )["LayerVersionArn"]
            for i, p in enumerate(CORPUS, 1)
        ]
        started = time.perf_counter()
        lam.create_function(
            FunctionName="layered",
            Runtime=RUNTIME,
            Role=ROLE,
            Handler="app.handler",
            Code={"ZipFile": code},
            Layers=arns,
            MemorySize=512,
        )
        answered = time.perf_counter()
        # The bundle is merged while the function is Pending; Invoke waits for Active.
        lam.get_waiter("function_active_v2").wait(
            FunctionName="layered", WaiterConfig={"Delay": 0.02, "MaxAttempts": 3000}
        )
        created = time.perf_counter()
        response = lam.invoke(FunctionName="layered", Payload=b"{}")
        finished = time.perf_counter()
        if response.get("FunctionError"):
            raise RuntimeError(response["Payload"].read())
        code_path = work / "code.zip"
        code_path.write_bytes(code)
        merged = merge_baseline(work / "baseline", code_path)
        first = finished - answered

        print(
            "Warm Invoke of a trivial Python handler, signed requests, "
            "gunicorn 2 workers x 4 threads:"
        )
        print(
            f"  p50 sequential {p50:6.2f} ms (target < 5 ms); "
            f"executor alone in-process {executor:5.2f} ms;"
            f" HTTP + auth + lookup overhead {p50 - executor:5.2f} ms (ratio {p50 / executor:.2f}x)"
        )
        print(
            f"  8 concurrent clients (wrk): {rps:7.0f} invocations/s (target >= 300), "
            f"p50 under load {p50_load:6.2f} ms"
        )
        print(
            f"  against the figures before memory admission ({WARM_P50_BEFORE_MS} ms, "
            f"{WARM_RPS_BEFORE}/s; goal: within 10 %): p50 {p50 / WARM_P50_BEFORE_MS:.2f}x, "
            f"throughput {rps / WARM_RPS_BEFORE:.2f}x"
        )
        print("First Invoke after CreateFunction with the five corpus layers:")
        print(
            f"  CreateFunction {(answered - started) * 1000:7.1f} ms; Active after "
            f"{(created - answered) * 1000:7.1f} ms; answered to first Invoke's result (merge + "
            f"cold start + run) {first * 1000:7.1f} ms (target < 1500 ms)"
        )
        print(
            f"  in-process merge of the same inputs with an empty cache {merged * 1000:7.1f} ms;"
            f" ratio {first / merged:.2f}x"
        )
    finally:
        stop(strata)
        shutil.rmtree(work, ignore_errors=True)


SLEEPER_SOURCE = "import time\n\ndef handler(event, context):\n    time.sleep(event['sleep'])\n"
IN_FLIGHT = 100
SLEEP_S = 5
# The warm figures in the README before environments were admitted by memory.
WARM_P50_BEFORE_MS = 1.8
WARM_RPS_BEFORE = 990
BURST = 100
BURST_GOALS = {"5 s": 8.0, "1 s cold": 3.0, "1 s warm": 1.5}


def control_plane_beside_invocations(seconds: int) -> None:
    """GetLayerVersion on an idle server, then with IN_FLIGHT synchronous invocations of a
    SLEEP_S function kept in flight (each client invokes again as soon as it is answered)."""
    work = Path(tempfile.mkdtemp(prefix="strata-bench-control-"))
    strata, url = start_strata(work / "data")
    try:
        lam = client(url)
        create_active(
            lam,
            FunctionName="sleeper",
            Runtime=RUNTIME,
            Role=ROLE,
            Handler="app.handler",
            Code={"ZipFile": handler_zip(SLEEPER_SOURCE)},
            Timeout=60,
        )
        layer = BENCH / "corpus" / "layer1.zip"
        version = lam.publish_layer_version(
            LayerName="fetched", Content={"ZipFile": layer.read_bytes()}
        )["Version"]
        path = f"/2018-10-31/layers/fetched/versions/{version}"
        headers = signed_headers(url + path)
        idle = probe(url, path, headers, 3.0)
        rss_idle = _workers_rss_kb(strata.pid)
        load = InvocationLoad(url, "sleeper", json.dumps({"sleep": SLEEP_S}).encode(), IN_FLIGHT)
        load.start()
        time.sleep(2.0)  # every client has sent its request
        completed_before, rss_busy = load.completed, _workers_rss_kb(strata.pid)
        probing = time.monotonic()
        busy = probe(url, path, headers, seconds, load)
        probed = time.monotonic() - probing
        ran = (load.completed - completed_before) * SLEEP_S / probed
        load.stop()
        print(
            f"Control plane beside {IN_FLIGHT} synchronous invocations of a {SLEEP_S} s function:"
        )
        print(
            f"  GetLayerVersion idle:     p50 {percentile(idle, 50):7.2f} ms, "
            f"p99 {percentile(idle, 99):7.2f} ms ({len(idle)} requests)"
        )
        print(
            f"  GetLayerVersion loaded:   p50 {percentile(busy, 50):7.2f} ms, "
            f"p99 {percentile(busy, 99):7.2f} ms ({len(busy)} requests; goal p99 <= 25 ms); "
            f"p99 ratio to idle {percentile(busy, 99) / percentile(idle, 99):.2f}x"
        )
        print(
            f"  in flight while measured: {load.fewest_in_flight}-{IN_FLIGHT}; running at once "
            f"about {ran:.0f} (completions x {SLEEP_S} s / {probed:.0f} s), the rest waiting for "
            f"an environment; answers other than 200: {load.failures or 'none'}"
        )
        waiting = max(load.fewest_in_flight, 1)
        print(
            f"  front memory: workers' RSS {rss_idle / 1024:.0f} MB idle, {rss_busy / 1024:.0f} MB "
            f"loaded: {(rss_busy - rss_idle) / waiting:.0f} KB per invocation in flight"
        )
    finally:
        stop(strata)
        shutil.rmtree(work, ignore_errors=True)


def burst(repeat: int = 1) -> None:
    """BURST invocations sent at once through boto3 (one client, a connection each), against
    a fresh default `strata serve --dev` (2 workers) per function; `repeat` times, since one
    round's figure moves with whatever else the machine's cores are doing."""
    runs = []
    for run in range(1, repeat + 1):
        figures = _burst_once()
        runs.append(figures)
        heading = f" (run {run} of {repeat})" if repeat > 1 else ""
        print(
            f"{BURST} synchronous invocations sent at once through boto3, "
            f"strata serve --dev{heading}:"
        )
        for name, (wall, ok, failures, cpu, host_busy) in figures.items():
            goal = BURST_GOALS[name]
            failed = f"; {failures}" if failures else ""
            print(
                f"  {name:9s} function: all answered in {wall:5.2f} s (goal <= {goal} s, ratio "
                f"{wall / goal:.2f}x); succeeded {ok}/{BURST}{failed}; server CPU {cpu:5.2f} s; "
                f"host CPU busy {host_busy:.0%} (every process on it)"
            )
        cold_cpu = figures["1 s cold"][3]
        warm_cpu = figures["1 s warm"][3]
        print(
            f"  cold starts: {(cold_cpu - warm_cpu) / BURST * 1000:.0f} ms of CPU each in the "
            f"server's process tree beyond a warm invocation; {os.cpu_count()} cores give a floor "
            f"of {1 + (cold_cpu - warm_cpu) / os.cpu_count():.2f} s for the cold round"
        )
    if repeat > 1:
        print(f"Over {repeat} runs:")
        for name, goal in BURST_GOALS.items():
            walls = [figures[name][0] for figures in runs]
            met = sum(figures[name][0] <= goal and figures[name][1] == BURST for figures in runs)
            median = statistics.median(walls)
            print(
                f"  {name:9s} function: {min(walls):5.2f}-{max(walls):5.2f} s, median "
                f"{median:5.2f} s (ratio {median / goal:.2f}x); every invocation succeeded "
                f"within {goal} s in {met} of {repeat}"
            )


def _burst_once() -> dict:
    figures = {}
    for sleep, rounds in ((5, ["5 s"]), (1, ["1 s cold", "1 s warm"])):
        work = Path(tempfile.mkdtemp(prefix="strata-bench-burst-"))
        strata, url = start_strata(work / "data")
        try:
            lam = client(url, max_pool_connections=BURST)
            create_active(
                lam,
                FunctionName="burst",
                Runtime=RUNTIME,
                Role=ROLE,
                Handler="app.handler",
                Code={"ZipFile": handler_zip(SLEEPER_SOURCE)},
                Timeout=60,
            )
            body = json.dumps({"sleep": sleep}).encode()
            for name in rounds:
                cpu_before, host_before = _tree_cpu_s(strata.pid), _host_cpu()
                wall, ok, failures = _send_at_once(lam, body, BURST)
                cpu = _tree_cpu_s(strata.pid) - cpu_before
                (busy, idle), (busy0, idle0) = _host_cpu(), host_before
                busy, idle = busy - busy0, idle - idle0
                figures[name] = (wall, ok, failures, cpu, busy / (busy + idle))
                time.sleep(0.5)
        finally:
            stop(strata)
            shutil.rmtree(work, ignore_errors=True)
    return figures


def _send_at_once(lam, body: bytes, count: int) -> tuple[float, int, str]:
    """(seconds until the last answer, successes, what else came back)."""
    outcomes: list[str] = []
    gate = threading.Barrier(count + 1)

    def call() -> None:
        gate.wait()
        try:
            response = lam.invoke(FunctionName="burst", Payload=body)
            # Read, as a client does: only then does its connection go back to the pool, to
            # carry the next round to the same worker and its warm environments.
            response["Payload"].read()
            outcomes.append(response.get("FunctionError") or "ok")
        except Exception as error:  # a throttle or a timeout is a figure here, not a crash
            outcomes.append(
                getattr(error, "response", {}).get("Error", {}).get("Code", repr(error))
            )

    threads = [threading.Thread(target=call) for _ in range(count)]
    for thread in threads:
        thread.start()
    gate.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    others = {o: outcomes.count(o) for o in set(outcomes) if o != "ok"}
    return wall, outcomes.count("ok"), ", ".join(f"{n} {o}" for o, n in others.items())


def _host_cpu() -> tuple[int, int]:
    """(busy, idle) clock ticks of every core since boot, from /proc/stat."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields[:8]) - idle, idle


def _tree_cpu_s(root: int) -> float:
    """User and system CPU of `root` and its live descendants, plus what they reaped."""
    from registry.executor.processes import descendants

    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in descendants(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return total / ticks


def probe(url: str, path: str, headers: dict, seconds: float, load=None) -> list[float]:
    """Milliseconds each sequential GET took, one every 10 ms for `seconds`."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=120)
    samples = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if load is not None:
            load.note_in_flight()
        started = time.perf_counter()
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        samples.append((time.perf_counter() - started) * 1000)
        if response.status != 200:
            raise RuntimeError(f"GetLayerVersion answered {response.status}")
        time.sleep(0.01)
    connection.close()
    return samples


def percentile(samples: list[float], pct: int) -> float:
    if len(samples) < 2:
        return samples[0] if samples else float("nan")
    return statistics.quantiles(samples, n=100, method="inclusive")[pct - 1]


class InvocationLoad:
    """`clients` threads, each invoking a function again as soon as it is answered, over
    pre-signed keep-alive connections (light on this process, so the probe measures the
    server)."""

    def __init__(self, url: str, function: str, body: bytes, clients: int):
        self._host, port = url.removeprefix("http://").split(":")
        self._port = int(port)
        self._path = f"/2015-03-31/functions/{function}/invocations"
        self._body = body
        self._headers = signed_headers(url + self._path, "POST", body)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]
        self.in_flight = 0
        self.fewest_in_flight = clients
        self.completed = 0
        self.failures: dict[int, int] = {}

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        # The server is stopped next; clients still waiting end with it.
        self._stop.set()

    def note_in_flight(self) -> None:
        with self._lock:
            self.fewest_in_flight = min(self.fewest_in_flight, self.in_flight)

    def _run(self) -> None:
        connection = http.client.HTTPConnection(self._host, self._port, timeout=300)
        while not self._stop.is_set():
            with self._lock:
                self.in_flight += 1
            try:
                connection.request("POST", self._path, body=self._body, headers=self._headers)
                response = connection.getresponse()
                response.read()
            except OSError:
                return
            finally:
                with self._lock:
                    self.in_flight -= 1
            with self._lock:
                if response.status == 200:
                    self.completed += 1
                else:
                    self.failures[response.status] = self.failures.get(response.status, 0) + 1


def _workers_rss_kb(master: int) -> int:
    return sum(proc_status_kb(pid, "VmRSS") for pid in worker_pids(master))


if __name__ == "__main__":
    main()
