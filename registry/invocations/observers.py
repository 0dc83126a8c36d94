"""Who hears of every invocation once it has run or been throttled: the function logs, the
metrics and the usage figures each subscribe here, so the invocation path knows none of them.

An observer runs on the invoking thread, after the executor has answered and before the caller
gets the answer; it must only hand the record on (to a queue, a counter), never wait on a
database or a disk. One that raises is logged and skipped: an observer never fails an invocation.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from registry.executor.report import InvocationResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ran:
    """An invocation the executor ran, whatever its outcome."""

    account_id: str
    function_id: int
    function_name: str
    version: str  # the version that ran ("$LATEST" or a number)
    invocation_type: str  # RequestResponse or Event
    environment_id: str  # one log stream per environment, as on Lambda
    started_at: float  # epoch seconds, when the invocation reached the environment
    ended_at: float
    result: InvocationResult

    @property
    def cold(self) -> bool:
        return self.result.report.init_duration_ms is not None


@dataclass(frozen=True)
class Throttled:
    """An invocation refused for want of concurrency (TooManyRequestsException)."""

    account_id: str
    function_id: int
    function_name: str
    version: str
    invocation_type: str
    reason: str  # Lambda's Reason, e.g. ReservedFunctionConcurrentInvocationLimitExceeded
    at: float = field(default_factory=time.time)


class InvocationObservers:
    def __init__(self):
        self._ran: list[Callable[[Ran], None]] = []
        self._throttled: list[Callable[[Throttled], None]] = []

    def on_ran(self, observer: Callable[[Ran], None]) -> None:
        self._ran.append(observer)

    def on_throttled(self, observer: Callable[[Throttled], None]) -> None:
        self._throttled.append(observer)

    def ran(self, record: Ran) -> None:
        _tell(self._ran, record)

    def throttled(self, record: Throttled) -> None:
        _tell(self._throttled, record)


def _tell(observers: list[Callable], record) -> None:
    for observer in observers:
        try:
            observer(record)
        except Exception:
            log.exception("invocation observer %r failed", observer)
