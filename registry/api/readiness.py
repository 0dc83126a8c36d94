"""Readiness probes that answer within a deadline whatever their dependency does.

A load balancer polls /readyz every few seconds; a database or storage server that accepts
connections and never answers must turn it into a prompt 503, not a hung request. Each dependency
is probed on a thread of its own; a probe still running from an earlier request is waited on
again rather than started anew, so a hanging dependency holds one thread however often /readyz is
asked (the probe itself ends when the dependency's own timeouts fire).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from registry.errors import StrataError
from storage.errors import StorageError

log = logging.getLogger(__name__)

# Below the one second a probe of /readyz is promised an answer in, leaving room for the rest.
DEADLINE_S = 0.8


class ReadinessProbes:
    def __init__(self, probes: dict[str, Callable[[], object]], deadline: float = DEADLINE_S):
        self._probes = probes
        self._deadline = deadline
        self._executor = ThreadPoolExecutor(len(probes), thread_name_prefix="readiness")
        self._running: dict[str, Future] = {}
        self._lock = threading.Lock()

    def run(self) -> dict[str, str]:
        """Each dependency's name -> "ok" or "unavailable", within the deadline."""
        with self._lock:
            for name, probe in self._probes.items():
                future = self._running.get(name)
                if future is None or future.done():
                    self._running[name] = self._executor.submit(probe)
            running = dict(self._running)
        wait(running.values(), timeout=self._deadline)
        return {name: self._outcome(name, future) for name, future in running.items()}

    def _outcome(self, name: str, future: Future) -> str:
        # Unauthenticated: the detail (addresses, bucket) goes to the log only.
        if not future.done():
            log.warning("readiness check %s: no answer within %.1f s", name, self._deadline)
            return "unavailable"
        error = future.exception()
        if error is None:
            return "ok"
        if isinstance(error, (StrataError, StorageError)):
            log.warning("readiness check %s failed: %s", name, error)
        else:
            log.error("readiness check %s failed", name, exc_info=error)
        return "unavailable"
