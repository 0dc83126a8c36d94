"""Request-log lines (registry/api/request_log.py) for the answers the front gives on its own,
before any request thread runs the application: an invocation past the worker's invocation
threads (429), a draining worker's readiness probe (503). Same logger, same fields; no account,
since the request's signature was never checked, and no duration, since nothing ran. Each is
counted with the application's answers too (`counted`, registry/metrics/front.py)."""

from __future__ import annotations

import logging

from gunicorn.http.message import Request

log = logging.getLogger("strata.requests")


def answered(
    request: Request,
    status: int,
    *,
    request_id: str | None,
    service: str,
    operation: str,
    bytes_in: int,
    bytes_out: int,
    counted,
) -> None:
    counted.answered(status, service, operation)
    if not log.isEnabledFor(logging.INFO):
        return
    fields = {
        "request_id": request_id,
        "account": None,
        "service": service,
        "operation": operation,
        "method": request.method,
        "path": request.path,
        "status": status,
        "duration_ms": None,
        "bytes_in": bytes_in,
        "bytes_out": bytes_out,
    }
    log.info("request", extra={"fields": fields})
