"""The text a scrape gets: every worker's figures added up, the cluster's facts, and the client
library's standard process and Python collectors.

Under gunicorn the figures come from the multiprocess directory (multiprocess.py); the process_*
and python_* series then describe the worker that answered the scrape. An app serving alone (in a
test, or under another WSGI server) answers from its own in-memory registry.
"""

from __future__ import annotations

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    REGISTRY,
    CollectorRegistry,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from registry.metrics import multiprocess


def scrape(accept: str | None, *collectors: Collector) -> tuple[bytes, str]:
    """The body and its content type: OpenMetrics when the scraper asks for it (Prometheus
    does), else the classic text format."""
    registry = CollectorRegistry()
    if multiprocess.enabled():
        MultiProcessCollector(registry)
        for standard in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            registry.register(standard)
    else:
        registry.register(_Everything(REGISTRY))
    for collector in collectors:
        registry.register(collector)
    encode, content_type = choose_encoder(accept or "")
    return encode(registry), content_type


class _Everything(Collector):
    """The process-wide registry (this process's metrics and the standard collectors)."""

    def __init__(self, source: CollectorRegistry):
        self._source = source

    def collect(self):
        return self._source.collect()
