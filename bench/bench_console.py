"""Console benchmark: how long the console's pages take on an account holding 1,000 layer versions
(50 layers of 20 versions) and a layer of 6,000 files, through a real `strata serve` on SQLite.

    .venv/bin/python bench/bench_console.py [--requests 30]

Times are measured by the client over one kept-alive session (so they include HTTP), as p50 and
p95 of repeated requests. A version's listing (its zip's central directory and its packages) is
computed in the background as it is published; the first request of the 6,000-file version page
is reported on its own, a second after its publish and right after another's (which then waits
for the computation under way), both once the worker has compiled the page's template; each
worker process then decodes the cached listing once before it keeps it in memory. A function's
overlay is likewise computed in the background once its bundle is prepared: its first view is
reported a second or more after the function became Active (once the worker has compiled the
overlay page's template), and as soon as another function became Active. Goal: every
page under 150 ms.
"""

from __future__ import annotations

import argparse
import io
import re
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import dev_client, start_strata, stop

LAYERS = 50
VERSIONS_PER_LAYER = 20
BIG_FILES = 6000
GOAL_MS = 150.0
FIRSTS = 5  # first views timed of each kind
ACCOUNT = "000000000000"


def small_zip(text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("python/mod.py", text)
    return buffer.getvalue()


def big_zip(text: str = "X = 1\n") -> bytes:
    """6,000 files in 60 packages of 10 folders, each with a dist-info."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for package in range(60):
            archive.writestr(
                f"python/pkg{package}-1.0.dist-info/METADATA",
                f"Metadata-Version: 2.1\nName: pkg{package}\nVersion: 1.0\nSummary: bench\n",
            )
            for folder in range(10):
                files = 9 if folder == 0 else 10  # with the METADATA, 100 files a package
                for file in range(files):
                    archive.writestr(f"python/pkg{package}/sub{folder}/m{file}.py", text)
    return buffer.getvalue()


def timed(session: requests.Session, url: str, count: int) -> tuple[float, float]:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        response = session.get(url, allow_redirects=False, timeout=60)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        process, url = start_strata(Path(data_dir))
        try:
            lam = dev_client(url)
            started = time.perf_counter()
            for layer in range(LAYERS):
                for version in range(VERSIONS_PER_LAYER):
                    lam.publish_layer_version(
                        LayerName=f"layer-{layer:02d}",
                        Content={"ZipFile": small_zip(f"V = {version}\n")},
                        CompatibleRuntimes=["python3.12"],
                    )
            big = big_zip()
            big_arn = lam.publish_layer_version(LayerName="big", Content={"ZipFile": big})[
                "LayerVersionArn"
            ]
            # Functions whose bundle is the 6,000 files under a small layer of its own.
            _create_bundled(lam, "bundled", 1, big_arn)
            for again in range(FIRSTS - 1):
                _create_bundled(lam, f"warm-{again}", again + 10, big_arn)
            # And one without layers, whose overlay page compiles the overlay template.
            lam.create_function(
                FunctionName="tiny",
                Runtime="python3.12",
                Role=f"arn:aws:iam::{ACCOUNT}:role/bench",
                Handler="mod.handler",
                Code={"ZipFile": small_zip("def handler(event, context):\n    return 0\n")},
            )
            for name in ["bundled", *(f"warm-{again}" for again in range(FIRSTS - 1))]:
                lam.get_waiter("function_active_v2").wait(FunctionName=name)
            lam.get_waiter("function_active_v2").wait(FunctionName="tiny")
            print(
                f"seeded {LAYERS * VERSIONS_PER_LAYER} small versions and one of "
                f"{BIG_FILES} files in {time.perf_counter() - started:.0f} s"
            )

            session = requests.Session()
            page = session.get(url + "/console/sign-in", timeout=30).text
            token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page).group(1)
            session.post(
                url + "/console/sign-in",
                data={"csrf_token": token, "access_key_id": "test", "secret_access_key": "test"},
                timeout=30,
            )
            version_page = f"{url}/console/layers/{ACCOUNT}/big/1"
            # The worker's first version page compiles its template: that is timed on its own.
            template = _first_view(session, f"{url}/console/layers/{ACCOUNT}/layer-07/19")
            time.sleep(1.0)  # as a person opens it, some time after publishing it
            first = _first_view(session, version_page)
            at_once, pending = [], 0
            for again in range(FIRSTS):
                lam.publish_layer_version(
                    LayerName="big", Content={"ZipFile": big_zip(f"X = {again + 2}\n")}
                )
                page_ms, listed = _first_listing(
                    session, f"{url}/console/layers/{ACCOUNT}/big/{again + 2}"
                )
                at_once.append(page_ms)
                pending += not listed
            overlay = f"{url}/console/functions/bundled/overlay"
            overlay_template = _first_view(session, f"{url}/console/functions/tiny/overlay")
            overlay_first = [_first_view(session, overlay)] + [
                _first_view(session, f"{url}/console/functions/warm-{again}/overlay")
                for again in range(FIRSTS - 1)
            ]
            # Other code under the same layers: an overlay of its own each, opened at once.
            overlay_at_once = []
            for again in range(FIRSTS):
                _create_bundled(lam, f"bundled-again-{again}", again + 100, big_arn)
                _until_active(lam, f"bundled-again-{again}")
                overlay_at_once.append(
                    _first_view(session, f"{url}/console/functions/bundled-again-{again}/overlay")
                )
            pages = {
                "layers list (51 layers)": f"{url}/console/layers",
                "layers list, filtered": f"{url}/console/layers?runtime=python3.12&q=layer-4",
                "a layer's versions (20)": f"{url}/console/layers/{ACCOUNT}/layer-07",
                "small version page": f"{url}/console/layers/{ACCOUNT}/layer-07/20",
                f"version page, {BIG_FILES} files (cached)": version_page,
                "SBOM of the 6,000-file version": version_page + "/sbom.cdx.json",
                "functions list": f"{url}/console/functions",
                f"function page ({BIG_FILES}-file bundle)": f"{url}/console/functions/bundled",
                f"overlay of the {BIG_FILES}-file bundle (cached)": overlay,
            }
            print(f"{'page':<40} {'p50 ms':>8} {'p95 ms':>8}")
            print(f"{'first version page of the worker':<40} {template:>8.1f}")
            print(f"{f'version page, {BIG_FILES} files (first, 1 s on)':<40} {first:>8.1f}")
            _print_firsts(f"version page, {BIG_FILES} files (first, at once)", at_once)
            print(f"  of which answered 'being read' (reloads in 1 s): {pending} of {FIRSTS}")
            print(f"{'first overlay page of the worker':<40} {overlay_template:>8.1f}")
            _print_firsts(f"overlay, {BIG_FILES}-file bundle (first)", overlay_first)
            _print_firsts("overlay (first, as soon as Active)", overlay_at_once)
            for name, address in pages.items():
                p50, p95 = timed(session, address, args.requests)
                flag = "" if p95 <= GOAL_MS else "  over the goal"
                print(f"{name:<40} {p50:>8.1f} {p95:>8.1f}{flag}")
        finally:
            stop(process)


def _create_bundled(lam, name: str, returns: int, big_arn: str) -> None:
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=f"arn:aws:iam::{ACCOUNT}:role/bench",
        Handler="mod.handler",
        Code={"ZipFile": small_zip(f"def handler(event, context):\n    return {returns}\n")},
        Layers=[big_arn, f"arn:aws:lambda:us-east-1:{ACCOUNT}:layer:layer-01:3"],
    )


def _print_firsts(name: str, samples: list[float]) -> None:
    """First views are one request each: several of them, as median and worst."""
    median, worst = statistics.median(samples), max(samples)
    print(f"{name:<40} {median:>8.1f} {worst:>8.1f}  (median, max of {len(samples)})")


def _until_active(lam, name: str) -> None:
    """Polled often (the waiter's first retry comes seconds later), as a person would open the
    page as soon as the function is ready."""
    while lam.get_function_configuration(FunctionName=name)["State"] != "Active":
        time.sleep(0.01)


def _first_listing(session: requests.Session, url: str) -> tuple[float, bool]:
    """A version page's time, and whether it showed the listing rather than 'being read'."""
    start = time.perf_counter()
    response = session.get(url, timeout=60)
    response.raise_for_status()
    return (
        time.perf_counter() - start
    ) * 1000, 'data-testid="listing-pending"' not in response.text


def _first_view(session: requests.Session, url: str) -> float:
    start = time.perf_counter()
    session.get(url, timeout=60).raise_for_status()
    return (time.perf_counter() - start) * 1000


if __name__ == "__main__":
    main()
