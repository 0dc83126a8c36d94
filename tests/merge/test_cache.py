"""The extraction cache: each archive extracted once, shared safely by concurrent processes,
and never trusted half-written."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from registry.merge import MergeInput, extracted_path, merge
from registry.merge.cache import cache_root
from tests.archive.build import File, Link, make_zip
from tests.merge.trees import read_tree

REPO = Path(__file__).resolve().parents[2]


def test_second_merge_extracts_nothing(tmp_path, layer, cache_dir):
    first = layer("a.zip", File("python/a.py", b"a"), Link("python/b.py", "a.py"))
    document = merge([first], tmp_path / "one", cache_dir=cache_dir)
    sha = document["inputs"][0]["sha256"]
    manifest = cache_root(cache_dir) / "extracted" / sha / "manifest.json"
    before = manifest.stat().st_mtime_ns
    # With the archive gone, only the cache can provide the tree.
    first.path.unlink()
    again = merge([MergeInput(first.path, sha256=sha)], tmp_path / "two", cache_dir=cache_dir)
    assert again["tree_sha256"] == document["tree_sha256"]
    assert read_tree(tmp_path / "two/opt") == read_tree(tmp_path / "one/opt")
    assert manifest.stat().st_mtime_ns == before


def test_the_same_archive_used_twice_is_extracted_once(tmp_path, layer, cache_dir):
    archive = layer("a.zip", File("python/a.py", b"a"))
    merge([archive, archive], tmp_path / "out", cache_dir=cache_dir)
    assert [p.name for p in (cache_root(cache_dir) / "extracted").iterdir()] == [
        merge([archive], tmp_path / "again", cache_dir=cache_dir)["inputs"][0]["sha256"]
    ]


def test_extracted_path__is_the_cached_tree_of_one_archive(tmp_path, layer, cache_dir):
    archive = layer("a.zip", File("python/a.py", b"a", mode=0o755))
    sha = merge([archive], tmp_path / "out", cache_dir=cache_dir)["inputs"][0]["sha256"]
    tree = extracted_path(cache_dir, sha)
    assert read_tree(tree) == {"python": ("dir", 0o755), "python/a.py": ("file", 0o755, b"a")}


def test_stale_temporary_extractions_are_ignored_and_swept(tmp_path, layer, cache_dir):
    archive = layer("a.zip", File("python/a.py", b"real"))
    sha = merge([archive], tmp_path / "probe", cache_dir=tmp_path / "probe-cache")["inputs"][0][
        "sha256"
    ]
    # What a process killed mid-extraction leaves: a temporary directory with a partial file.
    leftover = cache_root(cache_dir) / ".tmp" / f"{sha}-99999-deadbeef"
    (leftover / "tree/python").mkdir(parents=True)
    (leftover / "tree/python/a.py").write_bytes(b"re")
    old = time.time() - 2 * 24 * 3600
    os.utime(leftover, (old, old))
    merge([archive], tmp_path / "out", cache_dir=cache_dir)
    assert (tmp_path / "out/opt/python/a.py").read_bytes() == b"real"
    assert not leftover.exists()


def test_a_process_killed_mid_extraction_leaves_nothing_that_is_used(tmp_path, cache_dir):
    big = make_zip(
        tmp_path / "big.zip",
        *[File(f"python/f{i}.bin", os.urandom(64 * 1024), compress=0) for i in range(400)],
    )
    script = (
        "import sys; from pathlib import Path; from registry.merge import merge, MergeInput; "
        "merge([MergeInput(Path(sys.argv[1]))], Path(sys.argv[2]), "
        "cache_dir=Path(sys.argv[3]), workers=1)"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, big, tmp_path / "killed", cache_dir], cwd=REPO
    )
    staging = cache_root(cache_dir) / ".tmp"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not any(staging.glob("*/tree/python/f*.bin")):
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (cache_root(cache_dir) / "extracted").exists()
    assert not (tmp_path / "killed").exists()
    merge([MergeInput(big)], tmp_path / "after", cache_dir=cache_dir)
    assert len(list((tmp_path / "after/opt/python").iterdir())) == 400


def test_concurrent_merges_of_overlapping_layers_from_four_processes(tmp_path):
    zips = tmp_path / "zips"
    zips.mkdir()
    shared_files = {f"python/s{i}.py": os.urandom(2000) for i in range(200)}
    shared = make_zip(
        zips / "shared.zip", *[File(name, data) for name, data in shared_files.items()]
    )
    patches = [
        make_zip(
            zips / f"p{n}.zip",
            File("python/s0.py", f"patch {n}".encode()),
            File(f"python/only{n}.py", b"x"),
        )
        for n in range(4)
    ]
    # Process n merges shared, patch n, patch n+1: every layer is wanted by two processes at once.
    stacks = [[shared, patches[n], patches[(n + 1) % 4]] for n in range(4)]
    cache = tmp_path / "cache"
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "registry.cli",
                "merge",
                *[arg for z in stack for arg in ("--layer", z)],
                "-o",
                tmp_path / f"out{n}",
                "--cache-dir",
                cache,
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for n, stack in enumerate(stacks)
    ]
    results = [(*p.communicate(timeout=60), p.returncode) for p in processes]
    assert [code for _, _, code in results] == [0, 0, 0, 0], results
    for n in range(4):
        tree = read_tree(tmp_path / f"out{n}/opt")
        expected = {name: ("file", 0o644, data) for name, data in shared_files.items()}
        expected["python/s0.py"] = ("file", 0o644, f"patch {(n + 1) % 4}".encode())
        expected[f"python/only{n}.py"] = expected[f"python/only{(n + 1) % 4}.py"] = (
            "file",
            0o644,
            b"x",
        )
        expected["python"] = ("dir", 0o755)
        assert tree == expected
    assert list((cache_root(cache) / ".tmp").iterdir()) == []


def test_an_archive_rewritten_in_place_is_hashed_again(tmp_path, layer, cache_dir):
    first = layer("a.zip", File("python/a.py", b"before"))
    merge([first], tmp_path / "one", cache_dir=cache_dir)
    make_zip(first.path, File("python/a.py", b"after!"))  # same path, same size
    merge([first], tmp_path / "two", cache_dir=cache_dir)
    assert (tmp_path / "two/opt/python/a.py").read_bytes() == b"after!"
