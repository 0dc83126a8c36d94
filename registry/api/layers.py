"""The nine layer operations of the Lambda API (paths under /2018-10-31/layers)."""

from __future__ import annotations

from flask import Blueprint, Response, g, request

from registry import validation
from registry.api import serialize
from registry.api.context import services
from registry.api.requests import (
    json_body,
    refuse_nul_in_parameters,
    string,
    string_list,
    zip_content,
)
from registry.api.responses import download_url, json_response, page
from registry.errors import InvalidParameterValue
from registry.layers.arns import parse_layer_name, parse_layer_version_arn
from registry.paging import layers_max_items

bp = Blueprint("layers", __name__, url_prefix="/2018-10-31/layers")
bp.before_request(refuse_nul_in_parameters)


def _location(view) -> str:
    return download_url(view.digest, f"{view.name}-{view.version}.zip")


def _filters() -> dict:
    # The model's enums have already checked both filters: a runtime no layer can declare here
    # simply matches nothing.
    return {
        "runtime": request.args.get("CompatibleRuntime") or None,
        "architecture": request.args.get("CompatibleArchitecture") or None,
        "marker": request.args.get("Marker") or None,
        "max_items": layers_max_items(request.args.get("MaxItems")),
    }


@bp.post("/<layer_name>/versions")
def publish_layer_version(layer_name):
    body = json_body()
    view = services().layers.publish(
        g.caller,
        parse_layer_name(layer_name),
        zip_content(body.get("Content"), "Content"),
        description=string(body, "Description", default=""),
        license_info=string(body, "LicenseInfo"),
        compatible_runtimes=string_list(body, "CompatibleRuntimes"),
        compatible_architectures=string_list(body, "CompatibleArchitectures"),
    )
    return json_response(serialize.layer_version(view, _location(view)), 201)


@bp.get("/<layer_name>/versions/<version>")
def get_layer_version(layer_name, version):
    view = services().layers.get_version(
        g.caller, parse_layer_name(layer_name), validation.check_version_number(version)
    )
    return json_response(serialize.layer_version(view, _location(view)))


@bp.get("")
def list_layers_or_get_by_arn():
    # ListLayers and GetLayerVersionByArn share this path; botocore adds find=LayerVersion to the
    # latter.
    if request.args.get("find") == "LayerVersion":
        arn = request.args.get("Arn")
        if not arn:
            raise InvalidParameterValue("Arn is required with find=LayerVersion.")
        ref, version = parse_layer_version_arn(arn)
        view = services().layers.get_version(g.caller, ref, version)
        return json_response(serialize.layer_version(view, _location(view)))
    found = services().layers.list_layers(g.caller, **_filters())
    return page("Layers", [serialize.layers_item(v) for v in found.items], found.next_marker)


@bp.get("/<layer_name>/versions")
def list_layer_versions(layer_name):
    found = services().layers.list_versions(g.caller, parse_layer_name(layer_name), **_filters())
    return page(
        "LayerVersions", [serialize.layer_versions_item(v) for v in found.items], found.next_marker
    )


@bp.delete("/<layer_name>/versions/<version>")
def delete_layer_version(layer_name, version):
    services().layers.delete_version(
        g.caller, parse_layer_name(layer_name), validation.check_version_number(version)
    )
    return Response(status=204)


@bp.post("/<layer_name>/versions/<version>/policy")
def add_layer_version_permission(layer_name, version):
    body = json_body()
    statement, revision = services().layers.add_permission(
        g.caller,
        parse_layer_name(layer_name),
        validation.check_version_number(version),
        statement_id=string(body, "StatementId", required=True),
        action=string(body, "Action", required=True),
        principal=string(body, "Principal", required=True),
        organization_id=string(body, "OrganizationId"),
        revision_id=request.args.get("RevisionId"),
    )
    return json_response({"Statement": statement, "RevisionId": revision}, 201)


@bp.delete("/<layer_name>/versions/<version>/policy/<statement_id>")
def remove_layer_version_permission(layer_name, version, statement_id):
    services().layers.remove_permission(
        g.caller,
        parse_layer_name(layer_name),
        validation.check_version_number(version),
        statement_id,
        revision_id=request.args.get("RevisionId"),
    )
    return Response(status=204)


@bp.get("/<layer_name>/versions/<version>/policy")
def get_layer_version_policy(layer_name, version):
    document, revision = services().layers.get_policy(
        g.caller, parse_layer_name(layer_name), validation.check_version_number(version)
    )
    return json_response({"Policy": document, "RevisionId": revision})
