"""Safe reading of untrusted zip archives: the central directory and the local headers.

Nothing an archive says is trusted. Names are normalised and checked before anything is written;
the central directory's sizes and counts are only used to refuse work early, and every entry is
then decompressed and held to them exactly (real size equal to the declared size, CRC-32 equal),
so the caps of limits.py hold for the bytes really produced. The central directory is parsed here,
not by `zipfile`, so that a hostile archive is refused before it can cost memory, and so that
entries can be read concurrently with positional reads.
"""

from __future__ import annotations

import io
import os
import stat
import struct
import threading
from dataclasses import dataclass
from typing import BinaryIO

from registry.archive.entries import DIR, FILE, SYMLINK, ZipEntry, ZipSummary
from registry.archive.inflate import DEFLATE64, DEFLATED, STORED, _Inflating
from registry.archive.limits import NodeBudget, ZipLimits
from registry.archive.names import (
    _WINDOWS_HOSTS,
    check_link_target,
    link_stays_inside,
    normalise_name,
)
from registry.archive.tree import Node, Tree
from registry.errors import InvalidZip
from registry.parallel import run_parallel


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


class Archive(_Inflating):
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
    def open(cls, source, *, name: str | None = None, limits: ZipLimits = ZipLimits()) -> Archive:
        if name is None:
            name = (
                os.fspath(source)
                if isinstance(source, (str, os.PathLike))
                else str(getattr(source, "name", "<archive>"))
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

    def __enter__(self) -> Archive:
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
            locator = _EOCD64_LOCATOR.unpack(
                self._reader.read_at(locator_pos, _EOCD64_LOCATOR.size)
            )
            if locator[0] == _EOCD64_LOCATOR_SIG:
                eocd_pos = locator_pos - _EOCD64.size
                raw = self._reader.read_at(eocd_pos, _EOCD64.size) if eocd_pos >= 0 else b""
                if len(raw) != _EOCD64.size or raw[:4] != _EOCD64_SIG:
                    raise self.fail("zip64 end of central directory record is missing")
                _, _, _, _, disk, cd_disk, disk_count, count, cd_size, cd_offset = _EOCD64.unpack(
                    raw
                )
        if disk != 0 or cd_disk != 0 or disk_count != count:
            raise self.fail("multi-disk archives are not supported")
        if cd_size > self.size:
            raise self.fail("central directory is larger than the file")
        return eocd_pos, count, cd_size, cd_offset

    def _parse_central_record(self, directory: bytes, pos: int, base: int) -> tuple[ZipEntry, int]:
        index = len(self.entries)
        if pos + _CENTRAL.size > len(directory):
            raise self.fail(f"central directory record {index} is truncated")
        (
            sig,
            made_by,
            _,
            flags,
            method,
            _,
            _,
            crc,
            compressed_size,
            size,
            name_len,
            extra_len,
            comment_len,
            disk,
            _,
            external,
            offset,
        ) = _CENTRAL.unpack_from(directory, pos)
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
        if (
            size == 0xFFFFFFFF
            or compressed_size == 0xFFFFFFFF
            or offset == 0xFFFFFFFF
            or disk == 0xFFFF
        ):
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
            index=index,
            name=name,
            raw_name=raw_name,
            path=path,
            kind=kind,
            mode=mode,
            method=method,
            crc=crc,
            compressed_size=compressed_size,
            size=size,
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

    def _kind_and_mode(
        self, name: str, host: int, external: int, names_dir: bool
    ) -> tuple[str, int]:
        unix = external >> 16
        file_type = stat.S_IFMT(unix)
        if file_type == stat.S_IFLNK:
            if names_dir:
                raise self.fail("symlink entry named like a directory", name)
            return SYMLINK, 0o777
        if (
            file_type == stat.S_IFDIR
            or names_dir
            or (host in _WINDOWS_HOSTS and not file_type and external & _DOS_DIRECTORY)
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

    def _data_start(self, entry: ZipEntry) -> int:
        header = self._reader.read_at(entry.header_offset, _LOCAL.size + len(entry.raw_name))
        if len(header) < _LOCAL.size or header[:4] != _LOCAL_SIG:
            raise self.fail("local header is missing or corrupt", entry)
        *_, name_len, extra_len = _LOCAL.unpack_from(header)
        if header[_LOCAL.size : _LOCAL.size + name_len] != entry.raw_name:
            # Tools disagree on which name to believe; an archive must not mean two things.
            raise self.fail("local header name differs from the central directory", entry)
        return entry.header_offset + _LOCAL.size + name_len + extra_len

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
