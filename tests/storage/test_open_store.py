"""storage.open_store: picking and configuring a backend from plain values."""

from __future__ import annotations

import pytest

from storage import open_store
from storage.errors import ConfigError
from storage.filesystem import FilesystemBlobStore
from storage.s3 import S3BlobStore


def test_open_store__filesystem_keeps_blobs_under_its_root(tmp_path):
    store = open_store("filesystem", root=tmp_path, signing_key=b"key")

    digest = store.put_bytes(b"default").digest

    assert isinstance(store, FilesystemBlobStore)
    assert (tmp_path / "blobs" / "sha256" / digest[:2] / digest).is_file()


@pytest.mark.parametrize("values", [{"signing_key": b"key"}, {"root": "."}])
def test_open_store__filesystem_without_root_or_signing_key_is_a_config_error(values):
    with pytest.raises(ConfigError):
        open_store("filesystem", **values)


@pytest.mark.s3
def test_open_store__s3_from_plain_values(s3_server):
    store = open_store(
        "s3",
        endpoint=s3_server.url,
        access_key=s3_server.access_key,
        secret_key=s3_server.secret_key,
        bucket=s3_server.new_bucket(),
    )

    digest = store.put_bytes(b"from values").digest

    assert isinstance(store, S3BlobStore)
    assert store.stat(digest).size == 11


def test_open_store__unknown_backend_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError) as caught:
        open_store("minio", root=tmp_path, signing_key=b"key")

    assert "filesystem, s3" in str(caught.value)


def test_open_store__s3_without_endpoint_or_keys_names_what_is_missing():
    with pytest.raises(ConfigError) as caught:
        open_store("s3", access_key="k")

    assert "endpoint" in str(caught.value)
    assert "secret_key" in str(caught.value)
    assert "access_key" not in str(caught.value)
