"""This process's execution environments, copied into its gauges: by state, their memory, and the
invocations running (one per busy environment).

Each worker must write its own values for the scrape to add up, and environments change on many
paths (starts, the reaper, memory reclaims), so a thread copies the pool's census every
INTERVAL_S, and the worker answering a scrape copies its own just before.
"""

from __future__ import annotations

import logging
import threading
import time

from registry.executor.pool import EnvironmentPool
from registry.metrics import instruments
from registry.metrics.labels import FunctionLabels

INTERVAL_S = 1.0
_MB = 1024 * 1024

log = logging.getLogger(__name__)


class EnvironmentGauges:
    def __init__(self, pool: EnvironmentPool, labels: FunctionLabels):
        self._pool = pool
        self._labels = labels
        self._lock = threading.Lock()
        self._running_before: set[tuple[str, str]] = set()

    def start(self) -> None:
        # A daemon: it holds nothing that needs closing when the process exits.
        threading.Thread(target=self._loop, name="strata-metrics", daemon=True).start()

    def refresh(self) -> None:
        census = self._pool.census()
        running: dict[tuple[str, str], int] = {}
        idle = busy = starting = 0
        for spec in census.specs:
            idle, busy, starting = idle + spec.idle, busy + spec.busy, starting + spec.starting
            if spec.busy:
                key = self._labels.of(spec.account_id, spec.function_name)
                running[key] = running.get(key, 0) + spec.busy
        with self._lock:
            instruments.ENVIRONMENTS.labels("idle").set(idle)
            instruments.ENVIRONMENTS.labels("busy").set(busy)
            instruments.ENVIRONMENTS.labels("starting").set(starting)
            instruments.ENVIRONMENT_MEMORY.set(census.memory_mb * _MB)
            # A function that stopped running shows 0 rather than its last figure.
            for key in self._running_before - running.keys():
                instruments.CONCURRENT_EXECUTIONS.labels(*key).set(0)
            for key, count in running.items():
                instruments.CONCURRENT_EXECUTIONS.labels(*key).set(count)
            self._running_before = set(running)

    def _loop(self) -> None:
        while True:
            time.sleep(INTERVAL_S)
            try:
                self.refresh()
            except Exception:
                log.exception("copying the environments into the metrics failed")
