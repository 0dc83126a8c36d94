"""Computes a function's overlay (from the bundle.json the merge engine wrote, and the package
analysis) in the background once its bundle is prepared, so that the first page showing the
overlay only reads the cache. What does not fit in the queue, or fails to compute here, is left
for the first page that shows the overlay to compute, as before."""

from __future__ import annotations

from registry.background import MAX_PENDING, BackgroundQueue
from registry.functions.overlay import FunctionOverlays


class OverlayWarmer(BackgroundQueue):
    """`submit(code_digest, layers, bundle=None)`, called as a function's bundle is prepared."""

    def __init__(self, overlays: FunctionOverlays, *, max_pending: int = MAX_PENDING):
        super().__init__("strata-function-overlays", overlays.warm, max_pending=max_pending)
