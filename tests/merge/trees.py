"""Reading a directory tree back as data, to compare trees in assertions."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def read_tree(root: Path) -> dict[str, tuple]:
    """{relative path: ("file", mode, bytes) | ("dir", mode) | ("symlink", target)}."""
    tree = {}
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(directory, name)
            relative = path.relative_to(root).as_posix()
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                tree[relative] = ("symlink", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                tree[relative] = ("dir", stat.S_IMODE(info.st_mode))
            else:
                tree[relative] = ("file", stat.S_IMODE(info.st_mode), path.read_bytes())
    return tree


def files_only(tree: dict[str, tuple]) -> dict[str, tuple]:
    return {path: value for path, value in tree.items() if value[0] != "dir"}
