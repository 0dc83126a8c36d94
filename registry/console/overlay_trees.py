"""A function's overlay as its pages show it: the report, its merged tree and each path's input's
name, kept in memory for the few combinations of code and layers shown last. Reading the report
and building the tree of a 6,000-file bundle cost more than the rest of the page, and a person
browsing the overlay folder by folder asks for the same one page after page.

What is kept is bounded by entries as well as by overlays: a bundle may hold 100,000 paths, and
eight of those would cost a worker hundreds of MB. The overlay shown last is always kept."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import NamedTuple

from registry.console.file_tree import Folder, build_tree
from registry.functions.overlay import FunctionOverlays, OverlayReport
from registry.functions.views import FunctionView
from registry.invocations.bundles import bundle_key
from registry.layers.contents import FileEntry

KEPT = 8
KEPT_ENTRIES = 60_000


class ShownOverlay(NamedTuple):
    report: OverlayReport
    tree: Folder  # shared by every page that shows it: read, never changed
    source: dict[str, str]  # path -> the name of the input it comes from


class OverlayTrees:
    def __init__(
        self, overlays: FunctionOverlays, *, kept: int = KEPT, kept_entries: int = KEPT_ENTRIES
    ):
        self._overlays = overlays
        self._kept = kept
        self._kept_entries = kept_entries
        self._entries = 0
        self._memory: OrderedDict[tuple, ShownOverlay] = OrderedDict()
        self._lock = threading.Lock()

    def of(self, view: FunctionView) -> ShownOverlay:
        # The same code and layers overlay the same way, but each path is shown with its layer's
        # name, which another function holding the same bytes may call otherwise.
        key = (
            bundle_key(view.code_digest, [layer["digest"] for layer in view.layers]),
            tuple(layer["arn"] for layer in view.layers),
        )
        with self._lock:
            found = self._memory.get(key)
            if found is not None:
                self._memory.move_to_end(key)
                return found
        report = self._overlays.of(view)
        names = [item["name"] for item in report.inputs]
        found = ShownOverlay(
            report,
            build_tree([FileEntry(path, kind, 0, 0) for path, kind, _source in report.entries]),
            {path: names[index] for path, _kind, index in report.entries},
        )
        with self._lock:
            if key not in self._memory:
                self._entries += len(report.entries)
            self._memory[key] = found
            while len(self._memory) > 1 and (
                len(self._memory) > self._kept or self._entries > self._kept_entries
            ):
                _key, dropped = self._memory.popitem(last=False)
                self._entries -= len(dropped.report.entries)
        return found
