"""Function resource policy operations of the Lambda API: AddPermission, RemovePermission and
GetPolicy (paths under /2015-03-31/functions/{FunctionName}/policy)."""

from __future__ import annotations

from flask import Blueprint, Response, g, request

from registry.api.context import services
from registry.api.requests import json_body, refuse_nul_in_parameters, string
from registry.api.responses import json_response
from registry.errors import InvalidParameterValue
from registry.functions.names import FunctionRef, parse_function_name

bp = Blueprint("permissions", __name__)
bp.before_request(refuse_nul_in_parameters)

POLICY = "/2015-03-31/functions/<function_name>/policy"


def _ref(function_name: str) -> FunctionRef:
    return parse_function_name(
        function_name, request.args.get("Qualifier"), region=services().settings.region
    )


@bp.post(POLICY)
def add_permission(function_name):
    body = json_body()
    if body.get("InvokedViaFunctionUrl") not in (None, False):
        raise InvalidParameterValue(
            "InvokedViaFunctionUrl is not supported: this server has no function URLs."
        )
    statement = services().functions.add_permission(
        g.caller,
        _ref(function_name),
        statement_id=string(body, "StatementId", required=True),
        action=string(body, "Action", required=True),
        principal=string(body, "Principal", required=True),
        source_arn=string(body, "SourceArn"),
        source_account=string(body, "SourceAccount"),
        principal_org_id=string(body, "PrincipalOrgID"),
        event_source_token=string(body, "EventSourceToken"),
        function_url_auth_type=string(body, "FunctionUrlAuthType"),
        revision_id=string(body, "RevisionId"),
    )
    return json_response({"Statement": statement}, 201)


@bp.get(POLICY)
def get_policy(function_name):
    document, revision_id = services().functions.get_policy(g.caller, _ref(function_name))
    return json_response({"Policy": document, "RevisionId": revision_id})


@bp.delete(f"{POLICY}/<statement_id>")
def remove_permission(function_name, statement_id):
    services().functions.remove_permission(
        g.caller,
        _ref(function_name),
        statement_id,
        revision_id=request.args.get("RevisionId") or None,
    )
    return Response(status=204)
