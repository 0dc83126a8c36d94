"""Computes a function's overlay (from the bundle.json the merge engine wrote, and the package
analysis) in the background once its bundle is prepared, so that the first page showing the
overlay only reads the cache.

Bundle preparation only appends the code and layers to a bounded queue; what does not fit, or
fails to compute here, is left for the first page that shows the overlay to compute, as before.
"""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path

from registry.functions.overlay import FunctionOverlays

log = logging.getLogger(__name__)

MAX_PENDING = 64


class OverlayWarmer:
    def __init__(self, overlays: FunctionOverlays, *, max_pending: int = MAX_PENDING):
        self._overlays = overlays
        self._queue: queue.Queue[tuple[str, list[dict], Path | None]] = queue.Queue(max_pending)
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()

    def submit(self, code_digest: str, layers: list[dict], bundle: Path | None = None) -> None:
        """Called as a function's bundle is prepared: never blocks, never raises."""
        try:
            self._queue.put_nowait((code_digest, list(layers), bundle))
        except queue.Full:
            return
        self._start()

    def wait_idle(self) -> None:
        """Returns once every overlay submitted so far is computed (for tests and benchmarks)."""
        self._queue.join()

    def _start(self) -> None:
        with self._starting:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="strata-function-overlays", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            code_digest, layers, bundle = self._queue.get()
            try:
                self._overlays.warm(code_digest, layers, bundle)
            except Exception:
                # The page that shows the overlay computes it again and reports what fails.
                log.warning(
                    "overlay of code %s under %d layers not computed ahead",
                    code_digest,
                    len(layers),
                    exc_info=True,
                )
            finally:
                self._queue.task_done()
