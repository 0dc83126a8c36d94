"""What a background loop logs while the database or the blob store it works on is down.

A loop that tries again every second must not log a traceback every second for as long as an
outage lasts, from every thread: the log would bury the one line an operator needs. An
`Outage` logs the first failure once (its one-line summary; a traceback only for an error that
is no known dependency failure, since that one is a bug), then at most one line a minute with
how many attempts failed meanwhile, and one line when the work succeeds again, with how long
it failed and how often.

    outage = Outage("event workers", log)
    ...
    try:
        work()
    except Exception as error:
        outage.failed(error)
    else:
        outage.recovered()

Thread-safe: the threads of one pool share one Outage, so an outage is one story, not N.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from registry.errors import StrataError
from storage.errors import StorageError

# How often, at most, an outage that goes on says so.
REPORT_EVERY_S = 60.0
# An error's summary is one line of at most this many characters.
_SUMMARY_CHARS = 300


class Outage:
    def __init__(
        self,
        name: str,
        logger: logging.Logger,
        *,
        report_every_s: float = REPORT_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.name = name
        self._log = logger
        self._report_every = report_every_s
        self._clock = clock
        self._lock = threading.Lock()
        self._started: float | None = None
        self._failures = 0  # since the outage started
        self._unreported = 0  # since the last line about it
        self._reported: float = 0.0

    @property
    def ongoing(self) -> bool:
        return self._started is not None

    def failed(self, error: BaseException) -> None:
        now = self._clock()
        with self._lock:
            self._failures += 1
            self._unreported += 1
            if self._started is None:
                self._started = self._reported = now
                self._unreported = 0
                first, count, since = True, 0, 0.0
            elif now - self._reported >= self._report_every:
                first, count, since = False, self._unreported, now - self._reported
                self._reported, self._unreported = now, 0
            else:
                return
        summary = one_line(error)
        fields = {"outage": self.name, "error": type(error).__name__}
        if first:
            expected = isinstance(error, (StrataError, StorageError))
            self._log.warning(
                "%s failing: %s",
                self.name,
                summary,
                exc_info=None if expected else error,
                extra={"fields": fields},
            )
        else:
            self._log.warning(
                "%s still failing: %d failures in the last %.0f s; the last: %s",
                self.name,
                count,
                since,
                summary,
                extra={"fields": {**fields, "failures": count}},
            )

    def recovered(self) -> None:
        if self._started is None:  # the usual case, and cheap: no lock
            return
        with self._lock:
            if self._started is None:
                return
            lasted, failures = self._clock() - self._started, self._failures
            self._started, self._failures, self._unreported = None, 0, 0
        fields = {"outage": self.name, "failures": failures, "duration_s": round(lasted, 1)}
        self._log.info(
            "%s working again after %.1f s and %d failures",
            self.name,
            lasted,
            failures,
            extra={"fields": fields},
        )


def one_line(error: BaseException) -> str:
    """The error's message on one line, however many its driver wrote (libpq writes a hint on
    the next), shortened to a readable length."""
    text = " ".join(str(error).split()) or type(error).__name__
    if len(text) > _SUMMARY_CHARS:
        text = text[: _SUMMARY_CHARS - 3] + "..."
    return text
