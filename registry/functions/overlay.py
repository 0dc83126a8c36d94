"""How a function's layers overlay: which input each path of the merged /opt and /var/task comes
from, every path a later input shadowed, and package-level conflicts: a package two layers ship in
different versions, and a Python distribution's requirement the merged layers do not meet.

Computed once per combination of code and layers and kept as JSON in the cache directory. A
function's bundle preparation has it computed in the background (overlay_warming.py), from the
bundle.json the merge engine just wrote; a page that finds none computes it with the merge
engine's `plan`, from the central directories alone (nothing is extracted). Both give the same
report: the merged tree's files, symlinks and empty directories (the others are implied by the
paths below them), and the shadowed paths sorted by path.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import tempfile
from bisect import bisect_left
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from registry import cache_documents
from registry.archive.entries import DIR
from registry.functions.views import FunctionView
from registry.inventory.packages import PYPI, Package
from registry.invocations.bundles import bundle_key
from registry.merge import MergeInput, plan
from registry.merge.manifest import BUNDLE_FILE
from registry.merge.manifest import FORMAT as BUNDLE_FORMAT
from storage.base import BlobStore

_FORMAT = 4  # 4: the inputs' names and ARNs are no longer kept


@dataclass(frozen=True)
class OverlayReport:
    inputs: list[dict]  # {"name", "arn"} in merge order, the function last
    # (path under opt/ or task/, kind, input index) of files, symlinks and empty directories
    entries: list[tuple[str, str, int]]
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
        """The overlay of this code under these layers (each {digest, arn}, in merge order).
        The cache is keyed by bytes alone and shared by every function whose code and layers
        hold the same bytes, whichever account: the inputs' names and ARNs are never read from
        it, but from the layers asked about."""
        return _report(self._load(code_digest, layers), _inputs(layers))

    def cached(self, code_digest: str, layers: list[dict]) -> bool:
        return self._cache_path(code_digest, layers).exists()

    def warm(self, code_digest: str, layers: list[dict], bundle: Path | None = None) -> None:
        """Computes and caches the overlay unless it is cached already; from the merged
        `bundle` directory of this code and these layers when there is one at hand."""
        if not self.cached(code_digest, layers):
            self._load(code_digest, layers, bundle)

    def _cache_path(self, code_digest: str, layers: list[dict]) -> Path:
        return self._dir / f"{bundle_key(code_digest, [layer['digest'] for layer in layers])}.json"

    def _load(self, code_digest: str, layers: list[dict], bundle: Path | None = None) -> dict:
        cached = self._cache_path(code_digest, layers)
        data = cache_documents.read(cached, _FORMAT)
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
                data = cache_documents.read(cached, _FORMAT)
                if data is None:
                    data = self._compute(code_digest, layers, bundle)
                    cache_documents.keep(cached, data)
                return data
            finally:
                # Whoever waits on the unlinked file finds the overlay cached once it has the lock.
                lock_path.unlink(missing_ok=True)

    def _compute(self, code_digest: str, layers: list[dict], bundle: Path | None) -> dict:
        merged = _from_bundle(bundle, len(layers)) if bundle is not None else None
        entries, shadowed = merged or self._planned(code_digest, layers, _inputs(layers))
        per_layer = [self._packages_of(layer["digest"]) for layer in layers]
        return {
            "format": _FORMAT,
            "entries": entries,
            "shadowed": shadowed,
            "conflicts": _conflicts(per_layer),
            "unmet": _unmet(per_layer),
        }

    def _planned(
        self, code_digest: str, layers: list[dict], inputs: list[dict]
    ) -> tuple[list[list], list[dict]]:
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
        winners = sorted([path, kind, source] for path, (kind, source) in found.winners.items())
        paths = [path for path, _kind, _source in winners]
        entries = [entry for entry in winners if entry[1] != DIR or not _has_below(paths, entry[0])]
        shadowed = [
            {"path": s.path, "kind": s.kind, "lost": s.lost, "won": s.won, "by": s.by}
            for s in found.shadowed
        ]
        return entries, sorted(shadowed, key=_shadowed_order)

    def _local(self, digest: str, path: Path) -> Path:
        with self._store.open(digest) as source, open(path, "wb") as sink:
            shutil.copyfileobj(source, sink, 1024 * 1024)
        return path


def _from_bundle(bundle: Path, layer_count: int) -> tuple[list[list], list[dict]] | None:
    """The entries and shadowed paths the merge engine recorded in the bundle's bundle.json;
    None when it cannot be read (the bundle was removed meanwhile, say)."""
    try:
        document = json.loads((bundle / BUNDLE_FILE).read_text())
        if document["format"] != BUNDLE_FORMAT:
            return None
        index = {"function": layer_count}
        index.update({f"layer:{at + 1}": at for at in range(layer_count)})
        entries = [[e["path"], e["type"], index[e["source"]]] for e in document["entries"]]
        shadowed = [
            {
                # The plan's paths are relative to the root (opt/ or task/) they were lost in.
                "path": s["path"].partition("/")[2],
                "kind": s["type"],
                "lost": index[s["lost"]],
                "won": index[s["won"]],
                "by": s["by"].partition("/")[2],
            }
            for s in document["shadowed"]
        ]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return entries, sorted(shadowed, key=_shadowed_order)


def _has_below(sorted_paths: list[str], path: str) -> bool:
    below = bisect_left(sorted_paths, path + "/")
    return below < len(sorted_paths) and sorted_paths[below].startswith(path + "/")


def _shadowed_order(shadowed: dict) -> tuple:
    return (shadowed["path"], shadowed["lost"])


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


def _inputs(layers: list[dict]) -> list[dict]:
    inputs = [{"name": layer["arn"].split(":")[-2], "arn": layer["arn"]} for layer in layers]
    return [*inputs, {"name": "function", "arn": None}]


def _report(data: dict, inputs: list[dict]) -> OverlayReport:
    return OverlayReport(
        inputs,
        [tuple(entry) for entry in data["entries"]],
        data["shadowed"],
        data["conflicts"],
        data["unmet"],
    )
