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
import re
import time

from flask import Response, current_app, g, request

from registry.api import rpc
from registry.front.body import PrefetchedBody

log = logging.getLogger("strata.requests")

# Lambda API paths start with their API version date.
_LAMBDA_PATH = re.compile(r"/\d{4}-\d{2}-\d{2}/")
UNKNOWN = "Unknown"


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
    service, operation = _operation()
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


def _operation() -> tuple[str, str]:
    """(service, operation): a Lambda operation by the botocore model's name for it, another
    AWS service's by its own, an extension endpoint by the name of its view."""
    if _LAMBDA_PATH.match(request.path):
        found = current_app.extensions["lambda_model"].routes.match(
            request.method, request.path, request.args
        )
        return "lambda", found.operation.name if found else UNKNOWN
    named = rpc.operation_named() if rpc.signing_names(request.method, request.path) else None
    if named is not None:
        return named
    rule = request.url_rule
    if rule is None or rule.endpoint.startswith("rpc."):
        return "strata", UNKNOWN
    return "strata", rule.endpoint.rpartition(".")[2]


def _bytes_in() -> int:
    """The body bytes the server received: none for one refused from its headers, unread."""
    body = g.get("raw_body")
    if body is None:
        prefetched = request.environ.get("wsgi.input")
        body = prefetched.data if isinstance(prefetched, PrefetchedBody) else None
    return len(body) if body is not None else request.content_length or 0
