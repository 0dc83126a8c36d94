"""Zip a directory deterministically: the same tree always gives the same bytes (and CodeSha256).

Entries are sorted, timestamps fixed at 1980-01-01 (the zip epoch), permission bits and symlinks
kept, owner and platform details dropped.
"""

from __future__ import annotations

import os
import shutil
import stat
import zipfile
from pathlib import Path

from registry.client.errors import ClientError

_EPOCH = (1980, 1, 1, 0, 0, 0)
_UNIX = 3
_MSDOS_DIRECTORY = 0x10


def zip_directory(root: Path, out: Path) -> None:
    root = Path(root)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for rel, path in _entries(root):
            st = path.lstat()
            if stat.S_ISDIR(st.st_mode):
                info = _info(rel + "/", stat.S_IFDIR | (st.st_mode & 0o777))
                info.external_attr |= _MSDOS_DIRECTORY
                zf.writestr(info, b"")
            elif stat.S_ISLNK(st.st_mode):
                info = _info(rel, stat.S_IFLNK | 0o777)
                zf.writestr(info, os.readlink(path).encode())
            elif stat.S_ISREG(st.st_mode):
                info = _info(rel, stat.S_IFREG | (st.st_mode & 0o777))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.file_size = st.st_size  # lets zipfile pick zip64 up front for big files
                with open(path, "rb") as src, zf.open(info, "w") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
            else:
                raise ClientError(
                    f"{path}: is a device, socket or fifo, which a layer cannot hold; "
                    "remove it and publish again"
                )


def _entries(root: Path):
    """(archive name, path) for everything under root, sorted by archive name."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        for name in dirnames + filenames:
            path = base / name
            found.append((path.relative_to(root).as_posix(), path))
    return sorted(found)


def _info(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.create_system = _UNIX
    info.external_attr = mode << 16
    return info
