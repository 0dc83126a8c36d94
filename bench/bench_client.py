"""Client benchmark: `strata install` of the 5-layer realistic set against a local
`strata serve`.

Measured in one run, on the same machine, each figure next to its baseline:
  cold install (empty cache)  vs  plain HTTP download of the same Content.Location bytes
                                  + cold merge
  warm install (cached)       vs  warm merge alone (layers already extracted)
Targets (issue 6): cold <= 1.3x, warm <= 1.2x.

Each install is timed right beside its baseline, in alternating order, and a ratio is the median
of those pairs: the disk of these machines drifts between fast and slow states over minutes, and
a pair sees the same state where medians taken apart do not.

Needs the corpus from bench/merge_corpus.py (bench/corpus/*.zip, in overlay order by name).
Usage: .venv/bin/python bench/bench_client.py [--rounds 5] [--warm-pairs 3] [--corpus bench/corpus]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import botocore.session
import urllib3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import start_strata, stop  # noqa: E402
from registry.client.cache import BlobCache  # noqa: E402
from registry.client.connection import Connection, resolver_for  # noqa: E402
from registry.client.install import install  # noqa: E402
from registry.client.progress import progress_for  # noqa: E402
from registry.client.requirements import parse_requirement  # noqa: E402
from registry.merge import MergeInput, merge  # noqa: E402


def lambda_client(url: str):
    session = botocore.session.Session()
    return session.create_client(
        "lambda",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def paired_ratio(installs: list[float], baselines: list[float]) -> str:
    ratios = [i / b for i, b in zip(installs, baselines, strict=True)]
    return f"ratio {statistics.median(ratios):.2f}x (pairs {min(ratios):.2f}-{max(ratios):.2f}x)"


def timed(fn) -> float:
    os.sync()  # nobody pays for the write-back of the step before
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=ROOT / "bench" / "corpus")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--warm-pairs", type=int, default=3, help="warm pairs per round; each takes ~0.1 s"
    )
    parser.add_argument("--jobs", type=int, default=4)
    args = parser.parse_args()
    zips = sorted(args.corpus.glob("*.zip"))
    if len(zips) != 5:
        raise SystemExit(f"expected 5 zips in {args.corpus}; build them with bench/merge_corpus.py")

    work = Path(tempfile.mkdtemp(prefix="strata-bench-client-"))
    proc, url = start_strata(work / "server")
    try:
        client = lambda_client(url)
        requirements = []
        for i, path in enumerate(zips):
            name = f"bench-{i}-{path.stem}"[:64].replace(".", "-")
            response = client.publish_layer_version(
                LayerName=name, Content={"ZipFile": path.read_bytes()}
            )
            requirements.append(parse_requirement(f"{name}=={response['Version']}"))
        total_mb = sum(p.stat().st_size for p in zips) / 2**20
        # The resolver `strata install` builds: credentials from the environment, as a user has
        # them.
        os.environ.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test")
        resolver = resolver_for(
            Connection(endpoint_url=url, region="us-east-1", max_pool=args.jobs)
        )
        quiet = progress_for(quiet=True)
        pool = urllib3.PoolManager(maxsize=args.jobs)

        def plain_download(dest: Path) -> list[Path]:
            # The baseline a user could script: fetch each Location with a plain HTTP client.
            dest.mkdir(parents=True)
            out = []
            for req in requirements:
                info = client.get_layer_version(
                    LayerName=req.name, VersionNumber=req.pinned_version
                )
                target = dest / f"{req.name}.zip"
                with (
                    pool.request("GET", info["Content"]["Location"], preload_content=False) as r,
                    open(target, "wb") as f,
                ):
                    shutil.copyfileobj(r, f, 1 << 20)
                out.append(target)
            return out

        # Digests are known up front so the baselines do not pay for hashing the zips, which the
        # install also skips (it hashed them while downloading).
        digests = [hashlib.sha256(p.read_bytes()).hexdigest() for p in zips]

        def do_merge(paths: list[Path], out: Path, cache_dir: Path) -> None:
            merge(
                [MergeInput(path=p, sha256=d) for p, d in zip(paths, digests, strict=True)],
                out,
                cache_dir=cache_dir,
            )

        rows = {
            "cold_baseline": [],
            "cold_install": [],
            "warm_baseline": [],
            "warm_install": [],
            "warm_cli": [],
        }
        for r in range(args.rounds):
            base = work / f"round-{r}"
            # Cold: plain download + merge into an empty extraction cache, then the install with an
            # empty client cache (no zips, no extracted layers).
            merge_cache = base / "merge-cache"
            paths: list[Path] = []
            cache = BlobCache(base / "client-cache")
            run = lambda target: install(  # noqa: E731
                requirements, target, resolver=resolver, cache=cache, jobs=args.jobs, progress=quiet
            )

            def cold_baseline():
                rows["cold_baseline"].append(
                    timed(lambda: paths.extend(plain_download(base / "plain")))
                    + timed(lambda: do_merge(paths, base / "merged-cold", merge_cache))
                )

            def cold_install():
                rows["cold_install"].append(timed(lambda: run(base / "site-cold")))

            # Alternate which goes first: the second pays for the first one's disk writeback.
            for measure in (
                (cold_baseline, cold_install) if r % 2 == 0 else (cold_install, cold_baseline)
            ):
                measure()
            # Warm, measured after both cold runs so neither pays for the other's disk writeback.
            for k in range(args.warm_pairs):

                def warm_baseline():
                    rows["warm_baseline"].append(
                        timed(lambda: do_merge(paths, base / f"merged-warm-{k}", merge_cache))
                    )

                def warm_install():
                    rows["warm_install"].append(timed(lambda: run(base / f"site-warm-{k}")))

                for measure in (
                    (warm_baseline, warm_install)
                    if (r + k) % 2 == 0
                    else (warm_install, warm_baseline)
                ):
                    measure()
            # For information: the same warm install as a user runs it, interpreter start included.
            argv = [
                str(Path(sys.executable).with_name("strata")),
                "install",
                "-q",
                "-t",
                str(base / "site-cli"),
            ]
            env = {
                **os.environ,
                "STRATA_ENDPOINT_URL": url,
                "STRATA_CACHE_DIR": str(base / "client-cache"),
                "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_DEFAULT_REGION": "us-east-1",
            }
            cli_args = argv + [r.text for r in requirements]
            rows["warm_cli"].append(
                timed(
                    lambda: subprocess.run(cli_args, env=env, check=True, stdout=subprocess.DEVNULL)
                )
            )
            # Nothing is deleted until the end: file creation slows for minutes after large
            # deletions.

        med = {k: statistics.median(v) for k, v in rows.items()}
        for key, values in rows.items():
            print(f"  {key:<14} runs: " + " ".join(f"{v:.3f}" for v in values))
        print(
            f"corpus: {len(zips)} layers, {total_mb:.1f} MB zipped; {args.rounds} rounds, "
            f"{args.warm_pairs} warm pairs each; medians; jobs={args.jobs}"
        )
        print(f"cold install                      {med['cold_install']:.3f} s")
        print(
            f"  baseline: plain HTTP + cold merge {med['cold_baseline']:.3f} s   "
            f"{paired_ratio(rows['cold_install'], rows['cold_baseline'])} (target <= 1.3x)"
        )
        print(f"warm install                      {med['warm_install']:.3f} s")
        print(
            f"  baseline: warm merge alone        {med['warm_baseline']:.3f} s   "
            f"{paired_ratio(rows['warm_install'], rows['warm_baseline'])} (target <= 1.2x)"
        )
        print(
            f"warm `strata install` process     {med['warm_cli']:.3f} s   "
            "(information: interpreter and botocore start included)"
        )
    finally:
        stop(proc)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
