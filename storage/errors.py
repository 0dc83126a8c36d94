"""Typed errors of the blob stores.

Backends translate their vendor's errors (OSError, minio's S3Error, urllib3's connection errors)
into these at the edge, so nothing above `storage/` handles a vendor type. Each error names the
backend it came from, when one is involved.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base class of every storage failure."""

    def __init__(self, message: str, *, backend: str | None = None):
        super().__init__(message)
        self.message = message
        self.backend = backend


class BlobNotFound(StorageError):
    """No blob under that digest, or no readable user object under that bucket and key."""

    def __init__(self, name: str, *, backend: str | None = None, message: str | None = None):
        where = f" in {backend} storage" if backend else ""
        super().__init__(message or f"blob sha256:{name} not found{where}", backend=backend)
        self.name = name


class InvalidKey(StorageError):
    """A digest or key breaks the key grammar (see storage.keys)."""

    def __init__(self, key: str, reason: str, *, backend: str | None = None):
        super().__init__(f"invalid blob key {key!r}: {reason}", backend=backend)
        self.key = key


class DigestMismatch(StorageError):
    """The uploaded bytes do not have the sha256 or size the caller expected; nothing was kept."""

    def __init__(self, detail: str, *, backend: str | None = None):
        super().__init__(f"upload rejected, nothing stored: {detail}", backend=backend)


class StorageUnavailable(StorageError):
    """The backend cannot be reached or refused to work (down, timeout, credentials, full disk)."""

    def __init__(self, backend: str, cause: BaseException | str):
        super().__init__(f"{backend} storage unavailable: {cause}", backend=backend)
        self.cause = cause


class SignatureInvalid(StorageError):
    """A signed download URL is malformed or its signature does not match."""


class SignatureExpired(StorageError):
    """A signed download URL was valid but its expiry time has passed."""


class ConfigError(StorageError):
    """The storage settings are unusable (unknown backend, bad endpoint, missing bucket name)."""
