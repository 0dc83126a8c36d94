"""storage.s3: what the S3 backend adds to the contract, against moto's S3 server on loopback."""

from __future__ import annotations

import io
import time
import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest

from storage.capabilities import SignedDownloads
from storage.errors import BlobNotFound, ConfigError, InvalidKey, StorageUnavailable
from storage.s3 import S3BlobStore, parse_endpoint
from tests.storage.backends import build_store, s3_client, s3_spec
from tests.support.processes import free_loopback_port

pytestmark = pytest.mark.s3


@pytest.fixture
def bucket(s3_server) -> str:
    return s3_server.new_bucket()


@pytest.fixture
def store(s3_server, bucket) -> S3BlobStore:
    return build_store(s3_spec(s3_server, bucket))


@pytest.fixture
def down_store(s3_server) -> S3BlobStore:
    """A store whose endpoint is a closed loopback port."""
    return build_store(s3_spec(s3_server, "strata", endpoint=f"127.0.0.1:{free_loopback_port()}"))


def fetch(url: str) -> tuple[bytes, dict]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read(), dict(response.headers)


@pytest.mark.parametrize("size", [0, 1, 3 * 1024 * 1024 + 1])
def test_download_url__downloads_the_exact_bytes_over_http(store, size):
    data = bytes(range(256)) * (size // 256) + b"\x80" * (size % 256)
    digest = store.put_bytes(data).digest

    body, _ = fetch(store.download_url(digest, base_url="ignored"))

    assert body == data


def test_store__leaves_downloads_to_the_s3_service(store):
    assert not isinstance(store, SignedDownloads)


def test_download_url__is_presigned_for_ten_minutes_by_default(store):
    digest = store.put_bytes(b"ten minutes").digest

    query = parse_qs(urlsplit(store.download_url(digest, base_url="ignored")).query)

    assert query["X-Amz-Expires"] == ["600"]


def test_download_url__offers_the_filename(store):
    digest = store.put_bytes(b"named").digest

    _, headers = fetch(store.download_url(digest, base_url="ignored", filename="numpy 2.zip"))

    assert headers["Content-Disposition"] == "attachment; filename*=UTF-8''numpy%202.zip"


def test_download_url__is_signed_locally_without_contacting_the_server(down_store):
    started = time.monotonic()

    url = down_store.download_url("a" * 64, base_url="ignored")

    assert time.monotonic() - started < 0.5
    assert "X-Amz-Signature=" in url


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.check(),
        lambda s: s.put_bytes(b"x"),
        lambda s: s.put_stream(io.BytesIO(b"x")),
        lambda s: s.stat("a" * 64),
        lambda s: s.open("a" * 64),
        lambda s: s.delete("a" * 64),
        lambda s: list(s.iter_blobs()),
    ],
    ids=["check", "put_bytes", "put_stream", "stat", "open", "delete", "iter_blobs"],
)
def test_unreachable_endpoint__raises_storage_unavailable_quickly(down_store, call):
    started = time.monotonic()

    with pytest.raises(StorageUnavailable) as caught:
        call(down_store)

    assert caught.value.backend == "s3"
    assert time.monotonic() - started < 5


def test_first_put__creates_the_missing_bucket(s3_server, store, bucket):
    client = s3_client(s3_server)
    assert bucket not in {b["Name"] for b in client.list_buckets()["Buckets"]}

    store.put_bytes(b"first")

    client.head_bucket(Bucket=bucket)


def test_check__creates_the_missing_bucket(s3_server, store, bucket):
    store.check()

    s3_client(s3_server).head_bucket(Bucket=bucket)


def test_reads_before_the_bucket_exists__find_nothing(store):
    assert list(store.iter_blobs()) == []
    assert store.exists("a" * 64) is False
    store.delete("a" * 64)


def test_put__same_bytes_again_refreshes_created_at(store):
    first = store.put_bytes(b"republished")
    time.sleep(1.1)  # Last-Modified has whole seconds

    again = store.put_stream(io.BytesIO(b"republished"))

    assert store.stat(first.digest).created_at > first.created_at
    assert again.created_at > first.created_at


def test_iter_blobs__ignores_user_objects_in_the_bucket(s3_server, store, bucket):
    digest = store.put_bytes(b"blob").digest
    s3_client(s3_server).put_object(Bucket=bucket, Key="uploads/layer.zip", Body=b"zip")

    assert [blob.digest for blob in store.iter_blobs()] == [digest]


def test_open_object__reads_an_object_of_the_configured_bucket(s3_server, store, bucket):
    store.check()
    s3_client(s3_server).put_object(Bucket=bucket, Key="uploads/layer.zip", Body=b"zip bytes")

    stream, size = store.open_object(bucket, "uploads/layer.zip")

    with stream:
        assert (stream.read(), size) == (b"zip bytes", 9)


def test_put_object__stages_an_object_open_object_reads_back(store, bucket):
    store.put_object(bucket, "staged/layer.zip", io.BytesIO(b"staged"), 6)

    stream, size = store.open_object(bucket, "staged/layer.zip")

    with stream:
        assert (stream.read(), size) == (b"staged", 6)


def test_open_object__refuses_other_buckets_and_names_the_configured_one(store, bucket):
    with pytest.raises(BlobNotFound) as caught:
        store.open_object("someone-elses-bucket", "layer.zip")

    assert f"only objects in the configured bucket '{bucket}'" in str(caught.value)


def test_open_object__missing_key_is_blob_not_found(store, bucket):
    store.check()

    with pytest.raises(BlobNotFound) as caught:
        store.open_object(bucket, "uploads/missing.zip")

    assert f"s3://{bucket}/uploads/missing.zip" in str(caught.value)


@pytest.mark.parametrize("key", ["blobs/sha256/aa/" + "a" * 64, "staging/x", ""])
def test_open_object__refuses_strata_own_keys(store, bucket, key):
    # Reading a blob by key would let anyone who knows a digest copy a private layer.
    with pytest.raises(InvalidKey):
        store.open_object(bucket, key)


def test_endpoint__as_url_works_like_host_and_port(s3_server, bucket):
    store = build_store(s3_spec(s3_server, bucket, endpoint=s3_server.url))

    digest = store.put_bytes(b"via url").digest

    with store.open(digest) as stream:
        assert stream.read() == b"via url"


@pytest.mark.parametrize(
    ("endpoint", "secure", "expected"),
    [
        ("minio:9000", False, ("minio:9000", False)),
        ("minio:9000", True, ("minio:9000", True)),
        ("http://minio:9000", True, ("minio:9000", False)),
        ("https://s3.example.com", False, ("s3.example.com", True)),
        ("http://127.0.0.1:9000/", False, ("127.0.0.1:9000", False)),
    ],
)
def test_parse_endpoint__accepts_host_port_and_urls(endpoint, secure, expected):
    assert parse_endpoint(endpoint, secure) == expected


@pytest.mark.parametrize(
    "endpoint",
    ["", "ftp://minio:9000", "http://minio:9000/bucket", "http://user:pw@minio:9000", "minio/x"],
)
def test_parse_endpoint__rejects_other_forms(endpoint):
    with pytest.raises(ConfigError):
        parse_endpoint(endpoint, False)


def test_init__rejects_an_invalid_bucket_name(s3_server):
    with pytest.raises(ConfigError):
        build_store(s3_spec(s3_server, "Not_A_Bucket"))
