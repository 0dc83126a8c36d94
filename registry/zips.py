"""Safe reading of untrusted zip archives.

Nothing an archive says is trusted. Names are normalised and checked before anything is written;
the central directory's sizes and counts are only used to refuse work early, and every entry is
then decompressed and held to them exactly (real size equal to the declared size, CRC-32 equal),
so the caps below hold for the bytes actually produced. The central directory is parsed here,
not by `zipfile`, so that a hostile archive is refused before it can cost memory, and so that
entries can be read concurrently with positional reads.

The overlay rules (`Tree`) live here too: one archive with duplicate names is overlaid on itself
with exactly the rules a stack of layers uses, so `check_zip` and the merge engine agree.
"""

from __future__ import annotations

import io
import os
import re
import stat
import struct
import threading
import zlib
from collections import deque
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterator, NamedTuple

try:
    # ISA-L inflates three times and checksums six times faster than zlib, and those two are
    # most of a merge's work. Its IgzipDecompressor also releases the GIL while inflating (its
    # zlib-style decompressobj does not), so archives inflate on every core at once.
    from isal import isal_zlib as _zlib
    from isal.igzip_lib import DECOMP_DEFLATE, IgzipDecompressor, IsalError
except ImportError:  # platforms without an isal wheel
    _zlib = zlib
    IgzipDecompressor = None

from registry.errors import InvalidZip
from registry.parallel import run_parallel

MiB = 1024 * 1024

FILE, DIR, SYMLINK = "file", "dir", "symlink"

STORED, DEFLATED, DEFLATE64 = 0, 8, 9


@dataclass(frozen=True)
class ZipLimits:
    """Caps on what archives may unpack to; AWS Lambda's values where AWS publishes one."""

    # AWS: function code plus all layers, unzipped.
    max_unzipped_bytes: int = 250 * MiB
    # AWS publishes no entry cap. The largest real layers (scientific Python stacks) hold about
    # 30,000 files; 100,000 leaves room for them while bounding the memory a central directory
    # may cost and the inodes one archive may create. It caps central directory records and,
    # separately, the tree's nodes: every path plus every directory the paths imply (a record
    # 128 directories deep is one entry but can create 128 directories), per archive and over
    # the union of a function and its layers.
    max_entries: int = 100_000
    # The characters of all those nodes' paths together. A tree is held in memory path by path
    # while it is checked or merged; 100,000 nodes of 4,000-character paths would cost GBs, real
    # trees average under 100 characters a path.
    max_path_chars: int = 32 * MiB
    # Deflate tops out near 1,030:1 and real files rarely pass 20:1; 100:1 on one entry (or 50:1
    # over a whole archive) is the signature of a bomb.
    max_entry_ratio: float = 100.0
    max_total_ratio: float = 50.0
    # Ratios of small data mean nothing (4 KiB of zeros deflates 200:1), so they apply above this.
    ratio_floor_bytes: int = 1 * MiB


class ZipEntry(NamedTuple):
    """One central directory record, with its name already proven safe."""

    index: int  # position in the central directory
    name: str  # as stored (decoded: UTF-8 when flagged, else cp437)
    raw_name: bytes
    path: str  # normalised relative POSIX path; empty only for a directory naming the root
    kind: str  # FILE | DIR | SYMLINK
    mode: int  # 0o755 or 0o644 for files, 0o755 for directories, 0o777 for symlinks
    method: int
    crc: int
    compressed_size: int  # claimed; verified while reading
    size: int  # claimed; verified while reading
    header_offset: int  # of the local header, from the start of the file


@dataclass(frozen=True)
class ZipSummary:
    entries: int  # central directory records
    files: int  # regular files in the archive's final tree (duplicates resolved)
    dirs: int
    symlinks: int
    unzipped_bytes: int  # decompressed bytes of every entry, counted while reading
    archive_bytes: int
    duplicates: tuple[str, ...]  # paths whose earlier entries a later entry replaced
    max_entry_ratio: float  # largest ratio among entries above the ratio floor

    def to_json(self) -> dict:
        return {**self.__dict__, "duplicates": list(self.duplicates)}

    @classmethod
    def from_json(cls, data: dict) -> "ZipSummary":
        return cls(**{**data, "duplicates": tuple(data["duplicates"])})


def check_zip(
    source: bytes | str | os.PathLike | BinaryIO,
    *,
    name: str | None = None,
    limits: ZipLimits = ZipLimits(),
    threads: int = 1,
) -> ZipSummary:
    """Validate an archive completely without writing anything; raise `InvalidZip` if unsafe.

    Every entry is decompressed (stored, deflate, Deflate64), its real size and CRC compared with
    its header, every name and symlink checked, on `threads` threads (inflating releases the GIL).
    The message names the archive and the entry.
    """
    with Archive.open(source, name=name, limits=limits) as archive:
        layout = archive.layout()

        def read(entry: ZipEntry) -> None:
            for _ in archive.iter_data(entry):
                pass

        run_parallel(archive.entries, read, threads)
        return archive.summary(layout)


# --- names -------------------------------------------------------------------------------------

# Hosts whose separator is the backslash (APPNOTE 4.4.2: MS-DOS/OS2 FAT, NTFS, VFAT).
_WINDOWS_HOSTS = frozenset({0, 11, 14})
_DRIVE = re.compile(r"^[A-Za-z]:")
# Relative ASCII names whose components cannot be empty, "." or ".." (none starts with a dot)
# and hold no separator, drive colon or NUL; at 255 characters they are within every length cap.
_PLAIN = re.compile(r"[\w+-][\w.+-]*(?:/[\w+-][\w.+-]*)*/?", re.ASCII)
_MAX_PATH_BYTES = 4095
_MAX_DEPTH = 128
_MAX_LINK_HOPS = 40  # Linux's own limit on symlinks followed in one lookup


def normalise_name(name: str, host: int) -> tuple[str, bool]:
    """Return (relative POSIX path, names-a-directory) or raise ValueError saying why not.

    A backslash is a separator only in names written on Windows/DOS hosts, which use no other;
    anywhere else it is an ordinary character on Linux but a separator on Windows, and an archive
    that means different things to different tools is refused.
    """
    if len(name) <= 255 and _PLAIN.fullmatch(name):
        return name.rstrip("/"), name.endswith("/")  # the common case, provably safe as it is
    if "\x00" in name:
        raise ValueError("name contains a NUL byte")
    if "\\" in name:
        if host not in _WINDOWS_HOSTS:
            raise ValueError("backslash in a name not written on Windows (ambiguous separator)")
        name = name.replace("\\", "/")
    if name.startswith("/"):
        raise ValueError("absolute path")
    if _DRIVE.match(name):
        raise ValueError("drive letter")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise ValueError("'..' component")
    if len(parts) > _MAX_DEPTH:
        raise ValueError(f"deeper than {_MAX_DEPTH} directories")
    path = "/".join(parts)
    if len(path.encode("utf-8", "surrogateescape")) > _MAX_PATH_BYTES:
        raise ValueError(f"path longer than {_MAX_PATH_BYTES} bytes")
    if any(len(part.encode("utf-8", "surrogateescape")) > 255 for part in parts):
        raise ValueError("path component longer than 255 bytes")
    return path, name.endswith("/")


def check_link_target(target: str) -> None:
    if not target:
        raise ValueError("empty symlink target")
    if "\x00" in target:
        raise ValueError("symlink target contains a NUL byte")
    if target.startswith("/") or _DRIVE.match(target):
        raise ValueError(f"symlink target {target!r} is absolute")
    if "\\" in target:
        raise ValueError(f"symlink target {target!r} contains a backslash (ambiguous separator)")


def link_stays_inside(path: str, target: str, links: Callable[[str], str | None]) -> bool:
    """Whether following `target` from the symlink at `path` stays inside the tree's root.

    Resolves component by component like the kernel does, following other symlinks of the tree
    (`links(path)` returns a path's target or None), so chains that leave the root are caught;
    a string prefix test or a purely lexical one would miss them.
    """
    resolved = path.split("/")[:-1]
    pending = deque(target.split("/"))
    hops = 0
    while pending:
        part = pending.popleft()
        if part in ("", "."):
            continue
        if part == "..":
            if not resolved:
                return False
            resolved.pop()
            continue
        resolved.append(part)
        next_target = links("/".join(resolved))
        if next_target is not None:
            hops += 1
            if hops > _MAX_LINK_HOPS or next_target.startswith("/"):
                return False
            resolved.pop()
            pending.extendleft(reversed(next_target.split("/")))
    return True


# --- the node budget ---------------------------------------------------------------------------


class NodeBudget:
    """Counts the distinct nodes trees would hold: each path added and every parent directory it
    implies, whether or not an entry names it, and the characters of their paths. `add` says
    False as soon as either count passes its limit, so a tree of millions of implied directories
    is refused after `limits.max_entries` steps; `refusal` then says which limit it passed.

    Paths are remembered by their hash, not their text: 100,000 paths of up to 4,095 bytes would
    otherwise hold hundreds of MB. A collision (the hash is keyed per process) can only
    under-count by one, never refuse a tree within the budget. Trees named by `root` are counted
    apart but against the same limits (a merge's opt/ and task/).
    """

    def __init__(self, limits: ZipLimits):
        self.limits = limits
        self.nodes = 0
        self.path_chars = 0
        self._seen: dict[str, set[int]] = {}

    def add(self, path: str, root: str = "") -> bool:
        seen = self._seen.get(root)
        if seen is None:
            seen = self._seen[root] = set()
        while path:
            key = hash(path)
            if key in seen:
                break  # and so are its parents: they were counted with it
            seen.add(key)
            self.nodes += 1
            self.path_chars += len(path)
            if self.nodes > self.limits.max_entries or self.path_chars > self.limits.max_path_chars:
                return False
            path = path.rpartition("/")[0]
        return True

    def refusal(self) -> str:
        if self.nodes > self.limits.max_entries:
            return (
                f"more than the limit of {self.limits.max_entries} files, directories and symlinks, "
                "counting every directory the entries' paths imply"
            )
        return (
            f"paths of more than {self.limits.max_path_chars} characters in all, counting every "
            "directory the entries' paths imply"
        )


# --- the overlay rules -------------------------------------------------------------------------


@dataclass(slots=True)
class Node:
    kind: str
    source: int  # who provided it: an entry index in one archive, an input index in a merge
    explicit: bool = True  # False for a directory only implied by the paths below it
    data: object = None  # the ZipEntry, or the merge engine's file record


class Tree:
    """Paths mapped to nodes, under the overlay rules (a later `put` wins).

    - file over file: replaced; directory over file and file over directory: replaced, with the
      whole subtree; directory over directory: merged.
    - a path below a symlink is refused (it would write through the link); a directory entry
      named exactly like the symlink replaces it.
    `put` returns what it displaced, so callers can report shadowed paths and duplicates.
    """

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self._children: dict[str, set[str]] = {"": set()}

    def put(self, path: str, node: Node) -> list[tuple[str, Node]]:
        displaced: list[tuple[str, Node]] = []
        parent = path.rpartition("/")[0]
        if parent:
            above = self.nodes.get(parent)
            if above is None or above.kind != DIR:
                self._make_dirs(parent, node.source, displaced)
        existing = self.nodes.get(path)
        if existing is None:
            self._insert(path, node)
        elif existing.kind == DIR and node.kind == DIR:
            existing.explicit = existing.explicit or node.explicit
        elif existing.kind == SYMLINK and node.kind == DIR and not node.explicit:
            raise ValueError(f"would write through the symlink {path!r}")
        else:
            displaced.extend(self._remove(path))
            self._insert(path, node)
        return displaced

    def link_target(self, path: str) -> str | None:
        node = self.nodes.get(path)
        return node.data if node is not None and node.kind == SYMLINK else None

    def is_empty_dir(self, path: str) -> bool:
        return not self._children.get(path)

    def _make_dirs(self, path: str, source: int, displaced: list) -> None:
        prefix = ""
        for part in path.split("/"):
            prefix = f"{prefix}/{part}" if prefix else part
            existing = self.nodes.get(prefix)
            if existing is not None and existing.kind == DIR:
                continue
            if existing is not None:
                if existing.kind == SYMLINK:
                    raise ValueError(f"would write through the symlink {prefix!r}")
                displaced.extend(self._remove(prefix))
            self._insert(prefix, Node(DIR, source, explicit=False))

    def _insert(self, path: str, node: Node) -> None:
        self.nodes[path] = node
        self._children[path.rpartition("/")[0]].add(path)
        if node.kind == DIR:
            self._children[path] = set()

    def _remove(self, path: str) -> list[tuple[str, Node]]:
        removed = []
        stack = [path]
        while stack:
            current = stack.pop()
            removed.append((current, self.nodes.pop(current)))
            stack.extend(self._children.pop(current, ()))
        self._children[path.rpartition("/")[0]].discard(path)
        removed.sort(key=lambda item: item[0])
        return removed


# --- reading -----------------------------------------------------------------------------------

_EOCD = struct.Struct("<4s4H2LH")
_EOCD64_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_LOCAL = struct.Struct("<4s5H3L2H")
_EOCD_SIG, _EOCD64_LOCATOR_SIG, _EOCD64_SIG = b"PK\x05\x06", b"PK\x06\x07", b"PK\x06\x06"
_CENTRAL_SIG, _LOCAL_SIG = b"PK\x01\x02", b"PK\x03\x04"
_ZIP64_EXTRA = 0x0001
_FLAG_ENCRYPTED, _FLAG_UTF8, _FLAG_STRONG_ENCRYPTION = 0x1, 0x800, 0x40
_DOS_DIRECTORY = 0x10
_MAX_LINK_BYTES = 4095

_READ_CHUNK = 256 * 1024  # compressed bytes read at a time
_OUT_CHUNK = 1 * MiB  # decompressed bytes produced at a time: bounds memory whatever the ratio
# Deflate64 has no output cap per call; one input byte can expand ~12,000-fold, so feed it little.
_DEFLATE64_CHUNK = 512


class _PositionalReader:
    """Reads at offsets from bytes, a path or a binary file; safe to share between threads."""

    def __init__(self, source: bytes | str | os.PathLike | BinaryIO):
        self._fd: int | None = None
        self._stream: BinaryIO | None = None
        self._owns_fd = False
        self._lock = threading.Lock()
        self._bytes: bytes | None = None
        if isinstance(source, bytes):
            self._bytes = source
        elif isinstance(source, (str, os.PathLike)):
            self._fd = os.open(source, os.O_RDONLY | getattr(os, "O_BINARY", 0))
            self._owns_fd = True
        else:
            try:
                fd = source.fileno()
            except (AttributeError, OSError, io.UnsupportedOperation):
                fd = None
            if fd is not None and stat.S_ISREG(os.fstat(fd).st_mode):
                if hasattr(source, "flush"):
                    source.flush()
                self._fd = fd
            else:
                self._stream = source
        if self._bytes is not None:
            self.size = len(self._bytes)
        elif self._fd is not None:
            self.size = os.fstat(self._fd).st_size
        else:
            self.size = self._stream.seek(0, io.SEEK_END)

    def read_at(self, offset: int, length: int) -> bytes:
        if self._bytes is not None:
            return self._bytes[offset : offset + length]
        if self._fd is not None:
            return os.pread(self._fd, length, offset)
        with self._lock:
            self._stream.seek(offset)
            return self._stream.read(length)

    def close(self) -> None:
        if self._owns_fd and self._fd is not None:
            os.close(self._fd)
            self._fd = None


@dataclass(frozen=True)
class Layout:
    """An archive's final tree, before any file data is read."""

    tree: Tree
    duplicates: tuple[str, ...]


class Archive:
    """One open, untrusted archive whose central directory has been parsed and checked."""

    def __init__(self, reader: _PositionalReader, name: str, limits: ZipLimits):
        self.name = name
        self.limits = limits
        self._reader = reader
        self.size = reader.size
        self.entries: list[ZipEntry] = []
        self._central_start = 0
        self._spans: dict[int, tuple[int, int]] = {}  # entry index -> (local header, data end)
        self._spans_lock = threading.Lock()
        self._read_central_directory()

    @classmethod
    def open(cls, source, *, name: str | None = None, limits: ZipLimits = ZipLimits()) -> "Archive":
        if name is None:
            name = os.fspath(source) if isinstance(source, (str, os.PathLike)) else str(
                getattr(source, "name", "<archive>")
            )
        try:
            reader = _PositionalReader(source)
        except OSError as exc:
            raise InvalidZip(f"cannot read the archive: {exc.strerror}", archive=name) from None
        try:
            return cls(reader, name, limits)
        except BaseException:
            reader.close()
            raise

    def __enter__(self) -> "Archive":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._reader.close()

    def fail(self, message: str, entry: ZipEntry | str | None = None) -> InvalidZip:
        name = entry.name if isinstance(entry, ZipEntry) else entry
        return InvalidZip(message, archive=self.name, entry=name)

    # -- central directory

    def _read_central_directory(self) -> None:
        limits = self.limits
        eocd_pos, count, cd_size, cd_offset = self._end_of_central_directory()
        base = eocd_pos - cd_size - cd_offset  # bytes prepended to the archive (self-extractors)
        if base < 0:
            raise self.fail("central directory lies outside the file")
        if count > limits.max_entries:
            raise self.fail(f"{count} entries, more than the limit of {limits.max_entries}")
        self._central_start = base + cd_offset
        directory = self._reader.read_at(self._central_start, cd_size)
        if len(directory) != cd_size:
            raise self.fail("central directory is truncated")
        pos = 0
        declared_total = 0
        # Counted while parsing, before any tree is built: the tree of an archive over budget
        # would cost memory and time in proportion to the directories it implies.
        budget = NodeBudget(limits)
        while pos < cd_size:
            if len(self.entries) >= count:
                raise self.fail("central directory holds more entries than its end record says")
            entry, pos = self._parse_central_record(directory, pos, base)
            if not budget.add(entry.path):
                raise self.fail(budget.refusal(), entry)
            declared_total += entry.size
            self.entries.append(entry)
        if len(self.entries) != count:
            raise self.fail("central directory holds fewer entries than its end record says")
        if declared_total > limits.max_unzipped_bytes:
            raise self.fail(
                f"unzips to {declared_total} bytes, more than the limit of "
                f"{limits.max_unzipped_bytes}"
            )
        if declared_total > limits.ratio_floor_bytes and declared_total > (
            limits.max_total_ratio * max(self.size, 1)
        ):
            raise self.fail(
                f"compression ratio {declared_total / max(self.size, 1):.0f}:1 is above the "
                f"limit of {limits.max_total_ratio:.0f}:1 (zip bomb?)"
            )

    def _end_of_central_directory(self) -> tuple[int, int, int, int]:
        """Return (position of the record that ends the central directory, count, size, offset)."""
        tail_start = max(0, self.size - (_EOCD.size + 0xFFFF))
        tail = self._reader.read_at(tail_start, self.size - tail_start)
        pos = tail.rfind(_EOCD_SIG)
        while pos >= 0:
            if pos + _EOCD.size <= len(tail):
                record = _EOCD.unpack_from(tail, pos)
                if pos + _EOCD.size + record[7] <= len(tail):
                    break
            pos = tail.rfind(_EOCD_SIG, 0, pos)
        else:
            raise self.fail("not a zip file (no end of central directory record)")
        _, disk, cd_disk, disk_count, count, cd_size, cd_offset, _ = record
        eocd_pos = tail_start + pos
        locator_pos = eocd_pos - _EOCD64_LOCATOR.size
        if locator_pos >= 0:
            locator = _EOCD64_LOCATOR.unpack(self._reader.read_at(locator_pos, _EOCD64_LOCATOR.size))
            if locator[0] == _EOCD64_LOCATOR_SIG:
                eocd_pos = locator_pos - _EOCD64.size
                raw = self._reader.read_at(eocd_pos, _EOCD64.size) if eocd_pos >= 0 else b""
                if len(raw) != _EOCD64.size or raw[:4] != _EOCD64_SIG:
                    raise self.fail("zip64 end of central directory record is missing")
                _, _, _, _, disk, cd_disk, disk_count, count, cd_size, cd_offset = _EOCD64.unpack(raw)
        if disk != 0 or cd_disk != 0 or disk_count != count:
            raise self.fail("multi-disk archives are not supported")
        if cd_size > self.size:
            raise self.fail("central directory is larger than the file")
        return eocd_pos, count, cd_size, cd_offset

    def _parse_central_record(self, directory: bytes, pos: int, base: int) -> tuple[ZipEntry, int]:
        index = len(self.entries)
        if pos + _CENTRAL.size > len(directory):
            raise self.fail(f"central directory record {index} is truncated")
        (sig, made_by, _, flags, method, _, _, crc, compressed_size, size,
         name_len, extra_len, comment_len, disk, _, external, offset) = _CENTRAL.unpack_from(directory, pos)
        if sig != _CENTRAL_SIG:
            raise self.fail(f"central directory record {index} is corrupt")
        start = pos + _CENTRAL.size
        end = start + name_len + extra_len + comment_len
        if end > len(directory):
            raise self.fail(f"central directory record {index} is truncated")
        raw_name = directory[start : start + name_len]
        if raw_name.isascii():
            name = raw_name.decode("ascii")  # the same in UTF-8 and cp437, and much faster
        elif flags & _FLAG_UTF8:
            try:
                name = raw_name.decode("utf-8")
            except UnicodeDecodeError:
                raise self.fail(
                    "name is flagged UTF-8 but is not valid UTF-8", raw_name.decode("cp437")
                ) from None
        else:
            name = raw_name.decode("cp437")
        if size == 0xFFFFFFFF or compressed_size == 0xFFFFFFFF or offset == 0xFFFFFFFF or disk == 0xFFFF:
            extra = directory[start + name_len : start + name_len + extra_len]
            size, compressed_size, offset, disk = self._zip64_values(
                name, extra, size, compressed_size, offset, disk
            )
        if disk != 0:
            raise self.fail("multi-disk archives are not supported", name)
        if flags & (_FLAG_ENCRYPTED | _FLAG_STRONG_ENCRYPTION):
            raise self.fail("encrypted entries are not supported", name)
        if method not in (STORED, DEFLATED, DEFLATE64):
            raise self.fail(
                f"compression method {method} is not supported (stored, deflate, Deflate64)", name
            )
        host = made_by >> 8
        try:
            path, names_dir = normalise_name(name, host)
        except ValueError as exc:
            raise self.fail(str(exc), name) from None
        kind, mode = self._kind_and_mode(name, host, external, names_dir)
        if not path:
            if kind != DIR:
                raise self.fail("entry has an empty path", name)
        if kind == DIR and size != 0:
            raise self.fail("directory entry carries data", name)
        if kind == SYMLINK and size > _MAX_LINK_BYTES:
            raise self.fail("symlink target is too long", name)
        if size > self.limits.ratio_floor_bytes and size > self.limits.max_entry_ratio * max(
            compressed_size, 1
        ):
            raise self.fail(
                f"compression ratio {size / max(compressed_size, 1):.0f}:1 is above the limit of "
                f"{self.limits.max_entry_ratio:.0f}:1 (zip bomb?)",
                name,
            )
        entry = ZipEntry(
            index=index, name=name, raw_name=raw_name, path=path, kind=kind, mode=mode,
            method=method, crc=crc, compressed_size=compressed_size, size=size,
            header_offset=base + offset,
        )
        return entry, end

    def _zip64_values(self, name, extra, size, compressed_size, offset, disk):
        pos = 0
        while pos + 4 <= len(extra):
            tag, length = struct.unpack_from("<2H", extra, pos)
            body = extra[pos + 4 : pos + 4 + length]
            pos += 4 + length
            if tag != _ZIP64_EXTRA:
                continue
            at = 0

            def take(fmt: str, width: int):
                nonlocal at
                if at + width > len(body):
                    raise self.fail("zip64 extra field is truncated", name)
                (value,) = struct.unpack_from(fmt, body, at)
                at += width
                return value

            if size == 0xFFFFFFFF:
                size = take("<Q", 8)
            if compressed_size == 0xFFFFFFFF:
                compressed_size = take("<Q", 8)
            if offset == 0xFFFFFFFF:
                offset = take("<Q", 8)
            if disk == 0xFFFF:
                disk = take("<L", 4)
            return size, compressed_size, offset, disk
        raise self.fail("zip64 sizes announced but the zip64 extra field is missing", name)

    def _kind_and_mode(self, name: str, host: int, external: int, names_dir: bool) -> tuple[str, int]:
        unix = external >> 16
        file_type = stat.S_IFMT(unix)
        if file_type == stat.S_IFLNK:
            if names_dir:
                raise self.fail("symlink entry named like a directory", name)
            return SYMLINK, 0o777
        if file_type == stat.S_IFDIR or names_dir or (
            host in _WINDOWS_HOSTS and not file_type and external & _DOS_DIRECTORY
        ):
            return DIR, 0o755
        if file_type not in (0, stat.S_IFREG):
            raise self.fail("device, fifo or socket entries are not allowed", name)
        # Only the executable bit survives: setuid, setgid, sticky and odd permissions do not.
        return FILE, 0o755 if unix & 0o111 else 0o644

    # -- layout

    def layout(self) -> Layout:
        """Overlay the entries in order (last wins), read and check symlink targets."""
        tree = Tree()
        duplicates = set()
        for entry in self.entries:
            if not entry.path:
                continue  # "./" names the root itself
            data = self._link_target(entry) if entry.kind == SYMLINK else entry
            try:
                displaced = tree.put(entry.path, Node(entry.kind, entry.index, data=data))
            except ValueError as exc:
                raise self.fail(str(exc), entry) from None
            if displaced:
                duplicates.update(path for path, node in displaced if node.explicit)
        for path, node in tree.nodes.items():
            if node.kind == SYMLINK and not link_stays_inside(path, node.data, tree.link_target):
                raise self.fail(
                    f"symlink to {node.data!r} leads outside the archive's root",
                    self.entries[node.source],
                )
        return Layout(tree, tuple(sorted(duplicates)))

    def _link_target(self, entry: ZipEntry) -> str:
        raw = b"".join(self.iter_data(entry))
        try:
            target = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail("symlink target is not valid UTF-8", entry) from None
        try:
            check_link_target(target)
        except ValueError as exc:
            raise self.fail(str(exc), entry) from None
        return target

    # -- data

    def iter_data(self, entry: ZipEntry) -> Iterator[bytes]:
        """Yield the entry's decompressed bytes; raise unless size and CRC match its header."""
        start = self._data_start(entry)
        left = entry.compressed_size
        end = start + left
        if end > self._central_start:
            raise self.fail("entry data runs into the central directory", entry)
        with self._spans_lock:
            self._spans[entry.index] = (entry.header_offset, end)
        produced = 0
        crc = 0
        for chunk in self._decompress(entry, start, left):
            produced += len(chunk)
            if produced > entry.size:
                raise self.fail(f"decompresses to more than the {entry.size} bytes its header declares", entry)
            crc = _zlib.crc32(chunk, crc)
            yield chunk
        if produced != entry.size:
            raise self.fail(f"decompresses to {produced} bytes, its header declares {entry.size}", entry)
        if crc != entry.crc:
            raise self.fail("CRC-32 mismatch (corrupt data)", entry)

    def _data_start(self, entry: ZipEntry) -> int:
        header = self._reader.read_at(entry.header_offset, _LOCAL.size + len(entry.raw_name))
        if len(header) < _LOCAL.size or header[:4] != _LOCAL_SIG:
            raise self.fail("local header is missing or corrupt", entry)
        *_, name_len, extra_len = _LOCAL.unpack_from(header)
        if header[_LOCAL.size : _LOCAL.size + name_len] != entry.raw_name:
            # Tools disagree on which name to believe; an archive must not mean two things.
            raise self.fail("local header name differs from the central directory", entry)
        return entry.header_offset + _LOCAL.size + name_len + extra_len

    def _read(self, pos: int, length: int, entry: ZipEntry) -> bytes:
        data = self._reader.read_at(pos, length)
        if len(data) != length:
            raise self.fail("archive is truncated", entry)
        return data

    def _decompress(self, entry: ZipEntry, pos: int, left: int) -> Iterator[bytes]:
        if entry.method == STORED:
            if entry.compressed_size != entry.size:
                raise self.fail("stored entry's sizes disagree", entry)
            while left:
                chunk = self._read(pos, min(left, _READ_CHUNK), entry)
                pos += len(chunk)
                left -= len(chunk)
                yield chunk
        elif entry.method == DEFLATED and IgzipDecompressor is not None:
            inflater = IgzipDecompressor(flag=DECOMP_DEFLATE)
            # It allocates the whole output limit up front: ask for no more than the entry should
            # still produce (one byte more shows a lie).
            wanted = entry.size + 1
            try:
                while not inflater.eof:
                    if inflater.needs_input:
                        if not left:
                            raise self.fail("compressed data ends early", entry)
                        data = self._read(pos, min(left, _READ_CHUNK), entry)
                        pos += len(data)
                        left -= len(data)
                    else:
                        data = b""  # it holds input it has not inflated yet
                    out = inflater.decompress(data, max(1, min(_OUT_CHUNK, wanted)))
                    if out:
                        wanted -= len(out)
                        yield out
                    elif not data and not inflater.eof:
                        raise self.fail("corrupt deflate data (no progress)", entry)
            except IsalError as exc:
                raise self.fail(f"corrupt deflate data ({exc})", entry) from None
        elif entry.method == DEFLATED:
            inflater = zlib.decompressobj(-15)
            try:
                while not inflater.eof:
                    if inflater.unconsumed_tail:
                        data = inflater.unconsumed_tail
                    elif left:
                        data = self._read(pos, min(left, _READ_CHUNK), entry)
                        pos += len(data)
                        left -= len(data)
                    else:
                        data = b""
                    out = inflater.decompress(data, _OUT_CHUNK)
                    if not out and not data:
                        raise self.fail("compressed data ends early", entry)
                    if out:
                        yield out
            except zlib.error as exc:
                raise self.fail(f"corrupt deflate data ({exc})", entry) from None
        else:
            # Imported on first use: the package imports all of zipfile, which start-up can spare.
            from zipfile_deflate64 import deflate64

            inflater = deflate64.Deflate64()
            try:
                while not inflater.eof:
                    if not left:
                        raise self.fail("compressed data ends early", entry)
                    data = self._read(pos, min(left, _DEFLATE64_CHUNK), entry)
                    pos += len(data)
                    left -= len(data)
                    out = inflater.decompress(data)
                    if out:
                        yield out
            except (ValueError, RuntimeError, OSError) as exc:
                raise self.fail(f"corrupt Deflate64 data ({exc})", entry) from None

    def summary(self, layout: Layout) -> ZipSummary:
        """Check what only all entries together show, then summarise. Call after reading all."""
        missing = [e for e in self.entries if e.index not in self._spans]
        if missing:
            raise self.fail("summary requested before every entry was read", missing[0])
        spans = sorted(self._spans.items(), key=lambda item: item[1])
        previous_end = 0
        for index, (header, end) in spans:
            if header < previous_end:
                # Overlapping entries are how "better zip bombs" reuse one compressed stream.
                raise self.fail("entry overlaps another entry's data", self.entries[index])
            previous_end = end
        counts = {FILE: 0, DIR: 0, SYMLINK: 0}
        for node in layout.tree.nodes.values():
            counts[node.kind] += 1
        ratios = [
            e.size / max(e.compressed_size, 1)
            for e in self.entries
            if e.size > self.limits.ratio_floor_bytes
        ]
        return ZipSummary(
            entries=len(self.entries),
            files=counts[FILE],
            dirs=counts[DIR],
            symlinks=counts[SYMLINK],
            unzipped_bytes=sum(e.size for e in self.entries),
            archive_bytes=self.size,
            duplicates=layout.duplicates,
            max_entry_ratio=round(max(ratios, default=0.0), 3),
        )


def enforce_limits(summary: ZipSummary, limits: ZipLimits, archive: str) -> None:
    """Hold a summary recorded earlier (under other limits, perhaps) to these limits."""
    if summary.entries > limits.max_entries:
        raise InvalidZip(
            f"{summary.entries} entries, more than the limit of {limits.max_entries}", archive=archive
        )
    if summary.files + summary.dirs + summary.symlinks > limits.max_entries:
        raise InvalidZip(
            f"more than the limit of {limits.max_entries} files, directories and symlinks", archive=archive
        )
    if summary.unzipped_bytes > limits.max_unzipped_bytes:
        raise InvalidZip(
            f"unzips to {summary.unzipped_bytes} bytes, more than the limit of "
            f"{limits.max_unzipped_bytes}",
            archive=archive,
        )
    if summary.max_entry_ratio > limits.max_entry_ratio:
        raise InvalidZip(
            f"an entry's compression ratio {summary.max_entry_ratio:.0f}:1 is above the limit",
            archive=archive,
        )
    if summary.unzipped_bytes > limits.ratio_floor_bytes and summary.unzipped_bytes > (
        limits.max_total_ratio * max(summary.archive_bytes, 1)
    ):
        raise InvalidZip("compression ratio is above the limit (zip bomb?)", archive=archive)
