"""Get verified zips for resolved layers: from the cache when it still holds them, else download."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from registry.client.cache import BlobCache
from registry.client.download import (
    DEFAULT_RETRY,
    LinkRefused,
    RetryPolicy,
    fetch,
    make_pool,
    require_http,
)
from registry.client.errors import HashMismatch
from registry.client.resolve import ResolvedLayer

Refresh = Callable[[ResolvedLayer], ResolvedLayer]


@dataclass
class Obtained:
    paths: list[Path]  # one per resolved layer, in order
    downloaded: int
    from_cache: int


def obtain(
    layers: list[ResolvedLayer],
    cache: BlobCache,
    *,
    jobs: int,
    progress,
    policy: RetryPolicy = DEFAULT_RETRY,
    refresh: Refresh | None = None,
) -> Obtained:
    """`refresh` re-resolves a layer whose link was refused: links expire after ten minutes, which
    a queue of big downloads can outlast."""
    cache.ensure()
    paths, missing = _look_up(layers, cache)
    from_cache = len(paths)
    for layer in missing.values():
        require_http(layer.location, layer.requirement.describe())
    if missing:
        paths.update(_download(missing, cache, jobs, progress, policy, refresh))
    return Obtained(
        paths=[paths[layer.sha256] for layer in layers],
        downloaded=len(missing),
        from_cache=from_cache,
    )


def _look_up(
    layers: list[ResolvedLayer], cache: BlobCache
) -> tuple[dict[str, Path], dict[str, ResolvedLayer]]:
    """By sha256: the zips the cache holds, and the layers it does not (each zip once)."""
    paths: dict[str, Path] = {}
    missing: dict[str, ResolvedLayer] = {}
    for layer in layers:
        if layer.sha256 in paths or layer.sha256 in missing:
            continue
        hit = cache.lookup(layer.sha256, layer.size if layer.size >= 0 else None)
        if hit:
            paths[layer.sha256] = hit
        else:
            missing[layer.sha256] = layer
    return paths, missing


def _download(
    missing: dict[str, ResolvedLayer],
    cache: BlobCache,
    jobs: int,
    progress,
    policy: RetryPolicy,
    refresh: Refresh | None,
) -> dict[str, Path]:
    """Download every missing zip in parallel into the cache; their cached paths by sha256."""
    pool = make_pool(jobs)

    def _fetch(layer: ResolvedLayer, temp: Path, advance) -> None:
        fetch(
            layer.location,
            temp,
            sha256=layer.sha256,
            size=layer.size if layer.size >= 0 else None,
            subject=layer.requirement.describe(),
            pool=pool,
            on_bytes=advance,
            policy=policy,
        )

    def download(layer: ResolvedLayer) -> tuple[str, Path]:
        temp = cache.new_temp()
        try:
            with progress.task(layer.label, layer.size) as advance:
                try:
                    _fetch(layer, temp, advance)
                except LinkRefused:
                    if refresh is None:
                        raise
                    _fetch(_refreshed(layer, refresh), temp, advance)
            return layer.sha256, cache.admit(temp, layer.sha256)
        finally:
            temp.unlink(missing_ok=True)

    paths = {}
    with progress, ThreadPoolExecutor(max_workers=max(1, min(jobs, len(missing)))) as executor:
        for sha256, path in executor.map(download, missing.values()):
            paths[sha256] = path
    pool.clear()
    return paths


def _refreshed(layer: ResolvedLayer, refresh: Refresh) -> ResolvedLayer:
    fresh = refresh(layer)
    if fresh.sha256 != layer.sha256:
        raise HashMismatch(
            f"{layer.requirement.describe()}: {layer.version_arn} changed while it was being "
            f"installed (sha256 {layer.sha256}, now {fresh.sha256}); run the command again"
        )
    return fresh
