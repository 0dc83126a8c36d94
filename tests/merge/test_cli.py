"""`strata merge` as a user runs it: a real process, real zips."""

import json
import subprocess
import sys
from pathlib import Path

from tests.archive.build import File, make_zip

REPO = Path(__file__).resolve().parents[2]


def strata(*args, cwd=REPO):
    return subprocess.run(
        [sys.executable, "-m", "registry.cli", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_merge_explain_and_diff(tmp_path):
    a = make_zip(tmp_path / "a.zip", File("python/x.py", b"one"), File("python/y.py", b"y"))
    b = make_zip(tmp_path / "b.zip", File("python/x.py", b"two"))
    code = make_zip(tmp_path / "code.zip", File("app.py", b"def handler(e, c): pass\n"))
    cache = tmp_path / "cache"

    result = strata(
        "merge",
        "--function",
        code,
        "--layer",
        a,
        "--layer",
        b,
        "-o",
        tmp_path / "bundle",
        "--cache-dir",
        cache,
        "--runtime",
        "python3.12",
    )
    assert result.returncode == 0, result.stderr
    assert "1 shadowed" in result.stdout
    assert json.loads((tmp_path / "bundle/bundle.json").read_text())["runtime"] == "python3.12"

    explained = strata("merge", "--explain", "/opt/python/x.py", tmp_path / "bundle")
    assert explained.returncode == 0, explained.stderr
    assert explained.stdout.splitlines() == [
        "opt/python/x.py: file 0644, 3 bytes, sha256 "
        "3fc4ccfe745870e2c0d99f71f30ff0656c8dedd41cc1d7d3d376b0dbe685e2f3, from layer:2 (b.zip)",
        "  shadows the file from layer:1 (a.zip)",
    ]
    assert (
        "from function (code.zip)"
        in strata("merge", "--explain", "/var/task/app.py", tmp_path / "bundle").stdout
    )

    only_a = strata("merge", "--layer", a, "-o", tmp_path / "only-a", "--cache-dir", cache)
    assert only_a.returncode == 0, only_a.stderr
    differences = strata("merge", "--diff", tmp_path / "only-a", tmp_path / "bundle/bundle.json")
    assert differences.returncode == 1
    assert differences.stdout.splitlines() == [
        "~ opt/python/x.py (sha256; from layer:1 -> layer:2)",
        "+ task/app.py",
    ]
    same = strata("merge", "--diff", tmp_path / "bundle", tmp_path / "bundle")
    assert (same.returncode, same.stdout.strip()) == (0, "no differences")


def test_unsafe_layer__fails_with_the_zip_and_entry_named_and_no_output(tmp_path):
    evil = make_zip(tmp_path / "evil.zip", File("../../etc/passwd", b"x"))
    result = strata(
        "merge", "--layer", evil, "-o", tmp_path / "bundle", "--cache-dir", tmp_path / "cache"
    )
    assert result.returncode == 1 and result.stderr.startswith("error: ")
    assert "evil.zip" in result.stderr and "../../etc/passwd" in result.stderr
    assert not (tmp_path / "bundle").exists()


def test_max_unzipped_mb__caps_the_merge(tmp_path):
    import os

    big = make_zip(tmp_path / "big.zip", File("python/blob", os.urandom(1_200_000), compress=0))
    result = strata(
        "merge",
        "--layer",
        big,
        "-o",
        tmp_path / "bundle",
        "--cache-dir",
        tmp_path / "cache",
        "--max-unzipped-mb",
        "1",
    )
    assert result.returncode == 1
    assert "limit of 1048576" in result.stderr


def test_explain_of_a_path_a_later_layer_removed(tmp_path):
    a = make_zip(tmp_path / "a.zip", File("python/pkg/mod.py", b"m"))
    b = make_zip(tmp_path / "b.zip", File("python/pkg", b"file"))
    assert (
        strata(
            "merge",
            "--layer",
            a,
            "--layer",
            b,
            "-o",
            tmp_path / "bundle",
            "--cache-dir",
            tmp_path / "cache",
        ).returncode
        == 0
    )
    explained = strata("merge", "--explain", "opt/python/pkg/mod.py", tmp_path / "bundle")
    assert explained.stdout.splitlines() == [
        "opt/python/pkg/mod.py: the file from layer:1 (a.zip) was removed when layer:2 (b.zip) put "
        "opt/python/pkg in its place"
    ]
