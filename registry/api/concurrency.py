"""Concurrency operations of the Lambda API: a function's reserved concurrency
(Put/Get/DeleteFunctionConcurrency)."""

from __future__ import annotations

from flask import Blueprint, Response, g

from registry.api.context import services
from registry.api.requests import json_body, refuse_nul_in_parameters
from registry.api.responses import json_response
from registry.functions.names import FunctionRef, parse_function_name

bp = Blueprint("concurrency", __name__)
bp.before_request(refuse_nul_in_parameters)

# The API version in each path is the one Lambda's model gives the operation.
RESERVED_PUT = "/2017-10-31/functions/<function_name>/concurrency"
RESERVED_GET = "/2019-09-30/functions/<function_name>/concurrency"


def _ref(function_name: str) -> FunctionRef:
    return parse_function_name(function_name, region=services().settings.region)


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
