"""The BlobStore protocol every storage backend implements, and the BlobInfo it returns.

Blobs are content-addressed: callers name them by the lowercase hex sha256 of their bytes, never by
a raw key (storage.keys owns the key layout). The same bytes are stored once. Every method raises
only the types in storage.errors; any method may raise StorageUnavailable when the backend cannot
be reached. What only some backends can do is in storage.capabilities.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO, Protocol, runtime_checkable


@dataclass(frozen=True)
class BlobInfo:
    digest: str  # lowercase hex sha256 of the bytes
    size: int
    # When the bytes were last written or re-put (a deduplicated put refreshes it, so a garbage
    # collector's grace period also protects a blob that is being published again right now).
    created_at: datetime | None = None


@runtime_checkable
class BlobStore(Protocol):
    name: str
    """Backend name, for messages and metrics ("filesystem", "s3")."""

    def put_stream(
        self,
        stream: BinaryIO,
        *,
        expected_sha256: str | None = None,
        expected_size: int | None = None,
    ) -> BlobInfo:
        """Store the bytes read from `stream` (until EOF) and return their BlobInfo.

        Reads in 1 MiB chunks while hashing, so memory stays constant whatever the size. When
        `expected_sha256` or `expected_size` is given and the bytes differ, raises DigestMismatch
        and keeps nothing. If a blob with the same digest already exists, the new copy is dropped
        (deduplication) and the existing blob's info is returned. Idempotent and atomic: a crash
        at any point never leaves a partial object under a blob's key. Raises InvalidKey when
        `expected_sha256` is not a lowercase hex sha256.
        """
        ...

    def put_bytes(
        self,
        data: bytes,
        *,
        sha256: str | None = None,
        before_commit: Callable[[], object] | None = None,
    ) -> BlobInfo:
        """Store bytes already in memory; same guarantees as put_stream.

        A caller that has already hashed `data` passes its digest as `sha256` so it is not hashed
        again; the digest is trusted, so it must come from these very bytes. `before_commit` runs
        after the bytes are written but before they become visible; if it raises, nothing is
        stored and its exception propagates (a caller checks content meanwhile this way). It is
        not called when the blob already exists.
        """
        ...

    def open(self, digest: str, *, start: int = 0, end: int | None = None) -> BinaryIO:
        """A readable stream of the blob's bytes [start, end) (end exclusive, None = to the end).

        `end` past the blob's size is clamped to it. The caller closes the stream. Raises
        BlobNotFound when there is no such blob, ValueError for a negative or reversed range.
        """
        ...

    def stat(self, digest: str) -> BlobInfo:
        """The blob's size and creation time. Raises BlobNotFound when there is no such blob."""
        ...

    def exists(self, digest: str) -> bool:
        """Whether a blob with this digest is stored."""
        ...

    def delete(self, digest: str) -> None:
        """Remove the blob. Idempotent: deleting a missing blob is not an error."""
        ...

    def iter_blobs(self) -> Iterator[BlobInfo]:
        """Every stored blob with its size and created_at, in no particular order (for gc)."""
        ...

    def sweep_staging(self, older_than: timedelta) -> int:
        """Remove uploads a crashed process abandoned before committing; return how many.

        Only uploads older than `older_than` are touched, so uploads in flight are safe.
        Idempotent.
        """
        ...

    def check(self) -> None:
        """Readiness probe: return if the store can serve, else raise StorageUnavailable."""
        ...

    def download_url(
        self,
        digest: str,
        *,
        base_url: str,
        expires_in: int = 600,
        filename: str | None = None,
    ) -> str:
        """A URL that downloads exactly the blob's bytes for `expires_in` seconds.

        `base_url` is the app's external URL (used by SignedDownloads stores, whose downloads the
        app serves);
        `filename` is offered to the downloader as the file's name. Does not check that the blob
        exists. Raises InvalidKey for a malformed digest.
        """
        ...
