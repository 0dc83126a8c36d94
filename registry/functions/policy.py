"""A function's resource policy: the principals AddPermission accepts, its statements and policy
document as Lambda renders them, and whether a statement lets another account act on the
function.

Callers of this server are accounts acting directly (their root), never an AWS service acting
for one of its resources. So a statement reaches a caller only through its principal (the
caller's account, its root, or `*`) and the conditions a direct call carries: `AWS:SourceAccount`
(held to the caller's account) and `aws:PrincipalOrgID` (the caller's organization). A condition
on `AWS:SourceArn`, `lambda:EventSourceToken` or `lambda:FunctionUrlAuthType` names a key a direct
call does not have, and as in IAM a condition on a missing key never matches, so such statements
never grant a direct call; they are kept and shown for the tools that write them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from registry.accounts import Caller
from registry.models import FunctionPermission

MAX_POLICY_BYTES = 20 * 1024
INVOKE = "lambda:InvokeFunction"

_ACCOUNT = re.compile(r"\d{12}")
_IAM_ARN = re.compile(r"arn:aws[a-zA-Z-]*:iam::(?P<account>\d{12}):\S+")
_SERVICE = re.compile(r"[a-z0-9][a-z0-9.-]*\.amazonaws\.com(\.cn)?")


def valid_principal(principal: str) -> bool:
    return principal == "*" or any(p.fullmatch(principal) for p in (_ACCOUNT, _IAM_ARN, _SERVICE))


def _principal_element(principal: str) -> str | dict:
    if principal == "*":
        return "*"
    if _ACCOUNT.fullmatch(principal):
        return {"AWS": f"arn:aws:iam::{principal}:root"}
    if _SERVICE.fullmatch(principal):
        return {"Service": principal}
    return {"AWS": principal}


def statement(row: FunctionPermission, resource_arn: str) -> dict:
    document = {
        "Sid": row.statement_id,
        "Effect": "Allow",
        "Principal": _principal_element(row.principal),
        "Action": row.action,
        "Resource": resource_arn,
    }
    equals = {}
    if row.function_url_auth_type:
        equals["lambda:FunctionUrlAuthType"] = row.function_url_auth_type
    if row.principal_org_id:
        equals["aws:PrincipalOrgID"] = row.principal_org_id
    if row.source_account:
        equals["AWS:SourceAccount"] = row.source_account
    if row.event_source_token:
        equals["lambda:EventSourceToken"] = row.event_source_token
    condition: dict = {"StringEquals": equals} if equals else {}
    if row.source_arn:
        condition["ArnLike"] = {"AWS:SourceArn": row.source_arn}
    if condition:
        document["Condition"] = condition
    return document


def compact(document: dict) -> str:
    return json.dumps(document, separators=(",", ":"))


def policy_document(rows: Iterable[FunctionPermission], resource_arn: str) -> str:
    return compact(
        {
            "Version": "2012-10-17",
            "Id": "default",
            "Statement": [statement(row, resource_arn) for row in rows],
        }
    )


def grants(row: FunctionPermission, caller: Caller, action: str) -> bool:
    """Whether `row` lets `caller` (another account, calling directly) perform `action`."""
    if row.action not in (action, "lambda:*", "*"):
        return False
    if row.source_arn or row.event_source_token or row.function_url_auth_type:
        return False
    if row.source_account is not None and row.source_account != caller.account_id:
        return False
    if row.principal_org_id is not None and row.principal_org_id != caller.organization_id:
        return False
    if row.principal == "*":
        return True
    return row.principal in (caller.account_id, f"arn:aws:iam::{caller.account_id}:root")
