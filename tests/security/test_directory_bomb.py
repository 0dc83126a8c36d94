"""Item 6: an archive of few entries that implies millions of directories is refused early, as a
published layer and as one of a merge's inputs, and costs the server neither time nor memory."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BOMB_ENTRIES = 20_000
DEPTH = 128  # components of each path, the deepest a name may be
NODE_CAP = 100_000  # ZipLimits.max_entries


def directory_bomb() -> bytes:
    """About 12 MB: 20,000 files, each under 127 directories of its own (2.5 M directories)."""
    buffer = io.BytesIO()
    middle = "d/" * (DEPTH - 2)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(BOMB_ENTRIES):
            archive.writestr(f"{i}/{middle}f", b"")
    return buffer.getvalue()


def _descendants(pid: int) -> list[int]:
    found, pending = [], [pid]
    while pending:
        parent = pending.pop()
        for task in Path(f"/proc/{parent}/task").iterdir():
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                found.append(child)
                pending.append(child)
    return found


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def test_publish_of_a_directory_bomb__is_refused_in_under_a_second_without_growing_the_server(
    strata_server, lam
):
    bomb = directory_bomb()
    workers = _descendants(strata_server.process.pid)
    assert workers, "the server runs its requests in worker processes"
    before = {}
    for pid in workers:
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # peak RSS starts again from now
        before[pid] = _status_kb(pid, "VmRSS")

    started = time.monotonic()
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as refused:
        lam.publish_layer_version(LayerName="bomb", Content={"ZipFile": bomb})
    elapsed = time.monotonic() - started

    message = refused.value.response["Error"]["Message"]
    assert f"more than the limit of {NODE_CAP} files, directories and symlinks" in message
    assert elapsed < 1.0, f"refused after {elapsed:.2f} s"
    growth_mb = (
        max(
            _status_kb(pid, "VmHWM") - before[pid]
            for pid in workers
            if Path(f"/proc/{pid}").exists()
        )
        / 1024
    )
    assert growth_mb < 100, f"a worker's peak memory grew by {growth_mb:.0f} MB"
    # Nothing was published, and the server still answers.
    assert lam.list_layer_versions(LayerName="bomb")["LayerVersions"] == []
    assert lam.list_layers()["Layers"] == []


def _deep_layer(path: Path, top: str, records: int) -> Path:
    """`records` files under 100 directories each of their own: 101 nodes a record."""
    middle = "d/" * 99
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(records):
            archive.writestr(f"{top}{i}/{middle}f", b"")
    return path


def test_merge_of_layers_each_under_the_cap__refuses_their_union_before_extracting(tmp_path):
    # Two layers of 60,600 nodes each pass alone; stacked, they would create 121,200.
    first = _deep_layer(tmp_path / "first.zip", "a", 600)
    second = _deep_layer(tmp_path / "second.zip", "b", 600)
    cache = tmp_path / "cache"
    env = {key: value for key, value in os.environ.items() if not key.startswith("STRATA_")}

    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "registry.cli",
            "merge",
            "--layer",
            first,
            "--layer",
            second,
            "-o",
            tmp_path / "bundle",
            "--cache-dir",
            cache,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    elapsed = time.monotonic() - started

    assert result.returncode == 1, result.stdout + result.stderr
    assert f"function and layers together hold more than the limit of {NODE_CAP}" in result.stderr
    assert elapsed < 10, f"refused after {elapsed:.1f} s"
    assert not (tmp_path / "bundle").exists()
    extracted = cache / "merge" / "v1" / "extracted"
    assert not extracted.exists() or list(extracted.iterdir()) == [], "nothing was extracted"
    assert sum(1 for _ in cache.rglob("*") if _.is_dir()) < 10

    alone = subprocess.run(
        [
            sys.executable,
            "-m",
            "registry.cli",
            "merge",
            "--layer",
            first,
            "-o",
            tmp_path / "one",
            "--cache-dir",
            cache,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert alone.returncode == 0, alone.stderr
