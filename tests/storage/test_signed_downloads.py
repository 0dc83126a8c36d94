"""What a filesystem download URL's signature binds, so no field can be changed or shifted into
another, and URLs stay valid between instances (of any version) sharing the key."""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import parse_qsl, urlsplit

import pytest

from storage.errors import InvalidKey, SignatureExpired, SignatureInvalid
from storage.filesystem import FilesystemBlobStore

KEY = b"download-key"


@pytest.fixture
def store(tmp_path) -> FilesystemBlobStore:
    return FilesystemBlobStore(tmp_path / "data", signing_key=KEY)


def url_parts(store: FilesystemBlobStore, digest: str, **kwargs) -> tuple[str, dict[str, str]]:
    url = store.download_url(digest, base_url="http://127.0.0.1:8000", **kwargs)
    parts = urlsplit(url)
    return parts.path, dict(parse_qsl(parts.query, keep_blank_values=True))


def test_signature__is_an_hmac_of_digest_expiry_and_filename_on_separate_lines(store):
    digest = store.put_bytes(b"x").digest
    _, query = url_parts(store, digest, filename="layer.zip")
    message = f"{digest}\n{query['expires']}\nlayer.zip".encode()
    assert query["signature"] == hmac.new(KEY, message, hashlib.sha256).hexdigest()
    _, bare = url_parts(store, digest)
    message = f"{digest}\n{bare['expires']}\n".encode()
    assert bare["signature"] == hmac.new(KEY, message, hashlib.sha256).hexdigest()
    assert "filename" not in bare


def test_signature__characters_cannot_move_between_expiry_and_filename(store):
    digest = store.put_bytes(b"x").digest
    _, query = url_parts(store, digest, filename="9.zip")
    shifted = {**query, "expires": query["expires"] + "9", "filename": ".zip"}
    with pytest.raises(SignatureInvalid):
        store.verify_download(digest, shifted)


def test_filename__with_query_syntax_survives_the_url_and_stays_signed(store):
    digest = store.put_bytes(b"x").digest
    path, query = url_parts(store, digest, filename="a&signature=0&expires=9.zip")
    assert path == f"/_strata/blobs/{digest}"
    assert query["filename"] == "a&signature=0&expires=9.zip"
    store.verify_download(digest, query)


def test_download_url__keeps_the_base_url_path_and_drops_only_its_trailing_slashes(store):
    digest = store.put_bytes(b"x").digest
    for base in ("http://127.0.0.1:8000/prefiX", "http://127.0.0.1:8000/prefiX//"):
        url = store.download_url(digest, base_url=base)
        assert url.startswith(f"http://127.0.0.1:8000/prefiX/_strata/blobs/{digest}?")


@pytest.mark.parametrize(
    "change, error",
    [
        (lambda q: {k: v for k, v in q.items() if k != "signature"}, SignatureInvalid),
        (lambda q: {**q, "signature": "0" * 64}, SignatureInvalid),
        (lambda q: {**q, "expires": "1"}, SignatureInvalid),
    ],
    ids=["unsigned", "wrong-signature", "moved-expiry"],
)
def test_verify_download__errors_name_the_backend(store, change, error):
    digest = store.put_bytes(b"x").digest
    _, query = url_parts(store, digest)
    with pytest.raises(error) as caught:
        store.verify_download(digest, change(query))
    assert caught.value.backend == "filesystem"
    _, old = url_parts(store, digest, expires_in=-1)
    with pytest.raises(SignatureExpired) as expired:
        store.verify_download(digest, old)
    assert expired.value.backend == "filesystem"


def test_download_url__for_a_malformed_digest_is_refused(store):
    for digest in ("../../etc/passwd", "F" * 64, "a" * 63):
        with pytest.raises(InvalidKey):
            store.download_url(digest, base_url="http://127.0.0.1:8000")


def test_download_url__is_valid_for_exactly_the_requested_time(store):
    digest = store.put_bytes(b"x").digest
    _, query = url_parts(store, digest, expires_in=30)
    expires = int(query["expires"])
    store.verify_download(digest, query, now=expires)
    with pytest.raises(SignatureExpired):
        store.verify_download(digest, query, now=expires + 0.5)
    _, longer = url_parts(store, digest, expires_in=3600)
    assert int(longer["expires"]) - expires in range(3569, 3572)


def test_download_url__is_valid_for_ten_minutes_by_default(store):
    digest = store.put_bytes(b"x").digest
    before = time.time()
    _, query = url_parts(store, digest)
    assert before + 599 <= int(query["expires"]) <= time.time() + 600


def test_verify_download__uses_the_real_clock_by_default(store):
    digest = store.put_bytes(b"x").digest
    _, query = url_parts(store, digest, expires_in=60)
    store.verify_download(digest, query)
    _, old = url_parts(store, digest, expires_in=-1)
    with pytest.raises(SignatureExpired):
        store.verify_download(digest, old)


def test_verify_download__an_empty_filename_is_the_same_as_none(store):
    digest = store.put_bytes(b"x").digest
    _, query = url_parts(store, digest)
    store.verify_download(digest, {**query, "filename": ""})


def test_verify_download__signature_of_another_blob_is_refused(store):
    first, second = store.put_bytes(b"one").digest, store.put_bytes(b"two").digest
    _, query = url_parts(store, first)
    with pytest.raises(SignatureInvalid):
        store.verify_download(second, query)


def test_verify_download__a_signature_made_with_another_key_is_refused(tmp_path, store):
    digest = store.put_bytes(b"x").digest
    other = FilesystemBlobStore(tmp_path / "other", signing_key=KEY + b"!")
    _, query = url_parts(other, digest)
    with pytest.raises(SignatureInvalid):
        store.verify_download(digest, query)


def test_store__needs_a_signing_key(tmp_path):
    with pytest.raises(ValueError):
        FilesystemBlobStore(tmp_path / "data", signing_key=b"")
