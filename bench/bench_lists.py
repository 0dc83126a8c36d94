"""Listing benchmark: ListLayers, ListLayerVersions and ListFunctions on an account holding 10,000
layer versions over 100 layers and 1,000 functions (2 published versions each), through the HTTP
API of a real `strata serve`, on SQLite and (when one can be started) PostgreSQL.

    .venv/bin/python bench/bench_lists.py [--requests 300] [--backend sqlite|pg|both]

The account is seeded straight into the database the server migrated (one layer version and one
function go through the API, the rest are copies of their rows), so seeding takes seconds. Every
figure is printed beside GetLayerVersion's p50 on the same server in the same run (the floor a
request costs) and the goal: p50 <= 5 ms.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import BIN, signed_headers, start_strata, stop

LAYERS = 100
VERSIONS_PER_LAYER = 100
FUNCTIONS = 1000
VERSIONS_PER_FUNCTION = 2
GOAL_MS = 5.0
DEV_ACCOUNT = "000000000000"
# Runtimes and architectures vary between versions, so that the filters have work to do.
RUNTIMES = (["python3.12"], ["python3.12", "python3.13"], ["nodejs20.x"], ["python3.13"])
ARCHITECTURES = (["x86_64"], ["arm64"], ["x86_64", "arm64"])


def tiny_zip(path: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(path, text)
    return buffer.getvalue()


class Api:
    """Signed requests over one kept-alive connection."""

    def __init__(self, url: str):
        self.url = url
        host, port = url.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=60)

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict, float]:
        try:
            return self._call(method, path, body)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # The server may close an idle kept-alive connection; a new one is not timed apart.
            self.connection.close()
            return self._call(method, path, body)

    def _call(self, method: str, path: str, body: dict | None) -> tuple[int, dict, float]:
        data = json.dumps(body).encode() if body is not None else b""
        headers = {"Content-Type": "application/json"} if body is not None else {}
        headers = signed_headers(self.url + path, method, data, headers)
        started = time.perf_counter()
        self.connection.request(method, path, body=data or None, headers=headers)
        response = self.connection.getresponse()
        raw = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        return response.status, (json.loads(raw) if raw else {}), elapsed

    def ok(self, method: str, path: str, body: dict | None = None) -> dict:
        status, answer, _ = self.call(method, path, body)
        if status >= 300:
            raise RuntimeError(f"{method} {path} answered {status}: {answer}")
        return answer


def seed_through_api(api: Api) -> None:
    """One real layer version and one real function with a published version: the rows the
    rest of the seed copies."""
    zipped = base64.b64encode(tiny_zip("python/seed.py", "VALUE = 1\n")).decode()
    api.ok("POST", "/2018-10-31/layers/layer-000/versions", {"Content": {"ZipFile": zipped}})
    code = base64.b64encode(tiny_zip("app.py", "def handler(e, c):\n    return e\n")).decode()
    api.ok(
        "POST",
        "/2015-03-31/functions",
        {
            "FunctionName": "fn-0000",
            "Runtime": "python3.12",
            "Handler": "app.handler",
            "Role": "arn:aws:iam::000000000000:role/bench",
            "Code": {"ZipFile": code},
        },
    )


def seed_rows(database_url: str) -> None:
    from sqlalchemy import delete, select, text

    from registry.db import Database
    from registry.models import Function, FunctionVersion, Layer, LayerVersion

    db = Database(database_url)
    now = datetime.now(timezone.utc)
    layers, versions = Layer.__table__, LayerVersion.__table__
    functions, function_versions = Function.__table__, FunctionVersion.__table__
    with db.write() as session:
        model = session.execute(select(versions)).mappings().first()
        function = dict(session.execute(select(functions)).mappings().first())
        session.execute(delete(versions))
        session.execute(delete(layers))
        session.execute(delete(functions))
        session.execute(
            layers.insert(),
            [
                dict(
                    id=i + 1,
                    account_id=DEV_ACCOUNT,
                    name=f"layer-{i:03d}",
                    latest_version=VERSIONS_PER_LAYER,
                    created_at=now,
                )
                for i in range(LAYERS)
            ],
        )
        common = {k: model[k] for k in ("description", "blob_digest", "code_size", "unzipped_size")}
        session.execute(
            versions.insert(),
            [
                dict(
                    common,
                    layer_id=i + 1,
                    version=v,
                    compatible_runtimes=RUNTIMES[(i + v) % len(RUNTIMES)],
                    compatible_architectures=ARCHITECTURES[(i + v) % len(ARCHITECTURES)],
                    created_at=now,
                    policy_revision=model["policy_revision"],
                )
                for i in range(LAYERS)
                for v in range(1, VERSIONS_PER_LAYER + 1)
            ],
        )
        del function["id"]
        session.execute(
            functions.insert(),
            [
                dict(function, id=i + 1, name=f"fn-{i:04d}", latest_version=VERSIONS_PER_FUNCTION)
                for i in range(FUNCTIONS)
            ],
        )
        copied = {
            k: function[k]
            for k in (
                "code_digest",
                "code_size",
                "unzipped_size",
                "config",
                "layers",
                "revision_id",
                "last_modified",
            )
        }
        session.execute(
            function_versions.insert(),
            [
                dict(copied, function_id=i + 1, version=v)
                for i in range(FUNCTIONS)
                for v in range(1, VERSIONS_PER_FUNCTION + 1)
            ],
        )
    if not db.is_sqlite:
        # What autovacuum would have done to a registry that grew slowly: the statistics, and the
        # vacuum it otherwise starts in the middle of the measurements after a bulk insert.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    db.dispose()


def marker(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


CASES = [
    ("GetLayerVersion (floor)", "/2018-10-31/layers/layer-050/versions/50"),
    ("ListLayers, first page", "/2018-10-31/layers"),
    ("ListLayers, middle page", "/2018-10-31/layers?" + urlencode({"Marker": marker("layer-049")})),
    (
        "ListLayers, runtime+arch filter",
        "/2018-10-31/layers?CompatibleRuntime=python3.13&CompatibleArchitecture=arm64",
    ),
    ("ListLayerVersions, first page", "/2018-10-31/layers/layer-050/versions"),
    (
        "ListLayerVersions, middle page",
        "/2018-10-31/layers/layer-050/versions?" + urlencode({"Marker": marker("51")}),
    ),
    (
        "ListLayerVersions, runtime filter",
        "/2018-10-31/layers/layer-050/versions?CompatibleRuntime=nodejs20.x",
    ),
    ("ListFunctions, first page", "/2015-03-31/functions"),
    (
        "ListFunctions, middle page",
        "/2015-03-31/functions?" + urlencode({"Marker": marker("fn-0499\n$LATEST")}),
    ),
    (
        "ListFunctions, all versions, middle",
        "/2015-03-31/functions?"
        + urlencode({"FunctionVersion": "ALL", "Marker": marker("fn-0499\n1")}),
    ),
]


def measure(api: Api, path: str, requests: int) -> tuple[float, float]:
    for _ in range(10):  # warm the workers' connections and caches
        api.call("GET", path)
    samples = []
    for _ in range(requests):
        status, answer, elapsed = api.call("GET", path)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {answer}")
        samples.append(elapsed)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def run_backend(label: str, env: dict, database_url: str, requests: int) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="strata-bench-lists-"))
    try:
        if database_url:  # `serve` migrates only its own SQLite database
            subprocess.run(
                [str(BIN / "strata"), "db", "upgrade", "--data-dir", str(data_dir)],
                env={**os.environ, **env},
                check=True,
                capture_output=True,
            )
        process, url = start_strata(data_dir, env=env)
        try:
            api = Api(url)
            seed_through_api(api)
            started = time.monotonic()
            seed_rows(database_url or f"sqlite:///{data_dir / 'strata.db'}")
            print(
                f"\n{label}: {LAYERS * VERSIONS_PER_LAYER} layer versions over {LAYERS} layers, "
                f"{FUNCTIONS} functions x {VERSIONS_PER_FUNCTION} versions "
                f"(seeded in {time.monotonic() - started:.1f} s)"
            )
            print(f"{'operation':38} {'p50 ms':>8} {'p99 ms':>8} {'x floor':>8}  goal p50")
            floor = None
            for name, path in CASES:
                p50, p99 = measure(api, path, requests)
                floor = floor or p50
                verdict = "" if name.endswith("(floor)") else ("ok" if p50 <= GOAL_MS else "MISS")
                print(f"{name:38} {p50:8.2f} {p99:8.2f} {p50 / floor:8.1f}  <= {GOAL_MS} {verdict}")
        finally:
            stop(process)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def run_postgres(requests: int) -> None:
    from tests.support.postgres import PostgresUnavailable, start_cluster

    try:
        cluster = start_cluster()
    except PostgresUnavailable as reason:
        print(f"\nPostgreSQL: not measured ({reason})")
        return
    try:
        with cluster.connect_admin() as admin:
            admin.execute('CREATE DATABASE "bench_lists"')
        url = f"postgresql+psycopg://{cluster.user}@{cluster.host}:{cluster.port}/bench_lists"
        run_backend("PostgreSQL", {"STRATA_DATABASE_URL": url}, url, requests)
    finally:
        cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--backend", choices=("sqlite", "pg", "both"), default="both")
    args = parser.parse_args()
    if args.backend in ("sqlite", "both"):
        run_backend("SQLite", {"STRATA_DATABASE_URL": ""}, "", args.requests)
    if args.backend in ("pg", "both"):
        run_postgres(args.requests)


if __name__ == "__main__":
    main()
