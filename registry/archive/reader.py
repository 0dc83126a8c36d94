"""Safe reading of untrusted zip archives: one open Archive, its local headers and its layout.

Nothing an archive says is trusted. Names are normalised and checked before anything is written;
the central directory's sizes and counts are only used to refuse work early, and every entry is
then decompressed and held to them exactly (real size equal to the declared size, CRC-32 equal),
so the caps of limits.py hold for the bytes really produced. The central directory is parsed by
central.py, not by `zipfile`, so that a hostile archive is refused before it can cost memory, and
so that entries can be read concurrently with positional reads (positional.py).
"""

from __future__ import annotations

import os
import struct
import threading
from dataclasses import dataclass
from typing import BinaryIO

from registry.archive.central import _CentralDirectory
from registry.archive.entries import DIR, FILE, SYMLINK, ZipEntry, ZipSummary
from registry.archive.inflate import _Inflating
from registry.archive.limits import ZipLimits
from registry.archive.names import check_link_target, link_stays_inside
from registry.archive.positional import PositionalReader
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

_LOCAL = struct.Struct("<4s5H3L2H")
_LOCAL_SIG = b"PK\x03\x04"


@dataclass(frozen=True)
class Layout:
    """An archive's final tree, before any file data is read."""

    tree: Tree
    duplicates: tuple[str, ...]


class Archive(_CentralDirectory, _Inflating):
    """One open, untrusted archive whose central directory has been parsed and checked."""

    def __init__(self, reader: PositionalReader, name: str, limits: ZipLimits):
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
            reader = PositionalReader(source)
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
