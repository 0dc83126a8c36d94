"""A function's deployment package: checked completely (registry.zips) before it is stored as a
content-addressed blob, exactly like a layer's content."""

from __future__ import annotations

import hashlib
import io
import shutil
import tempfile
from dataclasses import dataclass

from registry.errors import InvalidParameterValue, RequestTooLarge
from registry.layers import MAX_DIRECT_UPLOAD_BYTES
from registry.zips import ZipLimits, check_zip
from storage.base import BlobStore
from storage.errors import BlobNotFound, Unsupported


@dataclass(frozen=True)
class FunctionCode:
    """Exactly one of: the zip's bytes, or an object of the configured S3 bucket."""

    zip_file: bytes | None = None
    s3_bucket: str | None = None
    s3_key: str | None = None


@dataclass(frozen=True)
class StoredCode:
    digest: str
    size: int
    unzipped_size: int


def store_code(store: BlobStore, code: FunctionCode, *, name: str, limits: ZipLimits) -> StoredCode:
    label = f"function {name}"
    if code.zip_file is not None:
        data = code.zip_file
        if len(data) > MAX_DIRECT_UPLOAD_BYTES:
            raise RequestTooLarge(
                f"The zip file is {len(data)} bytes; direct uploads are limited to "
                f"{MAX_DIRECT_UPLOAD_BYTES} bytes. Upload it to S3 and pass S3Bucket/S3Key."
            )
        summary = check_zip(io.BytesIO(data), name=label, limits=limits)
        info = store.put_bytes(data, sha256=hashlib.sha256(data).hexdigest())
        return StoredCode(info.digest, info.size, summary.unzipped_bytes)
    try:
        stream, size = store.open_object(code.s3_bucket, code.s3_key)
    except (BlobNotFound, Unsupported) as error:
        raise InvalidParameterValue(
            f"Cannot read s3://{code.s3_bucket}/{code.s3_key}: {error}"
        ) from None
    with stream, tempfile.TemporaryFile() as spool:
        shutil.copyfileobj(stream, spool, 1024 * 1024)
        spool.seek(0)
        summary = check_zip(spool, name=label, limits=limits)
        spool.seek(0)
        info = store.put_stream(spool, expected_size=size)
    return StoredCode(info.digest, info.size, summary.unzipped_bytes)
