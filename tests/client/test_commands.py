"""`strata download`, `lock`, `layers` and `cache` against a real registry."""

from __future__ import annotations

import hashlib
import json
import os

import pytest


def test_download__verified_zips_and_an_index(cli, publish, tmp_path):
    _, first = publish("dl-a", {"python/a.py": "A = 1\n"})
    _, second = publish("dl-b", {"python/b.py": "B = 1\n"})
    cli("download", "dl-a", "dl-b==1", "-d", tmp_path / "out")
    index = json.loads((tmp_path / "out" / "layers.json").read_text())["layers"]
    assert [e["file"] for e in index] == ["dl-a-1.zip", "dl-b-1.zip"]
    assert (tmp_path / "out" / "dl-a-1.zip").read_bytes() == first.read_bytes()
    assert (tmp_path / "out" / "dl-b-1.zip").read_bytes() == second.read_bytes()
    assert index[1]["sha256"] == hashlib.sha256(second.read_bytes()).hexdigest()
    assert index[1]["layer_version_arn"].endswith(":layer:dl-b:1")


def test_lock__writes_arns_and_hashes_in_requirements_syntax(cli, publish, tmp_path):
    response, path = publish("lk", {"python/lk.py": ""})
    cli("lock", "lk", "-o", tmp_path / "layers.lock")
    text = (tmp_path / "layers.lock").read_text()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert f"{response['LayerVersionArn']} \\\n    --hash=sha256:{digest}\n" in text
    assert text.startswith("# Written by `strata lock lk`.\n")


def test_lock__to_standard_output(cli, publish):
    response, _ = publish("lk-out", {"python/o.py": ""})
    assert response["LayerVersionArn"] in cli("lock", "lk-out").stdout


def test_layers__list_versions_and_show(cli, publish):
    publish("browse", {"a": "1"}, Description="first", CompatibleRuntimes=["python3.12"])
    publish("browse", {"a": "2"}, Description="second", CompatibleRuntimes=["python3.13"])
    listing = cli("layers", "list").stdout
    assert "browse" in listing and "second" in listing
    filtered = cli("layers", "list", "--runtime", "python3.12").stdout
    assert "first" in filtered and "second" not in filtered
    versions = cli("layers", "versions", "browse").stdout.splitlines()
    assert [line.split()[0] for line in versions] == ["VERSION", "2", "1"]
    shown = json.loads(cli("layers", "show", "browse==1", "--json").stdout)
    assert shown["Description"] == "first" and shown["Version"] == 1
    assert len(shown["sha256"]) == 64


def test_layers__show_unknown_version_exit_code(cli, publish):
    publish("browse-missing", {"a": "1"})
    result = cli("layers", "show", "browse-missing==9", expect=3)
    assert "browse-missing==9" in result.stderr


def test_cache__dir_info_purge(cli, publish, tmp_path):
    publish("cache-me", {"python/c.py": "C = 1\n" * 100})
    assert cli("cache", "dir").stdout.strip() == str(tmp_path / "cache")
    cli("install", "cache-me", "-t", tmp_path / "site")
    assert "Layer zips: 1 " in cli("cache", "info").stdout
    cli("cache", "purge")
    assert not (tmp_path / "cache").exists()
    assert "Layer zips: 0 " in cli("cache", "info").stdout


@pytest.mark.parametrize(
    "argv, code", [(["install", "bad name", "-t", "x"], 2), (["install", "-t", "x"], 2)]
)
def test_cli__usage_errors_exit_2(cli, argv, code):
    result = cli(*argv, expect=code)
    assert "error" in result.stderr.lower()


def test_cli__installed_console_script_reports_exit_code_and_message(cli, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    strata = Path(sys.executable).with_name("strata")
    env = {k: v for k, v in {**os.environ, **cli.env}.items() if v is not None}
    done = subprocess.run(
        [str(strata), "install", "absent-layer==2", "-t", str(tmp_path / "site")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 3
    assert done.stderr.startswith("error: absent-layer==2: ")
    assert done.stdout == ""
