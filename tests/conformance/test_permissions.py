"""AddPermission, GetPolicy and RemovePermission answer as AWS Lambda does: the statement as a JSON
string, the policy document with the RevisionId of the function, version or alias it belongs to,
and AWS's errors word for word."""

from __future__ import annotations

import json

from tests.conformance.expect import UUID, Kind, assert_answer, assert_error, differences
from tests.support.functions import create

REVISION_MISMATCH = (
    "The Revision Id provided does not match the latest Revision Id. Call the "
    "GetFunction/GetAlias API to retrieve the latest Revision Id"
)


def arn_of(lam, name: str) -> str:
    return lam.get_function_configuration(FunctionName=name)["FunctionArn"]


def revision_of(lam, name: str, qualifier: str | None = None) -> str:
    extra = {"Qualifier": qualifier} if qualifier else {}
    return lam.get_function_configuration(FunctionName=name, **extra)["RevisionId"]


def assert_document(text: str, expected) -> None:
    found = differences(json.loads(text), expected)
    assert not found, "\n".join(found)


def test_add_permission__a_service_limited_to_its_source_is_stated_with_its_conditions(lam):
    create(lam, "bucket-handler")
    arn = arn_of(lam, "bucket-handler")
    answer = lam.add_permission(
        FunctionName="bucket-handler",
        StatementId="s3-invoke",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn="arn:aws:s3:::my-bucket",
        SourceAccount="123456789012",
    )
    assert_answer(answer, {"Statement": Kind(str)}, status=201)
    assert_document(
        answer["Statement"],
        {
            "Sid": "s3-invoke",
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "lambda:InvokeFunction",
            "Resource": arn,
            "Condition": {
                "StringEquals": {"AWS:SourceAccount": "123456789012"},
                "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::my-bucket"},
            },
        },
    )


def test_add_permission__an_account_is_granted_as_its_root_and_everyone_as_a_star(lam):
    create(lam, "granted")
    arn = arn_of(lam, "granted")
    to_account = lam.add_permission(
        FunctionName="granted",
        StatementId="to-account",
        Action="lambda:GetFunction",
        Principal="210987654321",
    )
    assert_document(
        to_account["Statement"],
        {
            "Sid": "to-account",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
            "Action": "lambda:GetFunction",
            "Resource": arn,
        },
    )
    to_org = lam.add_permission(
        FunctionName=arn,
        StatementId="to-org",
        Action="lambda:InvokeFunction",
        Principal="*",
        PrincipalOrgID="o-abcdefghij",
    )
    assert_document(
        to_org["Statement"],
        {
            "Sid": "to-org",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "lambda:InvokeFunction",
            "Resource": arn,
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}},
        },
    )


def test_get_policy__is_the_document_of_every_statement_with_the_functions_revision(lam):
    create(lam, "policied")
    arn = arn_of(lam, "policied")
    for sid, principal in (("first", "111122223333"), ("second", "sns.amazonaws.com")):
        lam.add_permission(
            FunctionName="policied",
            StatementId=sid,
            Action="lambda:InvokeFunction",
            Principal=principal,
        )
    answer = lam.get_policy(FunctionName="policied")
    assert_answer(answer, {"Policy": Kind(str), "RevisionId": UUID}, status=200)
    assert answer["RevisionId"] == revision_of(lam, "policied")
    assert_document(
        answer["Policy"],
        {
            "Version": "2012-10-17",
            "Id": "default",
            "Statement": [
                {
                    "Sid": "first",
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                    "Action": "lambda:InvokeFunction",
                    "Resource": arn,
                },
                {
                    "Sid": "second",
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "lambda:InvokeFunction",
                    "Resource": arn,
                },
            ],
        },
    )


def test_add_permission__draws_a_new_revision_id_for_the_function(lam):
    created = create(lam, "revised")
    lam.add_permission(
        FunctionName="revised", StatementId="a", Action="lambda:InvokeFunction", Principal="*"
    )
    after_add = revision_of(lam, "revised")
    assert after_add != created["RevisionId"]
    lam.remove_permission(FunctionName="revised", StatementId="a", RevisionId=after_add)
    assert revision_of(lam, "revised") != after_add


def test_add_permission__a_statement_id_already_in_the_policy_is_a_conflict(lam):
    create(lam, "twice")
    grant = dict(
        FunctionName="twice", StatementId="same", Action="lambda:InvokeFunction", Principal="*"
    )
    lam.add_permission(**grant)
    assert_error(
        lambda: lam.add_permission(**grant),
        code="ResourceConflictException",
        status=409,
        message="The statement id (same) provided already exists. Please provide a new "
        "statement id, or remove the existing statement.",
        Type="User",
    )


def test_add_permission__latest_takes_no_policy_of_its_own(lam):
    create(lam, "latest-only")
    assert_error(
        lambda: lam.add_permission(
            FunctionName="latest-only",
            Qualifier="$LATEST",
            StatementId="s",
            Action="lambda:InvokeFunction",
            Principal="*",
        ),
        code="InvalidParameterValueException",
        status=400,
        message="We currently do not support adding policies for $LATEST.",
        Type="User",
    )


def test_add_permission__an_alias_has_a_policy_of_its_own_with_the_alias_revision(lam):
    create(lam, "aliased")
    lam.publish_version(FunctionName="aliased")
    alias = lam.create_alias(FunctionName="aliased", Name="live", FunctionVersion="1")
    answer = lam.add_permission(
        FunctionName="aliased",
        Qualifier="live",
        StatementId="live-only",
        Action="lambda:InvokeFunction",
        Principal="*",
    )
    assert json.loads(answer["Statement"])["Resource"] == alias["AliasArn"]
    policy = lam.get_policy(FunctionName="aliased", Qualifier="live")
    assert policy["RevisionId"] == lam.get_alias(FunctionName="aliased", Name="live")["RevisionId"]
    assert policy["RevisionId"] != alias["RevisionId"]
    assert [s["Sid"] for s in json.loads(policy["Policy"])["Statement"]] == ["live-only"]
    assert_error(
        lambda: lam.get_policy(FunctionName="aliased"),
        code="ResourceNotFoundException",
        status=404,
        message="The resource you requested does not exist.",
        Type="User",
    )


def test_add_permission__a_version_has_a_policy_of_its_own(lam):
    create(lam, "versioned")
    version = lam.publish_version(FunctionName="versioned")
    lam.add_permission(
        FunctionName="versioned:1",
        StatementId="v1",
        Action="lambda:InvokeFunction",
        Principal="*",
    )
    policy = lam.get_policy(FunctionName="versioned", Qualifier="1")
    assert json.loads(policy["Policy"])["Statement"][0]["Resource"] == version["FunctionArn"]
    assert policy["RevisionId"] == revision_of(lam, "versioned", "1")


def test_add_permission__a_version_or_alias_that_does_not_exist_is_not_found(lam):
    create(lam, "unpublished")
    arn = arn_of(lam, "unpublished")
    for qualifier in ("3", "nowhere"):
        assert_error(
            lambda qualifier=qualifier: lam.add_permission(
                FunctionName="unpublished",
                Qualifier=qualifier,
                StatementId="s",
                Action="lambda:InvokeFunction",
                Principal="*",
            ),
            code="ResourceNotFoundException",
            status=404,
            message=f"Function not found: {arn}:{qualifier}",
            Type="User",
        )


def test_add_permission__an_unknown_function_is_not_found(lam, account):
    assert_error(
        lambda: lam.add_permission(
            FunctionName="ghost", StatementId="s", Action="lambda:InvokeFunction", Principal="*"
        ),
        code="ResourceNotFoundException",
        status=404,
        message=f"Function not found: arn:aws:lambda:us-east-1:{account.account_id}:function:ghost",
        Type="User",
    )


def test_add_permission__a_principal_that_is_no_account_service_or_star_is_refused(lam):
    create(lam, "principled")
    assert_error(
        lambda: lam.add_permission(
            FunctionName="principled",
            StatementId="s",
            Action="lambda:InvokeFunction",
            Principal="somebody",
        ),
        code="InvalidParameterValueException",
        status=400,
        message="The provided principal was invalid. Please check the principal and try again.",
        Type="User",
    )


def test_add_permission__a_stale_revision_id_fails_the_precondition(lam):
    created = create(lam, "guarded")
    lam.add_permission(
        FunctionName="guarded", StatementId="a", Action="lambda:InvokeFunction", Principal="*"
    )
    assert_error(
        lambda: lam.add_permission(
            FunctionName="guarded",
            StatementId="b",
            Action="lambda:InvokeFunction",
            Principal="*",
            RevisionId=created["RevisionId"],
        ),
        code="PreconditionFailedException",
        status=412,
        message=REVISION_MISMATCH,
        Type="User",
    )
    assert_error(
        lambda: lam.remove_permission(
            FunctionName="guarded", StatementId="a", RevisionId=created["RevisionId"]
        ),
        code="PreconditionFailedException",
        status=412,
        message=REVISION_MISMATCH,
        Type="User",
    )


def test_get_policy__a_function_without_statements_has_none(lam):
    create(lam, "unshared")
    assert_error(
        lambda: lam.get_policy(FunctionName="unshared"),
        code="ResourceNotFoundException",
        status=404,
        message="The resource you requested does not exist.",
        Type="User",
    )


def test_remove_permission__answers_204_and_the_last_statement_takes_the_policy_with_it(lam):
    create(lam, "removed")
    lam.add_permission(
        FunctionName="removed", StatementId="only", Action="lambda:InvokeFunction", Principal="*"
    )
    answer = lam.remove_permission(FunctionName="removed", StatementId="only")
    assert_answer(answer, {}, status=204)
    assert_error(
        lambda: lam.get_policy(FunctionName="removed"),
        code="ResourceNotFoundException",
        status=404,
        message="The resource you requested does not exist.",
    )


def test_remove_permission__an_unknown_statement_is_not_found(lam):
    create(lam, "statements")
    assert_error(
        lambda: lam.remove_permission(FunctionName="statements", StatementId="nope"),
        code="ResourceNotFoundException",
        status=404,
        message="No policy is associated with the given resource.",
        Type="User",
    )
    lam.add_permission(
        FunctionName="statements", StatementId="kept", Action="lambda:InvokeFunction", Principal="*"
    )
    assert_error(
        lambda: lam.remove_permission(FunctionName="statements", StatementId="nope"),
        code="ResourceNotFoundException",
        status=404,
        message="Statement nope is not found in resource policy.",
        Type="User",
    )


def test_delete_alias__its_policy_goes_with_it(lam):
    create(lam, "recreated")
    lam.publish_version(FunctionName="recreated")
    lam.create_alias(FunctionName="recreated", Name="blue", FunctionVersion="1")
    lam.add_permission(
        FunctionName="recreated",
        Qualifier="blue",
        StatementId="blue",
        Action="lambda:InvokeFunction",
        Principal="*",
    )
    lam.delete_alias(FunctionName="recreated", Name="blue")
    lam.create_alias(FunctionName="recreated", Name="blue", FunctionVersion="1")
    assert_error(
        lambda: lam.get_policy(FunctionName="recreated", Qualifier="blue"),
        code="ResourceNotFoundException",
        status=404,
        message="The resource you requested does not exist.",
    )


def test_delete_function__its_policies_go_with_it(lam):
    create(lam, "gone")
    lam.publish_version(FunctionName="gone")
    for qualifier in (None, "1"):
        extra = {"Qualifier": qualifier} if qualifier else {}
        lam.add_permission(
            FunctionName="gone",
            StatementId="s",
            Action="lambda:InvokeFunction",
            Principal="*",
            **extra,
        )
    lam.delete_function(FunctionName="gone")
    create(lam, "gone")
    lam.publish_version(FunctionName="gone")
    for qualifier in (None, "1"):
        extra = {"Qualifier": qualifier} if qualifier else {}
        assert_error(
            lambda extra=extra: lam.get_policy(FunctionName="gone", **extra),
            code="ResourceNotFoundException",
            status=404,
            message="The resource you requested does not exist.",
        )
