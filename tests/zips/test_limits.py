"""Caps hold for the bytes really produced, whatever the headers claim."""

import io
import os
import warnings
import zipfile

import pytest

from registry.errors import InvalidZip
from registry.zips import ZipLimits, check_zip
from tests.zips.build import CENTRAL, File, central_offsets, patch_central, zip_bytes

MiB = 1024 * 1024


def test_highly_compressed_entry__is_rejected_as_a_bomb():
    data = zip_bytes(File("zeros.bin", bytes(2 * MiB)))
    with pytest.raises(InvalidZip, match="ratio"):
        check_zip(io.BytesIO(data), name="bomb.zip")


def test_small_compressible_entries__are_below_the_ratio_floor():
    data = zip_bytes(File("zeros.bin", bytes(64 * 1024)))
    assert check_zip(io.BytesIO(data)).unzipped_bytes == 64 * 1024


def test_total_ratio_over_many_small_entries__is_rejected():
    data = zip_bytes(*[File(f"z/{i}.bin", bytes(200 * 1024)) for i in range(10)])
    limits = ZipLimits(max_total_ratio=20.0)
    with pytest.raises(InvalidZip, match="ratio"):
        check_zip(io.BytesIO(data), limits=limits)


def test_unzipped_size_cap():
    data = zip_bytes(File("a.bin", os.urandom(300_000), compress=zipfile.ZIP_STORED))
    with pytest.raises(InvalidZip, match="limit of 200000"):
        check_zip(io.BytesIO(data), limits=ZipLimits(max_unzipped_bytes=200_000))


def test_entry_count_cap():
    data = zip_bytes(*[File(f"f{i}", b"x") for i in range(11)])
    with pytest.raises(InvalidZip, match="11 entries"):
        check_zip(io.BytesIO(data), limits=ZipLimits(max_entries=10))


def test_header_claiming_fewer_bytes_than_the_data_holds__is_rejected():
    # A bomb that lies in its header to slip under the caps: reading stops at the claim.
    data = zip_bytes(File("a.txt", b"a" * 5000))
    with pytest.raises(InvalidZip, match="more than the 100 bytes"):
        check_zip(io.BytesIO(patch_central(data, 0, size=100)))


def test_header_claiming_more_bytes_than_the_data_holds__is_rejected():
    data = zip_bytes(File("a.txt", b"a" * 5000))
    with pytest.raises(InvalidZip, match="decompresses to 5000 bytes"):
        check_zip(io.BytesIO(patch_central(data, 0, size=6000)))


def test_entries_sharing_compressed_data__are_rejected_as_overlapping():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the duplicate name is the point
        data = zip_bytes(File("a.txt", b"a" * 5000), File("a.txt", b"a" * 5000))
    first_offset = CENTRAL.unpack_from(data, central_offsets(data)[0])[-1]
    # Both records now point at one local header: the same bytes would count twice.
    data = patch_central(data, 1, offset=first_offset)
    with pytest.raises(InvalidZip, match="overlaps"):
        check_zip(io.BytesIO(data))
