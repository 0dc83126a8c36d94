"""Stream plumbing shared by the backends: hashing copies and bounded readers."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from typing import BinaryIO

from storage.errors import DigestMismatch

CHUNK_SIZE = 1 << 20


def copy_hashing(
    stream: BinaryIO,
    write: Callable[[bytes], object],
    *,
    expected_size: int | None = None,
    backend: str | None = None,
) -> tuple[str, int]:
    """Copy `stream` to `write` in CHUNK_SIZE pieces; return (hex sha256, size).

    Stops with DigestMismatch as soon as more than `expected_size` bytes arrive, so an oversized
    upload is not copied to the end first.
    """
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(CHUNK_SIZE):
        size += len(chunk)
        if expected_size is not None and size > expected_size:
            raise DigestMismatch(f"expected {expected_size} bytes, got more", backend=backend)
        digest.update(chunk)
        write(chunk)
    return digest.hexdigest(), size


def verify(
    sha256: str,
    size: int,
    *,
    expected_sha256: str | None,
    expected_size: int | None,
    backend: str | None = None,
) -> None:
    """Raise DigestMismatch unless the bytes have the expected digest and size."""
    if expected_size is not None and size != expected_size:
        raise DigestMismatch(f"expected {expected_size} bytes, got {size}", backend=backend)
    if expected_sha256 is not None and sha256 != expected_sha256:
        raise DigestMismatch(f"expected sha256 {expected_sha256}, got {sha256}", backend=backend)


def check_range(start: int, end: int | None) -> None:
    """Raise ValueError for a negative or reversed byte range."""
    if start < 0 or (end is not None and end < start):
        raise ValueError(f"invalid byte range [{start}, {end})")


class BoundedReader(io.RawIOBase):
    """Reads at most `limit` bytes from `raw`, then reports EOF; closing closes `raw`."""

    def __init__(self, raw: BinaryIO, limit: int, on_close: Callable[[], None] | None = None):
        super().__init__()
        self._raw = raw
        self._remaining = limit
        self._on_close = on_close

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._remaining <= 0:
            return 0
        view = memoryview(buffer)[: self._remaining]
        count = self._raw.readinto(view) or 0
        self._remaining -= count
        return count

    def close(self) -> None:
        if not self.closed:
            try:
                self._raw.close()
                if self._on_close is not None:
                    self._on_close()
            finally:
                super().close()


def bounded(raw: BinaryIO, limit: int, on_close: Callable[[], None] | None = None) -> BinaryIO:
    """A buffered stream over the first `limit` bytes of `raw`."""
    return io.BufferedReader(BoundedReader(raw, limit, on_close), CHUNK_SIZE)
