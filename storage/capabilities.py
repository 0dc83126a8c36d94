"""What some backends can do beyond the BlobStore protocol; callers check with isinstance.

A backend implements a capability only when its storage can honour it: the filesystem backend signs
its own download URLs, which the app then serves; the S3 backend reads objects users put in its
bucket themselves. Neither is asked of every backend.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import BinaryIO, Protocol, runtime_checkable

# Where the app serves downloads for stores it signs URLs for (see SignedDownloads).
DOWNLOAD_ROUTE = "/_strata/blobs/"


@runtime_checkable
class SignedDownloads(Protocol):
    """A store whose download URLs point at the app itself (DOWNLOAD_ROUTE + digest).

    The app's download route checks the URL with verify_download, then streams store.open().
    Stores that hand out URLs of their own service (S3 presigned GETs) do not implement this.
    """

    def verify_download(
        self, digest: str, query_args: Mapping[str, str], now: float | None = None
    ) -> None:
        """Check a URL made by download_url, given its digest and decoded query arguments.

        Raises SignatureInvalid when anything was altered or is missing, SignatureExpired when
        the URL is authentic but past its expiry. `now` (epoch seconds) defaults to the clock.
        """
        ...


@runtime_checkable
class StagedObjects(Protocol):
    """A store over object storage in which users stage objects of their own
    (Content.S3Bucket/S3Key), beside the blobs, in the same bucket."""

    def open_object(self, bucket: str, key: str) -> tuple[BinaryIO, int]:
        """Open an object a user staged; return (stream, size).

        Raises BlobNotFound when the object (or bucket) cannot be read, InvalidKey for keys
        inside Strata's own layout.
        """
        ...

    def put_object(self, bucket: str, key: str, stream: BinaryIO, size: int) -> None:
        """Stage a user object of `size` bytes in the store's bucket; the same refusals as
        open_object."""
        ...
