"""Another account reaches a function only through its ARN and only as far as the resource policy
of the ARN it calls grants: Invoke (RequestResponse, Event, DryRun), GetFunction,
GetFunctionConfiguration and GetPolicy."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.support.functions import create


def denied(call) -> str:
    with pytest.raises(ClientError) as refused:
        call()
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    return refused.value.response["Error"]["Message"]


def invoked(client, arn: str) -> dict:
    answer = client.invoke(FunctionName=arn, Payload=b'{"from": "elsewhere"}')
    assert answer["StatusCode"] == 200
    return json.loads(answer["Payload"].read())


@pytest.fixture
def owned(lam):
    """The owner's client and the ARN of its function 'shared'."""
    return lam, create(lam, "shared")["FunctionArn"]


def test_invoke__another_account_may_invoke_once_granted_and_not_after_removal(
    strata_server, owned
):
    owner, arn = owned
    other = strata_server.new_account()
    caller = strata_server.client(other)
    message = denied(lambda: caller.invoke(FunctionName=arn, Payload=b"{}"))
    assert message == (
        f"User: arn:aws:iam::{other.account_id}:root is not authorized to perform: "
        f"lambda:InvokeFunction on resource: {arn} because no resource-based policy allows the "
        "lambda:InvokeFunction action"
    )
    owner.add_permission(
        FunctionName="shared",
        StatementId="to-other",
        Action="lambda:InvokeFunction",
        Principal=other.account_id,
    )
    assert invoked(caller, arn) == {"echo": {"from": "elsewhere"}, "version": "$LATEST"}
    assert caller.invoke(FunctionName=arn, InvocationType="Event")["StatusCode"] == 202
    assert caller.invoke(FunctionName=arn, InvocationType="DryRun")["StatusCode"] == 204
    owner.remove_permission(FunctionName="shared", StatementId="to-other")
    for kind in ("RequestResponse", "Event", "DryRun"):
        denied(lambda kind=kind: caller.invoke(FunctionName=arn, InvocationType=kind))


def test_invoke__a_grant_to_another_account_reaches_no_third_one(strata_server, owned):
    owner, arn = owned
    granted = strata_server.new_account()
    owner.add_permission(
        FunctionName="shared",
        StatementId="root-arn",
        Action="lambda:InvokeFunction",
        Principal=f"arn:aws:iam::{granted.account_id}:root",
    )
    assert invoked(strata_server.client(granted), arn)["version"] == "$LATEST"
    denied(lambda: strata_server.client(strata_server.new_account()).invoke(FunctionName=arn))


def test_invoke__a_function_that_does_not_exist_is_refused_like_one_not_granted(
    strata_server, lam, account
):
    caller = strata_server.client(strata_server.new_account())
    arn = f"arn:aws:lambda:us-east-1:{account.account_id}:function:never-made"
    assert "because no resource-based policy allows" in denied(
        lambda: caller.invoke(FunctionName=arn)
    )


def test_invoke__a_grant_on_an_alias_reaches_only_calls_through_the_alias(strata_server, owned):
    owner, arn = owned
    owner.publish_version(FunctionName="shared")
    owner.get_waiter("published_version_active").wait(
        FunctionName="shared", Qualifier="1", WaiterConfig={"Delay": 0.05, "MaxAttempts": 600}
    )
    owner.create_alias(FunctionName="shared", Name="live", FunctionVersion="1")
    caller = strata_server.client(granted := strata_server.new_account())
    owner.add_permission(
        FunctionName="shared",
        Qualifier="live",
        StatementId="live",
        Action="lambda:InvokeFunction",
        Principal=granted.account_id,
    )
    assert invoked(caller, f"{arn}:live")["version"] == "1"
    denied(lambda: caller.invoke(FunctionName=arn))
    denied(lambda: caller.invoke(FunctionName=f"{arn}:1"))
    denied(lambda: caller.invoke(FunctionName=arn, Qualifier="1"))


def test_invoke__a_grant_on_the_function_reaches_latest_but_not_versions(strata_server, owned):
    owner, arn = owned
    owner.publish_version(FunctionName="shared")
    caller = strata_server.client(granted := strata_server.new_account())
    owner.add_permission(
        FunctionName="shared",
        StatementId="function",
        Action="lambda:InvokeFunction",
        Principal=granted.account_id,
    )
    assert invoked(caller, f"{arn}:$LATEST")["version"] == "$LATEST"
    denied(lambda: caller.invoke(FunctionName=f"{arn}:1"))


def test_invoke__an_organization_grant_reaches_its_member_accounts_only(strata_server, owned):
    owner, arn = owned
    owner.add_permission(
        FunctionName="shared",
        StatementId="org",
        Action="lambda:InvokeFunction",
        Principal="*",
        PrincipalOrgID="o-abcdefghij",
    )
    member = strata_server.client(strata_server.new_account(org="o-abcdefghij"))
    outsider = strata_server.client(strata_server.new_account(org="o-zzzzzzzzzz"))
    alone = strata_server.client(strata_server.new_account())
    assert invoked(member, arn)["version"] == "$LATEST"
    denied(lambda: outsider.invoke(FunctionName=arn))
    denied(lambda: alone.invoke(FunctionName=arn))


def test_invoke__a_grant_to_everyone_reaches_every_account(strata_server, owned):
    owner, arn = owned
    owner.add_permission(FunctionName="shared", StatementId="all", Action="lambda:*", Principal="*")
    assert invoked(strata_server.client(strata_server.new_account()), arn)["version"] == "$LATEST"


def test_invoke__a_source_account_condition_is_held_to_the_calling_account(strata_server, owned):
    owner, arn = owned
    named = strata_server.new_account()
    owner.add_permission(
        FunctionName="shared",
        StatementId="named-source",
        Action="lambda:InvokeFunction",
        Principal="*",
        SourceAccount=named.account_id,
    )
    assert invoked(strata_server.client(named), arn)["version"] == "$LATEST"
    denied(lambda: strata_server.client(strata_server.new_account()).invoke(FunctionName=arn))


def test_invoke__a_source_arn_or_service_grant_never_reaches_a_direct_caller(strata_server, owned):
    owner, arn = owned
    caller = strata_server.client(granted := strata_server.new_account())
    owner.add_permission(
        FunctionName="shared",
        StatementId="from-bucket",
        Action="lambda:InvokeFunction",
        Principal=granted.account_id,
        SourceArn="arn:aws:s3:::a-bucket",
    )
    owner.add_permission(
        FunctionName="shared",
        StatementId="s3",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
    )
    denied(lambda: caller.invoke(FunctionName=arn))


def test_invoke__a_grant_of_another_action_does_not_allow_invoking(strata_server, owned):
    owner, arn = owned
    caller = strata_server.client(granted := strata_server.new_account())
    owner.add_permission(
        FunctionName="shared",
        StatementId="read",
        Action="lambda:GetFunction",
        Principal=granted.account_id,
    )
    denied(lambda: caller.invoke(FunctionName=arn))


def test_get_function__another_account_reads_what_each_action_grants(strata_server, owned):
    owner, arn = owned
    caller = strata_server.client(granted := strata_server.new_account())
    denied(lambda: caller.get_function(FunctionName=arn))
    owner.add_permission(
        FunctionName="shared",
        StatementId="get",
        Action="lambda:GetFunction",
        Principal=granted.account_id,
    )
    assert caller.get_function(FunctionName=arn)["Configuration"]["FunctionArn"] == arn
    message = denied(lambda: caller.get_function_configuration(FunctionName=arn))
    assert "lambda:GetFunctionConfiguration" in message
    owner.add_permission(
        FunctionName="shared",
        StatementId="config",
        Action="lambda:GetFunctionConfiguration",
        Principal=granted.account_id,
    )
    assert caller.get_function_configuration(FunctionName=arn)["FunctionArn"] == arn
    denied(lambda: caller.update_function_configuration(FunctionName=arn, Timeout=9))


def test_get_policy__another_account_reads_it_when_granted(strata_server, owned):
    owner, arn = owned
    caller = strata_server.client(granted := strata_server.new_account())
    owner.add_permission(
        FunctionName="shared",
        StatementId="policy-reader",
        Action="lambda:GetPolicy",
        Principal=granted.account_id,
    )
    policy = json.loads(caller.get_policy(FunctionName=arn)["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["policy-reader"]
    denied(lambda: strata_server.client(strata_server.new_account()).get_policy(FunctionName=arn))


def test_add_permission__only_the_owner_changes_the_policy(strata_server, owned):
    owner, arn = owned
    caller = strata_server.client(granted := strata_server.new_account())
    owner.add_permission(
        FunctionName="shared", StatementId="all", Action="lambda:*", Principal=granted.account_id
    )
    denied(
        lambda: caller.add_permission(
            FunctionName=arn, StatementId="mine", Action="lambda:*", Principal="*"
        )
    )
    denied(lambda: caller.remove_permission(FunctionName=arn, StatementId="all"))
