"""Counts gathered in memory between two flushes to the database.

An invocation only touches a dict under a lock here; the database sees one upsert per function
and minute (and per account and day) per flush, however many invocations there were.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from registry.executor.report import InvocationResult

MINUTE = 60


@dataclass
class MinuteCounts:
    invocations: int = 0
    errors: int = 0
    throttles: int = 0
    duration_count: int = 0
    duration_sum: float = 0.0
    duration_min: float | None = None
    duration_max: float | None = None
    concurrent_max: int = 0

    def add(self, other: MinuteCounts) -> None:
        self.invocations += other.invocations
        self.errors += other.errors
        self.throttles += other.throttles
        self.duration_count += other.duration_count
        self.duration_sum += other.duration_sum
        self.duration_min = _least(self.duration_min, other.duration_min)
        self.duration_max = _greatest(self.duration_max, other.duration_max)
        self.concurrent_max = max(self.concurrent_max, other.concurrent_max)


@dataclass
class DayCounts:
    invocations: int = 0
    errors: int = 0
    throttles: int = 0
    requests: int = 0
    billed_duration_ms: int = 0
    memory_mb_ms: int = 0

    def add(self, other: DayCounts) -> None:
        self.invocations += other.invocations
        self.errors += other.errors
        self.throttles += other.throttles
        self.requests += other.requests
        self.billed_duration_ms += other.billed_duration_ms
        self.memory_mb_ms += other.memory_mb_ms


# (account id, function name, minute start in epoch seconds)
MinuteKey = tuple[str, str, int]
DayKey = tuple[str, date]


@dataclass
class Batch:
    minutes: dict[MinuteKey, MinuteCounts] = field(default_factory=dict)
    days: dict[DayKey, DayCounts] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.minutes or self.days)

    def merge(self, other: Batch) -> None:
        for key, counts in other.minutes.items():
            self.minutes.setdefault(key, MinuteCounts()).add(counts)
        for key, counts in other.days.items():
            self.days.setdefault(key, DayCounts()).add(counts)


class Tally:
    """Thread-safe; `take()` hands over everything counted so far and starts afresh."""

    def __init__(self):
        self._lock = threading.Lock()
        self._batch = Batch()

    def ran(
        self,
        account_id: str,
        function_name: str,
        at: float,
        result: InvocationResult,
        concurrent: int,
    ) -> None:
        report = result.report
        failed = 0 if result.ok else 1
        with self._lock:
            minute = self._minute(account_id, function_name, at)
            minute.invocations += 1
            minute.errors += failed
            minute.duration_count += 1
            minute.duration_sum += report.duration_ms
            minute.duration_min = _least(minute.duration_min, report.duration_ms)
            minute.duration_max = _greatest(minute.duration_max, report.duration_ms)
            minute.concurrent_max = max(minute.concurrent_max, concurrent)
            day = self._day(account_id, at)
            day.invocations += 1
            day.errors += failed
            day.billed_duration_ms += report.billed_duration_ms
            day.memory_mb_ms += report.memory_size_mb * report.billed_duration_ms

    def throttled(self, account_id: str, function_name: str, at: float) -> None:
        with self._lock:
            self._minute(account_id, function_name, at).throttles += 1
            self._day(account_id, at).throttles += 1

    def request(self, account_id: str, at: float) -> None:
        with self._lock:
            self._day(account_id, at).requests += 1

    def take(self) -> Batch:
        with self._lock:
            batch, self._batch = self._batch, Batch()
        return batch

    def give_back(self, batch: Batch) -> None:
        """Counts a flush could not write, kept for the next one."""
        with self._lock:
            batch.merge(self._batch)
            self._batch = batch

    def _minute(self, account_id: str, function_name: str, at: float) -> MinuteCounts:
        key = (account_id, function_name, int(at) // MINUTE * MINUTE)
        counts = self._batch.minutes.get(key)
        if counts is None:
            counts = self._batch.minutes[key] = MinuteCounts()
        return counts

    def _day(self, account_id: str, at: float) -> DayCounts:
        key = (account_id, utc_day(at))
        counts = self._batch.days.get(key)
        if counts is None:
            counts = self._batch.days[key] = DayCounts()
        return counts


def utc_day(at: float) -> date:
    return datetime.fromtimestamp(at, timezone.utc).date()


def _least(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def _greatest(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)
