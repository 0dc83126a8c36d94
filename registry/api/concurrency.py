"""Concurrency operations of the Lambda API: a function's reserved concurrency
(Put/Get/DeleteFunctionConcurrency) and the provisioned concurrency of its versions and aliases
(Put/Get/Delete/ListProvisionedConcurrencyConfigs)."""

from __future__ import annotations

from flask import Blueprint, Response, g, request

from registry.api import serialize_functions as serialize
from registry.api.context import services
from registry.api.requests import json_body, refuse_nul_in_parameters
from registry.api.responses import json_response, page
from registry.errors import InvalidParameterValue
from registry.functions.names import FunctionRef, parse_function_name
from registry.paging import layers_max_items

bp = Blueprint("concurrency", __name__)
bp.before_request(refuse_nul_in_parameters)

# The API version in each path is the one Lambda's model gives the operation.
RESERVED_PUT = "/2017-10-31/functions/<function_name>/concurrency"
RESERVED_GET = "/2019-09-30/functions/<function_name>/concurrency"
PROVISIONED = "/2019-09-30/functions/<function_name>/provisioned-concurrency"


def _ref(function_name: str, qualifier: str | None = None) -> FunctionRef:
    return parse_function_name(function_name, qualifier, region=services().settings.region)


def _reserved(value: int | None) -> dict:
    # Lambda leaves the member out for a function without a reservation.
    return {} if value is None else {"ReservedConcurrentExecutions": value}


# -- reserved concurrency ---------------------------------------------------------------------


@bp.put(RESERVED_PUT)
def put_function_concurrency(function_name):
    body = json_body()
    reserved = services().functions.put_concurrency(
        g.caller, _ref(function_name), body.get("ReservedConcurrentExecutions")
    )
    return json_response(_reserved(reserved))


@bp.get(RESERVED_GET)
def get_function_concurrency(function_name):
    return json_response(
        _reserved(services().functions.get_concurrency(g.caller, _ref(function_name)))
    )


@bp.delete(RESERVED_PUT)
def delete_function_concurrency(function_name):
    services().functions.delete_concurrency(g.caller, _ref(function_name))
    return Response(status=204)


# -- provisioned concurrency ------------------------------------------------------------------


@bp.put(PROVISIONED)
def put_provisioned_concurrency_config(function_name):
    body = json_body()
    view = services().provisioned.put(
        g.caller,
        _ref(function_name, request.args.get("Qualifier")),
        body.get("ProvisionedConcurrentExecutions"),
    )
    return json_response(serialize.provisioned_concurrency(view), 202)


@bp.get(PROVISIONED)
def get_or_list_provisioned_concurrency_configs(function_name):
    """GetProvisionedConcurrencyConfig, or ListProvisionedConcurrencyConfigs with List=ALL (the
    two share the path; Lambda's model tells them apart by that query parameter)."""
    listing = request.args.get("List")
    if listing is None:
        ref = _ref(function_name, request.args.get("Qualifier"))
        return json_response(
            serialize.provisioned_concurrency(services().provisioned.get(g.caller, ref))
        )
    if listing != "ALL":
        raise InvalidParameterValue("List must be ALL when given.")
    found = services().provisioned.list_configs(
        g.caller,
        _ref(function_name),
        marker=request.args.get("Marker") or None,
        max_items=layers_max_items(request.args.get("MaxItems")),
    )
    return page(
        "ProvisionedConcurrencyConfigs",
        [serialize.provisioned_concurrency(view, listed=True) for view in found.items],
        found.next_marker,
    )


@bp.delete(PROVISIONED)
def delete_provisioned_concurrency_config(function_name):
    services().provisioned.delete(g.caller, _ref(function_name, request.args.get("Qualifier")))
    return Response(status=204)
