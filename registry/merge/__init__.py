"""The merge engine: a function's code and its ordered layers as one tree, like Lambda builds it.

`merge` writes BUNDLE/task (the function code, Lambda's /var/task), BUNDLE/opt (the layers in
order, later wins, Lambda's /opt) and BUNDLE/bundle.json, and returns that document. `plan`
answers which input provides each path from the central directories alone. Neither needs a
server: the registry, the executor and the client all call them.

Each distinct archive (by sha256) is extracted once into a cache (see `registry.merge.cache` for
its layout; `extracted_path` locates one archive's tree); bundles are hard links into it.
"""

from __future__ import annotations

import gc
import hashlib
import threading
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from registry.archive.entries import SYMLINK
from registry.archive.limits import NodeBudget, ZipLimits, enforce_limits
from registry.archive.reader import Archive
from registry.archive.tree import Node
from registry.errors import InvalidParameterValue, InvalidZip
from registry.limits import MAX_LAYERS
from registry.merge.cache import CachedArchive, ExtractionCache, extracted_path
from registry.merge.extract import extract_all
from registry.merge.manifest import InputRecord, build_document, dumps
from registry.merge.materialise import OutputExists, check_output, write_bundle
from registry.merge.overlay import Shadowed, overlay
from registry.parallel import run_parallel

__all__ = [
    "MAX_LAYERS",
    "MergeInput",
    "OutputExists",
    "Plan",
    "Shadowed",
    "default_cache_dir",
    "extracted_path",
    "merge",
    "plan",
]


@dataclass(frozen=True)
class MergeInput:
    path: Path
    name: str | None = None  # e.g. the layer name, shown in bundle.json (default: file name)
    arn: str | None = None  # the layer version ARN when known
    sha256: str | None = None  # hex; computed when None

    @property
    def label(self) -> str:
        return self.name or Path(self.path).name


def default_cache_dir() -> Path:
    from registry.config import Settings

    return Settings.from_env().cache_dir


def merge(
    layers: Sequence[MergeInput],
    out_dir: Path,
    *,
    function: MergeInput | None = None,
    cache_dir: Path | None = None,
    limits: ZipLimits = ZipLimits(),
    copy: bool = False,
    allow_overwrite: bool = False,
    runtime: str | None = None,
    workers: int | None = None,
) -> dict:
    """Build the bundle at `out_dir` and return its bundle.json content.

    Raises `InvalidZip` (naming the archive and entry) for any unreadable or unsafe input and
    `OutputExists` if `out_dir` exists without `allow_overwrite`; on error `out_dir` is untouched.
    """
    with _cyclic_gc_paused():
        inputs = _ordered_inputs(layers, function)
        check_output(Path(out_dir), allow_overwrite)
        cache = ExtractionCache(Path(cache_dir) if cache_dir is not None else default_cache_dir())
        cache.sweep()
        digests = _digests(inputs, cache)
        roots = _roots(inputs, function)
        cached = _cached_inputs(inputs, digests, roots, cache, limits, workers)
        records = [
            InputRecord(*_identity(i, len(layers)), item.label, item.arn, digests[i], cached[i])
            for i, item in enumerate(inputs)
        ]
        names = [item.label for item in inputs]
        opt = overlay([_nodes(cached[i], i) for i in range(len(layers))], names)
        # The function is overlaid alone (into task/), keeping its index among the inputs.
        function_nodes = [_nodes(cached[-1], len(layers))] if function is not None else []
        task = overlay([[] for _ in layers] + function_nodes, names)
        document, encoded_entries = build_document(records, {"opt": opt, "task": task}, runtime)
        trees = [entry.tree for entry in cached]
        write_bundle(
            Path(out_dir),
            {"opt": (opt, trees), "task": (task, trees)},
            dumps(document, encoded_entries),
            copy=copy,
            allow_overwrite=allow_overwrite,
        )
        return document


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_resume = True


@contextmanager
def _cyclic_gc_paused():
    """A merge allocates tens of thousands of objects and no reference cycles; the collections
    they trigger would walk the whole heap (a server's, or botocore's models) for nothing, which
    costs a warm merge over 10%. Counted, so concurrent merges resume collection only when the
    last one ends, and only if it was on before the first began."""
    global _gc_pauses, _gc_resume
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_resume = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_resume:
                gc.enable()


@dataclass(frozen=True)
class Plan:
    """Which input provides each path, computed without extracting anything."""

    winners: dict[str, tuple[str, int]]  # "opt/python/x.py" -> (type, input index)
    shadowed: list[Shadowed]  # paths relative to opt/ (layers) or task/ (function)


def plan(
    layers: Sequence[MergeInput],
    *,
    function: MergeInput | None = None,
    limits: ZipLimits = ZipLimits(),
) -> Plan:
    """The winner and shadow map, from the central directories (and symlink targets) only."""
    inputs = _ordered_inputs(layers, function)
    names = [item.label for item in inputs]
    layouts = []
    budget = NodeBudget(limits)
    roots = _roots(inputs, function)
    for index, item in enumerate(inputs):
        with Archive.open(item.path, name=item.label, limits=limits) as archive:
            _count_nodes(budget, roots[index], (entry.path for entry in archive.entries))
            layout = archive.layout()
        layouts.append(
            [
                (path, Node(node.kind, index, node.explicit, node.data))
                for path, node in sorted(layout.tree.nodes.items())
            ]
        )
    opt = overlay(layouts[: len(layers)], names)
    winners = {f"opt/{path}": (node.kind, node.source) for path, node in opt.nodes.items()}
    shadowed = list(opt.shadowed)
    if function is not None:
        task = overlay([[] for _ in layers] + [layouts[-1]], names)
        winners.update(
            {f"task/{path}": (node.kind, node.source) for path, node in task.nodes.items()}
        )
        shadowed.extend(task.shadowed)
    return Plan(winners, shadowed)


def _ordered_inputs(layers: Sequence[MergeInput], function: MergeInput | None) -> list[MergeInput]:
    if len(layers) > MAX_LAYERS:
        raise InvalidParameterValue(
            f"{len(layers)} layers given; a function can use at most {MAX_LAYERS}"
        )
    return [*layers, function] if function is not None else list(layers)


def _roots(inputs: list[MergeInput], function: MergeInput | None) -> list[str]:
    """The tree each input is overlaid into: the layers into opt/, the function into task/."""
    roots = ["opt"] * len(inputs)
    if function is not None:
        roots[-1] = "task"
    return roots


def _count_nodes(budget: NodeBudget, root: str, paths) -> None:
    """One node budget holds for the union of all inputs, as for one archive: layers each within
    it could otherwise add up to a bundle several times over it."""
    for path in paths:
        if not budget.add(path, root):
            raise InvalidZip(f"function and layers together hold {budget.refusal()}")


def _identity(index: int, layer_count: int) -> tuple[str, str]:
    """(id, role) of an input: layers are numbered from 1 in merge order, as AWS shows them."""
    return ("function", "function") if index == layer_count else (f"layer:{index + 1}", "layer")


def _digests(inputs: list[MergeInput], cache: ExtractionCache) -> list[str]:
    digests: list[str] = [item.sha256.lower() if item.sha256 else "" for item in inputs]
    keys: dict[int, str] = {}
    try:
        for index, item in enumerate(inputs):
            if not digests[index]:
                recorded, keys[index] = cache.remembered_digest(item.path)
                digests[index] = recorded or ""
    except OSError as exc:
        raise InvalidZip(
            f"cannot read the archive: {exc.strerror}", archive=inputs[index].label
        ) from None

    def compute(index: int) -> None:
        hasher = hashlib.sha256()
        try:
            with open(inputs[index].path, "rb") as handle:
                while chunk := handle.read(1 << 20):
                    hasher.update(chunk)
        except OSError as exc:
            raise InvalidZip(
                f"cannot read the archive: {exc.strerror}", archive=inputs[index].label
            ) from None
        digests[index] = hasher.hexdigest()
        cache.remember_digest(keys[index], digests[index])

    # Hashing only what the cache does not remember: threads would cost more than a lookup.
    unknown = [index for index, digest in enumerate(digests) if not digest]
    run_parallel(unknown, compute, min(4, len(unknown)))
    return digests


def _cached_inputs(
    inputs: list[MergeInput],
    digests: list[str],
    roots: list[str],
    cache: ExtractionCache,
    limits: ZipLimits,
    workers: int | None,
) -> list[CachedArchive]:
    found: dict[str, CachedArchive | None] = {
        sha: cache.load(sha) for sha in dict.fromkeys(digests)
    }
    declared = sum(found[sha].summary.unzipped_bytes for sha in digests if found[sha] is not None)
    missing = [i for i, sha in enumerate(digests) if found[sha] is None and digests.index(sha) == i]
    archives: list[tuple[Archive, str]] = []
    try:
        for i in missing:
            archives.append(
                (Archive.open(inputs[i].path, name=inputs[i].label, limits=limits), digests[i])
            )
        declared += sum(
            sum(entry.size for entry in archive.entries) * digests.count(sha)
            for archive, sha in archives
        )
        # Refuse before extracting anything when the headers already add up to too much; the
        # real byte counts are held to those headers during extraction.
        if declared > limits.max_unzipped_bytes:
            raise InvalidZip(
                f"function and layers unzip to {declared} bytes, more than the limit of "
                f"{limits.max_unzipped_bytes}"
            )
        opened = {sha: archive for archive, sha in archives}
        budget = NodeBudget(limits)
        for root, sha in zip(roots, digests, strict=True):
            if found[sha] is not None:
                _count_nodes(budget, root, (node.path for node in found[sha].nodes))
            else:
                _count_nodes(budget, root, (entry.path for entry in opened[sha].entries))
        for entry in extract_all(archives, cache, workers=workers):
            found[entry.sha256] = entry
    finally:
        for archive, _ in archives:
            archive.close()
    for item, sha in zip(inputs, digests, strict=True):
        enforce_limits(found[sha].summary, limits, item.label)
    return [found[sha] for sha in digests]


def _nodes(cached: CachedArchive, index: int) -> list[tuple[str, Node]]:
    return [
        (n.path, Node(n.kind, index, n.explicit, n.digest if n.kind == SYMLINK else n))
        for n in cached.nodes
    ]
