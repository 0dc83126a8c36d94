"""Who may read a layer version: each kind of grant reaches exactly the accounts it names, and the
policy document states exactly that."""

from __future__ import annotations

import json

import pytest

from registry.accounts import Caller
from registry.layers import policy
from registry.models import LayerVersionGrant

OWNER, B, C = "111111111111", "222222222222", "333333333333"
ORG, OTHER_ORG = "o-abcdefghij", "o-zzzzzzzzzz"
RESOURCE = f"arn:aws:lambda:us-east-1:{OWNER}:layer:shared:1"


def grant(principal: str, organization_id: str | None = None, sid: str = "s1") -> LayerVersionGrant:
    return LayerVersionGrant(
        statement_id=sid,
        action=policy.GET_LAYER_VERSION,
        principal=principal,
        organization_id=organization_id,
    )


def readers(*grants: LayerVersionGrant) -> set[Caller]:
    """Which of a fixed cast of callers may read a version of OWNER under `grants`."""
    cast = [
        Caller(OWNER),
        Caller(B),
        Caller(C),
        Caller(B, ORG),
        Caller(C, ORG),
        Caller(C, OTHER_ORG),
    ]
    return {caller for caller in cast if policy.can_read(caller, OWNER, grants)}


def test_no_grant__only_the_owner_reads():
    assert readers() == {Caller(OWNER)}


def test_account_grant__reaches_that_account_only_whatever_its_organization():
    assert readers(grant(B)) == {Caller(OWNER), Caller(B), Caller(B, ORG)}


def test_arn_root_grant__reaches_that_account_only():
    assert readers(grant(f"arn:aws:iam::{B}:root")) == {Caller(OWNER), Caller(B), Caller(B, ORG)}


def test_arn_grant__never_opens_the_version_to_other_accounts():
    # Neither the account in another ARN field nor a prefix of the ARN may match.
    for principal in (f"arn:aws:iam::{B}:user/{C}", f"arn:aws:iam::{B}:root"):
        assert not policy.grant_allows(grant(principal), Caller(C))
        assert not policy.grant_allows(grant(principal), Caller(C, ORG))


def test_arn_grant__names_the_account_in_the_account_field():
    assert policy.grant_allows(grant(f"arn:aws:iam::{C}:user/deploy"), Caller(C))


def test_public_grant__reaches_every_account_with_or_without_an_organization():
    assert readers(grant("*")) == {
        Caller(OWNER),
        Caller(B),
        Caller(C),
        Caller(B, ORG),
        Caller(C, ORG),
        Caller(C, OTHER_ORG),
    }


def test_organization_grant__reaches_members_of_that_organization_only():
    assert readers(grant("*", ORG)) == {Caller(OWNER), Caller(B, ORG), Caller(C, ORG)}


def test_one_matching_grant_among_others__is_enough():
    assert readers(grant(C, sid="a"), grant(B, sid="b")) == {
        Caller(OWNER),
        Caller(B),
        Caller(C),
        Caller(B, ORG),
        Caller(C, ORG),
        Caller(C, OTHER_ORG),
    }


def test_owner__reads_without_any_grant_and_a_grant_to_the_owner_changes_nothing_for_others():
    assert policy.can_read(Caller(OWNER), OWNER, [])
    assert not policy.can_read(Caller(B), OWNER, [grant(OWNER)])


@pytest.mark.parametrize(
    "principal, organization_id, expected",
    [
        ("*", None, {"Principal": "*"}),
        (B, None, {"Principal": {"AWS": f"arn:aws:iam::{B}:root"}}),
        (f"arn:aws:iam::{B}:root", None, {"Principal": {"AWS": f"arn:aws:iam::{B}:root"}}),
        (
            "*",
            ORG,
            {"Principal": "*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG}}},
        ),
    ],
    ids=["public", "account", "arn", "organization"],
)
def test_statement__renders_each_grant_as_aws_does(principal, organization_id, expected):
    assert policy.statement(grant(principal, organization_id, sid="share"), RESOURCE) == {
        "Sid": "share",
        "Effect": "Allow",
        "Action": "lambda:GetLayerVersion",
        "Resource": RESOURCE,
        **expected,
    }


def test_policy_document__is_compact_json_with_every_statement_in_order():
    grants = [
        grant(B, sid="b"),
        grant("*", ORG, sid="org"),
        grant(f"arn:aws:iam::{C}:root", sid="c"),
    ]
    text = policy.policy_document(grants, RESOURCE)
    assert text == json.dumps(json.loads(text), separators=(",", ":"))
    assert json.loads(text) == {
        "Version": "2012-10-17",
        "Id": "default",
        "Statement": [
            {
                "Sid": "b",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{B}:root"},
                "Action": "lambda:GetLayerVersion",
                "Resource": RESOURCE,
            },
            {
                "Sid": "org",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "lambda:GetLayerVersion",
                "Resource": RESOURCE,
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG}},
            },
            {
                "Sid": "c",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{C}:root"},
                "Action": "lambda:GetLayerVersion",
                "Resource": RESOURCE,
            },
        ],
    }


def test_policy_limit__is_twenty_kib_as_on_aws():
    assert policy.MAX_POLICY_BYTES == 20 * 1024
