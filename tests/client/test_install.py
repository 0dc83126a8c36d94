"""`strata install` against a real registry: resolve, download, verify, merge into a target."""

from __future__ import annotations

import hashlib
import re

import pytest

from tests.client.conftest import make_cli
from tests.client.servers import CuttingProxy
from tests.client.trees import snapshot, tree_digest

SQLITE_ONLY = pytest.mark.parametrize("strata_server", ["sqlite-fs"], indirect=True)


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def three_layers(publish):
    """Three overlapping layers: later ones shadow files of earlier ones; one keeps an exec bit."""
    a = publish(
        "base",
        {
            "python/common.py": "A = 1\n",
            "python/base.py": "B = 1\n",
            "bin/tool": "#!/bin/sh\necho base\n",
        },
        modes={"bin/tool": 0o755},
    )
    b = publish("mid", {"python/common.py": "A = 2\n", "python/mid.py": "M = 1\n"})
    c = publish(
        "top",
        {"bin/tool": "#!/bin/sh\necho top\n", "python/top/__init__.py": ""},
        modes={"bin/tool": 0o755},
    )
    return [a, b, c]


def test_install__three_layers_from_requirements_file_with_hashes_equals_strata_merge(
    cli, three_layers, tmp_path
):
    lines = [
        f"{r['LayerArn'].rsplit(':', 1)[1]}=={r['Version']} --hash=sha256:{sha(p)}"
        for r, p in three_layers
    ]
    (tmp_path / "layers.txt").write_text(
        "# shared layers, in overlay order\n" + "\n".join(lines) + "\n"
    )

    result = cli("install", "-r", tmp_path / "layers.txt", "-t", tmp_path / "site")
    assert "Installed 3 layer(s)" in result.stdout

    merge_args = [arg for _, p in three_layers for arg in ("--layer", p)]
    cli("merge", *merge_args, "--cache-dir", tmp_path / "merge-cache", "-o", tmp_path / "merged")
    assert snapshot(tmp_path / "site") == snapshot(tmp_path / "merged" / "opt")
    assert tree_digest(tmp_path / "site") == tree_digest(tmp_path / "merged")
    assert (tmp_path / "site" / "bin" / "tool").read_text() == "#!/bin/sh\necho top\n"
    assert (tmp_path / "site" / "python" / "common.py").read_text() == "A = 2\n"


def test_install__rerun_with_same_inputs_is_a_noop_that_says_so(cli, publish, tmp_path):
    publish("solo", {"python/solo.py": "S = 1\n"})
    cli("install", "solo", "-t", tmp_path / "site")
    before = snapshot(tmp_path / "site")
    result = cli("install", "solo==1", "-t", tmp_path / "site")
    assert "nothing to do" in result.stdout
    assert snapshot(tmp_path / "site") == before


def test_install__rerun_after_the_tree_was_damaged_reinstalls(cli, publish, tmp_path):
    publish("mended", {"python/mended.py": "M = 1\n"})
    cli("install", "mended", "-t", tmp_path / "site")
    (tmp_path / "site" / "python" / "mended.py").unlink()
    result = cli("install", "mended", "-t", tmp_path / "site")
    assert "Installed 1 layer(s)" in result.stdout
    assert (tmp_path / "site" / "python" / "mended.py").read_text() == "M = 1\n"


def test_install__copy_gives_a_tree_that_can_be_edited_without_touching_the_cache(
    cli, publish, tmp_path
):
    publish("editable", {"python/editable.py": "E = 1\n"})
    cli("install", "editable", "--copy", "-t", tmp_path / "mine")
    (tmp_path / "mine" / "python" / "editable.py").write_text("E = 'patched'\n")
    cli("install", "editable", "-t", tmp_path / "fresh")
    assert (tmp_path / "fresh" / "python" / "editable.py").read_text() == "E = 1\n"


def test_install__replaces_a_previous_install_whole(cli, publish, tmp_path):
    publish("one", {"python/one.py": ""})
    publish("two", {"python/two.py": ""})
    cli("install", "one", "-t", tmp_path / "site")
    cli("install", "two", "-t", tmp_path / "site")
    assert set(snapshot(tmp_path / "site")) == {"python", "python/two.py"}


def test_install__leaves_nothing_beside_the_target_cold_warm_or_replacing(cli, publish, tmp_path):
    publish("neat", {"python/neat.py": "N = 1\n"})
    publish("tidy", {"python/tidy.py": "T = 1\n"})
    cli("install", "neat", "-t", tmp_path / "site")  # cold
    cli("install", "neat", "-t", tmp_path / "other")  # warm: the remembered answer merged ahead
    cli("install", "tidy", "-t", tmp_path / "site")  # replaces the first tree
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert set(snapshot(tmp_path / "site")) == {"python", "python/tidy.py"}


def test_install__refuses_a_target_with_foreign_files(cli, publish, tmp_path):
    publish("solo", {"python/solo.py": ""})
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "mine.txt").write_text("keep me")
    result = cli("install", "solo", "-t", tmp_path / "site", expect=7)
    assert "not empty and was not made by `strata install`" in result.stderr
    assert (tmp_path / "site" / "mine.txt").read_text() == "keep me"


@SQLITE_ONLY
def test_install__tampered_blob_fails_verification_and_leaves_target_untouched(
    cli, publish, strata_server, tmp_path
):
    publish("good", {"python/good.py": "G = 1\n"})
    _, bad_zip = publish("victim", {"python/victim.py": "V = 1\n" * 50})
    cli("install", "good", "-t", tmp_path / "site")
    before = snapshot(tmp_path / "site")
    bundle_before = (tmp_path / "site" / "bundle.json").read_bytes()

    [blob] = [p for p in strata_server.data_dir.rglob(sha(bad_zip)) if p.is_file()]
    tampered = bytearray(blob.read_bytes())
    tampered[40] ^= 0xFF
    blob.chmod(0o644)
    blob.write_bytes(bytes(tampered))

    result = cli("install", "good", "victim", "-t", tmp_path / "site", expect=5)
    assert "victim" in result.stderr and sha(bad_zip) in result.stderr
    assert snapshot(tmp_path / "site") == before
    assert (tmp_path / "site" / "bundle.json").read_bytes() == bundle_before
    cached = list((tmp_path / "cache").rglob(f"{sha(bad_zip)}*"))
    assert cached == [], "unverified bytes never enter the cache"


@SQLITE_ONLY
def test_install__download_cut_midway_resumes_and_verifies(
    strata_server, account, publish, tmp_path
):
    import os

    payload = os.urandom(2 * 1024 * 1024)
    publish("big", {"data/blob.bin": payload})
    with CuttingProxy(
        strata_server.port, cut_path=re.compile(r"^/(?!2018-10-31/)"), cut_after=600_000
    ) as proxy:
        cli = make_cli(tmp_path, proxy.url, account.access_key_id, account.secret_access_key)
        cli("install", "big", "-t", tmp_path / "site")
    assert (tmp_path / "site" / "data" / "blob.bin").read_bytes() == payload
    first, second = proxy.downloads()
    assert "range" not in first
    assert re.fullmatch(r"bytes=[1-9][0-9]*-", second["range"])
    assert proxy.cuts == 1


@SQLITE_ONLY
def test_install__second_install_is_served_from_cache_without_download(
    strata_server, account, publish, tmp_path
):
    publish("cached", {"python/cached.py": "C = 1\n"})
    with CuttingProxy(strata_server.port) as proxy:
        cli = make_cli(tmp_path, proxy.url, account.access_key_id, account.secret_access_key)
        cli("install", "cached", "-t", tmp_path / "one")
        assert len(proxy.downloads()) == 1
        result = cli("install", "cached", "-t", tmp_path / "two")
        assert len(proxy.downloads()) == 1, "the second install downloaded nothing"
    assert "0 downloaded, 1 from cache" in result.stdout
    assert snapshot(tmp_path / "one") == snapshot(tmp_path / "two")
    [download] = proxy.downloads()
    assert "authorization" not in download and "x-amz-date" not in download, (
        "no AWS credentials on a Location"
    )


@SQLITE_ONLY
def test_install__no_cache_downloads_every_time_and_leaves_no_cache(
    strata_server, account, publish, tmp_path
):
    publish("fresh", {"python/fresh.py": ""})
    with CuttingProxy(strata_server.port) as proxy:
        cli = make_cli(tmp_path, proxy.url, account.access_key_id, account.secret_access_key)
        cli("install", "fresh", "--no-cache", "-t", tmp_path / "one")
        cli("install", "fresh", "--no-cache", "-t", tmp_path / "two")
        assert len(proxy.downloads()) == 2
    assert not (tmp_path / "cache").exists()


def test_lock_then_install_require_hashes_reproduces_the_tree_digest(cli, publish, tmp_path):
    publish("alpha", {"python/alpha.py": "A = 1\n"})
    publish("beta", {"python/beta.py": "B = 1\n"})
    cli("lock", "alpha>=1", "beta", "-o", tmp_path / "layers.lock")
    cli("install", "alpha>=1", "beta", "-t", tmp_path / "direct")

    publish(
        "alpha", {"python/alpha.py": "A = 2\n"}
    )  # a newer version must not leak into the locked install
    cli("install", "-r", tmp_path / "layers.lock", "--require-hashes", "-t", tmp_path / "locked")
    assert tree_digest(tmp_path / "locked") == tree_digest(tmp_path / "direct")
    assert snapshot(tmp_path / "locked") == snapshot(tmp_path / "direct")


def test_install__require_hashes_refuses_unpinned_or_unhashed_requirements(cli, publish, tmp_path):
    publish("loose", {"python/loose.py": ""})
    result = cli("install", "loose", "--require-hashes", "-t", tmp_path / "site", expect=2)
    assert "loose: not pinned" in result.stderr and "loose: no --hash" in result.stderr
    assert not (tmp_path / "site").exists()


def test_install__hash_mismatch_aborts_the_whole_install_before_writing(cli, publish, tmp_path):
    _, good = publish("fine", {"python/fine.py": ""})
    publish("wrong", {"python/wrong.py": ""})
    (tmp_path / "layers.txt").write_text(
        f"fine==1 --hash=sha256:{sha(good)}\nwrong==1 --hash=sha256:{'0' * 64}\n"
    )
    result = cli("install", "-r", tmp_path / "layers.txt", "-t", tmp_path / "site", expect=5)
    assert "layers.txt:2" in result.stderr and "0" * 64 in result.stderr
    assert not (tmp_path / "site").exists()
    assert not list((tmp_path / "cache").rglob("*.zip")), "nothing was downloaded"


def test_install__cross_account_layer_by_arn_fails_clearly_before_sharing(
    strata_server, publish, account, tmp_path
):
    response, _ = publish("shared", {"python/shared.py": "S = 1\n"})
    other = strata_server.new_account()
    reader = make_cli(tmp_path, strata_server.url, other.access_key_id, other.secret_access_key)
    arn = response["LayerVersionArn"]

    refused = reader("install", arn, "-t", tmp_path / "site", expect=4)
    assert arn in refused.stderr and "shared with" in refused.stderr
    assert not (tmp_path / "site").exists()

    strata_server.client(account).add_layer_version_permission(
        LayerName="shared",
        VersionNumber=1,
        StatementId="reader",
        Action="lambda:GetLayerVersion",
        Principal=other.account_id,
    )
    reader("install", arn, "-t", tmp_path / "site")
    assert (tmp_path / "site" / "python" / "shared.py").read_text() == "S = 1\n"
    reader("install", f"{account.account_id}/shared==1", "-t", tmp_path / "by-account")
    assert snapshot(tmp_path / "by-account") == snapshot(tmp_path / "site")
    reader("install", f"{arn.rsplit(':', 1)[0]}>=1", "-t", tmp_path / "by-specifier")
    assert snapshot(tmp_path / "by-specifier") == snapshot(tmp_path / "site")


def test_install__filters_pick_the_newest_compatible_version(cli, publish, tmp_path):
    publish(
        "rt",
        {"python/v.py": "V = 1\n"},
        CompatibleRuntimes=["python3.11"],
        CompatibleArchitectures=["x86_64"],
    )
    publish(
        "rt",
        {"python/v.py": "V = 2\n"},
        CompatibleRuntimes=["python3.12"],
        CompatibleArchitectures=["arm64"],
    )
    publish(
        "rt",
        {"python/v.py": "V = 3\n"},
        CompatibleRuntimes=["python3.12"],
        CompatibleArchitectures=["x86_64"],
    )
    cli("install", "rt", "--runtime", "python3.12", "--arch", "arm64", "-t", tmp_path / "arm")
    assert (tmp_path / "arm" / "python" / "v.py").read_text() == "V = 2\n"
    cli("install", "rt<3", "--runtime", "python3.12", "-t", tmp_path / "older")
    assert (tmp_path / "older" / "python" / "v.py").read_text() == "V = 2\n"


def test_install__no_matching_version_lists_the_nearest(cli, publish, tmp_path):
    publish("few", {"a": "1"}, CompatibleRuntimes=["python3.11"])
    publish("few", {"a": "2"}, CompatibleRuntimes=["python3.11"])
    result = cli("install", "few>=5", "-t", tmp_path / "site", expect=3)
    assert (
        "few>=5" in result.stderr
        and "nearest versions: 1 (python3.11), 2 (python3.11)" in result.stderr
    )
    result = cli("install", "few", "--runtime", "python3.12", "-t", tmp_path / "site", expect=3)
    assert "runtime python3.12" in result.stderr


def test_install__unknown_layer_names_the_requirement(cli, tmp_path):
    result = cli("install", "no-such-layer==1", "-t", tmp_path / "site", expect=3)
    assert "no-such-layer==1" in result.stderr


def test_install__unreachable_server_exit_code(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cli = make_cli(tmp_path, f"http://127.0.0.1:{port}", "test", "test")
    cli.env["AWS_MAX_ATTEMPTS"] = "1"
    result = cli("install", "x==1", "-t", tmp_path / "site", expect=6)
    assert "cannot reach the Lambda endpoint" in result.stderr


def test_install__unwritable_target_is_refused_before_download(cli, publish, tmp_path):
    import os

    if os.geteuid() == 0:
        target_parent = tmp_path / "file-not-dir"
        target_parent.write_text("")
        target = target_parent / "site"
    else:
        target_parent = tmp_path / "ro"
        target_parent.mkdir(mode=0o555)
        target = target_parent / "site"
    publish("w", {"a": "1"})
    result = cli("install", "w", "-t", target, expect=7)
    assert str(target) in result.stderr


def test_install__newer_version_since_the_last_install_wins_over_the_remembered_one(
    cli, publish, tmp_path
):
    publish("moving", {"python/moving.py": "V = 1\n"})
    cli("install", "moving", "-t", tmp_path / "first")
    publish("moving", {"python/moving.py": "V = 2\n"})
    result = cli("install", "moving", "-t", tmp_path / "second")
    assert "(1 downloaded, 0 from cache)" in result.stdout
    assert (tmp_path / "second" / "python" / "moving.py").read_text() == "V = 2\n"
    assert ":layer:moving:2" in (tmp_path / "second" / "bundle.json").read_text()


def test_install__failure_after_a_warm_start_leaves_nothing_beside_the_target(
    cli, publish, lam, tmp_path
):
    publish("fleeting", {"python/fleeting.py": "F = 1\n" * 1000})
    cli("install", "fleeting", "-t", tmp_path / "site")
    lam.delete_layer_version(LayerName="fleeting", VersionNumber=1)
    cli("install", "fleeting", "-t", tmp_path / "again", expect=3)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    assert not (tmp_path / "again").exists()


def test_install__runtime_nodejs_picks_the_nodejs_version_and_strata_run_loads_it(
    cli, publish, tmp_path
):
    from tests.support.nodejs import PRESENT, require_node

    runtime = require_node(f"nodejs{PRESENT[0]}.x" if PRESENT else None)
    other = "nodejs18.x" if runtime != "nodejs18.x" else "nodejs20.x"

    def package(copy: str) -> dict[str, str]:
        return {
            "nodejs/node_modules/greeting/package.json": '{"name": "greeting", "main": "i.js"}',
            "nodejs/node_modules/greeting/i.js": f"module.exports = {copy!r};\n",
        }

    publish("node-greeting", package(f"for {runtime}"), CompatibleRuntimes=[runtime])
    publish("node-greeting", package("for python"), CompatibleRuntimes=["python3.12"])
    publish("node-greeting", package(f"for {other}"), CompatibleRuntimes=[other])
    bundle = tmp_path / "bundle"
    cli("install", "node-greeting", "--runtime", runtime, "-t", bundle / "opt")
    greeting = bundle / "opt" / "nodejs" / "node_modules" / "greeting" / "i.js"
    assert greeting.read_text() == f"module.exports = 'for {runtime}';\n"

    (bundle / "task").mkdir()
    (bundle / "task" / "index.js").write_text(
        "exports.handler = async () => require('greeting');\n"
    )
    for path in [tmp_path, *tmp_path.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o005 if path.is_dir() else path.stat().st_mode | 0o004)
    ran = cli("run", bundle, "--handler", "index.handler", "--runtime", runtime)
    assert ran.stdout.strip() == f'"for {runtime}"'
