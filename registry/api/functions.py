"""Function, version, alias and Invoke operations of the Lambda API (paths under
/2015-03-31/functions); concurrency.py has the concurrency settings."""

from __future__ import annotations

import base64
import binascii
import json

from flask import Blueprint, Response, g, request

from registry.api import serialize_functions as serialize
from registry.api.context import services
from registry.api.requests import (
    json_body,
    raw_body,
    refuse_nul_in_parameters,
    string,
    string_list,
    zip_content,
)
from registry.api.responses import download_url, json_response, page
from registry.errors import InvalidParameterValue, InvalidRequestContent
from registry.executor.runtime_access import separates_tenants
from registry.functions import options as function_options
from registry.functions.names import FunctionRef, parse_function_name
from registry.limits import DEFAULT_EPHEMERAL_MB
from registry.paging import functions_max_items

bp = Blueprint("functions", __name__)
bp.before_request(refuse_nul_in_parameters)

FUNCTIONS = "/2015-03-31/functions"
MAX_CLIENT_CONTEXT = 3583


def _ref(function_name: str) -> FunctionRef:
    return parse_function_name(
        function_name, request.args.get("Qualifier"), region=services().settings.region
    )


def _settings(body: dict) -> dict:
    """The configuration members of a Create/UpdateFunctionConfiguration body, as the domain
    names them."""
    storage = body.get("EphemeralStorage")
    environment = body.get("Environment")
    if storage is not None and not isinstance(storage, dict):
        raise InvalidParameterValue("EphemeralStorage must be an object with Size.")
    if environment is not None and not isinstance(environment, dict):
        raise InvalidParameterValue("Environment must be an object with Variables.")
    if body.get("PackageType") not in (None, "Zip"):
        raise InvalidParameterValue(
            "Only functions of PackageType Zip are supported; container images are not."
        )
    return {
        "runtime": body.get("Runtime"),
        "handler": body.get("Handler"),
        "role": body.get("Role"),
        "description": body.get("Description"),
        "timeout": body.get("Timeout"),
        "memory_size": body.get("MemorySize"),
        "ephemeral_storage": storage.get("Size", DEFAULT_EPHEMERAL_MB)
        if storage is not None
        else None,
        "environment": (environment.get("Variables") or {}) if environment is not None else None,
        "architectures": body.get("Architectures"),
    }


def _options(body: dict) -> dict:
    """The members Strata accepts only with Lambda's defaults (registry/functions/options.py)."""
    return {member: body.get(member) for member in function_options.MEMBERS}


def _flag(body: dict, key: str) -> bool:
    value = body.get(key, False)
    if not isinstance(value, bool):
        raise InvalidParameterValue(f"{key} must be true or false.")
    return value


def _max_items() -> int:
    return functions_max_items(request.args.get("MaxItems"))


# -- functions and versions -----------------------------------------------------------------


@bp.post(FUNCTIONS)
def create_function():
    body = json_body()
    view = services().functions.create(
        g.caller,
        parse_function_name(
            string(body, "FunctionName", required=True), region=services().settings.region
        ),
        zip_content(body.get("Code"), "Code"),
        _settings(body),
        layers=string_list(body, "Layers"),
        tags=body.get("Tags"),
        publish=_flag(body, "Publish"),
        options=_options(body),
    )
    return json_response(serialize.function_configuration(view), 201)


@bp.get(FUNCTIONS)
def list_functions():
    version = request.args.get("FunctionVersion")  # the model admits only ALL
    found = services().functions.list_functions(
        g.caller,
        all_versions=version == "ALL",
        marker=request.args.get("Marker") or None,
        max_items=_max_items(),
    )
    return page(
        "Functions",
        # With every version listed, $LATEST is named by its qualified ARN too, as on Lambda.
        [
            serialize.function_configuration(v, qualified=version == "ALL" or None, listed=True)
            for v in found.items
        ],
        found.next_marker,
    )


@bp.get(f"{FUNCTIONS}/<function_name>")
def get_function(function_name):
    ref = _ref(function_name)
    view = services().functions.get_granted(g.caller, ref, "lambda:GetFunction")
    return json_response(
        serialize.get_function(
            view,
            download_url(view.code_digest, f"{view.name}.zip"),
            qualified=ref.qualifier is not None,
        )
    )


@bp.get(f"{FUNCTIONS}/<function_name>/configuration")
def get_function_configuration(function_name):
    ref = _ref(function_name)
    view = services().functions.get_granted(g.caller, ref, "lambda:GetFunctionConfiguration")
    return json_response(
        serialize.function_configuration(view, qualified=ref.qualifier is not None)
    )


@bp.put(f"{FUNCTIONS}/<function_name>/code")
def update_function_code(function_name):
    body = json_body()
    view = services().functions.update_code(
        g.caller,
        _ref(function_name),
        zip_content(body, "The request"),
        revision_id=string(body, "RevisionId"),
        publish=_flag(body, "Publish"),
        dry_run=_flag(body, "DryRun"),
        architectures=body.get("Architectures"),
    )
    return json_response(serialize.function_configuration(view))


@bp.put(f"{FUNCTIONS}/<function_name>/configuration")
def update_function_configuration(function_name):
    body = json_body()
    view = services().functions.update_configuration(
        g.caller,
        _ref(function_name),
        {k: v for k, v in _settings(body).items() if k != "architectures"},
        layers=string_list(body, "Layers"),
        revision_id=string(body, "RevisionId"),
        options=_options(body),
    )
    return json_response(serialize.function_configuration(view))


@bp.post(f"{FUNCTIONS}/<function_name>/versions")
def publish_version(function_name):
    body = json_body()
    view = services().functions.publish_version(
        g.caller,
        _ref(function_name),
        code_sha256=string(body, "CodeSha256"),
        description=string(body, "Description"),
        revision_id=string(body, "RevisionId"),
    )
    return json_response(serialize.function_configuration(view), 201)


@bp.get(f"{FUNCTIONS}/<function_name>/versions")
def list_versions_by_function(function_name):
    found = services().functions.list_versions(
        g.caller,
        _ref(function_name),
        marker=request.args.get("Marker") or None,
        max_items=_max_items(),
    )
    return page(
        "Versions",
        [serialize.function_configuration(v, qualified=True, listed=True) for v in found.items],
        found.next_marker,
    )


@bp.delete(f"{FUNCTIONS}/<function_name>")
def delete_function(function_name):
    gone = services().functions.delete(g.caller, _ref(function_name))
    services().invoker.forget(gone)
    return Response(status=204)


# -- invoke -----------------------------------------------------------------------------------


@bp.post(f"{FUNCTIONS}/<function_name>/invocations")
def invoke(function_name):
    # The model's enums have already held both headers to their values.
    invocation_type = request.headers.get("X-Amz-Invocation-Type") or "RequestResponse"
    log_type = request.headers.get("X-Amz-Log-Type") or "None"
    ref = _ref(function_name)
    context = _client_context(request.headers.get("X-Amz-Client-Context"))
    if invocation_type == "DryRun":
        services().invoker.resolve(g.caller, ref)
        return Response(status=204)
    payload = raw_body()
    if invocation_type == "Event":
        services().events.accept(
            g.caller, ref, payload, client_context=context, request_id=g.request_id
        )
        return _accepted()
    invocation = services().invoker.invoke(
        g.caller, ref, payload, client_context=context, request_id=g.request_id
    )
    headers = {"X-Amz-Executed-Version": invocation.executed_version}
    if invocation.result.function_error:
        headers["X-Amz-Function-Error"] = invocation.result.function_error
    if log_type == "Tail":
        headers["X-Amz-Log-Result"] = invocation.log_tail
    if not separates_tenants(invocation.result.mechanisms):
        # best-effort on a host without bubblewrap or a uid per environment: say so every time.
        headers["X-Strata-Isolation-Warning"] = (
            "tenants not separated: other environments on this node could reach this "
            "function's Runtime API"
        )
    return Response(
        invocation.result.payload, status=200, mimetype="application/json", headers=headers
    )


def _accepted() -> Response:
    """Lambda's answer to an Event invocation is its status alone: no body, no Content-Type and no
    X-Amz-Executed-Version (which version runs is decided when the event runs)."""
    response = Response(b"", status=202)
    del response.headers["Content-Type"]
    return response


def _client_context(value: str | None) -> str | None:
    """The runtime receives the decoded JSON (Lambda-Runtime-Client-Context), re-serialised
    compactly: the document the client sent is never passed on as it came, so control characters
    in it (a CR/LF that would end the header) reach the runtime only as JSON escapes."""
    if not value:
        return None
    if len(value) > MAX_CLIENT_CONTEXT:
        raise InvalidRequestContent(
            f"Client context must be at most {MAX_CLIENT_CONTEXT} bytes of base64."
        )
    try:
        document = json.loads(
            base64.b64decode(value, validate=True).decode(), parse_constant=_no_constant
        )
    except (binascii.Error, ValueError, RecursionError):
        document = None
    if not isinstance(document, dict):
        raise InvalidRequestContent("Client context must be a valid Base64-encoded JSON object.")
    return json.dumps(document, separators=(",", ":"), ensure_ascii=True)


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


# -- aliases ----------------------------------------------------------------------------------


@bp.post(f"{FUNCTIONS}/<function_name>/aliases")
def create_alias(function_name):
    body = json_body()
    view = services().functions.create_alias(
        g.caller,
        _ref(function_name),
        string(body, "Name", required=True),
        string(body, "FunctionVersion", required=True),
        description=string(body, "Description", default=""),
        routing=body.get("RoutingConfig"),
    )
    return json_response(serialize.alias_configuration(view), 201)


@bp.get(f"{FUNCTIONS}/<function_name>/aliases")
def list_aliases(function_name):
    found = services().functions.list_aliases(
        g.caller,
        _ref(function_name),
        function_version=request.args.get("FunctionVersion") or None,
        marker=request.args.get("Marker") or None,
        max_items=_max_items(),
    )
    return page(
        "Aliases", [serialize.alias_configuration(v) for v in found.items], found.next_marker
    )


@bp.get(f"{FUNCTIONS}/<function_name>/aliases/<name>")
def get_alias(function_name, name):
    return json_response(
        serialize.alias_configuration(
            services().functions.get_alias(g.caller, _ref(function_name), name)
        )
    )


@bp.put(f"{FUNCTIONS}/<function_name>/aliases/<name>")
def update_alias(function_name, name):
    body = json_body()
    view = services().functions.update_alias(
        g.caller,
        _ref(function_name),
        name,
        function_version=string(body, "FunctionVersion"),
        description=string(body, "Description"),
        routing=body.get("RoutingConfig"),
        revision_id=string(body, "RevisionId"),
    )
    return json_response(serialize.alias_configuration(view))


@bp.delete(f"{FUNCTIONS}/<function_name>/aliases/<name>")
def delete_alias(function_name, name):
    services().functions.delete_alias(g.caller, _ref(function_name), name)
    return Response(status=204)
