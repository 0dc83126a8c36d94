"""Who may read a layer version, and its resource policy as AWS renders it."""

from __future__ import annotations

import json
from collections.abc import Iterable

from registry.accounts import Caller
from registry.models import LayerVersionGrant

GET_LAYER_VERSION = "lambda:GetLayerVersion"
MAX_POLICY_BYTES = 20 * 1024


def grant_allows(grant: LayerVersionGrant, caller: Caller) -> bool:
    if grant.principal == "*":
        return grant.organization_id is None or grant.organization_id == caller.organization_id
    return grant.principal in (caller.account_id, f"arn:aws:iam::{caller.account_id}:root") or (
        grant.principal.startswith("arn:") and grant.principal.split(":")[4] == caller.account_id
    )


def can_read(caller: Caller, owner_account_id: str, grants: Iterable[LayerVersionGrant]) -> bool:
    return caller.account_id == owner_account_id or any(grant_allows(g, caller) for g in grants)


def statement(grant: LayerVersionGrant, resource_arn: str) -> dict:
    if grant.principal == "*":
        principal: str | dict = "*"
    elif grant.principal.startswith("arn:"):
        principal = {"AWS": grant.principal}
    else:
        principal = {"AWS": f"arn:aws:iam::{grant.principal}:root"}
    document = {
        "Sid": grant.statement_id,
        "Effect": "Allow",
        "Principal": principal,
        "Action": grant.action,
        "Resource": resource_arn,
    }
    if grant.organization_id:
        document["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": grant.organization_id}}
    return document


def policy_document(grants: Iterable[LayerVersionGrant], resource_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Id": "default",
            "Statement": [statement(g, resource_arn) for g in grants],
        },
        separators=(",", ":"),
    )
