"""Where an account stages zips in object storage, and which S3Key a publish may read.

Zips over the direct-upload limit are put in the server's bucket first and then named by
`S3Bucket`/`S3Key` (PublishLayerVersion, CreateFunction, UpdateFunctionCode). The bucket is
shared by every account, so a publish reads only keys under the caller's own prefix,
`uploads/<account-id>/`: otherwise one account could publish, and then download, the zip another
account staged for its private layer, or Strata's own blobs. The key is judged before storage is
asked anything, so a refusal says nothing about whether the object exists.
"""

from __future__ import annotations

from registry.errors import AccessDenied, InvalidParameterValue

UPLOADS = "uploads"
_MAX_KEY_BYTES = 1024  # S3's limit on an object key


def upload_prefix(account_id: str) -> str:
    """The prefix under which `account_id` stages objects to publish from."""
    return f"{UPLOADS}/{account_id}/"


def check_upload_key(key: str, account_id: str) -> None:
    """Raise InvalidParameterValue for a key that is not a plain relative object name, and
    AccessDenied for one outside the caller's upload prefix."""
    if not isinstance(key, str) or not key:
        raise InvalidParameterValue("S3Key must not be empty.")
    if any(ord(char) < 0x20 or char == "\x7f" for char in key) or "\\" in key:
        raise InvalidParameterValue("S3Key must not contain control characters or backslashes.")
    try:
        encoded = key.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, which JSON can carry
        raise InvalidParameterValue("S3Key must be valid Unicode text.") from None
    if len(encoded) > _MAX_KEY_BYTES:
        raise InvalidParameterValue(f"S3Key must be at most {_MAX_KEY_BYTES} bytes in UTF-8.")
    # Stores and proxies normalise `a//b`, `./a` and `a/../b` differently; a key must mean one
    # object to every one of them, so such segments are refused rather than resolved.
    if any(segment in ("", ".", "..") for segment in key.split("/")):
        raise InvalidParameterValue(
            "S3Key must be a relative object name without empty, '.' or '..' segments "
            "(no leading, trailing or doubled '/')."
        )
    prefix = upload_prefix(account_id)
    if not key.startswith(prefix):
        raise AccessDenied(
            f"S3Key {key!r} is outside your account's upload prefix: upload the zip under "
            f"{prefix} in the bucket and name that key."
        )
