"""Removing what a node keeps on its own disk for layers and functions that are gone.

Under its cache directory a node keeps copies and derivatives of blobs, each keyed by content:

    functions/archives/<sha256>.zip      a blob fetched to be merged (invocations/bundles.py)
    functions/bundles/<bundle key>/      a merged bundle of code and ordered layers
    merge/v1/extracted/<sha256>/         a blob's extracted tree (merge/cache.py)
    layer-contents/<sha256>.json         the console's listing of a layer's files
    function-overlays/<bundle key>.json  the console's report of a function's overlay

Deleting a layer version or a function removes rows, never these. Without a sweep one account
could grow every node's disk for good while its stored code stays within its quota: publish, use
in a function, delete, again.

An entry goes once no row has needed it for the grace period. "Needed" is what blob gc keeps
(gc.referenced_digests) plus the bundle of every function, version and revision $LATEST still
runs. The clock starts when a sweep first finds the entry unneeded (kept in the sweep's state
file), not at the entry's age: an environment started on a bundle just before its function
changed may run for Lambda's 15 minutes and then idle for the pool's 5, and a build in flight
has no row yet. The needs are read again just before anything goes, and an entry goes by one
rename, so a reader finds it whole or not at all (and rebuilds it).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from registry.db import Database
from registry.gc import DEFAULT_GRACE, referenced_digests
from registry.invocations.bundles import bundle_key
from registry.models import Function, FunctionVersion
from registry.outages import Outage

log = logging.getLogger(__name__)

SWEEP_SECONDS = 600.0
_HEX = re.compile(r"[0-9a-f]{64}")
# (directory under the cache dir, suffix of an entry's name, what its name is: a blob digest or
# a bundle key)
_PLACES = (
    ("functions/archives", ".zip", "digest"),
    ("functions/bundles", "", "bundle"),
    ("merge/v1/extracted", "", "digest"),
    ("layer-contents", ".json", "digest"),
    ("function-overlays", ".json", "bundle"),
)


@dataclass
class SweepReport:
    removed: list[str] = field(default_factory=list)  # paths relative to the cache dir
    waiting: int = 0  # unneeded, within the grace period
    kept: int = 0


@dataclass(frozen=True)
class _Needed:
    digests: set[str]
    bundles: set[str]

    def covers(self, kind: str, name: str) -> bool:
        return name in (self.digests if kind == "digest" else self.bundles)


def needed(db: Database) -> _Needed:
    with db.read() as session:
        digests = referenced_digests(session)
        bundles = set()
        for table in (Function, FunctionVersion):
            for code, layers in session.execute(select(table.code_digest, table.layers)):
                bundles.add(bundle_key(code, [layer["digest"] for layer in layers or ()]))
        for running in session.scalars(
            select(Function.running).where(Function.running.is_not(None))
        ):
            layers = [layer["digest"] for layer in running["layers"]]
            bundles.add(bundle_key(running["code_digest"], layers))
    return _Needed(digests, bundles)


def sweep(
    db: Database,
    cache_dir: Path,
    *,
    grace: timedelta = DEFAULT_GRACE,
    dry_run: bool = False,
    now: float | None = None,
) -> SweepReport | None:
    """Removes the entries unneeded for longer than `grace`; None when another process of this
    node is sweeping its cache right now."""
    cache_dir = Path(cache_dir)
    home = cache_dir / ".sweep"
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "lock", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        return _sweep_locked(
            db, cache_dir, home, grace, dry_run, time.time() if now is None else now
        )


def _sweep_locked(db, cache_dir: Path, home: Path, grace, dry_run: bool, now: float):
    for leftover in home.glob("trash-*"):  # what a sweep that died midway was removing
        _remove(leftover)
    state = _read_state(home / "state.json")
    since = state.get("unneeded")
    since = since if isinstance(since, dict) else {}
    report = SweepReport()
    need = needed(db)
    due = []
    unneeded = {}
    for relative, kind, name in _entries(cache_dir):
        if need.covers(kind, name):
            report.kept += 1
            continue
        unneeded[relative] = first = since.get(relative, now)
        if now - first >= grace.total_seconds():
            due.append((relative, kind, name))
        else:
            report.waiting += 1
    if dry_run:
        report.removed = [relative for relative, _, _ in due]
        return report
    if due:
        need = needed(db)  # again, just before: a row made meanwhile keeps its entries
        for relative, kind, name in due:
            if need.covers(kind, name):
                unneeded.pop(relative)
                report.kept += 1
                continue
            _remove(cache_dir / relative, via=home)
            unneeded.pop(relative)
            report.removed.append(relative)
    _write_state(home / "state.json", {"unneeded": unneeded, "swept_at": now})
    if report.removed:
        log.info("cache sweep removed %d unneeded entries", len(report.removed))
    return report


def _entries(cache_dir: Path) -> Iterator[tuple[str, str, str]]:
    """(path relative to the cache dir, "digest" or "bundle", the digest or key) of every entry
    this node made; names it did not make are left alone."""
    for place, suffix, kind in _PLACES:
        for entry in _listing(cache_dir / place):
            name = entry.name.removesuffix(suffix) if suffix else entry.name
            if entry.name.endswith(suffix) and _HEX.fullmatch(name):
                yield f"{place}/{entry.name}", kind, name


def _listing(directory: Path) -> list[os.DirEntry]:
    try:
        with os.scandir(directory) as listing:
            return [entry for entry in listing if not entry.is_symlink()]
    except FileNotFoundError:
        return []


def _remove(path: Path, via: Path | None = None) -> None:
    """Renamed aside first (when `via` is given), so that no reader finds it half removed."""
    if via is not None:
        aside = via / f"trash-{uuid.uuid4().hex}"
        try:
            os.rename(path, aside)
            path = aside
        except FileNotFoundError:
            return
        except OSError:  # another filesystem mounted inside the cache: removed where it is
            pass
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _read_state(path: Path) -> dict:
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def _write_state(path: Path, state: dict) -> None:
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    partial.write_text(json.dumps(state))
    os.replace(partial, path)


def swept_at(cache_dir: Path) -> float | None:
    return _read_state(Path(cache_dir) / ".sweep" / "state.json").get("swept_at")


class CacheSweeper:
    """Every process of a server runs one; the state file's time of the last sweep and the lock
    make it one sweep per node every SWEEP_SECONDS."""

    def __init__(self, db: Database, cache_dir: Path, *, every_seconds: float = SWEEP_SECONDS):
        self._db = db
        self._cache_dir = Path(cache_dir)
        self._every = every_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="strata-cache-sweep", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        outage = Outage("cache sweep", log)
        while not self._stop.wait(self._every / 4):
            last = swept_at(self._cache_dir)
            if last is not None and time.time() - last < self._every:
                continue
            try:
                sweep(self._db, self._cache_dir)
            except Exception as error:
                outage.failed(error)
            else:
                outage.recovered()
