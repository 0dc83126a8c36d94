"""`strata install`: resolve, fetch, verify and merge layers, in order, into a target directory.

The target receives what Lambda puts in /opt (the layers overlaid in the order given, later wins)
plus the merge engine's bundle.json (whose paths start with "opt/", i.e. the target itself).
Nothing is written to the target until every layer is resolved, downloaded and verified, and the
new tree replaces the old one in a single rename.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from registry.client.cache import BlobCache
from registry.client.errors import RequirementError, TargetError
from registry.client.obtain import obtain
from registry.client.requirements import Requirement
from registry.client.resolve import ResolvedLayer, Resolver
from registry.client.speculate import Memo, Pick, cached_paths, merge_while_resolving
from registry.client.target import (
    BUNDLE_FILE,
    check_target,
    read_bundle,
    staging_dir,
    swap_into_place,
)
from registry.errors import InvalidZip, StrataError

_OPT = "opt/"


@dataclass
class InstallResult:
    layers: list[ResolvedLayer]
    target: Path
    changed: bool
    downloaded: int = 0
    from_cache: int = 0
    tree_digest: str | None = None


def check_require_hashes(requirements: list[Requirement]) -> None:
    """pip's hash-checking mode: every requirement pinned and hashed, or nothing happens."""
    problems = []
    for req in requirements:
        if req.pinned_version is None:
            problems.append(f"{req.describe()}: not pinned (use NAME==N or a layer version ARN)")
        if not req.hashes:
            problems.append(f"{req.describe()}: no --hash=sha256:...")
    if problems:
        raise RequirementError(
            "--require-hashes needs every requirement pinned and hashed; "
            "`strata lock` writes such a file:\n  " + "\n  ".join(problems)
        )


@contextmanager
def cache_or_scratch(cache: BlobCache | None):
    if cache is not None:
        yield cache
        return
    with tempfile.TemporaryDirectory(prefix="strata-nocache-") as tmp:
        yield BlobCache(Path(tmp))


def install(
    requirements: list[Requirement],
    target: Path,
    *,
    resolver: Resolver,
    cache: BlobCache | None,
    jobs: int,
    progress,
    require_hashes: bool = False,
    copy: bool = False,
) -> InstallResult:
    _check_requirements(requirements, require_hashes)
    target = Path(target)
    check_target(target)
    current = read_bundle(target)
    with cache_or_scratch(cache) as blobs:
        blobs.ensure()
        scratch = staging_dir(target)
        leftovers: list[Path] = []
        try:
            memo = Memo(blobs, *resolver.origin, requirements, resolver.filters)
            remembered = memo.recall()
            out = scratch / "speculative"
            layers, digest = _resolve_speculating(
                requirements, resolver, remembered, current, blobs, out, jobs=jobs, copy=copy
            )
            if current is not None and _same_install(current, layers, target):
                return InstallResult(layers, target, changed=False, tree_digest=_digest(current))
            if digest is not None:
                downloaded, from_cache = 0, len({layer.sha256 for layer in layers})
            else:
                got = obtain(layers, blobs, jobs=jobs, progress=progress, refresh=resolver.refresh)
                out, downloaded, from_cache = scratch / "bundle", got.downloaded, got.from_cache
                digest = _merge(
                    [Pick.of(layer) for layer in layers],
                    got.paths,
                    out,
                    blobs.layers_dir,
                    copy=copy,
                )
            if remembered != [Pick.of(layer) for layer in layers]:
                memo.remember(layers)
            leftovers = _swap_in(out, target, scratch)
        finally:
            _remove_scratch(scratch, leftovers)
    return InstallResult(
        layers,
        target,
        changed=True,
        downloaded=downloaded,
        from_cache=from_cache,
        tree_digest=digest,
    )


def _check_requirements(requirements: list[Requirement], require_hashes: bool) -> None:
    if not requirements:
        raise RequirementError("nothing to install: name at least one requirement or pass -r FILE")
    from registry.limits import MAX_LAYERS

    if len(requirements) > MAX_LAYERS:
        raise RequirementError(
            f"{len(requirements)} layers requested; Lambda merges at most {MAX_LAYERS} into /opt, "
            "so install at most five"
        )
    if require_hashes:
        check_require_hashes(requirements)


def _resolve_speculating(
    requirements: list[Requirement],
    resolver: Resolver,
    remembered: list[Pick] | None,
    current: dict | None,
    blobs: BlobCache,
    out: Path,
    *,
    jobs: int,
    copy: bool,
) -> tuple[list[ResolvedLayer], str | None]:
    """The server's answer, and the tree digest of `out` when the remembered answer, merged there
    while the server was asked, turned out right (None when it was not worth trying, or wrong)."""
    paths = _speculation_inputs(remembered, current, blobs)
    if paths is None:
        return resolver.resolve_all(requirements, jobs=jobs), None
    return merge_while_resolving(
        remembered,
        lambda picks, out_dir: _merge(picks, paths, out_dir, blobs.layers_dir, copy=copy),
        out,
        # Pinned layers are asked for all at once and the rest one after another: parallel
        # requests save less than their threads cost the merge in contention for the GIL.
        lambda: resolver.resolve_all(requirements, jobs=1),
    )


def _swap_in(out: Path, target: Path, scratch: Path) -> list[Path]:
    """Put the merged layers, with their bundle.json, in place of `target`; the directories left
    empty in the scratch space."""
    tree = out / "opt"
    tree.mkdir(exist_ok=True)  # an install of empty layers still yields a directory
    os.replace(out / BUNDLE_FILE, tree / BUNDLE_FILE)
    swap_into_place(tree, target, scratch)
    return [out / "task", out]  # a merge of layers alone leaves task/ empty


def _remove_scratch(scratch: Path, leftovers: list[Path]) -> None:
    # A good install leaves only empty directories behind. Removing them by name costs a fraction
    # of rmtree, which opens and lists every directory it walks; anything else falls back to it.
    try:
        for path in (*leftovers, scratch):
            os.rmdir(path)
    except OSError:
        shutil.rmtree(scratch, ignore_errors=True)


def _speculation_inputs(
    guess: list[Pick] | None, current: dict | None, blobs: BlobCache
) -> list[Path] | None:
    """The cached zips of the remembered answer when merging it ahead of the server can pay off."""
    if not guess:
        return None
    if current is not None and [i.get("sha256") for i in current.get("inputs") or []] == [
        p.sha256 for p in guess
    ]:
        return None  # most likely a no-op: nothing to merge
    return cached_paths(guess, blobs)


def _merge(
    picks: list[Pick], paths: list[Path], out_dir: Path, cache_dir: Path, *, copy: bool
) -> str:
    """Merge into `out_dir`; the tree digest. The bundle document is dropped here: kept alive,
    its thousands of objects would be walked by the next cyclic collection."""
    from registry.merge import MergeInput, merge

    inputs = [
        MergeInput(path=path, name=pick.label, arn=pick.version_arn, sha256=pick.sha256)
        for pick, path in zip(picks, paths, strict=True)
    ]
    try:
        # Without copy the tree is hard links into the cache (fast, no extra space): editing a
        # file in place would edit the cache, which is what --copy is for.
        return merge(inputs, out_dir, cache_dir=cache_dir, copy=copy)["tree_sha256"]
    except InvalidZip as exc:
        raise TargetError(f"cannot merge the layers: {exc.message}") from None
    except StrataError:
        raise
    except OSError as exc:
        raise TargetError(f"cannot merge the layers into {out_dir.parent}: {exc}") from None


def _same_install(bundle: dict, layers: list[ResolvedLayer], target: Path) -> bool:
    recorded = [i.get("sha256") for i in bundle.get("inputs") or [] if isinstance(i, dict)]
    if recorded != [layer.sha256 for layer in layers]:
        return False
    # Cheap tamper guard: every file the bundle lists is still there with its size. Bundle paths
    # start with "opt/", which is the target itself.
    for entry in bundle.get("entries") or []:
        if entry.get("type") != "file":
            continue
        path = target / entry.get("path", "").removeprefix(_OPT)
        try:
            if path.lstat().st_size != entry.get("size"):
                return False
        except OSError:
            return False
    return True


def _digest(bundle: dict) -> str | None:
    return bundle.get("tree_sha256")
