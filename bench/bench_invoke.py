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

Needs `wrk` (Debian package) for the load.
"""

from __future__ import annotations

import argparse
import http.client
import io
import shutil
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import boto3
from botocore.config import Config

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from bench.common import signed_headers, start_strata, stop, wrk  # noqa: E402
from registry.executor import EnvironmentPool, FunctionSpec  # noqa: E402
from registry.merge import MergeInput, merge  # noqa: E402

CORPUS = [BENCH / "corpus" / f"layer{i}.zip" for i in range(1, 6)]
RUNTIME = "python3.11"
HANDLER_SOURCE = "def handler(event, context):\n    return {'ok': True}\n"
ROLE = "arn:aws:iam::000000000000:role/bench"


def handler_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("app.py", HANDLER_SOURCE)
    return buffer.getvalue()


def client(url: str):
    return boto3.client(
        "lambda",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}, read_timeout=120),
    )


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
    args = parser.parse_args()
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
        lam.create_function(
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
        rps, p50_load = wrk(url + path, headers, args.seconds, method="POST", body=body)
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
        created = time.perf_counter()
        response = lam.invoke(FunctionName="layered", Payload=b"{}")
        finished = time.perf_counter()
        if response.get("FunctionError"):
            raise RuntimeError(response["Payload"].read())
        code_path = work / "code.zip"
        code_path.write_bytes(code)
        merged = merge_baseline(work / "baseline", code_path)
        first = finished - created

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
        print("First Invoke after CreateFunction with the five corpus layers:")
        print(
            f"  CreateFunction {(created - started) * 1000:7.1f} ms; "
            "first Invoke (merge + cold start + run)"
            f" {first * 1000:7.1f} ms (target < 1500 ms)"
        )
        print(
            f"  in-process merge of the same inputs with an empty cache {merged * 1000:7.1f} ms;"
            f" ratio {first / merged:.2f}x"
        )
    finally:
        stop(strata)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
