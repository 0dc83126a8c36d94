"""The retention sweep: a thread that deletes events older than their group's retention (or the
default), in bounded batches, every SWEEP_INTERVAL_S. Every app process runs one; two sweeping
at once only share the work."""

from __future__ import annotations

import logging
import threading

from registry.logs.store import LogStore
from registry.outages import Outage

log = logging.getLogger(__name__)

DEFAULT_RETENTION_DAYS = 30


class RetentionSweep:
    def __init__(self, store: LogStore, *, interval_s: float, default_days: int):
        self._store = store
        self._interval = interval_s
        self._default_days = default_days
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="strata-log-retention", daemon=True)
        self._outage = Outage("function log retention sweep", log)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def sweep(self) -> int:
        return self._store.expire(self._default_days)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                deleted = self.sweep()
            except Exception as error:
                self._outage.failed(error)
                continue
            self._outage.recovered()
            if deleted:
                log.info("function logs: %d events past retention deleted", deleted)
