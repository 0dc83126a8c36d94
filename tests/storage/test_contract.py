"""The BlobStore contract: every backend must pass every test here (see conftest.backend)."""

from __future__ import annotations

import hashlib
import io
import json
import random
import subprocess
import sys
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

import pytest

from storage.base import BlobStore
from storage.capabilities import SignedDownloads, StagedObjects
from storage.errors import BlobNotFound, DigestMismatch, InvalidKey
from tests.storage.backends import Backend

REPO_ROOT = Path(__file__).resolve().parents[2]
MISSING = "0" * 64


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pseudo_random(size: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


class GeneratedStream(io.RawIOBase):
    """A non-seekable stream of `size` pseudo-random bytes, made on the fly in odd-sized reads."""

    def __init__(self, size: int, seed: int = 11):
        self._left = size
        self._rng = random.Random(seed)
        self.hash = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = min(len(buffer), self._left, 300_007)
        chunk = self._rng.randbytes(count)
        self.hash.update(chunk)
        buffer[:count] = chunk
        self._left -= count
        return count


class FailingStream(io.RawIOBase):
    """Yields `good` bytes, then fails like a client that disconnects mid-upload."""

    def __init__(self, good: int):
        self._left = good

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._left == 0:
            raise ConnectionResetError("client went away")
        count = min(len(buffer), self._left)
        buffer[:count] = b"x" * count
        self._left -= count
        return count


def test_store__implements_the_blob_store_protocol(store: BlobStore):
    assert isinstance(store, BlobStore)


# The filesystem backend serves its own signed downloads; only S3 holds objects users staged.
CAPABILITIES = {"filesystem": {"SignedDownloads"}, "s3": {"StagedObjects"}}


def test_store__implements_exactly_its_backends_capabilities(backend: Backend):
    implemented = {
        capability.__name__
        for capability in (SignedDownloads, StagedObjects)
        if isinstance(backend.store, capability)
    }

    assert implemented == CAPABILITIES[backend.spec["kind"]]


ROUND_TRIPS = {
    "empty": b"",
    "one-byte": b"\x00",
    "non-utf8": bytes(range(256)) * 4 + b"\xff\xfe\xc3\x28",
    "multi-mb": pseudo_random(6 * 1024 * 1024 + 3),
}


@pytest.mark.parametrize("data", ROUND_TRIPS.values(), ids=ROUND_TRIPS.keys())
def test_put_stream__round_trips_the_exact_bytes(store: BlobStore, data: bytes):
    info = store.put_stream(io.BytesIO(data))

    assert (info.digest, info.size) == (sha(data), len(data))
    with store.open(info.digest) as stream:
        assert stream.read() == data
    assert store.stat(info.digest).size == len(data)


@pytest.mark.parametrize("data", ROUND_TRIPS.values(), ids=ROUND_TRIPS.keys())
def test_put_bytes__round_trips_the_exact_bytes(store: BlobStore, data: bytes):
    info = store.put_bytes(data, sha256=sha(data))

    assert (info.digest, info.size) == (sha(data), len(data))
    with store.open(info.digest) as stream:
        assert stream.read() == data


def test_put_bytes__hashes_when_no_digest_is_given(store: BlobStore):
    assert store.put_bytes(b"layer").digest == sha(b"layer")


def test_put_stream__streams_in_constant_memory(store: BlobStore):
    # Bounded by a constant, not by the size: the S3 backend keeps up to 4 multipart parts of
    # 5 MiB in flight, the filesystem backend one chunk.
    ceiling = 32 * 1024 * 1024
    size = 48 * 1024 * 1024
    source = GeneratedStream(size)
    tracemalloc.start()
    try:
        info = store.put_stream(source)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert (info.digest, info.size) == (source.hash.hexdigest(), size)
    assert peak < ceiling, f"peak {peak / 2**20:.1f} MiB for a {size / 2**20:.0f} MiB stream"


def test_put_bytes__does_not_copy_the_bytes(store: BlobStore):
    # Publishing holds the request body and its decoded bytes already; a copy here would add a
    # third full-size buffer to the server's peak memory.
    data = pseudo_random(24 * 1024 * 1024, seed=3)
    tracemalloc.start()
    try:
        store.put_bytes(data, sha256=sha(data))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < len(data) / 4, f"peak {peak / 2**20:.1f} MiB for {len(data) / 2**20:.0f} MiB"


def test_put_stream__same_bytes_twice_store_one_object(backend: Backend):
    first = backend.store.put_stream(io.BytesIO(b"same bytes"))
    second = backend.store.put_stream(io.BytesIO(b"same bytes"))
    third = backend.store.put_bytes(b"same bytes")

    assert first.digest == second.digest == third.digest
    assert [blob.digest for blob in backend.store.iter_blobs()] == [first.digest]
    assert backend.all_keys() == [f"blobs/sha256/{first.digest[:2]}/{first.digest}"]


def test_put_stream__stores_under_the_documented_key(backend: Backend):
    info = backend.store.put_stream(io.BytesIO(b"layout"))

    assert backend.all_keys() == [f"blobs/sha256/{info.digest[:2]}/{info.digest}"]


def test_put_stream__matching_expectations_are_accepted(store: BlobStore):
    data = b"expected"
    info = store.put_stream(io.BytesIO(data), expected_sha256=sha(data), expected_size=len(data))

    assert info.digest == sha(data)


@pytest.mark.parametrize(
    "expectation",
    [
        {"expected_sha256": sha(b"other bytes")},
        {"expected_size": 3},
        {"expected_size": 100},
    ],
    ids=["wrong-digest", "too-long", "too-short"],
)
def test_put_stream__expectation_mismatch_leaves_nothing_behind(backend: Backend, expectation):
    with pytest.raises(DigestMismatch) as caught:
        backend.store.put_stream(io.BytesIO(b"actual bytes"), **expectation)

    assert caught.value.backend == backend.store.name
    assert backend.all_keys() == []
    assert list(backend.store.iter_blobs()) == []


def test_put_bytes__refusal_before_commit_leaves_nothing_behind(backend: Backend):
    class Refused(Exception):
        pass

    def refuse():
        assert list(backend.store.iter_blobs()) == []  # not visible while it is being decided
        raise Refused()

    with pytest.raises(Refused):
        backend.store.put_bytes(b"refused bytes", before_commit=refuse)
    assert backend.all_keys() == []


def test_put_bytes__accepted_before_commit_stores_the_blob(store: BlobStore):
    calls = []
    info = store.put_bytes(b"accepted bytes", before_commit=lambda: calls.append(1))
    assert calls == [1]
    assert store.open(info.digest).read() == b"accepted bytes"


def test_put_stream__failing_source_leaves_nothing_behind(backend: Backend):
    with pytest.raises(ConnectionResetError):
        backend.store.put_stream(FailingStream(good=3 * 1024 * 1024))

    assert backend.all_keys() == []


def test_put_stream__killed_process_never_leaves_a_blob(backend: Backend):
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import json, sys; from tests.storage.backends import build_store; "
            "build_store(json.loads(sys.argv[1])).put_stream(sys.stdin.buffer)",
            json.dumps(backend.spec),
        ],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
    )
    try:
        child.stdin.write(b"y" * (4 * 1024 * 1024))  # returns once the child has read most of it
        child.stdin.flush()
    finally:
        child.kill()
        child.wait()
        child.stdin.close()

    assert list(backend.store.iter_blobs()) == []
    assert not any(key.startswith("blobs/") for key in backend.all_keys())
    backend.store.sweep_staging(older_than=timedelta(0))
    assert backend.all_keys() == []


RANGE_DATA = bytes(range(100))


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (0, None, RANGE_DATA),
        (0, 10, RANGE_DATA[:10]),
        (10, 20, RANGE_DATA[10:20]),
        (90, None, RANGE_DATA[90:]),
        (95, 1000, RANGE_DATA[95:]),
        (99, 100, RANGE_DATA[99:]),
        (40, 40, b""),
        (100, None, b""),
        (150, 200, b""),
    ],
)
def test_open__reads_the_byte_range_end_exclusive(store: BlobStore, start, end, expected):
    digest = store.put_bytes(RANGE_DATA).digest

    with store.open(digest, start=start, end=end) as stream:
        assert stream.read() == expected


def test_open__range_over_a_multi_mb_blob_reads_in_pieces(store: BlobStore):
    data = ROUND_TRIPS["multi-mb"]
    digest = store.put_bytes(data).digest
    start, end = 1024 * 1024 - 5, 5 * 1024 * 1024 + 17

    with store.open(digest, start=start, end=end) as stream:
        pieces = iter(lambda: stream.read(65_536), b"")
        assert b"".join(pieces) == data[start:end]


@pytest.mark.parametrize(("start", "end"), [(-1, None), (10, 5)])
def test_open__rejects_a_negative_or_reversed_range(store: BlobStore, start, end):
    digest = store.put_bytes(RANGE_DATA).digest

    with pytest.raises(ValueError):
        store.open(digest, start=start, end=end)


@pytest.mark.parametrize(
    "read",
    [
        lambda store: store.open(MISSING),
        lambda store: store.open(MISSING, start=3, end=9),
        lambda store: store.open(MISSING, start=3, end=3),
        lambda store: store.stat(MISSING),
    ],
    ids=["open", "open-range", "open-empty-range", "stat"],
)
def test_missing_blob__raises_blob_not_found_naming_the_backend(store: BlobStore, read):
    with pytest.raises(BlobNotFound) as caught:
        read(store)

    assert caught.value.backend == store.name
    assert MISSING in str(caught.value)
    assert store.name in str(caught.value)


def test_exists__tells_stored_from_missing(store: BlobStore):
    digest = store.put_bytes(b"here").digest

    assert store.exists(digest) is True
    assert store.exists(MISSING) is False


# The full grammar is specified in test_keys.py; these check every method goes through it.
BAD_DIGESTS = ["../../etc/passwd", "A" * 64]


@pytest.mark.parametrize("digest", BAD_DIGESTS)
@pytest.mark.parametrize(
    "call",
    [
        lambda store, d: store.open(d),
        lambda store, d: store.stat(d),
        lambda store, d: store.exists(d),
        lambda store, d: store.delete(d),
        lambda store, d: store.put_bytes(b"x", sha256=d),
        lambda store, d: store.put_stream(io.BytesIO(b"x"), expected_sha256=d),
        lambda store, d: store.download_url(d, base_url="http://127.0.0.1:1"),
    ],
    ids=["open", "stat", "exists", "delete", "put_bytes", "put_stream", "download_url"],
)
def test_malformed_digest__raises_invalid_key_and_touches_nothing(backend: Backend, digest, call):
    with pytest.raises(InvalidKey) as caught:
        call(backend.store, digest)

    assert caught.value.backend == backend.store.name
    assert backend.all_keys() == []


def test_delete__is_idempotent(store: BlobStore):
    digest = store.put_bytes(b"to delete").digest

    store.delete(digest)
    store.delete(digest)
    store.delete(MISSING)

    assert not store.exists(digest)
    with pytest.raises(BlobNotFound):
        store.open(digest)


def test_delete__then_put_again_restores_the_blob(store: BlobStore):
    digest = store.put_bytes(b"phoenix").digest
    store.delete(digest)

    store.put_stream(io.BytesIO(b"phoenix"))

    with store.open(digest) as stream:
        assert stream.read() == b"phoenix"


def test_iter_blobs__lists_every_blob_with_size_and_creation_time(store: BlobStore):
    assert list(store.iter_blobs()) == []
    blobs = {store.put_bytes(bytes([n]) * n).digest: n for n in range(1, 6)}
    store.put_bytes(b"gone")
    store.delete(sha(b"gone"))

    listed = list(store.iter_blobs())

    assert {blob.digest: blob.size for blob in listed} == blobs
    assert all(blob.created_at is not None and blob.created_at.tzinfo for blob in listed)


def test_stat__reports_size_and_creation_time(store: BlobStore):
    before = time.time() - 2  # S3's Last-Modified has whole seconds
    info = store.put_bytes(b"12345")

    stat = store.stat(info.digest)

    assert stat.size == 5
    assert before <= stat.created_at.timestamp() <= time.time() + 2


def test_check__passes_on_a_working_store(store: BlobStore):
    store.check()


def test_sweep_staging__spares_uploads_in_flight(backend: Backend):
    backend.store.put_bytes(b"kept")

    assert backend.store.sweep_staging(older_than=timedelta(hours=1)) == 0
    assert backend.store.exists(sha(b"kept"))


def test_download_url__names_the_blob_and_an_expiry(store: BlobStore):
    digest = store.put_bytes(b"download me").digest

    url = store.download_url(digest, base_url="http://127.0.0.1:8000", expires_in=600)

    assert url.startswith("http")
    assert digest in url
