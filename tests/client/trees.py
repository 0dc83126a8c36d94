"""Compare directory trees the way a user would: paths, kinds, modes and contents."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path


def snapshot(root: Path, *, skip: tuple[str, ...] = ("bundle.json",)) -> dict[str, tuple]:
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if rel in skip:
                continue
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                found[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                found[rel] = ("dir",)
            else:
                found[rel] = (
                    "file",
                    stat.S_IMODE(st.st_mode),
                    hashlib.sha256(path.read_bytes()).hexdigest(),
                )
    return found


def tree_digest(bundle_dir: Path) -> str:
    bundle = json.loads((bundle_dir / "bundle.json").read_text())
    return bundle["tree_sha256"]
