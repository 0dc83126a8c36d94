"""The key grammar of the blob stores: the only place that turns digests into object names.

Layout (relative to the filesystem root, or the S3 bucket)::

    blobs/sha256/<hh>/<64 hex>   a committed blob; <hh> is the first two hex digits of its sha256
    staging/<32 hex>             an upload in progress (filesystem only); never read as a blob

Every key a backend touches matches KEY_RE, which by construction has no `..`, no leading `/`, no
uppercase and no separators beyond the fixed ones, so a key can be joined to a root directory
without escaping it.
"""

from __future__ import annotations

import re
import uuid

from storage.errors import InvalidKey

BLOB_PREFIX = "blobs/sha256/"
STAGING_PREFIX = "staging/"
RESERVED_PREFIXES = ("blobs/", STAGING_PREFIX)

DIGEST_RE = re.compile(r"[0-9a-f]{64}")
KEY_RE = re.compile(
    r"blobs/sha256/(?P<shard>[0-9a-f]{2})/(?P<digest>(?P=shard)[0-9a-f]{62})"
    r"|staging/(?P<upload>[0-9a-f]{32})"
)


def check_digest(digest: str) -> str:
    """Return the digest if it is a lowercase hex sha256; raise InvalidKey otherwise."""
    if not isinstance(digest, str) or not DIGEST_RE.fullmatch(digest):
        raise InvalidKey(str(digest), "a blob digest is 64 lowercase hex digits (sha256)")
    return digest


def blob_key(digest: str) -> str:
    """The key a blob with this sha256 is stored under."""
    check_digest(digest)
    return f"{BLOB_PREFIX}{digest[:2]}/{digest}"


def new_staging_key() -> str:
    """A fresh, unique key for an upload in progress."""
    return f"{STAGING_PREFIX}{uuid.uuid4().hex}"


def check_key(key: str) -> re.Match:
    """Match a key against the grammar; raise InvalidKey for anything else."""
    match = KEY_RE.fullmatch(key) if isinstance(key, str) else None
    if match is None:
        raise InvalidKey(str(key), "not a blob or staging key")
    return match


def digest_of(key: str) -> str | None:
    """The digest of a committed blob's key; None for staging keys and anything off-grammar."""
    match = KEY_RE.fullmatch(key)
    return match["digest"] if match else None


def is_reserved(key: str) -> bool:
    """Whether an object key belongs to Strata's own layout (never readable as user content)."""
    return key.lstrip("/").startswith(RESERVED_PREFIXES)
