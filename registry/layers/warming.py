"""Computes a newly published layer version's listing (files and packages) in the background, so
that the first page showing it only reads the cache rather than the zip's central directory.

The publish request only appends the digest to a bounded queue; a digest that does not fit is
left for the first page that shows it to compute, as before.
"""

from __future__ import annotations

import logging
import queue
import threading

from registry.layers.contents import LayerContents

log = logging.getLogger(__name__)

MAX_PENDING = 64


class ContentsWarmer:
    def __init__(self, contents: LayerContents, *, max_pending: int = MAX_PENDING):
        self._contents = contents
        self._queue: queue.Queue[str] = queue.Queue(max_pending)
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()

    def submit(self, digest: str) -> bool:
        """Called as a version is published, or by a page that finds it not computed: never
        blocks, never raises. False when the queue is full and the digest was left out."""
        try:
            self._queue.put_nowait(digest)
        except queue.Full:
            return False
        self._start()
        return True

    def wait_idle(self) -> None:
        """Returns once every digest submitted so far is computed (for tests and benchmarks)."""
        self._queue.join()

    def _start(self) -> None:
        with self._starting:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="strata-layer-contents", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            digest = self._queue.get()
            try:
                if not self._contents.cached(digest):
                    self._contents.files(digest)
            except Exception:
                # The page that shows the version computes it again and reports what fails.
                log.warning("layer contents of %s not computed ahead", digest, exc_info=True)
            finally:
                self._queue.task_done()
