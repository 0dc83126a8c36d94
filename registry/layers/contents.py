"""What a layer version's zip holds: its final tree of files, directories and symlinks, read from
the central directory by the safe archive reader (registry/archive), never by extracting it, and
the packages it installs (registry/inventory).

A version's bytes never change, so both are computed once per blob digest, in one pass, and kept
as JSON in the cache directory; later reads cost one small file read.
"""

from __future__ import annotations

import fcntl
import shutil
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import NamedTuple

from registry import cache_documents
from registry.archive.entries import DIR, SYMLINK
from registry.archive.reader import Archive
from registry.inventory.packages import Package, find_packages
from storage.base import BlobStore

_FORMAT = 2
# Listings of recently shown blobs kept decoded in memory: a page of a large layer would
# otherwise spend most of its time decoding the same JSON again.
_KEPT_IN_MEMORY = 8


class FileEntry(NamedTuple):
    path: str  # relative POSIX path inside the layer (/opt once attached)
    kind: str  # file | dir | symlink
    mode: int  # permission bits, as the archive's final tree applies them
    size: int  # uncompressed bytes of a file; 0 for the others
    target: str | None = None  # a symlink's target


class LayerContents:
    def __init__(self, store: BlobStore, cache_dir: Path):
        self._store = store
        self._dir = Path(cache_dir) / "layer-contents"
        self._memory: OrderedDict[str, tuple[list[FileEntry], list[Package]]] = OrderedDict()
        self._lock = threading.Lock()

    def cached(self, digest: str) -> bool:
        return (self._dir / f"{digest}.json").exists()

    def files(self, digest: str) -> list[FileEntry]:
        """Every path of the blob's final tree, sorted by path."""
        return self._decoded(digest)[0]

    def packages(self, digest: str) -> list[Package]:
        """The Python distributions and Node.js packages the blob installs."""
        return self._decoded(digest)[1]

    def _decoded(self, digest: str) -> tuple[list[FileEntry], list[Package]]:
        found = self._remembered(digest)
        if found is not None:
            return found
        data = cache_documents.read(self._dir / f"{digest}.json", _FORMAT)
        if data is None:
            return self._computed(digest)
        return self._remember(digest, _decode(data))

    def _computed(self, digest: str) -> tuple[list[FileEntry], list[Package]]:
        # One computation per digest at a time, across threads and worker processes: a page
        # asking while the version's listing is computed in the background (as it is published)
        # waits for it rather than reading the zip again.
        cached = self._dir / f"{digest}.json"
        self._dir.mkdir(parents=True, exist_ok=True)
        lock_path = self._dir / f".{digest}.lock"
        with open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                # Computed meanwhile by this process (kept in memory) or by another (on disk).
                found = self._remembered(digest)
                if found is not None:
                    return found
                data = cache_documents.read(cached, _FORMAT)
                if data is not None:
                    return self._remember(digest, _decode(data))
                found = self._read(digest)
                cache_documents.keep(
                    cached,
                    {
                        "format": _FORMAT,
                        "files": [_row(f) for f in found[0]],
                        "packages": [p.to_json() for p in found[1]],
                    },
                )
                # Remembered before the lock is released, so a page of this process that waited
                # for it need not decode the file just written.
                return self._remember(digest, found)
            finally:
                # Whoever waits on the unlinked file finds the listing cached once it has the lock.
                lock_path.unlink(missing_ok=True)

    def _remembered(self, digest: str) -> tuple[list[FileEntry], list[Package]] | None:
        with self._lock:
            found = self._memory.get(digest)
            if found is not None:
                self._memory.move_to_end(digest)
            return found

    def _remember(
        self, digest: str, found: tuple[list[FileEntry], list[Package]]
    ) -> tuple[list[FileEntry], list[Package]]:
        with self._lock:
            self._memory[digest] = found
            while len(self._memory) > _KEPT_IN_MEMORY:
                self._memory.popitem(last=False)
        return found

    def _read(self, digest: str) -> tuple[list[FileEntry], list[Package]]:
        self._dir.mkdir(parents=True, exist_ok=True)
        # A positional reader needs a seekable file: an object store's stream is copied first.
        with tempfile.TemporaryFile(dir=self._dir) as local:
            with self._store.open(digest) as stream:
                shutil.copyfileobj(stream, local, 1024 * 1024)
            local.flush()
            with Archive.open(local, name=digest) as archive:
                layout = archive.layout()
                entries = archive.entries
                files = []
                for path, node in layout.tree.nodes.items():
                    entry = entries[node.source] if node.explicit else None
                    mode = entry.mode if entry is not None else 0o755
                    if node.kind == SYMLINK:
                        files.append(FileEntry(path, SYMLINK, 0o777, 0, node.data))
                    elif node.kind == DIR:
                        files.append(FileEntry(path, DIR, mode, 0))
                    else:
                        files.append(FileEntry(path, node.kind, mode, entry.size))
                packages = find_packages(archive, layout)
        files.sort(key=lambda f: f.path)
        return files, packages


def _decode(data: dict) -> tuple[list[FileEntry], list[Package]]:
    return (
        [FileEntry(*row) for row in data["files"]],
        [Package.from_json(item) for item in data["packages"]],
    )


def _row(entry: FileEntry) -> list:
    return [entry.path, entry.kind, entry.mode, entry.size, entry.target]
