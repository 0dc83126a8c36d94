"""`strata publish` against a real registry."""

from __future__ import annotations

import base64
import hashlib
import os

import pytest

from tests.client.trees import snapshot


def _layer_dir(root):
    (root / "python" / "pkg").mkdir(parents=True)
    (root / "python" / "pkg" / "__init__.py").write_text("VALUE = 1\n")
    (root / "bin").mkdir()
    (root / "bin" / "run").write_text("#!/bin/sh\n")
    os.chmod(root / "bin" / "run", 0o755)
    return root


def _code_sha(result) -> str:
    return result.stdout.split("CodeSha256: ")[1].split()[0]


def test_publish__directory_twice_gives_the_same_code_sha256(cli, tmp_path):
    src = _layer_dir(tmp_path / "src")
    first = cli("publish", src, "--name", "det", "--runtime", "python3.12", "--arch", "x86_64")
    os.utime(src / "bin" / "run", (1, 1))  # a touched file must not change the zip
    second = cli("publish", src, "--name", "det")
    assert "layer:det:1" in first.stdout and "layer:det:2" in second.stdout
    assert _code_sha(first) == _code_sha(second)

    os.chmod(src / "bin" / "run", 0o644)  # a mode change is a content change
    third = cli("publish", src, "--name", "det")
    assert _code_sha(third) != _code_sha(first)


def test_publish__directory_installs_back_with_modes(cli, tmp_path):
    src = _layer_dir(tmp_path / "src")
    cli("publish", src, "--name", "roundtrip", "--description", "rt", "--license", "MIT")
    cli("install", "roundtrip==1", "-t", tmp_path / "site")
    assert snapshot(tmp_path / "site") == snapshot(src)


def test_publish__zip_file_keeps_its_bytes(cli, tmp_path, publish):
    from tests.client.conftest import build_zip

    data = build_zip({"python/z.py": "Z = 1\n"})
    (tmp_path / "z.zip").write_bytes(data)
    result = cli("publish", tmp_path / "z.zip", "--name", "zipped", "--json")
    expected = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert f'"CodeSha256": "{expected}"' in result.stdout


def test_publish__not_a_zip_is_refused(cli, tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    result = cli("publish", tmp_path / "notes.txt", "--name", "x", expect=1)
    assert "is not a zip file" in result.stderr


@pytest.mark.parametrize("strata_server", ["pg-s3"], indirect=True)
def test_publish__over_the_direct_limit_goes_through_the_servers_bucket(
    strata_server, account, cli, tmp_path, monkeypatch
):
    from registry.client.connection import Connection, lambda_client, s3_client
    from registry.client.publish import LayerSpec, publish

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", account.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", account.secret_access_key)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://{strata_server.env['STRATA_S3_ENDPOINT']}")
    conn = Connection(endpoint_url=strata_server.url, region=strata_server.region)
    src = _layer_dir(tmp_path / "src")
    response = publish(
        src,
        LayerSpec("via-s3"),
        client=lambda_client(conn),
        s3_client_factory=lambda: s3_client(conn),
        s3_bucket=strata_server.env["STRATA_S3_BUCKET"],
        direct_upload_limit=16,
    )
    assert response["Version"] == 1
    cli("install", "via-s3==1", "-t", tmp_path / "site")
    assert snapshot(tmp_path / "site") == snapshot(src)
    listed = strata_server.s3_client().list_objects_v2(
        Bucket=strata_server.env["STRATA_S3_BUCKET"], Prefix=f"uploads/{account.account_id}/"
    )
    assert listed["KeyCount"] == 0, "the staged zip is removed after the publish"
