"""The install target: checks before any work, and an all-or-nothing swap at the end.

A target is either absent, empty, or a previous `strata install` (it has a bundle.json); anything
else is refused so that an install never mixes its tree with unrelated files.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from registry.client.errors import TargetError

BUNDLE_FILE = "bundle.json"


def check_target(target: Path) -> None:
    if target.exists() and not target.is_dir():
        raise TargetError(f"target {target} exists and is not a directory; choose another -t")
    if target.is_dir() and any(target.iterdir()) and not (target / BUNDLE_FILE).is_file():
        raise TargetError(
            f"target {target} is not empty and was not made by `strata install`; "
            "choose a new or empty directory (an install replaces the whole tree)"
        )
    parent = _existing_ancestor(target)
    if not parent.is_dir():
        raise TargetError(
            f"target {target} cannot be created: {parent} is a file; choose another -t"
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise TargetError(
            f"target {target} is not writable ({parent} denies writes); choose another -t"
        )


def read_bundle(target: Path) -> dict | None:
    try:
        return json.loads((target / BUNDLE_FILE).read_text())
    except (OSError, ValueError):
        return None


def staging_dir(target: Path) -> Path:
    """A scratch directory beside the target, so the final swap is a rename on one filesystem."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{target.name}.strata-", dir=target.parent))
    except OSError as exc:
        raise TargetError(
            f"cannot write next to the target {target}: {exc.strerror}; choose another -t"
        ) from None


def swap_into_place(new_tree: Path, target: Path, scratch: Path) -> None:
    """Replace `target` with `new_tree`; on failure the old target is back in place."""
    old = scratch / "previous"
    had_old = target.exists()
    try:
        if had_old:
            os.rename(target, old)
        os.rename(new_tree, target)
    except OSError as exc:
        if had_old and old.exists() and not target.exists():
            os.rename(old, target)
        raise TargetError(f"cannot write the target {target}: {exc.strerror}") from None
    if had_old:
        shutil.rmtree(old, ignore_errors=True)


def _existing_ancestor(path: Path) -> Path:
    path = path.absolute()
    while not path.exists():
        path = path.parent
    return path
