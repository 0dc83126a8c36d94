"""Counts every invocation, throttle and signed request of this process, and adds the counts to
the database about once a second from a thread of its own: the invoking thread only touches a
dict. Counts not yet written when the process stops are written by `stop()`; counts a flush
could not write (the database is away) are kept and written by a later one.

Stored bytes are sampled rather than counted: an account's figure can change only through its
own writes, so a flush samples the accounts that wrote since (each at most every 5 s), and
the hourly sweep samples every account, so that a day without writes has its figure too."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from registry.db import Database
from registry.invocations.observers import InvocationObservers, Ran, Throttled
from registry.outages import Outage
from registry.usage import retention, stored
from registry.usage.counters import add_batch
from registry.usage.tally import Tally

log = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0
SWEEP_SECONDS = 3600.0
STORED_SAMPLE_SECONDS = 5.0


class UsageRecorder:
    def __init__(
        self,
        db: Database,
        *,
        running: Callable[[int], int] | None = None,
        flush_seconds: float = FLUSH_SECONDS,
        sweep_seconds: float = SWEEP_SECONDS,
        stored_sample_seconds: float = STORED_SAMPLE_SECONDS,
    ):
        """`running(function_id)`: executions of the function this process runs right now."""
        self._db = db
        self._running = running
        self._flush_seconds = flush_seconds
        self._sweep_seconds = sweep_seconds
        self._stored_sample_seconds = stored_sample_seconds
        self._wrote: set[str] = set()  # accounts whose stored bytes may have changed
        self._sampled_at: dict[str, float] = {}  # account id -> monotonic time of its sample
        self._tally = Tally()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._flushing = threading.Lock()
        self._writers_lock = threading.Lock()

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

    def request(self, account_id: str, *, wrote: bool = False) -> None:
        """A signed API request of the account (any service of this endpoint); `wrote`: it may
        have changed what the account stores."""
        self._tally.request(account_id, time.time())
        if wrote:
            with self._writers_lock:
                self._wrote.add(account_id)

    def flush(self) -> None:
        with self._flushing:
            batch = self._tally.take()
            if batch:
                try:
                    with self._db.write() as session:
                        add_batch(session, batch)
                except Exception:
                    self._tally.give_back(batch)
                    raise
            self._sample_writers()

    def sample_stored(self) -> None:
        """Every account's stored bytes, now."""
        stored.sample(self._db, time.time())

    def _sample_writers(self) -> None:
        now = time.monotonic()
        with self._writers_lock:
            due = {
                account_id
                for account_id in self._wrote
                if now - self._sampled_at.get(account_id, float("-inf"))
                >= self._stored_sample_seconds
            }
            self._wrote -= due
        if not due:
            return
        try:
            stored.sample(self._db, time.time(), sorted(due))
        except Exception:
            with self._writers_lock:
                self._wrote |= due
            raise
        for account_id in due:
            self._sampled_at[account_id] = now
        for account_id, at in list(self._sampled_at.items()):
            if now - at >= self._stored_sample_seconds:  # forgotten: bounded by recent writers
                del self._sampled_at[account_id]

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
                    self.sample_stored()
                    next_sweep = time.monotonic() + self._sweep_seconds
            except Exception as error:  # the counts stay in memory and are written later
                outage.failed(error)
            else:
                outage.recovered()
