"""Stores invocations' logs off the invocation path.

The invocation observer only appends the record to a queue (a lock and a list append); a
background thread turns records into events and stores whatever has queued in one transaction,
at most every FLUSH_INTERVAL_S, so a line is readable well within a second of its invocation's
end. While the database is unavailable, what a flush took goes back to the head of the queue
and is tried again, with a pause that grows to MAX_RETRY_S: an outage delays logs, it does not
lose them. A queue past its byte bound drops new records and counts them (logged), rather than
letting a flood of logging (or a long outage) hold the server's memory.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict

from registry.errors import ServiceUnavailable
from registry.invocations.observers import Ran
from registry.logs import events, names
from registry.logs.store import Batch, LogStore
from registry.outages import Outage

log = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 0.2
MAX_RETRY_S = 2.0
# Log text waiting to be stored, per process; each invocation's text is at most 1 MB already.
MAX_QUEUED_BYTES = 64 * 1024 * 1024
# Environments whose stream name is remembered (an environment keeps its stream for its life).
_KNOWN_STREAMS = 10_000
QUOTA_CHECK_S = 5.0
# Quota eviction frees down to this share of the quota, so it runs once per overflow, not at
# every flush.
_EVICT_TO = 0.9


class LogWriter:
    def __init__(self, store: LogStore, *, quota_bytes: int):
        self._store = store
        self._quota = quota_bytes
        self._lock = threading.Condition()
        self._queue: list[Ran] = []
        self._queued_bytes = 0
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="strata-log-writer", daemon=True)
        self._outage = Outage("function logs writer", log)
        self._streams: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._ids: dict = {}
        self._account_bytes: dict[str, tuple[int, float]] = {}  # account -> (bytes, checked at)
        self.dropped = 0  # records refused while the queue was full
        self.stored = 0  # records stored

    def start(self) -> None:
        self._thread.start()

    def submit(self, record: Ran) -> None:
        """The observer: never blocks on anything but the queue's lock."""
        size = len(record.result.logs)
        with self._lock:
            if self._queued_bytes + size > MAX_QUEUED_BYTES:
                self.dropped += 1
                return
            self._queue.append(record)
            self._queued_bytes += size
            self._lock.notify()

    def stop(self, timeout: float = 5.0) -> None:
        """Stores what has queued, then ends the thread."""
        with self._lock:
            self._stopping = True
            self._lock.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def flush(self) -> None:
        """Stores everything queued so far (for callers that must read it next)."""
        self._store_records(self._take())

    def _take(self) -> list[Ran]:
        with self._lock:
            records, self._queue, self._queued_bytes = self._queue, [], 0
        return records

    def _run(self) -> None:
        pause = FLUSH_INTERVAL_S
        while True:
            with self._lock:
                while not self._queue and not self._stopping:
                    self._lock.wait()
                stopping = self._stopping
            began = time.monotonic()
            records = self._take()
            try:
                added = self._append(records)
            except ServiceUnavailable as error:
                self._outage.failed(error)
                if not stopping:
                    self._requeue(records)
                    pause = min(pause * 2, MAX_RETRY_S)
            except Exception as error:  # not an outage: these records are lost, later ones tried
                self._outage.failed(error)
            else:
                pause = FLUSH_INTERVAL_S
                try:
                    self._enforce_quotas(added)
                except Exception as error:
                    self._outage.failed(error)
                else:
                    self._outage.recovered()
            if stopping:
                return
            # Records arriving meanwhile wait for the next flush, so a busy server stores many
            # invocations per transaction.
            time.sleep(max(0.0, pause - (time.monotonic() - began)))

    def _store_records(self, records: list[Ran]) -> None:
        self._enforce_quotas(self._append(records))

    def _append(self, records: list[Ran]) -> dict[str, int]:
        """Stores the records in one transaction: all of them, or (raising) none."""
        if not records:
            return {}
        batches = [
            Batch(
                record.account_id,
                names.function_group(record.function_name),
                self._stream(record),
                events.split(record.result.logs, record.started_at, record.ended_at),
            )
            for record in records
        ]
        try:
            added = self._store.append(batches, self._ids)
        except BaseException:
            # Ids of groups and streams the failed transaction made were never kept, and SQLite
            # hands a rolled-back id to the next stream made, perhaps another account's.
            self._ids.clear()
            raise
        self.stored += len(records)
        if self.dropped:
            log.warning("function logs: %d invocations' logs dropped (queue full)", self.dropped)
        return added

    def _requeue(self, records: list[Ran]) -> None:
        """Records a failed flush took, back before those queued since, within the byte bound
        (past it the newest go, as `submit` refuses them)."""
        with self._lock:
            kept, size = [], 0
            for record in records + self._queue:
                record_size = len(record.result.logs)
                if size + record_size > MAX_QUEUED_BYTES:
                    self.dropped += 1
                    continue
                kept.append(record)
                size += record_size
            self._queue, self._queued_bytes = kept, size

    def _enforce_quotas(self, added: dict[str, int]) -> None:
        for account_id, size in added.items():
            self._enforce_quota(account_id, size)

    def _stream(self, record: Ran) -> str:
        key = (record.environment_id, record.version)
        name = self._streams.get(key)
        if name is None:
            name = names.stream_name(record.version, record.environment_id, record.started_at)
            self._streams[key] = name
            if len(self._streams) > _KNOWN_STREAMS:
                self._streams.popitem(last=False)
        return name

    def _enforce_quota(self, account_id: str, added: int) -> None:
        # The account's total is read from the database only every QUOTA_CHECK_S, or sooner when
        # what this process added since may have crossed the quota: other processes add too,
        # so the figure is only an estimate in between.
        known, checked_at = self._account_bytes.get(account_id, (0, float("-inf")))
        now = time.monotonic()
        if known + added <= self._quota and now - checked_at < QUOTA_CHECK_S:
            self._account_bytes[account_id] = (known + added, checked_at)
            return
        stored = self._store.account_bytes(account_id)
        self._account_bytes[account_id] = (stored, now)
        if stored <= self._quota:
            return
        freed = self._store.evict_oldest(account_id, stored - int(self._quota * _EVICT_TO))
        self._account_bytes[account_id] = (stored - freed, now)
        log.info(
            "function logs: account %s past its %d-byte quota; its oldest %d bytes deleted",
            account_id,
            self._quota,
            freed,
        )
