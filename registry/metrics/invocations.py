"""Invocations as the invoker reports them (registry/invocations/observers.py), counted.

Runs on the invoking thread: recording is a few writes to this process's memory-mapped values,
never a wait on a database or a network.
"""

from __future__ import annotations

from registry.invocations.observers import InvocationObservers, Ran, Throttled
from registry.metrics import instruments
from registry.metrics.labels import FunctionLabels

_SUCCESS = "success"


class InvocationMetrics:
    def __init__(self, labels: FunctionLabels):
        self._labels = labels

    def subscribe(self, observers: InvocationObservers) -> None:
        observers.on_ran(self.ran)
        observers.on_throttled(self.throttled)

    def ran(self, record: Ran) -> None:
        account, function = self._labels.of(record.account_id, record.function_name)
        result = record.result
        instruments.INVOCATIONS.labels(account, function, record.invocation_type).inc()
        if result.outcome != _SUCCESS:
            instruments.INVOCATION_ERRORS.labels(account, function, result.outcome).inc()
        instruments.STARTS.labels(account, function, "cold" if record.cold else "warm").inc()
        instruments.DURATION.labels(account, function).observe(result.report.duration_ms / 1000)
        if record.cold:
            instruments.INIT_DURATION.labels(account, function).observe(
                result.report.init_duration_ms / 1000
            )

    def throttled(self, record: Throttled) -> None:
        account, function = self._labels.of(record.account_id, record.function_name)
        instruments.THROTTLES.labels(account, function, record.reason or "unknown").inc()
