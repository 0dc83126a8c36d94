"""Blob storage: the BlobStore protocol (storage.base), the optional capabilities some backends add
(storage.capabilities), and the backends, chosen by name.

Callers outside this package use `open_store(...)` and the types in storage.base,
storage.capabilities and storage.errors; they never import a backend module or a vendor SDK. The
package reads no configuration of its own: callers pass plain values.
"""

from __future__ import annotations

from pathlib import Path

from storage.base import BlobInfo, BlobStore
from storage.capabilities import DOWNLOAD_ROUTE, SignedDownloads, StagedObjects
from storage.errors import ConfigError

BACKENDS = ("filesystem", "s3")

__all__ = [
    "BACKENDS",
    "DOWNLOAD_ROUTE",
    "BlobInfo",
    "BlobStore",
    "SignedDownloads",
    "StagedObjects",
    "open_store",
]


def open_store(
    backend: str,
    *,
    root: Path | str | None = None,
    signing_key: bytes = b"",
    endpoint: str = "",
    access_key: str = "",
    secret_key: str = "",
    bucket: str = "strata",
    secure: bool = False,
    region: str = "us-east-1",
    public_endpoint: str | None = None,
) -> BlobStore:
    """The BlobStore named by `backend`; raises ConfigError for unusable values.

    "filesystem" keeps blobs under `root` and signs download URLs with `signing_key`; "s3" keeps
    them in `bucket` at `endpoint` (`host:port`, TLS per `secure`, or an http(s) URL), presigning
    download URLs for `public_endpoint` when clients reach the storage by another address.
    """
    if backend == "filesystem":
        from storage.filesystem import FilesystemBlobStore

        if root is None or not signing_key:
            raise ConfigError("filesystem storage needs a root directory and a signing key")
        return FilesystemBlobStore(root, signing_key=signing_key)
    if backend == "s3":
        from storage.s3 import S3BlobStore

        given = {"endpoint": endpoint, "access_key": access_key, "secret_key": secret_key}
        missing = [name for name, value in given.items() if not value]
        if missing:
            raise ConfigError(f"s3 storage needs {', '.join(missing)}", backend="s3")
        return S3BlobStore(
            endpoint=endpoint,
            access_key=access_key,
            secret_key=secret_key,
            bucket=bucket,
            secure=secure,
            region=region,
            public_endpoint=public_endpoint or None,
        )
    raise ConfigError(
        f"unknown storage backend {backend!r}; expected one of: {', '.join(BACKENDS)}"
    )
