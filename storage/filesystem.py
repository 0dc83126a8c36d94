"""The filesystem backend (the embedded default): blobs as files under one root directory.

A put writes a staging file next to the blobs (same filesystem), fsyncs it, renames it over the
blob's key and fsyncs the directory, so a blob's path only ever holds complete bytes. Downloads go
through the app, with URLs signed by an HMAC over (digest, expiry, filename).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlencode

from storage import keys
from storage.base import BlobInfo
from storage.capabilities import DOWNLOAD_ROUTE
from storage.errors import (
    BlobNotFound,
    InvalidKey,
    SignatureExpired,
    SignatureInvalid,
    StorageUnavailable,
)
from storage.streams import bounded, check_range, copy_hashing, verify

# ASCII only: str.isdigit() also accepts digits like "²" that int() refuses.
_EXPIRES = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")

# Writes the staged bytes through the `write` it is given; returns their (sha256, size).
Fill = Callable[[Callable[[bytes], object]], tuple[str, int]]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _mtime(stat_result: os.stat_result) -> datetime:
    return datetime.fromtimestamp(stat_result.st_mtime, tz=timezone.utc)


class FilesystemBlobStore:
    """BlobStore over a local directory; see storage.keys for the layout under `root`. Also
    SignedDownloads (storage.capabilities)."""

    name = "filesystem"

    def __init__(self, root: Path | str, *, signing_key: bytes):
        if not signing_key:
            raise ValueError("the filesystem backend needs a signing key for download URLs")
        self.root = Path(root).resolve()
        self._signing_key = signing_key
        with self._unavailable_on_oserror():
            (self.root / keys.BLOB_PREFIX).mkdir(parents=True, exist_ok=True)
            (self.root / keys.STAGING_PREFIX).mkdir(parents=True, exist_ok=True)

    # -- paths and errors ------------------------------------------------------------------

    def _path(self, key: str) -> Path:
        # The grammar admits no "..", no absolute keys and no extra separators, so the joined path
        # cannot leave the root; checking every key here is what enforces containment.
        keys.check_key(key)
        return self.root / key

    def _blob_path(self, digest: str) -> Path:
        try:
            return self._path(keys.blob_key(digest))
        except InvalidKey as exc:
            exc.backend = self.name
            raise

    @contextlib.contextmanager
    def _unavailable_on_oserror(self) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            raise StorageUnavailable(self.name, exc) from exc

    # -- writes ----------------------------------------------------------------------------

    def _refresh(self, path: Path, digest: str) -> BlobInfo | None:
        """Touch an existing blob so gc's grace period counts from now; None when absent."""
        try:
            os.utime(path)
            size = path.stat().st_size
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageUnavailable(self.name, exc) from exc
        return BlobInfo(digest, size, datetime.now(timezone.utc))

    def _create(self, path: Path) -> BinaryIO:
        with self._unavailable_on_oserror():
            return open(path, "xb")

    def _stage_and_commit(
        self, fill: Fill, before_commit: Callable[[], object] | None = None
    ) -> BlobInfo:
        """Let `fill` write a staging file and name its (digest, size); then commit or dedup.

        Only our own file operations become StorageUnavailable: an OSError raised while `fill`
        reads its source (a client that went away) propagates unchanged.
        """
        staging = self._path(keys.new_staging_key())
        try:
            with self._create(staging) as out:

                def write(chunk: bytes) -> None:
                    with self._unavailable_on_oserror():
                        out.write(chunk)

                digest, size = fill(write)
                final = self._blob_path(digest)
                with self._unavailable_on_oserror():
                    existing = self._refresh(final, digest)
                    if existing is None:
                        out.flush()
                        os.fsync(out.fileno())
                        created_at = _mtime(os.fstat(out.fileno()))
            if existing is None and before_commit is not None:
                before_commit()
            with self._unavailable_on_oserror():
                if existing is not None:
                    staging.unlink()
                    return existing
                os.chmod(staging, 0o444)  # immutable by convention: a blob is never rewritten
                if not final.parent.is_dir():
                    final.parent.mkdir(exist_ok=True)
                    _fsync_dir(final.parent.parent)
                os.replace(staging, final)
                _fsync_dir(final.parent)
            return BlobInfo(digest, size, created_at)
        except BaseException:
            staging.unlink(missing_ok=True)
            raise

    def put_stream(
        self,
        stream: BinaryIO,
        *,
        expected_sha256: str | None = None,
        expected_size: int | None = None,
    ) -> BlobInfo:
        if expected_sha256 is not None:
            self._blob_path(expected_sha256)

        def fill(write: Callable[[bytes], object]) -> tuple[str, int]:
            digest, size = copy_hashing(
                stream, write, expected_size=expected_size, backend=self.name
            )
            verify(
                digest,
                size,
                expected_sha256=expected_sha256,
                expected_size=expected_size,
                backend=self.name,
            )
            return digest, size

        return self._stage_and_commit(fill)

    def put_bytes(
        self,
        data: bytes,
        *,
        sha256: str | None = None,
        before_commit: Callable[[], object] | None = None,
    ) -> BlobInfo:
        digest = hashlib.sha256(data).hexdigest() if sha256 is None else sha256
        existing = self._refresh(self._blob_path(digest), digest)
        if existing is not None:
            return existing

        def fill(write: Callable[[bytes], object]) -> tuple[str, int]:
            write(data)
            return digest, len(data)

        return self._stage_and_commit(fill, before_commit)

    # -- reads -----------------------------------------------------------------------------

    def open(self, digest: str, *, start: int = 0, end: int | None = None) -> BinaryIO:
        check_range(start, end)
        file = self._open_blob(digest)
        if start == 0 and end is None:
            return file  # a real file, so WSGI servers can sendfile() it
        size = os.fstat(file.fileno()).st_size
        stop = size if end is None else min(end, size)
        start = min(start, stop)
        file.seek(start)
        return bounded(file, stop - start)

    def _open_blob(self, digest: str) -> BinaryIO:
        path = self._blob_path(digest)
        try:
            return open(path, "rb")
        except FileNotFoundError:
            raise BlobNotFound(digest, backend=self.name) from None
        except OSError as exc:
            raise StorageUnavailable(self.name, exc) from exc

    def stat(self, digest: str) -> BlobInfo:
        path = self._blob_path(digest)
        try:
            result = path.stat()
        except FileNotFoundError:
            raise BlobNotFound(digest, backend=self.name) from None
        except OSError as exc:
            raise StorageUnavailable(self.name, exc) from exc
        return BlobInfo(digest, result.st_size, _mtime(result))

    def exists(self, digest: str) -> bool:
        try:
            self.stat(digest)
        except BlobNotFound:
            return False
        return True

    def delete(self, digest: str) -> None:
        path = self._blob_path(digest)
        with self._unavailable_on_oserror():
            path.unlink(missing_ok=True)

    def iter_blobs(self) -> Iterator[BlobInfo]:
        with self._unavailable_on_oserror():
            with os.scandir(self.root / keys.BLOB_PREFIX) as shards:
                shard_names = [entry.name for entry in shards if entry.is_dir()]
            for shard in shard_names:
                with os.scandir(self.root / keys.BLOB_PREFIX / shard) as entries:
                    for entry in entries:
                        digest = keys.digest_of(f"{keys.BLOB_PREFIX}{shard}/{entry.name}")
                        if digest is None:
                            continue
                        try:
                            result = entry.stat()
                        except FileNotFoundError:
                            continue  # deleted while we listed
                        yield BlobInfo(digest, result.st_size, _mtime(result))

    def sweep_staging(self, older_than: timedelta) -> int:
        cutoff = time.time() - older_than.total_seconds()
        removed = 0
        with (
            self._unavailable_on_oserror(),
            os.scandir(self.root / keys.STAGING_PREFIX) as entries,
        ):
            for entry in entries:
                if keys.KEY_RE.fullmatch(keys.STAGING_PREFIX + entry.name) is None:
                    continue
                try:
                    if entry.stat().st_mtime < cutoff:
                        os.unlink(entry.path)
                        removed += 1
                except FileNotFoundError:
                    continue
        return removed

    def check(self) -> None:
        probe = self._path(keys.new_staging_key())
        with self._unavailable_on_oserror():
            with open(probe, "xb"):
                pass
            probe.unlink()

    # -- signed downloads ------------------------------------------------------------------

    def _signature(self, digest: str, expires: int, filename: str | None) -> str:
        message = f"{digest}\n{expires}\n{filename or ''}".encode()
        return hmac.new(self._signing_key, message, hashlib.sha256).hexdigest()

    def download_url(
        self,
        digest: str,
        *,
        base_url: str,
        expires_in: int = 600,
        filename: str | None = None,
    ) -> str:
        self._blob_path(digest)
        expires = int(time.time()) + expires_in
        query = {"expires": str(expires)}
        if filename:
            query["filename"] = filename
        query["signature"] = self._signature(digest, expires, filename)
        return f"{base_url.rstrip('/')}{DOWNLOAD_ROUTE}{digest}?{urlencode(query)}"

    def verify_download(
        self, digest: str, query_args: Mapping[str, str], now: float | None = None
    ) -> None:
        """See SignedDownloads.verify_download."""
        expires = query_args.get("expires", "")
        signature = query_args.get("signature", "")
        if not (
            keys.DIGEST_RE.fullmatch(digest)
            and _EXPIRES.fullmatch(expires)
            and _SIGNATURE.fullmatch(signature)
        ):
            raise SignatureInvalid("download URL is malformed or unsigned", backend=self.name)
        expected = self._signature(digest, int(expires), query_args.get("filename"))
        if not hmac.compare_digest(expected, signature):
            raise SignatureInvalid("download URL signature does not match", backend=self.name)
        if (time.time() if now is None else now) > int(expires):
            raise SignatureExpired("download URL has expired", backend=self.name)
