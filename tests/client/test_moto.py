"""The client against moto's Lambda server: another implementation of the same API.

moto differs from Strata in ways the client must not assume away: it ignores the runtime and
architecture filters of ListLayerVersions, and its Content.Location ("s3://") is not a URL.
"""

from __future__ import annotations

import base64
import hashlib
import io
import uuid
import zipfile

import pytest

from registry.client.connection import Connection, lambda_client, s3_client
from registry.client.publish import LayerSpec, account_id, publish
from registry.client.zipdir import zip_directory
from tests.client.conftest import make_cli


@pytest.fixture
def moto_cli(s3_server, tmp_path):
    return make_cli(
        tmp_path, s3_server.url, s3_server.access_key, s3_server.secret_key, s3_server.region
    )


@pytest.fixture
def layer_dir(tmp_path):
    root = tmp_path / "layer"
    (root / "python").mkdir(parents=True)
    (root / "python" / "m.py").write_text("M = 1\n")
    return root


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_moto__publish_lock_and_filters_work_while_install_explains_the_location(
    moto_cli, layer_dir, tmp_path
):
    name = _unique("peer")
    moto_cli("publish", layer_dir, "--name", name, "--runtime", "python3.11")
    (layer_dir / "python" / "m.py").write_text("M = 2\n")
    moto_cli("publish", layer_dir, "--name", name, "--runtime", "python3.12")

    lock = moto_cli("lock", name, "--runtime", "python3.11").stdout
    assert f":layer:{name}:1 \\" in lock, "moto ignores the filter, the client must not"
    zip_directory(layer_dir, tmp_path / "v2.zip")
    latest = moto_cli("lock", name).stdout
    assert (
        f"--hash=sha256:{hashlib.sha256((tmp_path / 'v2.zip').read_bytes()).hexdigest()}" in latest
    )

    versions = moto_cli("layers", "versions", name).stdout.splitlines()
    assert [line.split()[0] for line in versions[1:]] == ["2", "1"]

    result = moto_cli("install", f"{name}==2", "-t", tmp_path / "site", expect=6)
    assert f"{name}==2" in result.stderr and "'s3://'" in result.stderr
    assert not (tmp_path / "site").exists()


def test_moto__publish_over_the_direct_limit_goes_through_s3(
    s3_server, layer_dir, tmp_path, monkeypatch
):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_key)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_server.url)
    conn = Connection(endpoint_url=s3_server.url, region=s3_server.region)
    bucket = s3_server.new_bucket()
    s3_client(conn).create_bucket(Bucket=bucket)

    response = publish(
        layer_dir,
        LayerSpec(_unique("big")),
        client=lambda_client(conn),
        s3_client_factory=lambda: s3_client(conn),
        s3_bucket=bucket,
        direct_upload_limit=10,
    )
    zip_directory(layer_dir, tmp_path / "expected.zip")
    expected = base64.b64encode(
        hashlib.sha256((tmp_path / "expected.zip").read_bytes()).digest()
    ).decode()
    assert response["Content"]["CodeSha256"] == expected
    assert s3_client(conn).list_objects_v2(Bucket=bucket)["KeyCount"] == 0, (
        "the staged zip is removed"
    )


def test_moto__the_account_id_naming_the_upload_prefix_is_found_through_the_lambda_api(
    s3_server, monkeypatch
):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_key)
    conn = Connection(endpoint_url=s3_server.url, region=s3_server.region)
    assert account_id(lambda_client(conn)) == response_account(lambda_client(conn))


def response_account(client) -> str:
    """The account moto serves, read from an ARN of a real resource."""
    name = _unique("acct")
    client.publish_layer_version(LayerName=name, Content={"ZipFile": _tiny_zip()})
    return client.list_layer_versions(LayerName=name)["LayerVersions"][0]["LayerVersionArn"].split(
        ":"
    )[4]


def _tiny_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("python/t.py", "T = 1\n")
    return buffer.getvalue()


def test_moto__over_the_limit_without_a_bucket_says_what_to_pass(s3_server, layer_dir):
    from registry.client.errors import ClientError

    conn = Connection(endpoint_url=s3_server.url, region=s3_server.region)
    with pytest.raises(ClientError, match="--s3-bucket"):
        publish(layer_dir, LayerSpec("x"), client=lambda_client(conn), direct_upload_limit=10)
