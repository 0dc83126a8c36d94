"""Reads of function settings Strata does not keep: code signing, function URLs, runtime
management, recursive loop detection and event source mappings.

Tools read them on every refresh of a function (Terraform's provider reads the code signing
configuration of each one), so each answers as Lambda answers for a function that has none of
them: a missing function is still ResourceNotFoundException, as it is for every other read.
"""

from __future__ import annotations

from flask import Blueprint, g, request

from registry.api.context import services
from registry.api.requests import refuse_nul_in_parameters
from registry.api.responses import json_response
from registry.errors import ResourceNotFound
from registry.functions.names import FunctionRef, parse_function_name
from registry.functions.views import FunctionView
from registry.paging import functions_max_items

bp = Blueprint("absent_settings", __name__)
bp.before_request(refuse_nul_in_parameters)

FUNCTION_URL_NOT_FOUND = "The resource you requested does not exist."


def _function(function_name: str, qualifier: str | None = None) -> tuple[FunctionRef, FunctionView]:
    ref = parse_function_name(function_name, qualifier, region=services().settings.region)
    return ref, services().functions.get(g.caller, ref)


@bp.get("/2020-06-30/functions/<function_name>/code-signing-config")
def get_function_code_signing_config(function_name):
    _, view = _function(function_name)
    return json_response({"CodeSigningConfigArn": "", "FunctionName": view.name})


@bp.get("/2021-10-31/functions/<function_name>/url")
def get_function_url_config(function_name):
    _function(function_name, request.args.get("Qualifier"))
    raise ResourceNotFound(FUNCTION_URL_NOT_FOUND)


@bp.get("/2021-10-31/functions/<function_name>/urls")
def list_function_url_configs(function_name):
    functions_max_items(request.args.get("MaxItems"))
    _function(function_name)
    return json_response({"FunctionUrlConfigs": []})


@bp.get("/2021-07-20/functions/<function_name>/runtime-management-config")
def get_runtime_management_config(function_name):
    """Runtimes here follow the host's interpreters, as Lambda's Auto mode follows its own."""
    ref, view = _function(function_name, request.args.get("Qualifier"))
    arn = view.arn if ref.qualifier is None else f"{view.arn}:{ref.qualifier}"
    return json_response({"UpdateRuntimeOn": "Auto", "FunctionArn": arn})


@bp.get("/2024-08-31/functions/<function_name>/recursion-config")
def get_function_recursion_config(function_name):
    _function(function_name)
    return json_response({"RecursiveLoop": "Terminate"})


@bp.get("/2015-03-31/event-source-mappings")
def list_event_source_mappings():
    """No event source polls into Strata; a named function must exist all the same."""
    functions_max_items(request.args.get("MaxItems"))
    name = request.args.get("FunctionName")
    if name:
        _function(name)
    return json_response({"EventSourceMappings": []})
