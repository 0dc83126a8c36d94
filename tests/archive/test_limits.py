"""Caps hold for the bytes really produced, whatever the headers claim."""

import io
import os
import warnings
import zipfile

import pytest

from registry.archive.limits import NodeBudget, ZipLimits, enforce_limits
from registry.archive.reader import check_zip
from registry.errors import InvalidZip
from tests.archive.build import CENTRAL, Dir, File, central_offsets, patch_central, zip_bytes

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


def test_implied_directories__count_against_the_entry_cap():
    # One record, four nodes: a, a/b, a/b/c and the file.
    data = zip_bytes(File("a/b/c/f", b"x"))
    with pytest.raises(InvalidZip, match="counting every directory"):
        check_zip(io.BytesIO(data), limits=ZipLimits(max_entries=3))
    assert check_zip(io.BytesIO(data), limits=ZipLimits(max_entries=4)).dirs == 3


def test_shared_and_named_directories__count_once():
    data = zip_bytes(Dir("a/"), Dir("a/b/"), File("a/b/x", b"x"), File("a/b/y", b"y"))
    summary = check_zip(io.BytesIO(data), limits=ZipLimits(max_entries=4))
    assert (summary.files, summary.dirs) == (2, 2)


def test_directory_bomb__is_refused_from_the_central_directory_alone():
    # 2,000 records, each implying its own 100 directories: 202,000 nodes against a cap of
    # 20,000. The count stops at the cap, long before the records or the tree run out.
    deep = "d/" * 99
    data = zip_bytes(*[File(f"{i}/{deep}f") for i in range(2000)])
    with pytest.raises(InvalidZip, match="limit of 20000 files, directories") as refused:
        check_zip(io.BytesIO(data), limits=ZipLimits(max_entries=20_000))
    assert refused.value.entry.startswith("198/")  # 101 nodes a record: record 198 passes 20,000


def test_node_budget__stops_the_moment_the_limit_is_passed():
    budget = NodeBudget(ZipLimits(max_entries=5))
    assert budget.add("a/b/c")  # a, a/b, a/b/c
    assert budget.add("a/b/c/d")  # one more: the parents were counted
    assert budget.add("x", root="task")  # a tree of its own, the same limit
    assert budget.nodes == 5
    assert not budget.add("a/y")
    assert budget.nodes == 6
    assert "limit of 5 files, directories and symlinks" in budget.refusal()


def test_node_budget__counts_the_characters_of_every_path_once():
    budget = NodeBudget(ZipLimits(max_path_chars=20))
    assert budget.add("ab/cd/ef")  # 2 + 5 + 8
    assert budget.add("ab/cd/ef")
    assert budget.path_chars == 15
    assert not budget.add("ab/cd/gh")
    assert "paths of more than 20 characters" in budget.refusal()


def test_long_paths_within_the_node_cap__are_refused_by_their_total_length():
    # 16 components of 255 characters: 16 nodes but some 32,000 characters a record, which a
    # tree would hold in memory; 100 such records pass the node cap but not 1,000,000 characters.
    records = [
        File("/".join([f"{i:03d}" + "x" * 252] + ["y" * 255] * 14 + ["f"])) for i in range(100)
    ]
    data = zip_bytes(*records)
    with pytest.raises(InvalidZip, match="paths of more than 1000000 characters"):
        check_zip(io.BytesIO(data), limits=ZipLimits(max_path_chars=1_000_000))
    assert check_zip(io.BytesIO(data)).dirs == 1500


def test_recorded_summary_over_the_node_cap__is_refused():
    summary = check_zip(io.BytesIO(zip_bytes(File("a/b/f", b"x"))))
    enforce_limits(summary, ZipLimits(), "fine.zip")
    with pytest.raises(InvalidZip, match="limit of 2 files, directories"):
        enforce_limits(summary, ZipLimits(max_entries=2), "recorded.zip")
