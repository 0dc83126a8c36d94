"""Uploaded zips (layer content, function code): checked completely before they become visible,
content-addressed blobs."""

from __future__ import annotations

import base64
import hashlib
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from registry.archive.entries import ZipSummary
from registry.archive.limits import ZipLimits
from registry.archive.reader import check_zip
from registry.errors import InvalidParameterValue, RequestTooLarge
from registry.limits import MAX_DIRECT_UPLOAD_BYTES
from registry.uploads import check_upload_key
from storage.base import BlobStore
from storage.capabilities import StagedObjects
from storage.errors import BlobNotFound, InvalidKey
from storage.streams import copy_hashing

_CHECKERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="zip-check")


@dataclass(frozen=True)
class ZipContent:
    """Exactly one of: the zip's bytes, or an object of the configured S3 bucket."""

    zip_file: bytes | None = None
    s3_bucket: str | None = None
    s3_key: str | None = None


@dataclass(frozen=True)
class StoredArchive:
    digest: str
    size: int
    unzipped_size: int


def code_sha256(digest: str) -> str:
    """Lambda's CodeSha256: the base64 of the sha256, where Strata keys blobs by its hex."""
    return base64.b64encode(bytes.fromhex(digest)).decode()


def store_archive(
    store: BlobStore,
    content: ZipContent,
    *,
    account_id: str,
    label: str,
    limits: ZipLimits,
    keep: bool = True,
) -> StoredArchive:
    """Check the archive (registry.archive) and store it; an archive that fails the check is never
    visible in the store. `label` names it in error messages ("layer numpy"). Without `keep` it
    is checked and measured only, and nothing is written (a DryRun). An S3 object is read only
    from `account_id`'s upload prefix (registry.uploads)."""
    if content.zip_file is not None:
        return _store_bytes(store, content.zip_file, label, limits, keep)
    check_upload_key(content.s3_key, account_id)
    where = f"s3://{content.s3_bucket}/{content.s3_key}"
    if not isinstance(store, StagedObjects):
        # The wire text of old, when the filesystem store raised the inner half itself.
        raise InvalidParameterValue(
            f"Cannot read {where}: cannot read {where}: content from S3Bucket/S3Key needs the S3 "
            "storage backend (STRATA_STORAGE=s3); this server stores blobs on the filesystem"
        )
    try:
        stream, size = store.open_object(content.s3_bucket, content.s3_key)
    except (BlobNotFound, InvalidKey) as error:
        raise InvalidParameterValue(f"Cannot read {where}: {error}") from None
    if size > limits.max_unzipped_bytes:
        stream.close()
        raise InvalidParameterValue(
            f"{where} is {size} bytes; an archive may not be larger than "
            f"{limits.max_unzipped_bytes} bytes."
        )
    with stream, tempfile.TemporaryFile() as spool:
        shutil.copyfileobj(stream, spool, 1024 * 1024)
        spool.seek(0)
        summary = check_zip(spool, name=label, limits=limits)
        spool.seek(0)
        if not keep:
            digest, measured = copy_hashing(spool, lambda chunk: None)
            return StoredArchive(digest, measured, summary.unzipped_bytes)
        info = store.put_stream(spool, expected_size=size)
    return StoredArchive(info.digest, info.size, summary.unzipped_bytes)


def _store_bytes(
    store: BlobStore, data: bytes, label: str, limits: ZipLimits, keep: bool
) -> StoredArchive:
    if len(data) > MAX_DIRECT_UPLOAD_BYTES:
        raise RequestTooLarge(
            f"The zip file is {len(data)} bytes; direct uploads are limited to "
            f"{MAX_DIRECT_UPLOAD_BYTES} bytes. Upload it to S3 and pass S3Bucket/S3Key."
        )
    if not keep:
        summary = check_zip(data, name=label, limits=limits, threads=2)
        return StoredArchive(hashlib.sha256(data).hexdigest(), len(data), summary.unzipped_bytes)
    # Checking inflates every entry, the slowest step; it runs on two threads while the bytes are
    # hashed and written to staging (inflating, hashing and file writes release the GIL), and the
    # store makes them visible only once the check has passed.
    checking = _CHECKERS.submit(check_zip, data, name=label, limits=limits, threads=2)

    def checked() -> ZipSummary:
        return checking.result()

    try:
        info = store.put_bytes(data, sha256=hashlib.sha256(data).hexdigest(), before_commit=checked)
    finally:
        summary = checked()  # also for a blob that already existed; and never left running
    return StoredArchive(info.digest, info.size, summary.unzipped_bytes)
