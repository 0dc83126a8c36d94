"""The local cache: layer zips keyed by sha256, plus the merge engine's extracted layers.

Layout under the cache root (STRATA_CACHE_DIR, else the platform's user cache dir + "strata"):
    blobs/sha256/<2 hex>/<64 hex>.zip    verified layer zips
    blobs/sha256/<2 hex>/<64 hex>.stat   size and mtime recorded when the zip was verified
    layers/                              the merge engine's extraction cache
    tmp/                                 partial downloads (same filesystem, so entry is a rename)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from registry.client.errors import TargetError

_CHUNK = 1 << 20


def default_cache_root() -> Path:
    override = os.environ.get("STRATA_CACHE_DIR")
    if override:
        return Path(override)
    home = Path.home()
    if sys.platform == "darwin":
        base = home / "Library" / "Caches"
    elif os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache")
    return base / "strata"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class CacheInfo:
    root: Path
    blobs: int
    blob_bytes: int
    extracted_bytes: int


class BlobCache:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.blob_dir = self.root / "blobs" / "sha256"
        self.layers_dir = self.root / "layers"
        self.tmp_dir = self.root / "tmp"

    def ensure(self) -> BlobCache:
        try:
            for d in (self.blob_dir, self.layers_dir, self.tmp_dir):
                d.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TargetError(
                f"cannot create the cache in {self.root}: {exc.strerror}; "
                "set STRATA_CACHE_DIR to a writable directory or pass --no-cache"
            ) from None
        return self

    def path_for(self, sha256: str) -> Path:
        return self.blob_dir / sha256[:2] / f"{sha256}.zip"

    def lookup(self, sha256: str, size: int | None) -> Path | None:
        """The cached zip if it still holds these bytes, else None.

        The cheap check is size plus the stat recorded at verification time; a zip whose stat
        changed since is re-hashed once and dropped if it no longer matches.
        """
        path = self.path_for(sha256)
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        if size is not None and st.st_size != size:
            self._drop(path)
            return None
        if self._read_stamp(path) == _stamp(st):
            return path
        if sha256_file(path) != sha256:
            self._drop(path)
            return None
        self._write_stamp(path)
        return path

    def new_temp(self) -> Path:
        fd, name = tempfile.mkstemp(dir=self.tmp_dir, suffix=".part")
        os.close(fd)
        return Path(name)

    def admit(self, temp: Path, sha256: str) -> Path:
        """Move a verified download into the cache (atomic: readers never see a partial zip)."""
        path = self.path_for(sha256)
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, path)
        self._write_stamp(path)
        return path

    def info(self) -> CacheInfo:
        blobs = list(self.blob_dir.glob("*/*.zip")) if self.blob_dir.is_dir() else []
        return CacheInfo(
            root=self.root,
            blobs=len(blobs),
            blob_bytes=sum(p.stat().st_size for p in blobs),
            extracted_bytes=_tree_bytes(self.layers_dir),
        )

    def purge(self) -> int:
        """Delete everything in the cache; return the bytes freed."""
        freed = _tree_bytes(self.root)
        if self.root.exists():
            shutil.rmtree(self.root)
        return freed

    @staticmethod
    def _stamp_path(path: Path) -> Path:
        return path.with_suffix(".stat")

    def _read_stamp(self, path: Path):
        try:
            return tuple(json.loads(self._stamp_path(path).read_text()))
        except (OSError, ValueError):
            return None

    def _write_stamp(self, path: Path) -> None:
        stamp = self._stamp_path(path)
        tmp = stamp.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(list(_stamp(path.stat()))))
        os.replace(tmp, stamp)

    def _drop(self, path: Path) -> None:
        for p in (path, self._stamp_path(path)):
            p.unlink(missing_ok=True)


def _stamp(st: os.stat_result) -> tuple[int, int, int]:
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def _tree_bytes(root: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total
