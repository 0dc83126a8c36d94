"""`strata download`: verified layer zips in a directory, with an index of what they are."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from registry.client.cache import BlobCache
from registry.client.errors import TargetError
from registry.client.install import cache_or_scratch
from registry.client.obtain import Obtained, obtain
from registry.client.resolve import ResolvedLayer

INDEX_FILE = "layers.json"


def download_to(
    layers: list[ResolvedLayer],
    dest: Path,
    *,
    cache: BlobCache | None,
    jobs: int,
    progress,
    refresh=None,
) -> Obtained:
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TargetError(f"cannot create {dest}: {exc.strerror}; choose another -d") from None
    with cache_or_scratch(cache) as blobs:
        got = obtain(layers, blobs, jobs=jobs, progress=progress, refresh=refresh)
        index = []
        for layer, path in zip(layers, got.paths, strict=True):
            name = f"{layer.name}-{layer.version}.zip"
            _place(path, dest / name)
            index.append(
                {
                    "requirement": layer.requirement.text,
                    "layer_version_arn": layer.version_arn,
                    "version": layer.version,
                    "sha256": layer.sha256,
                    "size": layer.size,
                    "file": name,
                }
            )
    try:
        (dest / INDEX_FILE).write_text(json.dumps({"layers": index}, indent=2) + "\n")
    except OSError as exc:
        raise TargetError(f"cannot write {dest / INDEX_FILE}: {exc.strerror}") from None
    return got


def _place(src: Path, dest: Path) -> None:
    # A copy, not a link: the user may edit or delete what they downloaded without harming the
    # cache.
    tmp = dest.with_name(f".{dest.name}.part")
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise TargetError(f"cannot write {dest}: {exc.strerror}") from None
