"""The registry's blob store, built from its Settings: the one place that turns STRATA_STORAGE,
STRATA_S3_* and the signing key into the plain values storage.open_store takes."""

from __future__ import annotations

import secrets
from pathlib import Path

import storage
from registry.config import Settings
from registry.private_files import key_file
from storage.base import BlobStore
from storage.errors import ConfigError

SIGNING_KEY_FILE = "signing.key"


def open_store(settings: Settings) -> BlobStore:
    """The BlobStore named by `settings.storage`; raises ConfigError, naming the STRATA_*
    variables, for an unusable setting."""
    if settings.storage == "filesystem":
        key = settings.signing_key.encode() or load_signing_key(Path(settings.data_dir))
        return storage.open_store("filesystem", root=settings.data_dir, signing_key=key)
    if settings.storage == "s3":
        _require_s3_settings(settings)
        return storage.open_store(
            "s3",
            endpoint=settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            bucket=settings.s3_bucket,
            secure=settings.s3_secure,
            region=settings.region,
            public_endpoint=settings.s3_public_endpoint or None,
        )
    raise ConfigError(
        f"unknown STRATA_STORAGE {settings.storage!r}; "
        f"expected one of: {', '.join(storage.BACKENDS)}"
    )


def _require_s3_settings(settings: Settings) -> None:
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


def load_signing_key(data_dir: Path) -> bytes:
    """The data dir's download-signing key, generated on first use.

    Kept in a private file so restarts keep issued URLs valid and every process sharing the data
    dir (gunicorn workers) signs alike.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / SIGNING_KEY_FILE
    key = key_file(path, lambda: secrets.token_hex(32))
    if not key:
        raise ConfigError(f"signing key file {path} is empty; delete it to generate a new one")
    return key.encode()
