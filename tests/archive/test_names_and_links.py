"""The name, symlink and limit rules of untrusted zips, each at its boundary.

Most tests call the rule functions directly (the merge engine uses them too); the ones through
check_zip show the rule is applied to real archives and that the refusal names the entry.
"""

from __future__ import annotations

import io
import stat
import zlib

import pytest

from registry.archive.entries import DIR, FILE, SYMLINK, ZipSummary
from registry.archive.limits import ZipLimits, enforce_limits
from registry.archive.names import check_link_target, link_stays_inside, normalise_name
from registry.archive.reader import Archive, check_zip
from registry.archive.tree import Node, Tree
from registry.errors import InvalidZip
from tests.archive.build import UNIX, WINDOWS, Dir, File, Link, patch_central, zip_bytes

# -- entry names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, expected",
    [
        ("python/mod.py", ("python/mod.py", False)),
        ("python/pkg/", ("python/pkg", True)),
        ("a/./b//c.txt", ("a/b/c.txt", False)),
        ("./python/mod.py", ("python/mod.py", False)),
        ("a/./b/", ("a/b", True)),
        ("./", ("", True)),
        ("café/naïve.py", ("café/naïve.py", False)),
        (".hidden/x", (".hidden/x", False)),
        ("a b/c d.txt", ("a b/c d.txt", False)),
        ("bin/MAX", ("bin/MAX", False)),
        ("XX/", ("XX", True)),
    ],
)
def test_name__is_normalised_to_a_relative_posix_path(name, expected):
    assert normalise_name(name, UNIX) == expected


@pytest.mark.parametrize(
    "name, reason",
    [
        ("/etc/passwd", "absolute"),
        ("//etc/passwd", "absolute"),
        ("../x", "'..'"),
        ("a/../../x", "'..'"),
        ("a/./../x", "'..'"),
        ("a//../x", "'..'"),
        ("C:/Windows/x", "drive letter"),
        ("c:x", "drive letter"),
        ("ok\x00.txt", "NUL"),
        ("a\\b.txt", "backslash"),
    ],
)
def test_name__that_could_leave_the_root_or_mean_two_things_is_refused(name, reason):
    with pytest.raises(ValueError, match=reason):
        normalise_name(name, UNIX)


def test_name__with_backslashes_from_windows_uses_them_as_separators():
    assert normalise_name("python\\pkg\\mod.py", WINDOWS) == ("python/pkg/mod.py", False)
    assert normalise_name("python\\pkg\\", WINDOWS) == ("python/pkg", True)
    with pytest.raises(ValueError, match=r"'\.\.'"):
        normalise_name("python\\..\\..\\evil.py", WINDOWS)
    with pytest.raises(ValueError, match="absolute"):
        normalise_name("\\evil.py", WINDOWS)


@pytest.mark.parametrize("host", [11, 14])
def test_name__backslash_is_a_separator_on_every_windows_host(host):
    assert normalise_name("a\\b", host) == ("a/b", False)


@pytest.mark.parametrize("host", [UNIX, 19])
def test_name__backslash_from_other_hosts_is_refused(host):
    with pytest.raises(ValueError, match="backslash"):
        normalise_name("a\\b", host)


def test_name__depth_of_128_directories_is_the_limit():
    assert normalise_name("d/" * 127 + "f", UNIX)[0].count("/") == 127
    with pytest.raises(ValueError, match="deeper than 128"):
        normalise_name("d/" * 128 + "f", UNIX)


def test_name__depth_counts_components_after_dropping_dot_and_empty_ones():
    assert normalise_name("./" * 200 + "d/" * 127 + "f", UNIX)[0] == "d/" * 127 + "f"


def test_name__path_of_4095_bytes_is_the_limit():
    base = "/".join(["a" * 254] * 16)  # 16 components of 254 bytes and 15 slashes: 4,079 bytes
    fits = base + "/" + "b" * (4095 - len(base) - 1)
    assert len(fits.encode()) == 4095
    assert normalise_name(fits, UNIX)[0] == fits
    with pytest.raises(ValueError, match="4095 bytes"):
        normalise_name(fits + "b", UNIX)


def test_name__path_limit_counts_utf8_bytes_not_characters():
    base = "/".join(["é" * 127] * 16)  # 254 bytes a component
    fits = base + "/" + "b" * (4095 - len(base.encode()) - 1)
    assert normalise_name(fits, UNIX)[0] == fits
    with pytest.raises(ValueError, match="4095 bytes"):
        normalise_name(fits + "b", UNIX)


def test_name__component_of_255_bytes_is_the_limit():
    assert normalise_name("d/" + "a" * 255, UNIX) == ("d/" + "a" * 255, False)
    assert normalise_name("a" * 255, UNIX) == ("a" * 255, False)
    for name in ("a" * 256, "d/" + "a" * 256, "a" * 256 + "/f"):
        with pytest.raises(ValueError, match="255 bytes"):
            normalise_name(name, UNIX)


def test_name__component_limit_counts_utf8_bytes_not_characters():
    assert normalise_name("é" * 127 + "a", UNIX)[0] == "é" * 127 + "a"  # 255 bytes
    with pytest.raises(ValueError, match="255 bytes"):
        normalise_name("é" * 128, UNIX)  # 128 characters, 256 bytes


def test_names__over_a_limit_are_refused_in_a_real_archive():
    for name in ("a" * 256, "d/" * 129 + "f"):
        with pytest.raises(InvalidZip) as caught:
            check_zip(zip_bytes(File(name, b"x")), name="deep.zip")
        assert caught.value.entry == name


# -- symlink targets ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target, reason",
    [
        ("", "empty"),
        ("a\x00b", "NUL"),
        ("/etc/passwd", "absolute"),
        ("//etc", "absolute"),
        ("C:/Windows", "absolute"),
        ("c:evil", "absolute"),
        ("a\\..\\..\\x", "backslash"),
        ("lib\\x.so", "backslash"),
    ],
)
def test_link_target__that_is_empty_absolute_or_ambiguous_is_refused(target, reason):
    with pytest.raises(ValueError, match=reason):
        check_link_target(target)


@pytest.mark.parametrize("target", ["libx.so.1", "../lib", "a/b", "./x", "3:x", "ab:c", "a/c:d"])
def test_link_target__relative_and_plain_is_accepted(target):
    check_link_target(target)


@pytest.mark.parametrize(
    "target, reason",
    [("", "empty"), ("C:/x", "absolute"), ("x\\y", "backslash"), ("a\x00b", "NUL")],
)
def test_link_target__bad_ones_are_refused_in_a_real_archive(target, reason):
    data = zip_bytes(File("python/a.py", b"x"), Link("python/link", target))
    with pytest.raises(InvalidZip, match=reason) as caught:
        check_zip(data)
    assert caught.value.entry == "python/link"


def test_link_target__not_utf8_is_refused():
    data = zip_bytes(Link("python/link", "placeholder"))
    data = data.replace(b"placeholder", b"plac\xffholder")
    with pytest.raises(InvalidZip, match="UTF-8") as caught:
        check_zip(patch_central(data, 0, crc=zlib.crc32(b"plac\xffholder")))
    assert caught.value.entry == "python/link"


def no_links(_path: str) -> None:
    return None


@pytest.mark.parametrize(
    "path, target",
    [
        ("a/link", "./../../x"),
        ("a/link", "a//../../../x"),
        ("a/link", ".//..//..//x"),
        ("link", "./.."),
        ("link", ".."),
        ("a/b/link", "../../.."),
        ("a/b/link", "x/../../../.."),
        ("a/link", "../b/../../x"),
    ],
)
def test_symlink_target__written_with_dot_slash_or_double_slash_cannot_leave_the_root(path, target):
    assert not link_stays_inside(path, target, no_links)


@pytest.mark.parametrize(
    "path, target",
    [
        ("a/link", "./x"),
        ("a/link", ".//x"),
        ("a/link", "../x"),
        ("a/link", "./../x"),
        ("a/link", "a//../x"),
        ("a/b/link", "../../x"),
        ("a/b/link", "../.."),
        ("link", "."),
        ("link", "x/../y"),
        ("a/link", "../a/../a/./../x"),
    ],
)
def test_symlink_target__that_stays_inside_is_accepted(path, target):
    assert link_stays_inside(path, target, no_links)


def test_symlink_target__through_another_link_is_resolved_where_that_link_points():
    links = {"a/b/up": "../.."}.get  # a/b/up is the root itself
    assert link_stays_inside("a/b/out", "up/x", links)
    assert not link_stays_inside("a/b/out", "up/..", links)
    assert link_stays_inside("a/b/out", "up/a/b/up/a", links)


def test_symlink_target__expands_another_links_target_in_order():
    links = {"d/p": "x/../.."}.get  # d/p -> d/x/.. -> d/.. -> the root
    assert link_stays_inside("d/l", "p", links)
    assert not link_stays_inside("d/l", "p/..", links)


def test_symlink_target__replaces_the_link_by_its_target_not_appends_to_it():
    links = {
        "a/lib": "real"
    }.get  # a/lib -> a/real; "a/lib/../.." is the root, one more ".." leaves
    assert link_stays_inside("a/l", "lib/../..", links)
    assert not link_stays_inside("a/l", "lib/../../..", links)


def test_symlink_target__chain_through_an_absolute_link_is_refused():
    links = {"lib": "/usr/lib"}.get
    assert not link_stays_inside("l", "lib", links)
    assert not link_stays_inside("l", "lib/x", links)


def test_symlink_target__chains_of_up_to_40_links_are_followed():
    def chain(length: int):
        targets = {f"l{i}": f"l{i + 1}" for i in range(length)}
        targets[f"l{length}"] = None
        return targets.get

    assert link_stays_inside("start", "l0", chain(40))
    assert not link_stays_inside("start", "l0", chain(41))


def test_symlink_loop__is_refused_without_hanging():
    assert not link_stays_inside("a", "b", {"a": "b", "b": "a"}.get)


@pytest.mark.parametrize("target", ["./../../x", "a//../../../x", "./../.."])
def test_symlink_target__with_dot_slash_or_double_slash_is_refused_in_a_real_archive(target):
    data = zip_bytes(File("a/keep.txt", b"x"), Link("a/link", target))
    with pytest.raises(InvalidZip, match="outside") as caught:
        check_zip(data, name="links.zip")
    assert caught.value.entry == "a/link"


def test_symlinks__each_link_in_an_archive_is_checked_whatever_its_order():
    data = zip_bytes(
        Link("a/ok", "../x"), File("x", b"1"), Link("a/bad", "./../../x"), Link("z", "x")
    )
    with pytest.raises(InvalidZip) as caught:
        check_zip(data)
    assert caught.value.entry == "a/bad"


# -- what entries become --------------------------------------------------------------------------


def entries_of(data: bytes):
    with Archive.open(io.BytesIO(data), name="t.zip", limits=ZipLimits()) as archive:
        return [(e.path, e.kind, e.mode) for e in archive.entries]


def test_modes__only_the_executable_bit_survives():
    data = zip_bytes(
        File("bin/tool", b"x", mode=0o4755),
        File("bin/owner-x", b"x", mode=0o744),
        File("bin/other-x", b"x", mode=0o641),
        File("lib/data", b"x", mode=0o2666),
        File("lib/plain", b"x", mode=0o600),
    )
    assert entries_of(data) == [
        ("bin/tool", "file", 0o755),
        ("bin/owner-x", "file", 0o755),
        ("bin/other-x", "file", 0o755),
        ("lib/data", "file", 0o644),
        ("lib/plain", "file", 0o644),
    ]


def test_kinds__directories_by_type_by_slash_or_by_dos_attribute_and_links_by_type():
    data = zip_bytes(
        Dir("d1"), File("d2/", b""), Link("l", "d1"), File("f", b"x", host=WINDOWS, mode=0)
    )
    data = patch_central(data, 3, made_by=WINDOWS << 8)
    assert entries_of(data) == [
        ("d1", "dir", 0o755),
        ("d2", "dir", 0o755),
        ("l", "symlink", 0o777),
        ("f", "file", 0o644),
    ]


def test_kinds__dos_directory_attribute_counts_only_on_windows_hosts():
    plain = zip_bytes(File("x", b""))
    dos_dir = _with_external(plain, 0x10)
    assert entries_of(patch_central(dos_dir, 0, made_by=WINDOWS << 8)) == [("x", "dir", 0o755)]
    assert entries_of(patch_central(dos_dir, 0, made_by=UNIX << 8)) == [("x", "file", 0o644)]
    dos_file = _with_external(plain, 0x20)  # the DOS "archive" attribute alone: a file
    assert entries_of(patch_central(dos_file, 0, made_by=WINDOWS << 8)) == [("x", "file", 0o644)]


def _with_external(data: bytes, external: int) -> bytes:
    from tests.archive.build import central_offsets

    out = bytearray(data)
    pos = central_offsets(data)[0]
    out[pos + 38 : pos + 42] = external.to_bytes(4, "little")
    return bytes(out)


def test_kinds__symlink_named_like_a_directory_is_refused():
    data = zip_bytes(Link("l/", "x"))
    with pytest.raises(InvalidZip, match="symlink entry named like a directory") as caught:
        check_zip(data)
    assert caught.value.entry == "l/"


@pytest.mark.parametrize("file_type", [stat.S_IFCHR, stat.S_IFIFO])
def test_kinds__special_files_are_refused_even_from_windows_hosts(file_type):
    data = _with_external(zip_bytes(File("dev", b"")), (file_type | 0o644) << 16)
    with pytest.raises(InvalidZip, match="device") as caught:
        check_zip(patch_central(data, 0, made_by=WINDOWS << 8))
    assert caught.value.entry == "dev"


# -- the archive's tree ---------------------------------------------------------------------------


def test_tree__a_path_below_a_symlink_is_refused_whichever_entry_comes_first():
    for entries in (
        (Link("lib", "real"), Dir("real"), File("lib/x.so", b"x")),
        (Link("lib", "real"), Dir("real"), Dir("lib/sub")),
        (Link("lib", "real"), Dir("real"), File("lib/sub/deep/x", b"x")),
    ):
        with pytest.raises(InvalidZip, match="through the symlink"):
            check_zip(zip_bytes(*entries))


def test_tree__a_directory_entry_named_like_a_symlink_replaces_it():
    summary = check_zip(zip_bytes(Link("lib", "real"), Dir("lib"), File("lib/x.so", b"x")))
    assert (summary.symlinks, summary.dirs, summary.files) == (0, 1, 1)
    assert summary.duplicates == ("lib",)


def test_tree__later_entries_replace_earlier_ones_and_are_reported():
    summary = check_zip(
        zip_bytes(
            Dir("d"), File("d/a", b"1"), File("d", b"file now"), File("x", b"1"), File("x", b"2")
        )
    )
    assert (summary.files, summary.dirs) == (2, 0)
    assert summary.duplicates == ("d", "d/a", "x")


def test_tree__implied_directories_are_counted_but_not_reported_as_duplicates():
    summary = check_zip(zip_bytes(File("a/b/c/f", b"1"), File("a/b/g", b"2"), File("a", b"3")))
    assert (summary.files, summary.dirs) == (1, 0)
    assert summary.duplicates == ("a/b/c/f", "a/b/g")


def test_tree__missing_directories_below_an_existing_one_are_implied():
    summary = check_zip(zip_bytes(Dir("a"), File("a/b/c/f", b"1")))
    assert (summary.files, summary.dirs, summary.duplicates) == (1, 3, ())


def test_tree__a_file_where_a_directory_is_implied_is_replaced_and_reported():
    summary = check_zip(zip_bytes(File("a", b"1"), File("a/b", b"2")))
    assert (summary.files, summary.dirs, summary.duplicates) == (1, 1, ("a",))


def test_tree__an_implied_directory_named_later_becomes_explicit():
    summary = check_zip(zip_bytes(File("a/f", b"1"), Dir("a"), File("a", b"2")))
    assert summary.duplicates == ("a", "a/f")


def test_tree__implied_directories_record_who_implied_them():
    tree = Tree()
    tree.put("a/b/f", Node(FILE, 7))
    assert [
        (path, node.kind, node.source, node.explicit) for path, node in sorted(tree.nodes.items())
    ] == [
        ("a", DIR, 7, False),
        ("a/b", DIR, 7, False),
        ("a/b/f", FILE, 7, True),
    ]


def test_tree__an_implied_directory_over_a_symlink_is_refused_and_over_a_file_replaces_it():
    tree = Tree()
    tree.put("lib", Node(SYMLINK, 0, data="real"))
    with pytest.raises(ValueError, match="through the symlink 'lib'"):
        tree.put("lib", Node(DIR, 1, explicit=False))
    assert tree.link_target("lib") == "real"
    tree.put("lib", Node(DIR, 2))  # named explicitly, a directory replaces the link
    assert tree.link_target("lib") is None and tree.nodes["lib"].kind == DIR
    tree.put("f", Node(FILE, 3))
    assert [path for path, _ in tree.put("f", Node(DIR, 4, explicit=False))] == ["f"]
    assert tree.nodes["f"].kind == DIR


def test_tree__root_entry_is_skipped():
    summary = check_zip(zip_bytes(Dir("./"), File("x", b"1")))
    assert (summary.entries, summary.files, summary.dirs) == (2, 1, 0)


# -- limits held to a recorded summary ------------------------------------------------------------


def summary(**fields) -> ZipSummary:
    base = dict(
        entries=10,
        files=10,
        dirs=0,
        symlinks=0,
        unzipped_bytes=1000,
        archive_bytes=1000,
        duplicates=(),
        max_entry_ratio=1.0,
    )
    return ZipSummary(**{**base, **fields})


LIMITS = ZipLimits(
    max_unzipped_bytes=10_000,
    max_entries=10,
    max_entry_ratio=100.0,
    max_total_ratio=50.0,
    ratio_floor_bytes=1000,
)


def test_enforce_limits__at_every_limit_is_accepted():
    enforce_limits(
        summary(entries=10, unzipped_bytes=10_000, archive_bytes=200, max_entry_ratio=100.0),
        LIMITS,
        "a.zip",
    )
    enforce_limits(
        summary(unzipped_bytes=1000, archive_bytes=1), LIMITS, "a.zip"
    )  # at the ratio floor


@pytest.mark.parametrize(
    "fields, reason",
    [
        ({"entries": 11}, "11 entries, more than the limit of 10"),
        ({"unzipped_bytes": 10_001, "archive_bytes": 10_001}, "unzips to 10001 bytes"),
        ({"max_entry_ratio": 100.5}, "entry's compression ratio"),
        ({"unzipped_bytes": 5001, "archive_bytes": 100}, "compression ratio is above"),
        ({"unzipped_bytes": 1001, "archive_bytes": 0}, "compression ratio is above"),
    ],
    ids=["entries", "bytes", "entry-ratio", "total-ratio", "empty-archive"],
)
def test_enforce_limits__past_any_limit_is_refused_naming_the_archive(fields, reason):
    with pytest.raises(InvalidZip, match=reason) as caught:
        enforce_limits(summary(**fields), LIMITS, "big.zip")
    assert caught.value.archive == "big.zip"


def test_enforce_limits__every_file_directory_and_symlink_counts_against_the_entry_cap():
    enforce_limits(summary(entries=5, files=5, dirs=3, symlinks=2), LIMITS, "a.zip")
    for nodes in (
        {"files": 5, "dirs": 3, "symlinks": 3},
        {"files": 11},
        {"dirs": 11},
        {"symlinks": 11},
    ):
        with pytest.raises(InvalidZip) as caught:
            enforce_limits(summary(entries=5, **{"files": 0, **nodes}), LIMITS, "nodes.zip")
        assert caught.value.archive == "nodes.zip"


def test_enforce_limits__an_empty_archive_counts_as_one_byte_for_the_total_ratio():
    limits = ZipLimits(max_total_ratio=50.0, ratio_floor_bytes=10)
    enforce_limits(summary(unzipped_bytes=50, archive_bytes=0), limits, "a.zip")
    with pytest.raises(InvalidZip, match="compression ratio"):
        enforce_limits(summary(unzipped_bytes=51, archive_bytes=0), limits, "a.zip")


def test_enforce_limits__total_ratio_applies_only_above_the_floor():
    enforce_limits(summary(unzipped_bytes=999, archive_bytes=1), LIMITS, "a.zip")
    enforce_limits(summary(unzipped_bytes=5000, archive_bytes=100), LIMITS, "a.zip")
