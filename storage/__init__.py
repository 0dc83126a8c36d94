"""Blob storage: the BlobStore protocol (storage.base) and its backends, chosen by settings.

Callers outside this package use `open_store(settings)` and the types in storage.base and
storage.errors; they never import a backend module or a vendor SDK.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from storage.base import DOWNLOAD_ROUTE, BlobInfo, BlobStore, SignedDownloads
from storage.errors import ConfigError

if TYPE_CHECKING:
    from registry.config import Settings

BACKENDS = ("filesystem", "s3")
SIGNING_KEY_FILE = "signing.key"

__all__ = [
    "BACKENDS",
    "DOWNLOAD_ROUTE",
    "BlobInfo",
    "BlobStore",
    "SignedDownloads",
    "load_signing_key",
    "open_store",
]


def load_signing_key(data_dir: Path) -> bytes:
    """The data dir's download-signing key, generated on first use.

    Kept in a private file so restarts keep issued URLs valid and every process sharing the data
    dir (gunicorn workers) signs alike.
    """
    from registry.private_files import key_file

    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / SIGNING_KEY_FILE
    key = key_file(path, lambda: secrets.token_hex(32))
    if not key:
        raise ConfigError(f"signing key file {path} is empty; delete it to generate a new one")
    return key.encode()


def open_store(settings: Settings) -> BlobStore:
    """The BlobStore named by `settings.storage`; raises ConfigError for an unusable setting."""
    if settings.storage == "filesystem":
        from storage.filesystem import FilesystemBlobStore

        key = settings.signing_key.encode() or load_signing_key(Path(settings.data_dir))
        return FilesystemBlobStore(settings.data_dir, signing_key=key)
    if settings.storage == "s3":
        from storage.s3 import S3BlobStore

        missing = [
            name
            for name, value in (
                ("STRATA_S3_ENDPOINT", settings.s3_endpoint),
                ("STRATA_S3_ACCESS_KEY", settings.s3_access_key),
                ("STRATA_S3_SECRET_KEY", settings.s3_secret_key),
            )
            if not value
        ]
        if missing:
            raise ConfigError(f"STRATA_STORAGE=s3 needs {', '.join(missing)}", backend="s3")
        return S3BlobStore(
            endpoint=settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            bucket=settings.s3_bucket,
            secure=settings.s3_secure,
            region=settings.region,
            public_endpoint=settings.s3_public_endpoint or None,
        )
    raise ConfigError(
        f"unknown STRATA_STORAGE {settings.storage!r}; expected one of: {', '.join(BACKENDS)}"
    )
