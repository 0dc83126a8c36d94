"""The bundle cache's lookups, counted (registry/invocations/bundles.py calls this)."""

from __future__ import annotations

from registry.metrics import instruments


def count_lookup(hit: bool) -> None:
    instruments.MERGE_CACHE.labels("hit" if hit else "miss").inc()
