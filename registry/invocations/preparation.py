"""Preparing the bundles of functions and versions that are Pending or InProgress, and settling
their state: Active/Successful, or Failed with Lambda's reason when the bundle cannot be built.

The process that made a change is told at once (kick) and prepares it within milliseconds. What
no process is preparing (its process died mid-way, or the change was made on another node that
then went away) is found by a sweep every SWEEP_SECONDS: any unsettled row older than
STALE_SECONDS is prepared by whichever process sweeps first. Preparing twice is harmless: bundles
appear by atomic rename, and settling is conditional on the revision that was prepared.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select

from registry.db import Database
from registry.errors import InvalidParameterValue
from registry.functions import states
from registry.invocations.bundles import BundleCache
from registry.models import Function, FunctionVersion
from registry.outages import Outage
from storage.errors import BlobNotFound, DigestMismatch

log = logging.getLogger(__name__)

SWEEP_SECONDS = 5.0
STALE_SECONDS = 10.0
WORKERS = 2
# The reason code Lambda gives when it cannot unpack a deployment package.
INVALID_ZIP = "InvalidZipFileException"


class BundlePreparer:
    def __init__(
        self,
        db: Database,
        bundles: BundleCache,
        *,
        sweep_seconds: float = SWEEP_SECONDS,
        stale_seconds: float = STALE_SECONDS,
    ):
        self._db = db
        self._bundles = bundles
        self._sweep_seconds = sweep_seconds
        self._stale = timedelta(seconds=stale_seconds)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._runner = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="strata-prepare")
        self._in_flight: set[tuple] = set()
        self._guard = threading.Lock()
        # Finding the unsettled rows (the database), and preparing them (storage, the database).
        self._sweep_outage = Outage("bundle preparation sweep", log)
        self._outage = Outage("bundle preparation", log)
        self._listeners: list[Callable[[str, list[dict], Path], None]] = []

    def on_prepared(self, listener: Callable[[str, list[dict], Path], None]) -> None:
        """`listener(code_digest, layers, bundle_dir)` is told of every bundle prepared, once its
        row is settled. It runs on the preparing thread, so it must only hand the work elsewhere."""
        self._listeners.append(listener)

    def kick(self) -> None:
        """A change was just committed here: prepare what is unsettled now, however fresh."""
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="strata-prepare", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._runner.shutdown(wait=False, cancel_futures=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            kicked = self._wake.wait(self._sweep_seconds)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.sweep(fresh=kicked)
            except Exception as error:
                self._sweep_outage.failed(error)
            else:
                self._sweep_outage.recovered()

    def sweep(self, *, fresh: bool) -> None:
        """Start preparing every unsettled row (only those left for STALE_SECONDS unless
        `fresh`) that this process is not preparing already."""
        for work in self._unsettled(fresh):
            key = work[:3]
            with self._guard:
                if key in self._in_flight:
                    continue
                self._in_flight.add(key)
            self._runner.submit(self._prepare, *work)

    def prepare_all(self) -> None:
        """Prepare every unsettled row in this thread, and settle it, before returning."""
        for work in self._unsettled(fresh=True):
            with self._guard:
                self._in_flight.add(work[:3])
            self._prepare(*work)

    def _unsettled(self, fresh: bool) -> list[tuple]:
        unsettled = []
        with self._db.read() as session:
            for table in (Function, FunctionVersion):
                query = select(
                    table.id, table.revision_id, table.code_digest, table.layers, table.config
                ).where(table.last_update_status == states.IN_PROGRESS)  # Pending rows too
                if not fresh:
                    cutoff = datetime.now(timezone.utc) - self._stale
                    query = query.where(table.last_modified <= cutoff)
                unsettled += [(table, *row) for row in session.execute(query)]
        return unsettled

    def _prepare(self, table, row_id: int, revision_id: str, code_digest, layers, config) -> None:
        key = (table, row_id, revision_id)
        started = time.monotonic()
        try:
            error = bundle = None
            try:
                bundle = self._bundles.bundle(code_digest, layers, runtime=config.get("runtime"))
            except InvalidParameterValue as problem:  # the merge engine's InvalidZip among them
                error = (f"Lambda could not prepare the deployment package: {problem}", INVALID_ZIP)
            except (BlobNotFound, DigestMismatch) as problem:
                error = (
                    f"Lambda could not read the deployment package or a layer: {problem}",
                    INVALID_ZIP,
                )
            with self._db.write() as session:
                states.settle(session, table, row_id, revision_id, error=error)
            log.debug(
                "prepared %s %s in %.3f s", table.__tablename__, row_id, time.monotonic() - started
            )
            if bundle is not None:
                self._tell(code_digest, layers, bundle)
        except Exception as error:
            # Storage or database trouble: the row stays unsettled and a sweep tries again.
            self._outage.failed(error)
        else:
            self._outage.recovered()
        finally:
            with self._guard:
                self._in_flight.discard(key)

    def _tell(self, code_digest: str, layers: list[dict], bundle: Path) -> None:
        for listener in self._listeners:
            try:
                listener(code_digest, layers, bundle)
            except Exception:
                # What listeners do is extra to the bundle, which is ready: never its failure.
                log.warning("a listener of prepared bundles failed", exc_info=True)
