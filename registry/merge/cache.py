"""The content-addressed cache of extracted archives.

Layout under the cache directory (one entry per distinct archive, keyed by its sha256):

    merge/v1/extracted/<sha256>/tree/          the archive's final tree: directories 0755, files
                                               0644 or 0755, symlinks as stored; duplicate names
                                               already resolved
    merge/v1/extracted/<sha256>/manifest.json  the archive's summary and every node (path, type,
                                               mode, size, sha256 or symlink target)
    merge/v1/.tmp/                             extractions in progress
    merge/v1/digests/<key>                     sha256 of an input file, keyed by its path, device,
                                               inode, size, mtime and ctime (any write changes
                                               ctime), so an unchanged archive is not hashed again

An entry appears by one atomic rename of a complete temporary directory, so a reader never sees
a partial extraction: a crash leaves only a temporary directory, which later runs remove, and two
processes extracting the same archive at once both succeed, one of them keeping its copy. Merged
bundles are hard links into `tree/`: editing a bundle's file in place would edit the cache, so
merge with `copy=True` for a tree you mean to modify.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from registry.archive.entries import ZipSummary

FORMAT = 1
_STALE_TMP_SECONDS = 24 * 3600  # older than any extraction could take: its process died


def cache_root(cache_dir: Path) -> Path:
    return Path(cache_dir) / "merge" / f"v{FORMAT}"


def extracted_path(cache_dir: Path, sha256: str) -> Path:
    """The extracted tree of the archive with this sha256 (present once `merge` has cached it)."""
    return cache_root(cache_dir) / "extracted" / sha256 / "tree"


class CachedNode(NamedTuple):
    path: str
    kind: str
    mode: int
    size: int
    digest: str  # sha256 of a file's bytes, or a symlink's target; "" for directories
    explicit: int  # 1 for directories an entry named, 0 for those only implied by paths below


@dataclass(frozen=True)
class CachedArchive:
    sha256: str
    summary: ZipSummary
    nodes: list[CachedNode]
    tree: Path


class ExtractionCache:
    def __init__(self, cache_dir: Path):
        self.root = cache_root(cache_dir)
        self.cache_dir = Path(cache_dir)

    def load(self, sha256: str) -> CachedArchive | None:
        entry = self.root / "extracted" / sha256
        try:
            document = json.loads((entry / "manifest.json").read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            # Unreadable (a crash of the whole machine can do that): set it aside, extract again.
            self._discard(entry)
            return None
        nodes = list(map(CachedNode._make, document["nodes"]))
        return CachedArchive(
            sha256, ZipSummary.from_json(document["summary"]), nodes, entry / "tree"
        )

    def remembered_digest(self, path: Path) -> tuple[str | None, str]:
        """(the sha256 recorded for this exact file or None, the key to record it under)."""
        info = os.stat(path)
        identity = (
            f"{os.path.abspath(path)}\0{info.st_dev}\0{info.st_ino}\0{info.st_size}"
            f"\0{info.st_mtime_ns}\0{info.st_ctime_ns}"
        )
        key = hashlib.sha256(identity.encode("utf-8", "surrogateescape")).hexdigest()
        try:
            recorded = (self.root / "digests" / key).read_text(encoding="ascii").strip()
        except (OSError, ValueError):
            return None, key
        return (recorded if len(recorded) == 64 else None), key

    def remember_digest(self, key: str, sha256: str) -> None:
        directory = self.root / "digests"
        directory.mkdir(parents=True, exist_ok=True)
        temporary = directory / f".{key}.{os.getpid()}-{uuid.uuid4().hex[:8]}"
        temporary.write_text(sha256, encoding="ascii")
        os.replace(temporary, directory / key)

    def staging(self, sha256: str) -> Path:
        tmp = self.root / ".tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        path = tmp / f"{sha256}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        (path / "tree").mkdir(parents=True)
        return path

    def publish(
        self, staged: Path, sha256: str, summary: ZipSummary, nodes: list[CachedNode]
    ) -> CachedArchive:
        document = {
            "format": FORMAT,
            "sha256": sha256,
            "summary": summary.to_json(),
            "nodes": [[n.path, n.kind, n.mode, n.size, n.digest, int(n.explicit)] for n in nodes],
        }
        (staged / "manifest.json").write_text(json.dumps(document, separators=(",", ":")))
        final = self.root / "extracted" / sha256
        final.parent.mkdir(exist_ok=True)
        try:
            os.rename(staged, final)
        except OSError:
            if not (final / "manifest.json").exists():
                raise
            # Another process published the same archive first; its copy is as good as ours.
            shutil.rmtree(staged, ignore_errors=True)
        return CachedArchive(sha256, summary, nodes, final / "tree")

    def abandon(self, staged: Path) -> None:
        shutil.rmtree(staged, ignore_errors=True)

    def sweep(self) -> None:
        """Remove temporary directories left by processes that died mid-extraction."""
        tmp = self.root / ".tmp"
        try:
            children = list(tmp.iterdir())
        except FileNotFoundError:
            return
        cutoff = time.time() - _STALE_TMP_SECONDS
        for child in children:
            try:
                if child.stat().st_mtime < cutoff:
                    shutil.rmtree(child, ignore_errors=True)
            except FileNotFoundError:
                pass

    def _discard(self, entry: Path) -> None:
        aside = self.staging("discarded")
        shutil.rmtree(aside)
        try:
            os.rename(entry, aside)
        except OSError:
            return
        shutil.rmtree(aside, ignore_errors=True)
