"""What a central directory record is once its name is proven safe, and what a checked archive
holds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

FILE, DIR, SYMLINK = "file", "dir", "symlink"


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
    def from_json(cls, data: dict) -> ZipSummary:
        return cls(**{**data, "duplicates": tuple(data["duplicates"])})
