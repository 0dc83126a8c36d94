"""Facts of the whole cluster, read from the database it shares when a scrape asks: the Event
queue's depth and oldest age, and the code each account stores.

Every node answers the same figures, so a dashboard summing over nodes would count them once per
node: their help texts say so, and the README's queries take `max by (account)`. A few grouped
queries over indexed rows, and kept for CACHE_S, so that several Prometheus servers scraping
several workers do not repeat them. When the database does not answer, the scrape goes on
without them.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from registry.db import Database, stored_utc
from registry.errors import StrataError
from registry.models import Function, FunctionEvent, FunctionVersion, Layer, LayerVersion

CACHE_S = 10.0
_CLUSTER_WIDE = " Cluster-wide, from the database: every node reports the same value."

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClusterFacts:
    # account -> (pending events, when the oldest was accepted)
    event_queue: dict[str, tuple[int, datetime]]
    stored_bytes: dict[str, int]


def read_facts(db: Database) -> ClusterFacts:
    with db.read() as session:
        queue = session.execute(
            select(Function.account_id, func.count(), func.min(FunctionEvent.created_at))
            .join(Function, Function.id == FunctionEvent.function_id)
            .where(FunctionEvent.status == "pending")
            .group_by(Function.account_id)
        ).all()
        stored: dict[str, int] = {}
        # What counts against an account's code storage, as GetAccountSettings' TotalCodeSize.
        for query in (
            select(Layer.account_id, func.sum(LayerVersion.code_size))
            .join(Layer, Layer.id == LayerVersion.layer_id)
            .where(LayerVersion.deleted_at.is_(None))
            .group_by(Layer.account_id),
            select(Function.account_id, func.sum(Function.code_size)).group_by(Function.account_id),
            select(Function.account_id, func.sum(FunctionVersion.code_size))
            .join(Function, Function.id == FunctionVersion.function_id)
            .group_by(Function.account_id),
        ):
            for account, size in session.execute(query):
                # PostgreSQL sums BIGINTs as NUMERIC, which arrives as a Decimal.
                stored[account] = stored.get(account, 0) + int(size or 0)
    return ClusterFacts(
        {account: (count, stored_utc(oldest)) for account, count, oldest in queue}, stored
    )


class ClusterCollector(Collector):
    def __init__(self, db: Database, clock=time.monotonic):
        self._db = db
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[float, ClusterFacts] | None = None

    def collect(self):
        facts = self._facts()
        if facts is None:
            return
        depth = GaugeMetricFamily(
            "strata_event_queue_events",
            "Asynchronous invocations waiting to run (queued or between retries), by account."
            + _CLUSTER_WIDE,
            labels=["account"],
        )
        age = GaugeMetricFamily(
            "strata_event_queue_oldest_age_seconds",
            "Age of the oldest waiting asynchronous invocation, by account." + _CLUSTER_WIDE,
            labels=["account"],
        )
        now = datetime.now(timezone.utc)
        for account, (count, oldest) in sorted(facts.event_queue.items()):
            depth.add_metric([account], count)
            age.add_metric([account], max(0.0, (now - oldest).total_seconds()))
        stored = GaugeMetricFamily(
            "strata_stored_bytes",
            "Code an account stores, as GetAccountSettings counts it (TotalCodeSize: its layer "
            "versions, functions and function versions; identical zips are kept once in the "
            "blob store)." + _CLUSTER_WIDE,
            labels=["account"],
        )
        for account, size in sorted(facts.stored_bytes.items()):
            stored.add_metric([account], size)
        yield from (depth, age, stored)

    def _facts(self) -> ClusterFacts | None:
        with self._lock:
            now = self._clock()
            if self._cached is not None and now - self._cached[0] < CACHE_S:
                return self._cached[1]
            try:
                facts = read_facts(self._db)
            except StrataError as error:
                log.warning("metrics: the cluster's figures are missing this scrape: %s", error)
                return None
            self._cached = (now, facts)
            return facts
