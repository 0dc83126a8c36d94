"""Whom a statement of a function's resource policy grants, and how it is rendered."""

from __future__ import annotations

from registry.accounts import Caller
from registry.functions import policy
from registry.models import FunctionPermission

OWNER_ARN = "arn:aws:lambda:us-east-1:111111111111:function:f"
CALLER = Caller("222222222222", "o-abcdefghij")


def statement(**fields) -> FunctionPermission:
    values = {"statement_id": "s", "action": policy.INVOKE, "principal": "*", **fields}
    return FunctionPermission(**values)


def test_grants__the_callers_account_its_root_and_everyone():
    for principal in ("222222222222", "arn:aws:iam::222222222222:root", "*"):
        assert policy.grants(statement(principal=principal), CALLER, policy.INVOKE)
    assert not policy.grants(statement(principal="333333333333"), CALLER, policy.INVOKE)
    assert not policy.grants(
        statement(principal="arn:aws:iam::222222222222:role/r"), CALLER, policy.INVOKE
    )


def test_grants__only_the_action_stated_or_a_wildcard():
    assert policy.grants(statement(action="lambda:*"), CALLER, "lambda:GetFunction")
    assert policy.grants(statement(action="*"), CALLER, "lambda:GetFunction")
    assert not policy.grants(statement(action="lambda:GetFunction"), CALLER, policy.INVOKE)


def test_grants__organization_and_source_account_conditions_are_held_to_the_caller():
    assert policy.grants(statement(principal_org_id="o-abcdefghij"), CALLER, policy.INVOKE)
    assert not policy.grants(statement(principal_org_id="o-zzzzzzzzzz"), CALLER, policy.INVOKE)
    assert not policy.grants(
        statement(principal_org_id="o-abcdefghij"), Caller("222222222222"), policy.INVOKE
    )
    assert policy.grants(statement(source_account="222222222222"), CALLER, policy.INVOKE)
    assert not policy.grants(statement(source_account="333333333333"), CALLER, policy.INVOKE)


def test_grants__conditions_a_direct_call_cannot_meet_never_grant():
    for fields in (
        {"source_arn": "arn:aws:s3:::bucket"},
        {"event_source_token": "token"},
        {"function_url_auth_type": "NONE"},
        {"principal": "s3.amazonaws.com"},
    ):
        assert not policy.grants(statement(**fields), CALLER, policy.INVOKE), fields


def test_statement__conditions_are_grouped_by_operator():
    rendered = policy.statement(
        statement(
            principal="events.amazonaws.com",
            source_arn="arn:aws:events:us-east-1:111111111111:rule/r",
            source_account="111111111111",
        ),
        OWNER_ARN,
    )
    assert rendered == {
        "Sid": "s",
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": policy.INVOKE,
        "Resource": OWNER_ARN,
        "Condition": {
            "StringEquals": {"AWS:SourceAccount": "111111111111"},
            "ArnLike": {"AWS:SourceArn": "arn:aws:events:us-east-1:111111111111:rule/r"},
        },
    }


def test_valid_principal__accounts_iam_arns_services_and_star_only():
    for principal in ("123456789012", "arn:aws:iam::123456789012:root", "sns.amazonaws.com", "*"):
        assert policy.valid_principal(principal), principal
    for principal in ("someone", "1234", "arn:aws:s3:::bucket", ""):
        assert not policy.valid_principal(principal), principal
