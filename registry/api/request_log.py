"""The request log: one line per request on the `strata.requests` logger, in the server's log
format (registry/log_format.py).

A line says when, which request (the x-amzn-RequestId the client was given, which it quotes in
a support ticket), whose (the signing account), what (the operation), how it ended (status),
how long the server spent on it and how many bytes went each way. It never carries headers, the
query string (a presigned download's signature is there), a body or anything secret: only the
path, whose parts are names the caller chose.
"""

from __future__ import annotations

import logging
import time

from flask import Response, g, request

from registry.api.operations import operation_of_request
from registry.front.body import PrefetchedBody

log = logging.getLogger("strata.requests")


def start() -> None:
    g.request_started = time.perf_counter()


def finish(response: Response) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    try:
        _write(response)
    except Exception:  # a line lost is no reason to fail the request it is about
        log.exception("request %s: no request log line", g.get("request_id"))


def _write(response: Response) -> None:
    started = g.get("request_started")
    duration_ms = (time.perf_counter() - started) * 1000 if started is not None else None
    service, operation = operation_of_request()
    caller = g.get("caller")
    fields = {
        "request_id": g.get("request_id"),
        "account": getattr(caller, "account_id", None),
        "service": service,
        "operation": operation,
        "method": request.method,
        "path": request.path,
        "status": response.status_code,
        "duration_ms": round(duration_ms, 3) if duration_ms is not None else None,
        "bytes_in": _bytes_in(),
        "bytes_out": response.content_length or 0,
    }
    # Everything is in the fields; the message stays fixed, so no client-chosen text is in it.
    log.info("request", extra={"fields": fields})


def _bytes_in() -> int:
    """The body bytes the server received: none for one refused from its headers, unread."""
    body = g.get("raw_body")
    if body is None:
        prefetched = request.environ.get("wsgi.input")
        body = prefetched.data if isinstance(prefetched, PrefetchedBody) else None
    return len(body) if body is not None else request.content_length or 0
