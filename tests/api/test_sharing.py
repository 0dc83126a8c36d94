"""Sharing layer versions across accounts: grants to an account, an organization, or everyone."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.support.zips import layer_zip


def access_denied(call) -> str:
    with pytest.raises(ClientError) as refused:
        call()
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    return refused.value.response["Error"]["Message"]


@pytest.fixture
def shared(strata_server):
    """An owner with layer 'shared' version 1, and its ARN."""
    owner = strata_server.new_account()
    lam = strata_server.client(owner)
    arn = lam.publish_layer_version(LayerName="shared", Content={"ZipFile": layer_zip()})[
        "LayerVersionArn"
    ]
    return lam, arn


def test_cross_account__get_by_arn_refused_until_granted_to_the_account(strata_server, shared):
    owner, arn = shared
    other = strata_server.new_account()
    reader = strata_server.client(other)
    message = access_denied(lambda: reader.get_layer_version_by_arn(Arn=arn))
    assert "not shared" in message and "Location" not in message
    owner.add_layer_version_permission(
        LayerName="shared",
        VersionNumber=1,
        StatementId="to-other",
        Action="lambda:GetLayerVersion",
        Principal=other.account_id,
    )
    assert reader.get_layer_version_by_arn(Arn=arn)["LayerVersionArn"] == arn
    name_arn, version = arn.rsplit(":", 1)
    assert reader.get_layer_version(LayerName=name_arn, VersionNumber=int(version))["Version"] == 1
    owner.remove_layer_version_permission(
        LayerName="shared", VersionNumber=1, StatementId="to-other"
    )
    access_denied(lambda: reader.get_layer_version_by_arn(Arn=arn))


def test_cross_account__organization_grant_reaches_members_only(strata_server, shared):
    owner, arn = shared
    member = strata_server.client(strata_server.new_account(org="o-abcdefghij"))
    outsider = strata_server.client(strata_server.new_account(org="o-zzzzzzzzzz"))
    owner.add_layer_version_permission(
        LayerName="shared",
        VersionNumber=1,
        StatementId="org",
        Action="lambda:GetLayerVersion",
        Principal="*",
        OrganizationId="o-abcdefghij",
    )
    assert member.get_layer_version_by_arn(Arn=arn)["Version"] == 1
    access_denied(lambda: outsider.get_layer_version_by_arn(Arn=arn))
    owner.remove_layer_version_permission(LayerName="shared", VersionNumber=1, StatementId="org")
    access_denied(lambda: member.get_layer_version_by_arn(Arn=arn))


def test_cross_account__public_grant_reaches_everyone(strata_server, shared):
    owner, arn = shared
    stranger = strata_server.client(strata_server.new_account())
    access_denied(lambda: stranger.get_layer_version_by_arn(Arn=arn))
    owner.add_layer_version_permission(
        LayerName="shared",
        VersionNumber=1,
        StatementId="public",
        Action="lambda:GetLayerVersion",
        Principal="*",
    )
    assert stranger.get_layer_version_by_arn(Arn=arn)["Version"] == 1
    owner.remove_layer_version_permission(LayerName="shared", VersionNumber=1, StatementId="public")
    access_denied(lambda: stranger.get_layer_version_by_arn(Arn=arn))


def test_cross_account__missing_layer_says_no_such_layer(strata_server, shared):
    _, arn = shared
    reader = strata_server.client(strata_server.new_account())
    message = access_denied(lambda: reader.get_layer_version_by_arn(Arn=arn[:-1] + "9"))
    assert "does not exist" in message


def test_cross_account__only_the_owner_changes_a_layer(strata_server, shared):
    _, arn = shared
    other = strata_server.client(strata_server.new_account())
    layer_arn = arn.rsplit(":", 1)[0]
    access_denied(lambda: other.delete_layer_version(LayerName=layer_arn, VersionNumber=1))
    access_denied(
        lambda: other.add_layer_version_permission(
            LayerName=layer_arn,
            VersionNumber=1,
            StatementId="x",
            Action="lambda:GetLayerVersion",
            Principal="*",
        )
    )


def test_list_layers__other_accounts_layers_are_not_listed(strata_server, shared):
    other = strata_server.client(strata_server.new_account())
    assert other.list_layers()["Layers"] == []


def test_policy__statement_revision_and_document_as_aws_renders_them(strata_server, shared):
    owner, arn = shared
    out = owner.add_layer_version_permission(
        LayerName="shared",
        VersionNumber=1,
        StatementId="xaccount",
        Action="lambda:GetLayerVersion",
        Principal="223456789012",
    )
    statement = json.loads(out["Statement"])
    assert statement == {
        "Sid": "xaccount",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::223456789012:root"},
        "Action": "lambda:GetLayerVersion",
        "Resource": arn,
    }
    policy = owner.get_layer_version_policy(LayerName="shared", VersionNumber=1)
    assert policy["RevisionId"] == out["RevisionId"]
    assert json.loads(policy["Policy"])["Statement"] == [statement]


def test_policy__stale_revision_is_precondition_failed(strata_server, shared):
    owner, _ = shared
    first = owner.add_layer_version_permission(
        LayerName="shared",
        VersionNumber=1,
        StatementId="a",
        Action="lambda:GetLayerVersion",
        Principal="*",
    )
    owner.add_layer_version_permission(
        LayerName="shared",
        VersionNumber=1,
        StatementId="b",
        Action="lambda:GetLayerVersion",
        Principal="*",
        RevisionId=first["RevisionId"],
    )
    with pytest.raises(owner.exceptions.PreconditionFailedException):
        owner.add_layer_version_permission(
            LayerName="shared",
            VersionNumber=1,
            StatementId="c",
            Action="lambda:GetLayerVersion",
            Principal="*",
            RevisionId=first["RevisionId"],
        )
    with pytest.raises(owner.exceptions.PreconditionFailedException):
        owner.remove_layer_version_permission(
            LayerName="shared", VersionNumber=1, StatementId="a", RevisionId=first["RevisionId"]
        )


def test_policy__duplicate_statement_id_is_resource_conflict(strata_server, shared):
    owner, _ = shared
    grant = dict(
        LayerName="shared",
        VersionNumber=1,
        StatementId="dup",
        Action="lambda:GetLayerVersion",
        Principal="*",
    )
    owner.add_layer_version_permission(**grant)
    with pytest.raises(owner.exceptions.ResourceConflictException):
        owner.add_layer_version_permission(**grant)


def test_policy__none_yet_is_resource_not_found(strata_server, shared):
    owner, _ = shared
    with pytest.raises(owner.exceptions.ResourceNotFoundException):
        owner.get_layer_version_policy(LayerName="shared", VersionNumber=1)
    with pytest.raises(owner.exceptions.ResourceNotFoundException):
        owner.remove_layer_version_permission(
            LayerName="shared", VersionNumber=1, StatementId="nope"
        )
