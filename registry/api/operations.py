"""Which operation a request was, as a bounded label: the Lambda API's operation by the botocore
model's name for it, another AWS service's (registry/api/rpc.py) by its own, an extension
endpoint by the name of its view, and anything else as UNKNOWN, never its raw path."""

from __future__ import annotations

import re

from flask import current_app, g, request

from registry.api import rpc
from registry.metrics.labels import OperationLabels

# Lambda API paths start with their API version date.
_LAMBDA_PATH = re.compile(r"/\d{4}-\d{2}-\d{2}/")
_OPERATION_NAME = re.compile(r"[A-Za-z0-9]{1,64}")
UNKNOWN = "Unknown"

# Operation names of other services come from authenticated clients, but any string passes.
_rpc_operations = OperationLabels()


def operation_of_request() -> tuple[str, str]:
    """(service, operation) of the current request, for the metrics and the request log."""
    if _LAMBDA_PATH.match(request.path):
        found = current_app.extensions["lambda_model"].routes.match(
            request.method, request.path, request.args
        )
        return "lambda", found.operation.name if found else UNKNOWN
    named = g.get("rpc_operation")
    if named is None and rpc.signing_names(request.method, request.path):
        named = rpc.operation_named()  # refused before its dispatch: named from its request
    if named is not None:
        service, operation = named
        if not _OPERATION_NAME.fullmatch(operation):
            return service, UNKNOWN
        return service, _rpc_operations.of(operation)
    rule = request.url_rule
    if rule is None or rule.endpoint.startswith("rpc."):
        return "strata", UNKNOWN
    return "strata", rule.endpoint.rpartition(".")[2]
