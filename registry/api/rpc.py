"""The AWS services this endpoint serves beside Lambda's REST API, so one `--endpoint-url` serves
them all: CloudWatch Logs and CloudWatch, reached as their SDKs reach them.

Both are RPC protocols at one path: JSON (`POST /`, `X-Amz-Target: <prefix>.<Operation>`, as
`logs` always and `monitoring` optionally speak), the query protocol (`POST /`, a form body with
`Action=<Operation>`, as older CloudWatch clients speak) and, for CloudWatch, Smithy's RPC v2 CBOR
at its own path. A service registers itself here with its signing name; the request is signed
for that name, and a signature made for another service does not reach it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from flask import Blueprint, Response, abort, g, request

from registry.api.requests import raw_body
from registry.errors import InvalidSignature, StrataError

bp = Blueprint("rpc", __name__)

RPC_PATH = "/"
# Smithy RPC v2 CBOR: /service/<service shape name>/operation/<operation>
CBOR_PREFIX = "/service/"


@dataclass
class RpcService:
    """One AWS service served at `/` by operation name."""

    signing_name: str  # the SigV4 scope's service: logs, monitoring
    target_prefix: str  # X-Amz-Target's prefix: Logs_20140328, GraniteServiceVersion20100801
    # (operation name, request) -> the answer; the handler reads the body itself, in its
    # protocol, and answers in it
    dispatch: Callable[[str], Response]
    # a domain error -> the service's error answer (each service has its own error shapes)
    render_error: Callable[[StrataError], Response]
    # Action values of the query protocol this service answers, if it speaks it
    query_actions: frozenset[str] = field(default_factory=frozenset)
    speaks_cbor: bool = False  # answers at /service/<target_prefix>/operation/<operation>
    # render_error also answers refusals made before dispatch (authentication), so that a client
    # of a protocol other than JSON can read them
    renders_refusals: bool = False


_SERVICES: dict[str, RpcService] = {}


def register(service: RpcService) -> None:
    _SERVICES[service.target_prefix] = service


def signing_names(method: str, path: str) -> tuple[str, ...] | None:
    """The services a request to `path` may be signed for; None when it is no RPC request."""
    if method != "POST":
        return None
    if path == RPC_PATH:
        return tuple(sorted({s.signing_name for s in _SERVICES.values()}))
    if path.startswith(CBOR_PREFIX):
        return tuple(sorted({s.signing_name for s in _SERVICES.values() if s.speaks_cbor}))
    return None


def query_form() -> dict[str, str]:
    """A query-protocol request's parameters (the form body; the raw body was read for its
    signature, so werkzeug's own form parsing would find it gone)."""
    pairs = parse_qs(bytes(raw_body()).decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[-1] for name, values in pairs.items()}


def _target() -> tuple[RpcService, str] | None:
    prefix, _, operation = request.headers.get("X-Amz-Target", "").rpartition(".")
    service = _SERVICES.get(prefix)
    if service is not None and operation:
        return service, operation
    if request.mimetype == "application/x-www-form-urlencoded":
        action = query_form().get("Action", "")
        for service in _SERVICES.values():
            if action in service.query_actions:
                return service, action
    return None


def operation_named() -> tuple[str, str] | None:
    """(signing name, operation) of the current RPC request, for the request log; never reads a
    body that was not read already (a query-protocol Action is in the body)."""
    if request.path.startswith(CBOR_PREFIX):
        _, _, rest = request.path.partition(CBOR_PREFIX)
        service_name, _, operation = rest.partition("/operation/")
        service = _SERVICES.get(service_name)
        return (service.signing_name, operation) if service and operation else None
    found = _target() if "raw_body" in g else None
    if found is None:
        prefix, _, operation = request.headers.get("X-Amz-Target", "").rpartition(".")
        service = _SERVICES.get(prefix)
        return (service.signing_name, operation) if service and operation else None
    return found[0].signing_name, found[1]


def refusal(error: StrataError) -> Response | None:
    """A request refused before its service ran (its signature, say), answered as that service
    answers errors, when the service asks for it. Found without reading the body: an unsigned
    request costs none, so a query-protocol request is the one service's that speaks it."""
    service = None
    if request.method == "POST" and request.path.startswith(CBOR_PREFIX):
        name = request.path[len(CBOR_PREFIX) :].partition("/")[0]
        service = _SERVICES.get(name)
    elif request.method == "POST" and request.path == RPC_PATH:
        prefix = request.headers.get("X-Amz-Target", "").rpartition(".")[0]
        service = _SERVICES.get(prefix)
        if service is None and request.mimetype == "application/x-www-form-urlencoded":
            query = [s for s in _SERVICES.values() if s.query_actions]
            service = query[0] if len(query) == 1 else None
    if service is None or not service.renders_refusals:
        return None
    return service.render_error(error)


@bp.post(RPC_PATH)
def dispatch():
    found = _target()
    if found is None:
        abort(404)  # answered as an unknown operation
    return _run(*found)


@bp.post(CBOR_PREFIX + "<service_name>/operation/<operation>")
def dispatch_cbor(service_name: str, operation: str):
    service = _SERVICES.get(service_name)
    if service is None or not service.speaks_cbor:
        abort(404)
    return _run(service, operation)


def _run(service: RpcService, operation: str) -> Response:
    signed_for = g.get("signed_for")
    if signed_for != service.signing_name:
        raise WrongSigningService(signed_for, service.signing_name)
    # For the metrics: the operation a registered service was asked for, however it was named.
    g.rpc_operation = (service.signing_name, operation)
    try:
        return service.dispatch(operation)
    except StrataError as error:
        return service.render_error(error)


class WrongSigningService(InvalidSignature):
    def __init__(self, signed_for: str | None, service: str):
        super().__init__(
            f"Credential should be scoped to correct service: '{service}', "
            f"not '{signed_for or '-'}'."
        )
