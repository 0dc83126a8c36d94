"""Computes a newly published layer version's listing (files and packages) in the background, so
that the first page showing it only reads the cache rather than the zip's central directory. A
digest that does not fit in the queue, or fails here, is left for the first page that shows the
version to compute, as before."""

from __future__ import annotations

from registry.background import MAX_PENDING, BackgroundQueue
from registry.layers.contents import LayerContents


class ContentsWarmer(BackgroundQueue):
    def __init__(self, contents: LayerContents, *, max_pending: int = MAX_PENDING):
        super().__init__("strata-layer-contents", self._warm, max_pending=max_pending)
        self._contents = contents

    def _warm(self, digest: str) -> None:
        if not self._contents.cached(digest):
            self._contents.files(digest)
