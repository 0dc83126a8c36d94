"""check_zip: what a readable archive is, summarised without writing anything."""

import hashlib
import io
import random
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from registry.archive.limits import ZipLimits
from registry.archive.reader import Archive, check_zip
from registry.errors import InvalidZip
from tests.archive.build import (
    WINDOWS,
    Dir,
    File,
    Link,
    make_zip,
    patch_central,
    replace_name_bytes,
    with_zip64_end_record,
    zip_bytes,
)
from tests.support import require_service

FIXTURES = Path(__file__).parents[1] / "fixtures"


def test_stored_and_deflated_entries__are_counted_from_their_real_bytes(tmp_path):
    archive = make_zip(
        tmp_path / "a.zip",
        Dir("python"),
        File("python/a.py", b"a = 1\n" * 100),
        File("python/b.bin", bytes(range(256)), compress=zipfile.ZIP_STORED),
        Link("python/c.py", "a.py"),
    )
    summary = check_zip(archive)
    assert (summary.entries, summary.files, summary.dirs, summary.symlinks) == (4, 2, 1, 1)
    assert summary.unzipped_bytes == 600 + 256 + len("a.py")
    assert summary.archive_bytes == archive.stat().st_size
    assert summary.duplicates == ()


def test_a_file_object_is_read_like_a_path(tmp_path):
    data = zip_bytes(File("x.txt", b"hello"))
    assert check_zip(io.BytesIO(data), name="upload.zip").files == 1
    path = tmp_path / "x.zip"
    path.write_bytes(data)
    with path.open("rb") as handle:
        assert check_zip(handle).unzipped_bytes == 5


def test_bytes_are_read_like_a_path():
    data = zip_bytes(File("x.txt", b"hello"), File("y.txt", b"world!"))
    assert check_zip(data, name="upload.zip").unzipped_bytes == 11


def test_several_threads__give_the_same_summary_as_one():
    data = zip_bytes(
        *(File(f"python/m{i}.py", f"VALUE = {i}\n".encode() * (i + 1)) for i in range(200))
    )
    assert check_zip(data, threads=2) == check_zip(data, threads=1)


@pytest.mark.parametrize("corrupt", [0, 99, 199], ids=["first", "middle", "last"])
def test_several_threads__reject_a_corrupt_entry_wherever_it_lies(corrupt):
    files = [
        File(f"m{i}.txt", f"entry {i:03d}".encode(), compress=zipfile.ZIP_STORED)
        for i in range(200)
    ]
    data = bytearray(zip_bytes(*files))
    data[data.index(f"entry {corrupt:03d}".encode())] = ord("E")
    with pytest.raises(InvalidZip, match="CRC-32") as raised:
        check_zip(bytes(data), name="bad.zip", threads=2)
    assert raised.value.entry == f"m{corrupt}.txt"


def test_deflate64_fixture_made_by_7zip__is_read_and_verified():
    archive = FIXTURES / "deflate64.zip"
    summary = check_zip(archive)
    assert (summary.files, summary.dirs) == (2, 3)
    with Archive.open(archive) as opened:
        entry = next(e for e in opened.entries if e.path == "python/greet/__init__.py")
        assert entry.method == 9
        data = b"".join(opened.iter_data(entry))
    assert hashlib.sha256(data).hexdigest() == (
        "07b13028f5c7f11bfabd6da7e1c5e075d06e53a7e22fe3163d9ede1c4237b7c0"
    )


def test_data_descriptors_from_a_streamed_writer__are_read(tmp_path):
    data = zip_bytes(File("a.txt", b"streamed" * 1000), File("b.txt", b"x"), streamed=True)
    with zipfile.ZipFile(io.BytesIO(data)) as plain:
        assert all(info.flag_bits & 0x8 for info in plain.infolist())
    assert check_zip(io.BytesIO(data)).unzipped_bytes == 8001


def test_zip64_extra_fields_written_by_info_zip__are_read(tmp_path):
    require_service(shutil.which("zip") is not None, "the zip tool is not installed")
    (tmp_path / "f.txt").write_text("zip64 " * 50)
    subprocess.run(["zip", "-q", "-fz", "z.zip", "f.txt"], cwd=tmp_path, check=True)
    raw = (tmp_path / "z.zip").read_bytes()
    assert b"\x01\x00\x08\x00" in raw or b"\x01\x00\x10\x00" in raw  # a zip64 extra field
    assert check_zip(tmp_path / "z.zip").unzipped_bytes == 300


def test_zip64_end_of_central_directory__is_followed():
    data = with_zip64_end_record(zip_bytes(File("a.txt", b"a"), File("b/c.txt", b"cc")))
    summary = check_zip(io.BytesIO(data))
    assert (summary.entries, summary.unzipped_bytes) == (2, 3)


def test_names_not_flagged_utf8__are_decoded_as_cp437():
    data = replace_name_bytes(zip_bytes(File("cafX.txt", b"x")), b"cafX", b"caf\x82")
    with Archive.open(io.BytesIO(data)) as archive:
        assert archive.entries[0].path == "café.txt"


def test_duplicate_names__last_entry_wins_and_is_reported(tmp_path):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate we write on purpose
        data = zip_bytes(File("a.txt", b"first"), File("a.txt", b"second!"))
    summary = check_zip(io.BytesIO(data))
    assert summary.duplicates == ("a.txt",)
    assert summary.files == 1
    assert summary.unzipped_bytes == 12  # both entries were read and verified


def test_windows_backslash_separators__are_path_separators():
    data = zip_bytes(File("python\\pkg\\mod.py", b"x = 1\n", host=WINDOWS))
    with Archive.open(io.BytesIO(data)) as archive:
        assert archive.entries[0].path == "python/pkg/mod.py"


def test_executable_bits_are_kept_and_other_bits_dropped():
    data = zip_bytes(
        File("bin/tool", b"#!/bin/sh\n", mode=0o4755),
        File("lib/data", b"d", mode=0o600),
        File("bin/group-exec", b"#!/bin/sh\n", mode=0o610),
    )
    with Archive.open(io.BytesIO(data)) as archive:
        modes = {entry.path: entry.mode for entry in archive.entries}
    assert modes == {"bin/tool": 0o755, "lib/data": 0o644, "bin/group-exec": 0o755}


def test_corrupt_data__is_rejected_by_its_crc():
    data = bytearray(zip_bytes(File("a.txt", b"hello world", compress=zipfile.ZIP_STORED)))
    data[data.index(b"hello world")] = ord("j")
    with pytest.raises(InvalidZip, match="CRC-32"):
        check_zip(io.BytesIO(bytes(data)), name="bad.zip")


def test_not_a_zip__is_rejected():
    with pytest.raises(InvalidZip, match="not a zip file"):
        check_zip(io.BytesIO(b"just some text, no archive"), name="text.zip")


def test_truncated_archive__is_rejected():
    data = zip_bytes(File("a.txt", bytes(range(256)) * 40))
    with pytest.raises(InvalidZip):
        check_zip(io.BytesIO(data[:100] + data[-200:]), name="cut.zip")


def test_encrypted_entries__are_rejected():
    data = patch_central(zip_bytes(File("secret.txt", b"s")), 0, flags=0x1)
    with pytest.raises(InvalidZip, match="encrypted"):
        check_zip(io.BytesIO(data))


def test_invalid_utf8_in_a_name_flagged_utf8__is_rejected():
    data = replace_name_bytes(zip_bytes(File("abX.txt", b"x")), b"abX", b"ab\xff")
    data = patch_central(data, 0, flags=0x800)
    with pytest.raises(InvalidZip, match="UTF-8"):
        check_zip(io.BytesIO(data))


def test_local_header_name_differing_from_the_central_directory__is_rejected():
    data = zip_bytes(File("good.txt", b"x"))
    local_end = data.index(b"good.txt") + len(b"good.txt")
    data = data[: local_end - 8] + b"evil.txt" + data[local_end:]
    with pytest.raises(InvalidZip, match="local header name"):
        check_zip(io.BytesIO(data))


def test_the_error_names_the_archive_and_the_entry():
    data = zip_bytes(File("../escape.txt", b"x"))
    with pytest.raises(InvalidZip) as caught:
        check_zip(io.BytesIO(data), name="layer-a.zip")
    assert caught.value.archive == "layer-a.zip"
    assert caught.value.entry == "../escape.txt"
    assert "layer-a.zip" in str(caught.value) and "../escape.txt" in str(caught.value)


def test_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    make_zip(tmp_path / "a.zip", File("python/a.py", b"a"), Dir("python/empty"))
    check_zip(tmp_path / "a.zip")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.zip"]


def test_default_limits_are_aws_values():
    limits = ZipLimits()
    assert limits.max_unzipped_bytes == 250 * 1024 * 1024
    assert limits.max_entries >= 30_000


def test_corrupt_deflate64_data__is_rejected():
    data = bytearray((FIXTURES / "deflate64.zip").read_bytes())
    with Archive.open(io.BytesIO(bytes(data))) as archive:
        entry = next(e for e in archive.entries if e.method == 9)
        start = archive._data_start(entry)
    data[start + 100 : start + 120] = bytes(b ^ 0x5A for b in data[start + 100 : start + 120])
    with pytest.raises(InvalidZip, match="corrupt Deflate64 data"):
        check_zip(io.BytesIO(bytes(data)), name="d64.zip")


def test_stdlib_zlib_reads_deflate_where_isal_is_missing(monkeypatch):
    import zlib

    import registry.archive.inflate

    monkeypatch.setattr(registry.archive.inflate, "_zlib", zlib)
    monkeypatch.setattr(registry.archive.inflate, "IgzipDecompressor", None)
    data = zip_bytes(File("a.txt", b"plain zlib " * 2000))
    assert check_zip(io.BytesIO(data)).unzipped_bytes == 22000
    corrupt = bytearray(data)
    corrupt[60:80] = bytes(20)
    with pytest.raises(InvalidZip):
        check_zip(io.BytesIO(bytes(corrupt)))


@pytest.mark.parametrize("size", [0, 1, 65_535, 1 << 20, (1 << 20) + 1, 3 << 20])
def test_deflate_output_at_every_chunk_boundary__is_read_exactly(size):
    # Incompressible and compressible halves, so the inflater both holds input back and asks for
    # more.
    text = b"".join(b"%d," % i for i in range(size))[: size - size // 2]
    data = random.Random(size).randbytes(size // 2) + text
    assert check_zip(zip_bytes(File("a.bin", data))).unzipped_bytes == size


def test_deflate_stream_cut_short__is_rejected():
    payload = bytes(range(256)) * 4000
    data = bytearray(zip_bytes(File("a.bin", payload)))
    # Shrink the compressed size in both headers: the stream then ends before its final block.
    compressed = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("a.bin").compress_size
    data = patch_central(bytes(data), 0, compressed_size=compressed - 10)
    with pytest.raises(InvalidZip, match="compressed data ends early"):
        check_zip(data, name="short.zip")
