"""What the server front (registry/front) answers on its own, counted: those requests never reach
the application, so its hooks (registry/api/metrics.py) never see them."""

from __future__ import annotations

from registry.metrics import instruments


class FrontAnswers:
    def answered(self, status: int, service: str, operation: str) -> None:
        instruments.HTTP_REQUESTS.labels(service, operation, str(status)).inc()

    def refused(self, reason: str) -> None:
        instruments.FRONT_REFUSALS.labels(reason).inc()
