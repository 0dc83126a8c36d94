"""Asynchronous invocation configuration of the Lambda API:
Put/Get/Update/Delete/ListFunctionEventInvokeConfig(s), under /2019-09-25/functions."""

from __future__ import annotations

from flask import Blueprint, Response, g, request

from registry.api import serialize_functions as serialize
from registry.api.context import services
from registry.api.requests import json_body, refuse_nul_in_parameters
from registry.api.responses import json_response, page
from registry.errors import InvalidParameterValue
from registry.functions.event_invoke_config import MAX_LIST_ITEMS
from registry.functions.names import FunctionRef, parse_function_name
from registry.paging import layers_max_items

bp = Blueprint("event_invoke_config", __name__)
bp.before_request(refuse_nul_in_parameters)

CONFIG = "/2019-09-25/functions/<function_name>/event-invoke-config"


def _ref(function_name: str) -> FunctionRef:
    return parse_function_name(
        function_name, request.args.get("Qualifier"), region=services().settings.region
    )


def _members(body: dict) -> dict:
    """The setting's members as the domain names them; DestinationConfig becomes
    {OnSuccess/OnFailure: ARN} for the outcomes it names ("" clears one)."""
    destinations = body.get("DestinationConfig")
    if destinations is not None:
        if not isinstance(destinations, dict):
            raise InvalidParameterValue("DestinationConfig must be an object.")
        parsed = {}
        for condition in ("OnSuccess", "OnFailure"):
            member = destinations.get(condition)
            if member is None:
                continue
            arn = member.get("Destination", "") if isinstance(member, dict) else None
            if not isinstance(arn, str):
                raise InvalidParameterValue(
                    f"DestinationConfig.{condition}.Destination must be a string."
                )
            parsed[condition] = arn
        destinations = parsed
    return {
        "retries": body.get("MaximumRetryAttempts"),
        "max_age": body.get("MaximumEventAgeInSeconds"),
        "destinations": destinations,
    }


@bp.put(CONFIG)
def put_function_event_invoke_config(function_name):
    view = services().functions.put_event_invoke_config(
        g.caller, _ref(function_name), **_members(json_body())
    )
    return json_response(serialize.event_invoke_config(view))


@bp.post(CONFIG)
def update_function_event_invoke_config(function_name):
    view = services().functions.update_event_invoke_config(
        g.caller, _ref(function_name), **_members(json_body())
    )
    return json_response(serialize.event_invoke_config(view))


@bp.get(CONFIG)
def get_function_event_invoke_config(function_name):
    view = services().functions.get_event_invoke_config(g.caller, _ref(function_name))
    return json_response(serialize.event_invoke_config(view))


@bp.delete(CONFIG)
def delete_function_event_invoke_config(function_name):
    services().functions.delete_event_invoke_config(g.caller, _ref(function_name))
    return Response(status=204)


@bp.get(f"{CONFIG}/list")
def list_function_event_invoke_configs(function_name):
    found = services().functions.list_event_invoke_configs(
        g.caller,
        parse_function_name(function_name, region=services().settings.region),
        marker=request.args.get("Marker") or None,
        max_items=min(layers_max_items(request.args.get("MaxItems")), MAX_LIST_ITEMS),
    )
    return page(
        "FunctionEventInvokeConfigs",
        [serialize.event_invoke_config(view) for view in found.items],
        found.next_marker,
    )
