"""Tagging operations of the Lambda API: TagResource, UntagResource and ListTags (paths under
/2017-03-31/tags/{ARN})."""

from __future__ import annotations

from flask import Blueprint, Response, g, request

from registry.api.context import services
from registry.api.requests import json_body, refuse_nul_in_parameters
from registry.api.responses import json_response

bp = Blueprint("tags", __name__)
bp.before_request(refuse_nul_in_parameters)

TAGS = "/2017-03-31/tags/<resource>"


@bp.post(TAGS)
def tag_resource(resource):
    services().functions.tag_resource(g.caller, resource, json_body().get("Tags"))
    return Response(status=204)


@bp.delete(TAGS)
def untag_resource(resource):
    services().functions.untag_resource(g.caller, resource, request.args.getlist("tagKeys"))
    return Response(status=204)


@bp.get(TAGS)
def list_tags(resource):
    return json_response({"Tags": services().functions.list_tags(g.caller, resource)})
