"""Readiness: what /readyz says about this node's dependencies, within a deadline whatever they do.

Four checks, each "ok", "degraded" or "unavailable", with its figures:
- database and storage: a query on every table, and a stat of the blob store. Unavailable when
  they fail or do not answer within the deadline; degraded when they answer slower than SLOW_S.
- executor: the isolation tier and the room left: the node's memory budget for execution
  environments and what is free of it, this process's environments. Degraded when less than the
  smallest function's memory (128 MB) is free: a cold start must then wait for idle environments
  to be reclaimed.
- events: the asynchronous invocations due and not yet taken by a worker of any process, and
  how long the oldest has waited. Degraded from EVENT_LAG_DEGRADED_S on.

The node is ready (200, top-level status "ok") unless the database or storage is unavailable:
those alone stop it from serving. A degraded check, a full executor or a lagging queue is
reported but keeps it in rotation, since another node is no better placed to help.

A load balancer polls /readyz every few seconds; a dependency that accepts connections and never
answers must turn it into a prompt 503, not a hung request. Each check runs on a thread of its
own; one still running from an earlier request is waited on again rather than started anew, so a
hanging dependency holds one thread however often /readyz is asked (the check itself ends when
the dependency's own timeouts fire). The answer is unauthenticated: failures are reported by
their kind only; the detail (addresses, bucket) goes to the log, once per outage.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from registry.errors import ServiceUnavailable
from registry.executor.memory import default_budget
from registry.executor.runtime_access import node_tier
from registry.limits import MEMORY_MB
from registry.outages import Outage

log = logging.getLogger(__name__)

# Half the one second a probe of /readyz is promised an answer in: the rest is for a loaded
# machine to schedule the request and its answer.
DEADLINE_S = 0.5
OK, DEGRADED, UNAVAILABLE = "ok", "degraded", "unavailable"
# A dependency answering slower than this still serves, but every request feels it.
SLOW_S = 0.25
# Due events waiting this long for a worker mean the workers are not keeping up.
EVENT_LAG_DEGRADED_S = 60.0
# Less free than the smallest function needs: a cold start waits for memory to be reclaimed.
MIN_FREE_MEMORY_MB = MEMORY_MB[0]
# The checks whose failure takes the node out of rotation.
REQUIRED = ("database", "storage")


@dataclass(frozen=True)
class Finding:
    status: str
    figures: dict = field(default_factory=dict)


# A check returns its finding, or None for "answered": ok, or degraded when it answered slowly.
Check = Callable[[], "Finding | None"]


class ReadinessProbes:
    def __init__(self, checks: dict[str, Check], deadline: float = DEADLINE_S):
        self._checks = checks
        self._deadline = deadline
        self._executor = ThreadPoolExecutor(len(checks), thread_name_prefix="readiness")
        self._running: dict[str, Future] = {}
        self._lock = threading.Lock()
        self._outages = {name: Outage(f"readiness check {name}", log) for name in checks}

    def run(self) -> dict[str, Finding]:
        """Each check's finding, within the deadline."""
        with self._lock:
            for name, check in self._checks.items():
                future = self._running.get(name)
                if future is None or future.done():
                    self._running[name] = self._executor.submit(_timed, check)
            running = dict(self._running)
        wait(running.values(), timeout=self._deadline)
        return {name: self._finding(name, future) for name, future in running.items()}

    def _finding(self, name: str, future: Future) -> Finding:
        outage = self._outages[name]
        if not future.done():
            outage.failed(ServiceUnavailable(f"no answer within {self._deadline} s"))
            return Finding(UNAVAILABLE, {"reason": f"no answer within {self._deadline} s"})
        error = future.exception()
        if error is not None:
            outage.failed(error)
            return Finding(UNAVAILABLE, {"reason": "failed"})
        outage.recovered()
        finding, elapsed = future.result()
        if finding is not None:
            return finding
        latency = {"latency_ms": round(elapsed * 1000, 1)}
        return Finding(DEGRADED if elapsed > SLOW_S else OK, latency)


def _timed(check: Check) -> tuple[Finding | None, float]:
    started = time.monotonic()
    finding = check()
    return finding, time.monotonic() - started


def answer(findings: dict[str, Finding], isolation: dict) -> tuple[dict, bool]:
    """The /readyz body, and whether the node is ready. Only the top level has a "status" key:
    HAProxy's check looks for `"status": "ok"` anywhere in the answer."""
    ready = all(findings[name].status != UNAVAILABLE for name in REQUIRED if name in findings)
    body = {
        "status": "ok" if ready else "unavailable",
        "checks": {name: finding.status for name, finding in findings.items()},
        "details": {name: finding.figures for name, finding in findings.items()},
        "isolation": isolation,
    }
    return body, ready


def checks_of(wired) -> dict[str, Check]:
    """The checks of one app's services (registry.api.context.Services)."""
    settings = wired.settings
    budget_mb, _ = default_budget(settings.memory_fraction, settings.memory_budget_mb)
    return {
        "database": wired.db.check,
        "storage": wired.store.check,
        "executor": lambda: executor_finding(
            wired.invoker.pool,
            level=settings.executor_isolation,
            budget_mb=budget_mb,
            account_max=settings.account_max_environments,
        ),
        "events": lambda: events_finding(wired.events),
    }


def executor_finding(pool, *, level: str, budget_mb: int, account_max: int | None) -> Finding:
    census = pool.census()
    used = pool.memory_used_mb()
    free = max(0, budget_mb - used)
    figures = {
        "isolation": level,
        "runtime_api": node_tier(pool.host),
        "memory_budget_mb": budget_mb,
        "memory_used_mb": used,
        "memory_free_mb": free,
        # This worker process's environments (each worker has its own; the memory is the node's).
        "environments": sum(spec.idle + spec.busy + spec.starting for spec in census.specs),
        "environments_busy": sum(spec.busy + spec.starting for spec in census.specs),
        "account_max_environments": account_max,
    }
    return Finding(DEGRADED if free < MIN_FREE_MEMORY_MB else OK, figures)


def events_finding(queue) -> Finding:
    lag = queue.lag()
    figures = {"waiting": lag.waiting, "oldest_wait_s": lag.oldest_wait_s}
    return Finding(DEGRADED if lag.oldest_wait_s >= EVENT_LAG_DEGRADED_S else OK, figures)
