"""How a function's layers overlay: which input each path of the merged /opt and /var/task comes
from, every path a later input shadowed, and package-level conflicts: a package two layers ship in
different versions, and a Python distribution's requirement the merged layers do not meet.

Computed by the merge engine's `plan` from the central directories alone (nothing is extracted),
once per combination of code and layers, and kept as JSON in the cache directory. A function's
bundle preparation has it computed in the background (registry/functions/overlay_warming.py), so
the first page showing the overlay usually only reads it.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from registry.functions.views import FunctionView
from registry.inventory.packages import PYPI, Package
from registry.invocations.bundles import bundle_key
from registry.merge import MergeInput, plan
from storage.base import BlobStore

_FORMAT = 2


@dataclass(frozen=True)
class OverlayReport:
    inputs: list[dict]  # {"name", "arn"} in merge order, the function last
    entries: list[tuple[str, str, int]]  # (path under opt/ or task/, kind, input index)
    shadowed: list[dict]  # {"path", "kind", "lost", "won", "by"}, input indexes
    conflicts: list[dict]  # {"ecosystem", "name", "ships": [{"input", "version", "path"}]}
    # {"input", "name", "version", "requires", "found", "found_in"}; found None: in no layer
    unmet: list[dict]


class FunctionOverlays:
    def __init__(self, store: BlobStore, cache_dir: Path, packages_of):
        """`packages_of(digest)` lists the packages a layer blob installs."""
        self._store = store
        self._dir = Path(cache_dir) / "function-overlays"
        self._packages_of = packages_of

    def of(self, view: FunctionView) -> OverlayReport:
        return self.report(view.code_digest, view.layers)

    def report(self, code_digest: str, layers: list[dict]) -> OverlayReport:
        """The overlay of this code under these layers (each {digest, arn}, in merge order)."""
        return _report(self._load(code_digest, layers))

    def cached(self, code_digest: str, layers: list[dict]) -> bool:
        return self._cache_path(code_digest, layers).exists()

    def warm(self, code_digest: str, layers: list[dict]) -> None:
        """Computes and caches the overlay unless it is cached already."""
        if not self.cached(code_digest, layers):
            self._load(code_digest, layers)

    def _cache_path(self, code_digest: str, layers: list[dict]) -> Path:
        return self._dir / f"{bundle_key(code_digest, [layer['digest'] for layer in layers])}.json"

    def _load(self, code_digest: str, layers: list[dict]) -> dict:
        cached = self._cache_path(code_digest, layers)
        data = _read_cache(cached)
        if data is not None:
            return data
        # One computation per combination at a time, across threads and worker processes: a
        # page asking while the overlay is computed in the background (as the function's bundle
        # is prepared) waits for it rather than planning the merge again.
        self._dir.mkdir(parents=True, exist_ok=True)
        lock_path = cached.with_name(f".{cached.stem}.lock")
        with open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                data = _read_cache(cached)
                if data is None:
                    data = self._compute(code_digest, layers)
                    self._keep(cached, data)
                return data
            finally:
                # Whoever waits on the unlinked file finds the overlay cached once it has the lock.
                lock_path.unlink(missing_ok=True)

    def _compute(self, code_digest: str, layers: list[dict]) -> dict:
        inputs = [{"name": layer["arn"].split(":")[-2], "arn": layer["arn"]} for layer in layers]
        inputs.append({"name": "function", "arn": None})
        with tempfile.TemporaryDirectory(dir=self._dir) as scratch:
            paths = [
                self._local(layer["digest"], Path(scratch) / f"{i}.zip")
                for i, layer in enumerate(layers)
            ]
            code = self._local(code_digest, Path(scratch) / "function.zip")
            found = plan(
                [MergeInput(p, name=i["name"]) for p, i in zip(paths, inputs, strict=False)],
                function=MergeInput(code, name="function"),
            )
        per_layer = [self._packages_of(layer["digest"]) for layer in layers]
        entries = sorted([path, kind, source] for path, (kind, source) in found.winners.items())
        shadowed = [
            {"path": s.path, "kind": s.kind, "lost": s.lost, "won": s.won, "by": s.by}
            for s in found.shadowed
        ]
        return {
            "format": _FORMAT,
            "inputs": inputs,
            "entries": entries,
            "shadowed": shadowed,
            "conflicts": _conflicts(per_layer),
            "unmet": _unmet(per_layer),
        }

    def _local(self, digest: str, path: Path) -> Path:
        with self._store.open(digest) as source, open(path, "wb") as sink:
            shutil.copyfileobj(source, sink, 1024 * 1024)
        return path

    def _keep(self, path: Path, data: dict) -> None:
        fd, temporary = tempfile.mkstemp(dir=self._dir, prefix=".overlay-")
        try:
            with os.fdopen(fd, "w") as out:
                # dumps, not dump: only a whole-document encode uses the C encoder.
                out.write(json.dumps(data, separators=(",", ":")))
            os.replace(temporary, path)
        except OSError:
            Path(temporary).unlink(missing_ok=True)


def _conflicts(per_layer: list[list[Package]]) -> list[dict]:
    """Distributions or packages that two layers ship in different versions (by normalised
    name), each with every layer's version and where it sits."""
    shipped: dict[tuple[str, str], list[dict]] = {}
    for index, packages in enumerate(per_layer):
        for package in packages:
            key = (package.ecosystem, _normalised(package))
            shipped.setdefault(key, []).append(
                {"input": index, "version": package.version, "path": package.path}
            )
    return [
        {"ecosystem": ecosystem, "name": name, "ships": ships}
        for (ecosystem, name), ships in sorted(shipped.items())
        if len({ship["version"] for ship in ships}) > 1
    ]


def _unmet(per_layer: list[list[Package]]) -> list[dict]:
    """Requirements of the winning Python distributions (of each name, the one the latest layer
    ships: its files overlay the earlier ones') that the winning distributions do not satisfy.
    A requirement under a marker (an extra, a Python version or platform) is not judged: it
    depends on how the function runs. One in no layer is reported too: the runtime may still
    provide it."""
    winning: dict[str, tuple[Package, int]] = {}
    for index, packages in enumerate(per_layer):
        for package in packages:
            if package.ecosystem == PYPI:
                winning[_normalised(package)] = (package, index)
    unmet = []
    for _name, (package, index) in sorted(winning.items()):
        for line in package.requires:
            try:
                requirement = Requirement(line)
            except InvalidRequirement:
                continue
            if requirement.marker is not None:
                continue
            found = winning.get(canonicalize_name(requirement.name))
            if found is not None and _satisfies(found[0].version, requirement):
                continue
            unmet.append(
                {
                    "input": index,
                    "name": package.name,
                    "version": package.version,
                    "requires": str(requirement),
                    "found": found[0].version if found else None,
                    "found_in": found[1] if found else None,
                }
            )
    return unmet


def _satisfies(version: str, requirement: Requirement) -> bool:
    try:
        return requirement.specifier.contains(Version(version), prereleases=True)
    except InvalidVersion:
        return False


def _normalised(package: Package) -> str:
    if package.ecosystem == PYPI:
        return canonicalize_name(package.name)
    return package.name


def _read_cache(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
        if data.get("format") == _FORMAT:
            return data
    except (OSError, ValueError, AttributeError):
        pass
    return None


def _report(data: dict) -> OverlayReport:
    return OverlayReport(
        data["inputs"],
        [tuple(entry) for entry in data["entries"]],
        data["shadowed"],
        data["conflicts"],
        data["unmet"],
    )
