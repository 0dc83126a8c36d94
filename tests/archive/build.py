"""Builds real zip archives for tests, including the malformed ones real tools would not write."""

from __future__ import annotations

import io
import stat
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

UNIX, WINDOWS = 3, 0


@dataclass(frozen=True)
class File:
    name: str
    data: bytes = b""
    mode: int = 0o644
    host: int = UNIX
    compress: int = zipfile.ZIP_DEFLATED


@dataclass(frozen=True)
class Dir:
    name: str
    mode: int = 0o755
    host: int = UNIX


@dataclass(frozen=True)
class Link:
    name: str
    target: str


@dataclass(frozen=True)
class Special:
    """An entry whose Unix file type is a device, fifo or socket."""

    name: str
    file_type: int


def zip_bytes(*entries, streamed: bool = False) -> bytes:
    """Archive bytes holding `entries` in order; `streamed` writes data descriptors."""
    buffer = io.BytesIO()
    target = _Unseekable(buffer) if streamed else buffer
    with zipfile.ZipFile(target, "w") as archive:
        for entry in entries:
            info = zipfile.ZipInfo(
                entry.name if not isinstance(entry, Dir) else entry.name.rstrip("/") + "/"
            )
            info.date_time = (2024, 1, 1, 0, 0, 0)
            if isinstance(entry, File):
                info.create_system = entry.host
                info.external_attr = (stat.S_IFREG | entry.mode) << 16
                info.compress_type = entry.compress
                archive.writestr(info, entry.data)
            elif isinstance(entry, Dir):
                info.create_system = entry.host
                info.external_attr = ((stat.S_IFDIR | entry.mode) << 16) | 0x10
                archive.writestr(info, b"")
            elif isinstance(entry, Link):
                info.create_system = UNIX
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                archive.writestr(info, entry.target.encode())
            else:
                info.create_system = UNIX
                info.external_attr = (entry.file_type | 0o644) << 16
                archive.writestr(info, b"")
    return buffer.getvalue()


def make_zip(path: Path, *entries, streamed: bool = False) -> Path:
    path.write_bytes(zip_bytes(*entries, streamed=streamed))
    return path


class _Unseekable(io.RawIOBase):
    def __init__(self, sink: io.BytesIO):
        self._sink = sink

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        return self._sink.write(data)

    def flush(self) -> None:
        pass


CENTRAL = struct.Struct("<4s6H3L5H2L")


def central_offsets(data: bytes) -> list[int]:
    """Offsets of the central directory records, in order."""
    eocd = data.rindex(b"PK\x05\x06")
    _, _, _, _, count, _, cd_offset, _ = struct.unpack_from("<4s4H2LH", data, eocd)
    offsets, pos = [], cd_offset
    for _ in range(count):
        offsets.append(pos)
        fields = CENTRAL.unpack_from(data, pos)
        pos += CENTRAL.size + fields[10] + fields[11] + fields[12]
    return offsets


def patch_central(data: bytes, index: int, **fields) -> bytes:
    """Rewrite fields of one central directory record (flags, size, crc, offset, made_by)."""
    layout = {
        "made_by": (4, "<H"),
        "flags": (8, "<H"),
        "crc": (16, "<L"),
        "compressed_size": (20, "<L"),
        "size": (24, "<L"),
        "offset": (42, "<L"),
    }
    out = bytearray(data)
    pos = central_offsets(data)[index]
    for name, value in fields.items():
        at, fmt = layout[name]
        struct.pack_into(fmt, out, pos + at, value)
    return bytes(out)


def replace_name_bytes(data: bytes, old: bytes, new: bytes) -> bytes:
    """Swap raw name bytes (same length) in local and central headers alike."""
    assert len(old) == len(new)
    return data.replace(old, new)


def with_zip64_end_record(data: bytes) -> bytes:
    """Rewrite the end of the archive to use the zip64 end records, as big archives do."""
    eocd = data.rindex(b"PK\x05\x06")
    _, _, _, _, count, cd_size, cd_offset, _ = struct.unpack_from("<4s4H2LH", data, eocd)
    zip64_pos = eocd
    record = struct.pack(
        "<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, cd_size, cd_offset
    )
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, zip64_pos, 1)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return data[:eocd] + record + locator + end
