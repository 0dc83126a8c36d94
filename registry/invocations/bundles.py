"""Merged bundles of function versions, built once per distinct (code, ordered layers) and kept.

Layout under the root directory:

    archives/<sha256>.zip   a blob fetched from the blob store (code zip or layer zip)
    bundles/<key>/          the merge engine's output (task/, opt/, bundle.json); <key> is the
                            sha256 of the ordered input digests, so versions with the same code
                            and layers share one bundle
    .tmp/                   archives and bundles being written

Everything appears by an atomic rename of a complete temporary file or directory, so several
app processes may build the same bundle at once: one copy wins, the other is dropped.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

from registry.merge import MergeInput, merge
from storage.base import BlobStore


def bundle_key(code_digest: str, layer_digests: list[str]) -> str:
    return hashlib.sha256("\n".join([code_digest, *layer_digests]).encode()).hexdigest()


class BundleCache:
    def __init__(
        self,
        store: BlobStore,
        root: Path,
        *,
        merge_cache_dir: Path,
        on_lookup: Callable[[bool], None] | None = None,
    ):
        self._store = store
        # Told of every lookup: whether the bundle was there already (a hit) or is merged now.
        self._on_lookup = on_lookup or (lambda hit: None)
        self._root = Path(root)
        self._merge_cache = Path(merge_cache_dir)
        self._tmp = self._root / ".tmp"
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def bundle(self, code_digest: str, layers: list[dict], *, runtime: str | None = None) -> Path:
        """The bundle directory of this code and these layers (each {digest, arn}), built if
        missing. Raises InvalidZip if the inputs cannot be merged."""
        key = bundle_key(code_digest, [layer["digest"] for layer in layers])
        target = self._root / "bundles" / key
        if target.is_dir():
            self._on_lookup(True)
            return target
        with self._lock(key):
            if target.is_dir():
                self._on_lookup(True)
                return target
            self._on_lookup(False)
            inputs = [
                MergeInput(
                    self._archive(layer["digest"]),
                    name=layer["arn"].split(":")[-2],
                    arn=layer["arn"],
                    sha256=layer["digest"],
                )
                for layer in layers
            ]
            function = MergeInput(self._archive(code_digest), name="function", sha256=code_digest)
            building = self._tmp / f"bundle-{uuid.uuid4().hex}"
            self._tmp.mkdir(parents=True, exist_ok=True)
            try:
                merge(
                    inputs,
                    building,
                    function=function,
                    cache_dir=self._merge_cache,
                    runtime=runtime,
                )
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.rename(building, target)
                except OSError:
                    if not target.is_dir():
                        raise
            finally:
                shutil.rmtree(building, ignore_errors=True)
        return target

    def _archive(self, digest: str) -> Path:
        path = self._root / "archives" / f"{digest}.zip"
        if path.is_file():
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp.mkdir(parents=True, exist_ok=True)
        partial = self._tmp / f"{digest}.{uuid.uuid4().hex}"
        try:
            with self._store.open(digest) as source, open(partial, "wb") as sink:
                shutil.copyfileobj(source, sink, 1024 * 1024)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
        return path

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())
