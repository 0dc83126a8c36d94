"""storage.filesystem: what the filesystem backend adds to the contract (signed URLs, layout)."""

from __future__ import annotations

import io
import os
import shutil
import stat
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from storage.capabilities import SignedDownloads, StagedObjects
from storage.errors import SignatureExpired, SignatureInvalid, StorageUnavailable
from storage.filesystem import FilesystemBlobStore

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(tmp_path) -> FilesystemBlobStore:
    return FilesystemBlobStore(tmp_path / "data", signing_key=b"secret")


def signed(store: FilesystemBlobStore, data: bytes = b"signed bytes", **kwargs):
    """(digest, query args) of a fresh download URL, as the download route receives them."""
    digest = store.put_bytes(data).digest
    url = store.download_url(digest, base_url="http://127.0.0.1:8000/", **kwargs)
    parts = urlsplit(url)
    assert parts.path == f"/_strata/blobs/{digest}"
    return digest, dict(parse_qsl(parts.query))


def test_store__has_downloads_the_app_serves(store):
    assert isinstance(store, SignedDownloads)


def test_download_url__points_at_the_app_download_route(store):
    digest = store.put_bytes(b"x").digest

    url = store.download_url(digest, base_url="http://127.0.0.1:8000/prefix/", filename="a b.zip")

    assert url.startswith(f"http://127.0.0.1:8000/prefix/_strata/blobs/{digest}?")
    assert dict(parse_qsl(urlsplit(url).query))["filename"] == "a b.zip"


def test_verify_download__accepts_an_untouched_url(store):
    digest, query = signed(store, filename="layer.zip")

    store.verify_download(digest, query)


def test_verify_download__accepts_it_from_another_instance_with_the_same_key(store):
    digest, query = signed(store)

    FilesystemBlobStore(store.root, signing_key=b"secret").verify_download(digest, query)
    with pytest.raises(SignatureInvalid):
        FilesystemBlobStore(store.root, signing_key=b"other").verify_download(digest, query)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d, q: (d, {**q, "signature": "0" * 64}),
        lambda d, q: (d, {**q, "signature": q["signature"][:-1]}),
        lambda d, q: ("f" * 64, q),
        lambda d, q: (d, {**q, "expires": str(int(q["expires"]) + 3600)}),
        lambda d, q: (d, {**q, "filename": "other.zip"}),
        lambda d, q: (d, {k: v for k, v in q.items() if k != "filename"}),
        lambda d, q: (d, {k: v for k, v in q.items() if k != "signature"}),
        lambda d, q: (d, {k: v for k, v in q.items() if k != "expires"}),
        lambda d, q: (d, {**q, "expires": "soon"}),
        lambda d, q: ("../../etc/passwd", q),
        lambda d, q: (d, {**q, "expires": "\u00b2"}),
        lambda d, q: (d, {**q, "expires": "9" * 400}),
        lambda d, q: (d, {**q, "signature": "\u00e9" * 64}),
    ],
    ids=[
        "signature",
        "truncated-signature",
        "digest",
        "expiry",
        "filename",
        "dropped-filename",
        "no-signature",
        "no-expiry",
        "non-numeric-expiry",
        "traversal",
        "superscript-digit-expiry",
        "huge-expiry",
        "non-ascii-signature",
    ],
)
def test_verify_download__refuses_a_tampered_url(store, tamper):
    digest, query = tamper(*signed(store, filename="layer.zip"))

    with pytest.raises(SignatureInvalid):
        store.verify_download(digest, query)


def test_verify_download__refuses_an_expired_url(store):
    digest, query = signed(store, expires_in=600)
    expires = int(query["expires"])

    store.verify_download(digest, query, now=expires)
    with pytest.raises(SignatureExpired):
        store.verify_download(digest, query, now=expires + 1)


def test_download_url__expires_after_the_requested_time(store):
    before = time.time()
    _, query = signed(store, expires_in=600)

    assert before + 599 <= int(query["expires"]) <= time.time() + 601


def test_put__stores_a_read_only_file_at_the_documented_path(store):
    info = store.put_bytes(b"layout")

    path = store.root / "blobs" / "sha256" / info.digest[:2] / info.digest
    assert path.read_bytes() == b"layout"
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert list((store.root / "staging").iterdir()) == []


def test_put__same_bytes_again_refreshes_created_at(store):
    info = store.put_bytes(b"republished")
    path = store.root / "blobs" / "sha256" / info.digest[:2] / info.digest
    os.utime(path, (time.time() - 86_400, time.time() - 86_400))

    again = store.put_stream(io.BytesIO(b"republished"))

    assert time.time() - again.created_at.timestamp() < 60
    assert time.time() - store.stat(info.digest).created_at.timestamp() < 60


def test_open__whole_blob_is_a_real_file_for_sendfile(store):
    digest = store.put_bytes(b"sendfile").digest

    with store.open(digest) as stream:
        assert os.fstat(stream.fileno()).st_size == 8


def test_killed_put__leaves_one_staging_file_that_sweep_removes(store):
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from storage.filesystem import FilesystemBlobStore; "
            "FilesystemBlobStore(sys.argv[1], signing_key=b'k').put_stream(sys.stdin.buffer)",
            str(store.root),
        ],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
    )
    try:
        child.stdin.write(b"z" * (4 * 1024 * 1024))
        child.stdin.flush()
    finally:
        child.kill()
        child.wait()
        child.stdin.close()

    assert list(store.iter_blobs()) == []
    assert len(list((store.root / "staging").iterdir())) == 1
    assert store.sweep_staging(older_than=timedelta(hours=1)) == 0
    assert store.sweep_staging(older_than=timedelta(0)) == 1
    assert list((store.root / "staging").iterdir()) == []


def test_check__raises_storage_unavailable_when_the_directory_is_gone(store):
    shutil.rmtree(store.root)

    with pytest.raises(StorageUnavailable) as caught:
        store.check()

    assert caught.value.backend == "filesystem"


def test_put__raises_storage_unavailable_when_the_directory_is_gone(store):
    shutil.rmtree(store.root)

    with pytest.raises(StorageUnavailable):
        store.put_bytes(b"nowhere")


def test_store__reads_no_objects_users_staged(store):
    # Content.S3Bucket/S3Key needs the S3 backend; registry.archives says which setting enables it.
    assert not isinstance(store, StagedObjects)


def test_init__needs_a_signing_key(tmp_path):
    with pytest.raises(ValueError):
        FilesystemBlobStore(tmp_path, signing_key=b"")
