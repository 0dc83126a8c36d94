"""Counts every invocation, throttle and signed request of this process, and adds the counts to
the database about once a second from a thread of its own: the invoking thread only touches a
dict. Counts not yet written when the process stops are written by `stop()`; counts a flush
could not write (the database is away) are kept and written by a later one."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from registry.db import Database
from registry.invocations.observers import InvocationObservers, Ran, Throttled
from registry.outages import Outage
from registry.usage import retention
from registry.usage.counters import add_batch
from registry.usage.tally import Tally

log = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0
SWEEP_SECONDS = 3600.0


class UsageRecorder:
    def __init__(
        self,
        db: Database,
        *,
        running: Callable[[int], int] | None = None,
        flush_seconds: float = FLUSH_SECONDS,
        sweep_seconds: float = SWEEP_SECONDS,
    ):
        """`running(function_id)`: executions of the function this process runs right now."""
        self._db = db
        self._running = running
        self._flush_seconds = flush_seconds
        self._sweep_seconds = sweep_seconds
        self._tally = Tally()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._flushing = threading.Lock()

    def observe(self, observers: InvocationObservers) -> None:
        observers.on_ran(self.ran)
        observers.on_throttled(self.throttled)

    def ran(self, record: Ran) -> None:
        # The observer runs once the execution has given its unit back: the others still
        # running, plus this one. Sampled as each execution ends, the largest figure is the
        # peak: when the most were running at once, the first of them to end saw all the others.
        concurrent = 1 + (self._running(record.function_id) if self._running else 0)
        self._tally.ran(
            record.account_id, record.function_name, record.started_at, record.result, concurrent
        )

    def throttled(self, record: Throttled) -> None:
        self._tally.throttled(record.account_id, record.function_name, record.at)

    def request(self, account_id: str) -> None:
        """A signed API request of the account (any service of this endpoint)."""
        self._tally.request(account_id, time.time())

    def flush(self) -> None:
        with self._flushing:
            batch = self._tally.take()
            if not batch:
                return
            try:
                with self._db.write() as session:
                    add_batch(session, batch)
            except Exception:
                self._tally.give_back(batch)
                raise

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="strata-usage", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self.flush()
        except Exception as error:
            log.warning("usage counts of this process not written at exit: %s", error)

    def _loop(self) -> None:
        next_sweep = time.monotonic() + min(60.0, self._sweep_seconds)
        outage = Outage("usage counts writer", log)
        while not self._stop.wait(self._flush_seconds):
            try:
                self.flush()
                if time.monotonic() >= next_sweep:
                    retention.sweep(self._db)
                    next_sweep = time.monotonic() + self._sweep_seconds
            except Exception as error:  # the counts stay in memory and are written later
                outage.failed(error)
            else:
                outage.recovered()
