"""Work a request hands over to be done soon after, off its thread: `BackgroundQueue` takes items
without ever blocking or raising, and one thread of its own works through them in order.

The queue is bounded: an item that does not fit is left out, and whoever needs its result later
computes it then. A failure is logged and forgotten for the same reason.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

MAX_PENDING = 64


class BackgroundQueue:
    def __init__(self, name: str, work: Callable[..., object], *, max_pending: int = MAX_PENDING):
        """`work(*item)` is called on the queue's thread, named `name`, for each item."""
        self._name = name
        self._work = work
        self._queue: queue.Queue[tuple] = queue.Queue(max_pending)
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()

    def submit(self, *item) -> bool:
        """Never blocks, never raises; False when the queue is full and `item` was left out."""
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            return False
        with self._starting:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
        return True

    def wait_idle(self) -> None:
        """Returns once every item submitted so far is done (for tests and benchmarks)."""
        self._queue.join()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                self._work(*item)
            except Exception:
                log.warning("%s: work on %s not done ahead", self._name, item[0], exc_info=True)
            finally:
                self._queue.task_done()
