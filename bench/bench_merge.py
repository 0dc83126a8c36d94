"""Merge engine speed against its baselines, all measured in one run on the same machine.

    python bench/merge_corpus.py          # once: builds bench/corpus/layer{1..5}.zip
    python bench/bench_merge.py [--repeat 3]

Figures (median of --repeat rounds; each ratio is the median of per-round ratios against a
baseline timed in the same round, because this machine's speed drifts between rounds):
  cold merge   `strata merge` process with an empty cache  vs `unzip -o -q` of the five in order
  warm merge   `strata merge` process with the layers cached  vs `cp -al` of the finished tree
  (both also in-process, i.e. without interpreter start-up, through registry.merge.merge)
  peak memory  maximum resident set of the merge process (target < 200 MB)
  plan         winner/shadow map from the central directories (target well under 100 ms)
  check_zip    full validation of the largest layer  vs `unzip -tq` of it

Everything is written under bench/out/ and deleted at the very end: file creation slows for a
while after large deletions, which would skew the figures measured after them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))

from registry.archive.reader import check_zip  # noqa: E402
from registry.merge import MergeInput, merge, plan  # noqa: E402

PYTHON = os.path.abspath(sys.executable)  # an absolute path: no shim (pyenv) in front of it


def timed_process(argv: list[str], **kwargs) -> tuple[float, int]:
    """Wall time and peak RSS (bytes) of one child process."""
    os.sync()  # nobody pays for the write-back of the step before
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, **kwargs)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{argv[0]} failed with exit code {process.returncode}")
    return elapsed, usage.ru_maxrss * 1024


def timed(action) -> float:
    os.sync()
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=BENCH / "corpus")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    zips = [args.corpus / f"layer{i}.zip" for i in range(1, 6)]
    missing = [z for z in zips if not z.exists()]
    if missing:
        raise SystemExit(f"missing {missing[0]}: run bench/merge_corpus.py first")
    work = BENCH / "out" / f"run-{uuid.uuid4().hex[:8]}"
    work.mkdir(parents=True)
    layer_args = [arg for z in zips for arg in ("--layer", str(z))]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    inputs = [MergeInput(z) for z in zips]
    rows: dict[str, list[float]] = {}

    def record(name: str, value: float) -> None:
        rows.setdefault(name, []).append(value)

    try:
        for round_number in range(args.repeat):
            r = work / f"r{round_number}"
            r.mkdir()
            cli = [
                PYTHON,
                "-m",
                "registry.cli",
                "merge",
                *layer_args,
                "--cache-dir",
                str(r / "cache"),
            ]

            def unzip_in_order() -> None:
                (r / "unzip").mkdir()
                os.sync()
                start = time.perf_counter()
                for z in zips:
                    subprocess.run(
                        ["unzip", "-o", "-q", str(z), "-d", str(r / "unzip")], check=True
                    )
                record("unzip -o -q x5", time.perf_counter() - start)

            def cold_process() -> None:
                seconds, rss = timed_process([*cli, "-o", str(r / "cold")], env=env, cwd=REPO)
                record("cold merge (process)", seconds)
                record("cold peak RSS MB", rss / 1e6)

            def cold_in_process() -> None:
                record(
                    "cold merge (in-process)",
                    timed(lambda: merge(inputs, r / "cold2", cache_dir=r / "cache2")),
                )

            # Each step slows the next one down a little (page cache, write-back), so the three
            # cold steps take turns going first.
            steps = [unzip_in_order, cold_process, cold_in_process]
            for step in steps[round_number % 3 :] + steps[: round_number % 3]:
                step()
            seconds, rss = timed_process([*cli, "-o", str(r / "warm")], env=env, cwd=REPO)
            record("warm merge (process)", seconds)
            record("warm peak RSS MB", rss / 1e6)
            record(
                "cp -al of the tree",
                timed_process(["cp", "-al", str(r / "warm" / "opt"), str(r / "cpal")])[0],
            )
            record(
                "warm merge (in-process)",
                timed(lambda: merge(inputs, r / "warm2", cache_dir=r / "cache2")),
            )
            record(
                "interpreter + imports",
                timed_process(
                    [PYTHON, "-c", "import registry.cli, registry.merge.cli, registry.merge"],
                    env=env,
                    cwd=REPO,
                )[0],
            )
            record("plan (central directories)", timed(lambda: plan(inputs)))
            largest = max(zips, key=lambda z: z.stat().st_size)
            record("check_zip largest layer", timed(lambda: check_zip(largest)))
            record("unzip -tq largest layer", timed_process(["unzip", "-tq", str(largest)])[0])
        report(rows, zips)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(rows: dict[str, list[float]], zips: list[Path]) -> None:
    m = {name: statistics.median(values) for name, values in rows.items()}

    def ratio(name: str, baseline: str) -> float:
        return statistics.median(a / b for a, b in zip(rows[name], rows[baseline], strict=True))

    zipped = sum(z.stat().st_size for z in zips)
    print(
        f"corpus: {len(zips)} layers, {zipped / 1e6:.1f} MB zipped; "
        f"median of {len(rows['unzip -o -q x5'])} rounds"
    )
    print(f"{'figure':32} {'value':>9}  {'baseline':>26}  {'ratio':>6}  target")
    lines = [
        ("cold merge (process)", "unzip -o -q x5", "<= 0.7"),
        ("cold merge (in-process)", "unzip -o -q x5", "<= 0.7"),
        ("warm merge (process)", "cp -al of the tree", "<= 1.3"),
        ("warm merge (in-process)", "cp -al of the tree", "<= 1.3"),
        ("check_zip largest layer", "unzip -tq largest layer", ""),
    ]
    for name, baseline, target in lines:
        print(
            f"{name:32} {m[name]:8.3f}s  {baseline:>19} {m[baseline]:5.3f}s  "
            f"{ratio(name, baseline):5.2f}x  {target}"
        )
    print(
        f"{'plan (central directories)':32} {m['plan (central directories)'] * 1000:7.1f}ms  "
        "target well under 100 ms"
    )
    print(
        f"{'interpreter + imports':32} {m['interpreter + imports']:8.3f}s  "
        "(part of each process figure)"
    )
    print(
        f"{'peak RSS, cold / warm':32} {m['cold peak RSS MB']:5.0f} / "
        f"{m['warm peak RSS MB']:.0f} MB  target < 200 MB"
    )


if __name__ == "__main__":
    main()
