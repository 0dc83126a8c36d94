"""The signed download route, in process: only a valid signature gets bytes; ranges are exact."""

from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from flask import Flask

from registry.api import errors, ext
from storage.filesystem import FilesystemBlobStore

DATA = bytes(range(256)) * 4  # 1,024 bytes


def app_for(store) -> Flask:
    app = Flask("test-ext")
    app.extensions["strata"] = SimpleNamespace(store=store)
    errors.register(app)
    app.register_blueprint(ext.bp)
    return app


@pytest.fixture
def store(tmp_path):
    return FilesystemBlobStore(tmp_path / "blobs", signing_key=b"k")


@pytest.fixture
def client(store):
    return app_for(store).test_client()


def path_of(store, digest: str, **kwargs) -> str:
    parts = urlsplit(store.download_url(digest, base_url="http://127.0.0.1", **kwargs))
    return f"{parts.path}?{parts.query}"


def test_download__with_a_valid_signature_serves_the_whole_blob(store, client):
    digest = store.put_bytes(DATA).digest
    response = client.get(path_of(store, digest))
    assert response.status_code == 200
    assert response.data == DATA
    assert response.headers["Content-Type"] == "application/zip"
    assert response.headers["Content-Length"] == "1024"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["ETag"] == f'"{digest}"'
    assert "Content-Range" not in response.headers
    assert "Content-Disposition" not in response.headers


def test_download__names_the_signed_filename(store, client):
    digest = store.put_bytes(DATA).digest
    response = client.get(path_of(store, digest, filename="layer.zip"))
    assert response.headers["Content-Disposition"] == 'attachment; filename="layer.zip"'


@pytest.mark.parametrize(
    "tamper",
    [
        lambda p: p.replace("signature=", "signature=0"),
        lambda p: p.split("&signature=")[0],
        lambda p: p + "&filename=other.zip",
        lambda p: p.replace("expires=", "expires=9"),
    ],
    ids=["signature", "unsigned", "added-filename", "expiry"],
)
def test_download__with_a_tampered_url_is_denied_and_serves_nothing(store, client, tamper):
    digest = store.put_bytes(DATA).digest
    response = client.get(tamper(path_of(store, digest)))
    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"] == "AccessDeniedException"
    assert DATA not in response.data


def test_download__of_an_expired_url_is_denied(store, client):
    digest = store.put_bytes(DATA).digest
    response = client.get(path_of(store, digest, expires_in=-5))
    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"] == "AccessDeniedException"
    assert DATA not in response.data


def test_download__of_a_missing_blob_is_not_found(store, client):
    digest = store.put_bytes(DATA).digest
    url = path_of(store, digest)
    store.delete(digest)
    response = client.get(url)
    assert response.status_code == 404
    assert response.headers["x-amzn-ErrorType"] == "ResourceNotFoundException"


@pytest.mark.parametrize(
    "header, status, content_range, body",
    [
        ("bytes=0-9", 206, "bytes 0-9/1024", DATA[:10]),
        ("bytes=1000-", 206, "bytes 1000-1023/1024", DATA[1000:]),
        ("bytes=-24", 206, "bytes 1000-1023/1024", DATA[-24:]),
        ("bytes=1023-5000", 206, "bytes 1023-1023/1024", DATA[1023:]),
    ],
)
def test_download__serves_exactly_the_requested_range(
    store, client, header, status, content_range, body
):
    digest = store.put_bytes(DATA).digest
    response = client.get(path_of(store, digest), headers={"Range": header})
    assert response.status_code == status
    assert response.headers["Content-Range"] == content_range
    assert response.headers["Content-Length"] == str(len(body))
    assert response.data == body


def test_download__an_unsatisfiable_range_is_416_with_the_size(store, client):
    digest = store.put_bytes(DATA).digest
    response = client.get(path_of(store, digest), headers={"Range": "bytes=2000-3000"})
    assert response.status_code == 416
    assert response.headers["Content-Range"] == "bytes */1024"
    assert DATA not in response.data


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "items=0-1"])
def test_download__several_ranges_or_other_units_get_the_whole_blob(store, client, header):
    digest = store.put_bytes(DATA).digest
    response = client.get(path_of(store, digest), headers={"Range": header})
    assert response.status_code == 200
    assert response.data == DATA


def test_download__on_a_store_without_signed_urls_is_not_found(tmp_path):
    client = app_for(SimpleNamespace()).test_client()
    response = client.get("/_strata/blobs/" + "a" * 64 + "?expires=1&signature=" + "0" * 64)
    assert response.status_code == 404
    assert "hands out storage URLs directly" in response.get_data(as_text=True)
