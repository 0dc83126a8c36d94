"""check_zip refuses every entry that could write outside its root or create something other
than a file, a directory or a contained symlink."""

import io
import stat

import pytest

from registry.archive.reader import check_zip
from registry.errors import InvalidZip
from tests.archive.build import WINDOWS, Dir, File, Link, Special, replace_name_bytes, zip_bytes


@pytest.mark.parametrize(
    "name",
    [
        "/etc/passwd",
        "../outside.txt",
        "python/../../outside.txt",
        "C:/Windows/system.ini",
        "c:relative.txt",
    ],
)
def test_escaping_names__are_rejected(name):
    with pytest.raises(InvalidZip) as caught:
        check_zip(io.BytesIO(zip_bytes(File(name, b"x"))), name="bad.zip")
    assert caught.value.entry == name


def test_backslash_dotdot_from_windows__is_rejected_as_dotdot():
    data = zip_bytes(File("python\\..\\..\\evil.py", b"x", host=WINDOWS))
    with pytest.raises(InvalidZip, match=r"'\.\.'"):
        check_zip(io.BytesIO(data))


def test_backslash_in_a_name_not_made_on_windows__is_rejected():
    data = zip_bytes(File("python\\mod.py", b"x"))
    with pytest.raises(InvalidZip, match="backslash"):
        check_zip(io.BytesIO(data))


def test_nul_byte_in_a_name__is_rejected():
    data = replace_name_bytes(zip_bytes(File("okX.txt", b"x")), b"okX.txt", b"ok\x00.txt")
    with pytest.raises(InvalidZip, match="NUL"):
        check_zip(io.BytesIO(data))


@pytest.mark.parametrize("file_type", [stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK])
def test_device_fifo_and_socket_entries__are_rejected(file_type):
    with pytest.raises(InvalidZip, match="device, fifo or socket"):
        check_zip(io.BytesIO(zip_bytes(Special("dev/thing", file_type))))


@pytest.mark.parametrize("target", ["/etc/passwd", "../../outside", "../../", "a/../../.."])
def test_symlinks_leaving_the_root__are_rejected(target):
    data = zip_bytes(File("python/a.py", b"x"), Link("python/link", target))
    with pytest.raises(InvalidZip) as caught:
        check_zip(io.BytesIO(data))
    assert caught.value.entry == "python/link"


def test_symlink_chain_escaping_through_another_symlink__is_rejected():
    # Lexically "up/../.." stays at the root; really, "up" is the root, so ".." leaves it.
    data = zip_bytes(Link("a/b/up", "../.."), Link("a/b/out", "up/../.."))
    with pytest.raises(InvalidZip, match="outside") as caught:
        check_zip(io.BytesIO(data))
    assert caught.value.entry == "a/b/out"


def test_symlink_loop__is_rejected():
    data = zip_bytes(Link("a", "b"), Link("b", "a"))
    with pytest.raises(InvalidZip, match="outside"):
        check_zip(io.BytesIO(data))


def test_symlinks_inside_the_root__are_accepted():
    data = zip_bytes(
        File("lib/libx.so.1", b"\x7fELF"),
        Link("lib/libx.so", "libx.so.1"),
        Link("python/libdir", "../lib"),
        Link("python/libx", "libdir/libx.so"),
    )
    assert check_zip(io.BytesIO(data)).symlinks == 3


def test_writing_through_a_symlink_of_the_same_archive__is_rejected():
    data = zip_bytes(Dir("real"), Link("lib", "real"), File("lib/planted.so", b"x"))
    with pytest.raises(InvalidZip, match="through the symlink") as caught:
        check_zip(io.BytesIO(data))
    assert caught.value.entry == "lib/planted.so"


def test_directory_entry_carrying_data__is_rejected():
    from tests.archive.build import patch_central

    data = zip_bytes(Dir("d"))
    with pytest.raises(InvalidZip, match="directory entry carries data"):
        check_zip(io.BytesIO(patch_central(data, 0, size=10)))
