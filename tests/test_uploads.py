"""Which S3Key a publish may read: only a plain key under the caller's own upload prefix, and
only from a store that holds objects users staged."""

from __future__ import annotations

import pytest

from registry.archive.limits import ZipLimits
from registry.archives import ZipContent, store_archive
from registry.errors import AccessDenied, InvalidParameterValue
from registry.uploads import check_upload_key, upload_prefix
from storage.filesystem import FilesystemBlobStore

OWN, OTHER = "111111111111", "222222222222"


def test_upload_prefix__is_named_by_the_account_id():
    assert upload_prefix(OWN) == f"uploads/{OWN}/"


@pytest.mark.parametrize(
    "key", [f"uploads/{OWN}/layer.zip", f"uploads/{OWN}/team/numpy/1.26 (x86).zip"]
)
def test_keys_under_the_own_prefix__pass(key):
    check_upload_key(key, OWN)


@pytest.mark.parametrize(
    "key",
    [
        f"uploads/{OTHER}/layer.zip",  # another account's upload
        f"uploads/{OWN}",  # the prefix without an object under it
        f"uploads/{OWN}x/layer.zip",  # an id that merely starts like the caller's
        f"uploads/{OTHER[:-1]}/layer.zip",
        f"Uploads/{OWN}/layer.zip",
        "blobs/sha256/ab/" + "ab" * 32,  # Strata's own blob of a layer
        "staging/" + "0" * 32,
        "layer.zip",
    ],
)
def test_keys_outside_the_own_prefix__are_access_denied(key):
    with pytest.raises(AccessDenied, match=f"uploads/{OWN}/"):
        check_upload_key(key, OWN)


@pytest.mark.parametrize(
    "key",
    [
        "",
        f"/uploads/{OWN}/layer.zip",
        f"./uploads/{OWN}/layer.zip",
        f"uploads/{OWN}/./layer.zip",
        f"uploads/{OWN}/../{OTHER}/layer.zip",
        f"uploads/{OWN}//layer.zip",
        f"uploads/{OWN}/dir/",
        "./blobs/sha256/..",
        "../blobs/sha256/ab/" + "ab" * 32,
        f"uploads/{OWN}/..",
    ],
)
def test_keys_with_empty_dot_or_dotdot_segments__are_invalid(key):
    with pytest.raises(InvalidParameterValue, match="S3Key"):
        check_upload_key(key, OWN)


@pytest.mark.parametrize("char", ["\x00", "\n", "\r", "\x1f", "\x7f", "\\"])
def test_keys_with_control_characters_or_backslashes__are_invalid(char):
    with pytest.raises(InvalidParameterValue, match="control characters or backslashes"):
        check_upload_key(f"uploads/{OWN}/a{char}b.zip", OWN)


def test_a_refusal_does_not_depend_on_the_object_existing():
    # Judged on the key alone: no store is involved, so nothing tells whether it exists.
    with pytest.raises(AccessDenied) as first:
        check_upload_key(f"uploads/{OTHER}/exists.zip", OWN)
    with pytest.raises(AccessDenied) as second:
        check_upload_key(f"uploads/{OTHER}/missing.zip", OWN)
    assert first.value.message.replace("exists", "missing") == second.value.message


def test_keys_s3_could_not_hold__are_invalid():
    with pytest.raises(InvalidParameterValue, match="at most 1024 bytes"):
        check_upload_key(f"uploads/{OWN}/" + "\u00e9" * 600, OWN)  # 600 characters, 1,200 bytes
    with pytest.raises(InvalidParameterValue, match="valid Unicode"):
        check_upload_key(f"uploads/{OWN}/\ud800.zip", OWN)
    check_upload_key(f"uploads/{OWN}/" + "\u00e9" * 500, OWN)


def test_s3key_content_on_a_filesystem_store__names_the_setting_that_enables_it(tmp_path):
    store = FilesystemBlobStore(tmp_path, signing_key=b"key")
    content = ZipContent(s3_bucket="bucket", s3_key=f"uploads/{OWN}/layer.zip")

    with pytest.raises(InvalidParameterValue) as caught:
        store_archive(store, content, account_id=OWN, label="layer l", limits=ZipLimits())

    assert caught.value.message == (
        f"Cannot read s3://bucket/uploads/{OWN}/layer.zip: cannot read "
        f"s3://bucket/uploads/{OWN}/layer.zip: content from S3Bucket/S3Key needs the S3 storage "
        "backend (STRATA_STORAGE=s3); this server stores blobs on the filesystem"
    )
    assert list(store.iter_blobs()) == []


def test_s3key_content_outside_the_own_prefix__is_refused_before_the_store_is_asked(tmp_path):
    store = FilesystemBlobStore(tmp_path, signing_key=b"key")
    content = ZipContent(s3_bucket="bucket", s3_key=f"uploads/{OTHER}/layer.zip")

    with pytest.raises(AccessDenied):
        store_archive(store, content, account_id=OWN, label="layer l", limits=ZipLimits())
