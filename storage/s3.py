"""The S3 backend: blobs as objects in one bucket of MinIO or any S3-compatible service.

This is the only module that imports `minio`; its errors, and urllib3's, become storage.errors
here. Commit strategy: a blob's key is its sha256, which is only known once every byte has been
read, so a stream is first spooled to an anonymous local temporary file while hashing, and then
sent with a single put to its final key. S3 makes an object visible only when its upload (single
PUT or multipart) completes, so the final key never holds partial bytes; the alternative, an upload
to a staging key plus a server-side copy, would move every byte through the server twice and
leave staging objects behind after a crash, while the spool vanishes with the process.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import BinaryIO
from urllib.parse import quote, urlsplit

import urllib3
from minio import Minio
from minio.commonconfig import REPLACE, CopySource
from minio.error import InvalidResponseError, S3Error, ServerError
from minio.helpers import MAX_PART_SIZE, MIN_PART_SIZE, check_bucket_name

from storage import keys
from storage.base import BlobInfo
from storage.errors import BlobNotFound, ConfigError, InvalidKey, StorageUnavailable
from storage.streams import check_range, copy_hashing, verify

_NOT_FOUND = {"NoSuchKey", "NoSuchBucket", "NoSuchObject", "ResourceNotFound"}
_BUCKET_TAKEN = {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}
# Every request is bounded, so a storage server that accepts connections and never answers fails
# the request (and the readiness probe) within seconds instead of holding its thread for the whole
# outage. The read timeout is the longest wait for the next bytes of an answer (S3 keeps a slow
# CompleteMultipartUpload alive with whitespace), not for a whole transfer, so large blobs still
# stream. A read timeout is not retried: a server that stalled once is likely still stalled, and
# a retry would double the wait; refused connections and 5xx answers are retried briefly.
CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 5.0
_RETRIES = urllib3.Retry(
    total=3, connect=1, read=0, backoff_factor=0.1, status_forcelist=[500, 502, 503, 504]
)


def parse_endpoint(endpoint: str, secure: bool) -> tuple[str, bool]:
    """Accept `host:port` (the minio SDK's form, TLS per `secure`) or `http(s)://host:port`.

    Returns (host:port, secure); raises ConfigError for anything else.
    """
    if "://" in endpoint:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                f"S3 endpoint {endpoint!r}: expected http(s)://host[:port]", backend="s3"
            )
        if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
            raise ConfigError(
                f"S3 endpoint {endpoint!r}: must be only scheme, host and port (no path, "
                "query or credentials)",
                backend="s3",
            )
        return parts.netloc, parts.scheme == "https"
    if not endpoint or "/" in endpoint or "@" in endpoint:
        raise ConfigError(
            f"S3 endpoint {endpoint!r}: expected host:port or http(s)://host:port", backend="s3"
        )
    return endpoint, secure


class _ResponseReader(io.RawIOBase):
    """A raw stream over a minio GET response that releases the connection when closed."""

    def __init__(self, response: urllib3.BaseHTTPResponse, backend: str):
        super().__init__()
        self._response = response
        self._backend = backend

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            return self._response.readinto(buffer)
        except urllib3.exceptions.HTTPError as exc:
            raise StorageUnavailable(self._backend, exc) from exc

    def close(self) -> None:
        if not self.closed:
            try:
                self._response.close()
                self._response.release_conn()
            finally:
                super().close()


class S3BlobStore:
    """BlobStore over one S3 bucket (created on first use when missing). Also StagedObjects
    (storage.capabilities): users stage objects of their own in the same bucket."""

    name = "s3"

    def __init__(
        self,
        *,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        secure: bool = False,
        region: str = "us-east-1",
        spool_dir: str | None = None,
        public_endpoint: str | None = None,
    ):
        host, secure = parse_endpoint(endpoint, secure)
        try:
            check_bucket_name(bucket, strict=True)
        except ValueError as exc:
            raise ConfigError(f"S3 bucket name {bucket!r}: {exc}", backend=self.name) from None
        self.bucket = bucket
        self._spool_dir = spool_dir
        self._bucket_ready = False
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT_S, read=READ_TIMEOUT_S),
            maxsize=32,
            retries=_RETRIES,
        )
        # A fixed region keeps presigning local: without it minio asks the server for the
        # bucket's location before signing.
        self._client = Minio(
            host,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=http,
        )
        # Download URLs are presigned for the address clients use, which differs from the
        # app's own when the storage sits on a private network (docker-compose's minio:9000).
        self._presigner = self._client
        if public_endpoint:
            public_host, public_secure = parse_endpoint(public_endpoint, secure)
            self._presigner = Minio(
                public_host,
                access_key=access_key,
                secret_key=secret_key,
                secure=public_secure,
                region=region,
            )

    # -- errors and the bucket -------------------------------------------------------------

    @contextlib.contextmanager
    def _translate(self, missing: str | None = None, message: str | None = None) -> Iterator[None]:
        """Turn vendor errors into ours; a not-found becomes BlobNotFound(missing) when given."""
        try:
            yield
        except S3Error as exc:
            if exc.code in _NOT_FOUND and missing is not None:
                raise BlobNotFound(missing, backend=self.name, message=message) from None
            raise StorageUnavailable(self.name, f"{exc.code}: {exc.message}") from exc
        except (ServerError, InvalidResponseError, urllib3.exceptions.HTTPError, OSError) as exc:
            raise StorageUnavailable(self.name, exc) from exc

    def _ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        with self._translate():
            if not self._client.bucket_exists(self.bucket):
                try:
                    self._client.make_bucket(self.bucket)
                except S3Error as exc:
                    if exc.code not in _BUCKET_TAKEN:  # another process created it first
                        raise
        self._bucket_ready = True

    def _key(self, digest: str) -> str:
        try:
            return keys.blob_key(digest)
        except InvalidKey as exc:
            exc.backend = self.name
            raise

    # -- writes ----------------------------------------------------------------------------

    def _refresh(self, digest: str) -> BlobInfo | None:
        """Re-stamp an existing blob's modification time (gc's clock); None when absent.

        S3 has no touch; copying an object onto itself with replaced metadata is the documented
        way to update Last-Modified, and only happens when identical bytes are put again.
        """
        key = self._key(digest)
        try:
            existing = self.stat(digest)
            stamp = {"x-amz-meta-strata-refreshed": datetime.now(timezone.utc).isoformat()}
            with self._translate(missing=digest):
                result = self._client.copy_object(
                    self.bucket,
                    key,
                    CopySource(self.bucket, key),
                    metadata=stamp,
                    metadata_directive=REPLACE,
                )
        except BlobNotFound:
            return None  # absent, or collected between the two calls: the caller uploads it
        return BlobInfo(digest, existing.size, result.last_modified or datetime.now(timezone.utc))

    def _upload(
        self, digest: str, data: BinaryIO, size: int, *, in_memory: bool = False
    ) -> BlobInfo:
        # Bytes already in memory go up in one PUT: minio then reads the BytesIO whole, which
        # CPython hands back without copying, and one request beats a multipart round trip.
        # Spooled streams keep minio's multipart default, which holds only a few parts in memory.
        part_size = min(max(size, MIN_PART_SIZE), MAX_PART_SIZE) if in_memory else 0
        with self._translate():
            self._client.put_object(self.bucket, self._key(digest), data, size, part_size=part_size)
        return BlobInfo(digest, size, datetime.now(timezone.utc))

    def _new_spool(self) -> BinaryIO:
        with self._translate():
            return tempfile.TemporaryFile(dir=self._spool_dir)

    def put_stream(
        self,
        stream: BinaryIO,
        *,
        expected_sha256: str | None = None,
        expected_size: int | None = None,
    ) -> BlobInfo:
        if expected_sha256 is not None:
            self._key(expected_sha256)
        self._ensure_bucket()
        with self._new_spool() as spool:

            def write(chunk: bytes) -> None:
                # Only the spool's own failures (a full local disk) are ours to translate; an
                # OSError from reading `stream` (a client that went away) propagates unchanged.
                with self._translate():
                    spool.write(chunk)

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
            existing = self._refresh(digest)
            if existing is not None:
                return existing
            spool.seek(0)
            return self._upload(digest, spool, size)

    def put_bytes(
        self,
        data: bytes,
        *,
        sha256: str | None = None,
        before_commit: Callable[[], object] | None = None,
    ) -> BlobInfo:
        digest = hashlib.sha256(data).hexdigest() if sha256 is None else sha256
        self._key(digest)
        self._ensure_bucket()
        existing = self._refresh(digest)
        if existing is not None:
            return existing
        if before_commit is not None:
            # One PUT makes the object visible, so the check has to come first here.
            before_commit()
        return self._upload(digest, io.BytesIO(data), len(data), in_memory=True)

    def put_object(self, bucket: str, key: str, stream: BinaryIO, size: int) -> None:
        """Stage a user object (for publishing from S3Bucket/S3Key) in the configured bucket.

        Raises BlobNotFound for another bucket, InvalidKey for keys in Strata's own layout.
        """
        self._check_user_object(bucket, key)
        self._ensure_bucket()
        with self._translate():
            self._client.put_object(self.bucket, key, stream, size)

    # -- reads -----------------------------------------------------------------------------

    def _reader(self, response: urllib3.BaseHTTPResponse) -> BinaryIO:
        return io.BufferedReader(_ResponseReader(response, self.name), 1 << 20)

    def open(self, digest: str, *, start: int = 0, end: int | None = None) -> BinaryIO:
        check_range(start, end)
        key = self._key(digest)
        if end == start:
            self.stat(digest)  # an empty range still needs the blob to exist
            return io.BytesIO(b"")
        with self._translate(missing=digest):
            try:
                response = self._client.get_object(
                    self.bucket, key, offset=start, length=0 if end is None else end - start
                )
            except S3Error as exc:
                # A range starting past the end is answered 416; like a file read, it is empty.
                if exc.code == "InvalidRange":
                    return io.BytesIO(b"")
                raise
        return self._reader(response)

    def stat(self, digest: str) -> BlobInfo:
        key = self._key(digest)
        with self._translate(missing=digest):
            result = self._client.stat_object(self.bucket, key)
        return BlobInfo(digest, result.size, result.last_modified)

    def exists(self, digest: str) -> bool:
        try:
            self.stat(digest)
        except BlobNotFound:
            return False
        return True

    def delete(self, digest: str) -> None:
        key = self._key(digest)
        try:
            with self._translate(missing=digest):
                self._client.remove_object(self.bucket, key)
        except BlobNotFound:
            pass  # no bucket yet, so no blob: deleting is idempotent

    def iter_blobs(self) -> Iterator[BlobInfo]:
        try:
            with self._translate(missing=self.bucket):
                for obj in self._client.list_objects(
                    self.bucket, prefix=keys.BLOB_PREFIX, recursive=True
                ):
                    digest = keys.digest_of(obj.object_name)
                    if digest is not None:
                        yield BlobInfo(digest, obj.size, obj.last_modified)
        except BlobNotFound:
            return  # no bucket yet, so no blobs

    def sweep_staging(self, older_than: timedelta) -> int:
        """Nothing to sweep: uploads are spooled to anonymous local files, which vanish with a
        crashed process, and parts of an interrupted multipart upload are never visible (MinIO
        expires them after 24 h; on AWS, add an AbortIncompleteMultipartUpload lifecycle rule).
        """
        return 0

    def check(self) -> None:
        self._bucket_ready = False
        self._ensure_bucket()

    def download_url(
        self,
        digest: str,
        *,
        base_url: str,
        expires_in: int = 600,
        filename: str | None = None,
    ) -> str:
        key = self._key(digest)
        headers = None
        if filename:
            disposition = f"attachment; filename*=UTF-8''{quote(filename)}"
            headers = {"response-content-disposition": disposition}
        with self._translate():
            return self._presigner.presigned_get_object(
                self.bucket, key, expires=timedelta(seconds=expires_in), response_headers=headers
            )

    def _check_user_object(self, bucket: str, key: str) -> None:
        if bucket != self.bucket:
            raise BlobNotFound(
                f"{bucket}/{key}",
                backend=self.name,
                message=(
                    f"cannot read s3://{bucket}/{key}: only objects in the configured bucket "
                    f"{self.bucket!r} are readable"
                ),
            )
        if not key or keys.is_reserved(key):
            raise InvalidKey(
                key, "empty, or inside Strata's own blobs/ and staging/ layout", backend=self.name
            )

    def open_object(self, bucket: str, key: str) -> tuple[BinaryIO, int]:
        self._check_user_object(bucket, key)
        with self._translate(
            missing=f"{bucket}/{key}", message=f"s3://{bucket}/{key} does not exist"
        ):
            response = self._client.get_object(self.bucket, key)
        return self._reader(response), int(response.headers["Content-Length"])
