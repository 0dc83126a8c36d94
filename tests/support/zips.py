"""Building real zip archives for tests, including the malformed kinds an attacker would send."""

from __future__ import annotations

import io
import stat
import zipfile


def make_zip(
    files: dict[str, bytes | str],
    *,
    compression=zipfile.ZIP_DEFLATED,
    modes: dict[str, int] | None = None,
    links: dict[str, str] | None = None,
) -> bytes:
    """Regular files (a name ending in / is a directory entry), then `links`: symlinks, each
    name to its target."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = compression
            kind, mode = (stat.S_IFDIR, 0o755) if name.endswith("/") else (stat.S_IFREG, 0o644)
            info.external_attr = (kind | (modes or {}).get(name, mode)) << 16
            archive.writestr(info, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return buffer.getvalue()


def layer_zip(module: str = "mod", body: str = "VALUE = 1\n") -> bytes:
    """A minimal Python layer: python/<module>.py."""
    return make_zip({f"python/{module}.py": body})


def symlink_zip(name: str, target: str) -> bytes:
    return make_zip({}, compression=zipfile.ZIP_STORED, links={name: target})


def special_file_zip(name: str, kind: int = stat.S_IFCHR) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
        info.create_system = 3
        info.external_attr = (kind | 0o644) << 16
        archive.writestr(info, b"")
    return buffer.getvalue()


def bomb_zip(size: int = 300 * 1024 * 1024) -> bytes:
    """One entry of `size` zero bytes: tiny compressed, huge uncompressed."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        info = zipfile.ZipInfo("python/zeros.bin", date_time=(2024, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w", force_zip64=True) as entry:
            chunk = bytes(1024 * 1024)
            for _ in range(size // len(chunk)):
                entry.write(chunk)
    return buffer.getvalue()


def lying_size_zip() -> bytes:
    """A zip whose central directory claims a tiny uncompressed size for a large entry."""
    data = bytearray(make_zip({"python/big.bin": bytes(2 * 1024 * 1024)}))
    # Patch the uncompressed size in the central directory header (offset 24 of each record).
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    local = data.find(b"PK\x03\x04")
    data[local + 22 : local + 26] = (10).to_bytes(4, "little")
    return bytes(data)
