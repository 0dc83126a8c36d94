"""storage.keys: the one grammar every blob and staging key obeys."""

from __future__ import annotations

import pytest

from storage import keys
from storage.errors import InvalidKey

DIGEST = "ab" + "c" * 62


def test_blob_key__shards_by_the_first_two_hex_digits():
    assert keys.blob_key(DIGEST) == f"blobs/sha256/ab/{DIGEST}"


@pytest.mark.parametrize(
    "digest",
    [
        "../../etc/passwd",
        "/" + "a" * 63,
        "A" * 64,
        "a" * 63,
        "a" * 65,
        "g" * 64,
        "aa/../" + "a" * 58,
        "a" * 63 + "\n",
        "",
    ],
    ids=[
        "traversal",
        "absolute",
        "uppercase",
        "short",
        "long",
        "non-hex",
        "dotdot",
        "newline",
        "empty",
    ],
)
def test_blob_key__rejects_anything_but_64_lowercase_hex(digest):
    with pytest.raises(InvalidKey):
        keys.blob_key(digest)


def test_new_staging_key__is_unique_and_on_grammar():
    first, second = keys.new_staging_key(), keys.new_staging_key()

    assert first != second
    assert keys.check_key(first)["upload"] == first.removeprefix("staging/")


@pytest.mark.parametrize(
    "key",
    [
        f"blobs/sha256/cd/{DIGEST}",  # shard does not match the digest
        f"/blobs/sha256/ab/{DIGEST}",
        f"blobs/sha256/ab/../ab/{DIGEST}",
        f"blobs/sha256/ab/{DIGEST}/data",
        "staging/../blobs",
        "staging/" + "0" * 31,
    ],
)
def test_check_key__rejects_off_grammar_keys(key):
    with pytest.raises(InvalidKey):
        keys.check_key(key)


def test_digest_of__returns_the_digest_of_blob_keys_only():
    assert keys.digest_of(keys.blob_key(DIGEST)) == DIGEST
    assert keys.digest_of(keys.new_staging_key()) is None
    assert keys.digest_of(f"blobs/sha256/ab/{DIGEST}.tmp") is None


@pytest.mark.parametrize(
    ("key", "reserved"),
    [
        (f"blobs/sha256/ab/{DIGEST}", True),
        ("/blobs/anything", True),
        ("staging/x", True),
        ("uploads/layer.zip", False),
        ("blobsy/layer.zip", False),
    ],
)
def test_is_reserved__covers_strata_own_layout(key, reserved):
    assert keys.is_reserved(key) is reserved
