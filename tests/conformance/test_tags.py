"""TagResource, UntagResource, ListTags and CreateFunction's Tags answer as AWS Lambda does:
functions are tagged by their unqualified ARN, GetFunction shows Tags only when there are some,
and AWS's errors word for word."""

from __future__ import annotations

from botocore.exceptions import ClientError

from tests.conformance.expect import Matches, assert_answer, assert_error
from tests.support.functions import create
from tests.support.zips import layer_zip

QUALIFIED = (
    "Tagging operations are permitted on Lambda functions only. Tags on aliases and versions are "
    "not supported. Please specify either a function name or a function ARN."
)
# AWS documents the prefix as reserved; the wording of Lambda's refusal is this server's.
RESERVED = "Tag keys starting with 'aws:' are reserved for AWS use and cannot be set."


def test_create_function__tags_are_shown_by_get_function_and_list_tags(lam):
    arn = create(lam, "tagged", Tags={"team": "platform", "cost-center": "42"})["FunctionArn"]
    assert lam.get_function(FunctionName="tagged")["Tags"] == {
        "team": "platform",
        "cost-center": "42",
    }
    assert_answer(
        lam.list_tags(Resource=arn), {"Tags": {"team": "platform", "cost-center": "42"}}, status=200
    )


def test_get_function__without_tags_has_no_tags_member(lam):
    arn = create(lam, "untagged")["FunctionArn"]
    assert "Tags" not in lam.get_function(FunctionName="untagged")
    assert_answer(lam.list_tags(Resource=arn), {"Tags": {}}, status=200)


def test_tag_resource__adds_and_replaces_tags_and_answers_204(lam):
    arn = create(lam, "retagged", Tags={"team": "platform"})["FunctionArn"]
    answer = lam.tag_resource(Resource=arn, Tags={"team": "data", "stage": "prod"})
    assert_answer(answer, {}, status=204)
    assert lam.list_tags(Resource=arn)["Tags"] == {"team": "data", "stage": "prod"}


def test_untag_resource__removes_the_keys_named_and_answers_204(lam):
    arn = create(lam, "detagged", Tags={"a": "1", "b": "2", "c": "3"})["FunctionArn"]
    answer = lam.untag_resource(Resource=arn, TagKeys=["a", "c", "absent"])
    assert_answer(answer, {}, status=204)
    assert lam.list_tags(Resource=arn)["Tags"] == {"b": "2"}


def test_tag_resource__draws_a_new_revision_id(lam):
    created = create(lam, "revision-tags")
    lam.tag_resource(Resource=created["FunctionArn"], Tags={"k": "v"})
    tagged = lam.get_function_configuration(FunctionName="revision-tags")["RevisionId"]
    assert tagged != created["RevisionId"]
    lam.untag_resource(Resource=created["FunctionArn"], TagKeys=["k"])
    assert lam.get_function_configuration(FunctionName="revision-tags")["RevisionId"] != tagged


def test_tag_resource__a_version_or_alias_arn_is_refused(lam):
    arn = create(lam, "qualified-tags")["FunctionArn"]
    lam.publish_version(FunctionName="qualified-tags")
    lam.create_alias(FunctionName="qualified-tags", Name="live", FunctionVersion="1")
    for qualifier in ("1", "live", "$LATEST"):
        assert_error(
            lambda qualifier=qualifier: lam.tag_resource(
                Resource=f"{arn}:{qualifier}", Tags={"k": "v"}
            ),
            code="InvalidParameterValueException",
            status=400,
            message=QUALIFIED,
            Type="User",
        )


def test_tag_resource__an_unknown_function_is_not_found(lam, account):
    arn = f"arn:aws:lambda:us-east-1:{account.account_id}:function:ghost"
    for call in (
        lambda: lam.tag_resource(Resource=arn, Tags={"k": "v"}),
        lambda: lam.untag_resource(Resource=arn, TagKeys=["k"]),
        lambda: lam.list_tags(Resource=arn),
    ):
        assert_error(
            call,
            code="ResourceNotFoundException",
            status=404,
            message=f"Function not found: {arn}",
            Type="User",
        )


def test_tag_resource__a_layer_is_not_a_taggable_resource(lam):
    layer = lam.publish_layer_version(LayerName="untaggable", Content={"ZipFile": layer_zip()})
    for resource in (layer["LayerArn"], layer["LayerVersionArn"]):
        assert_error(
            lambda resource=resource: lam.tag_resource(Resource=resource, Tags={"k": "v"}),
            code="ValidationException",
            status=400,
            message=Matches(
                rf"1 validation error detected: Value '{resource}' at 'resource' failed to "
                r"satisfy constraint: Member must satisfy regular expression pattern: .+"
            ),
        )


def test_tag_resource__more_than_fifty_tags_exceed_the_limit(lam):
    arn = create(lam, "many-tags", Tags={f"k{i}": "v" for i in range(40)})["FunctionArn"]
    assert_error(
        lambda: lam.tag_resource(Resource=arn, Tags={f"n{i}": "v" for i in range(11)}),
        code="InvalidParameterValueException",
        status=400,
        message="Number of tags exceeds function tag limit.",
        Type="User",
    )
    lam.tag_resource(Resource=arn, Tags={f"n{i}": "v" for i in range(10)})
    assert len(lam.list_tags(Resource=arn)["Tags"]) == 50


def test_tag_resource__no_tags_cannot_be_processed(lam):
    arn = create(lam, "empty-tags")["FunctionArn"]
    assert_error(
        lambda: lam.tag_resource(Resource=arn, Tags={}),
        code="InvalidParameterValueException",
        status=400,
        message="An error occurred and the request cannot be processed.",
        Type="User",
    )


def test_tag_resource__another_accounts_function_is_refused(strata_server, lam):
    arn = create(lam, "private-tags", Tags={"secret": "yes"})["FunctionArn"]
    other = strata_server.client(strata_server.new_account())
    for call in (
        lambda: other.tag_resource(Resource=arn, Tags={"k": "v"}),
        lambda: other.untag_resource(Resource=arn, TagKeys=["secret"]),
        lambda: other.list_tags(Resource=arn),
    ):
        try:
            call()
        except ClientError as error:
            assert error.response["Error"]["Code"] == "AccessDeniedException"
        else:
            raise AssertionError("another account reached the function's tags")
    assert lam.list_tags(Resource=arn)["Tags"] == {"secret": "yes"}


def test_tag_resource__keys_in_the_aws_namespace_are_refused_in_any_case(lam):
    arn = create(lam, "reserved-tags", Tags={"team": "platform"})["FunctionArn"]
    for key in ("aws:cloudformation:stack-name", "AWS:team", "Aws:x"):
        assert_error(
            lambda key=key: lam.tag_resource(Resource=arn, Tags={key: "v", "stage": "prod"}),
            code="InvalidParameterValueException",
            status=400,
            message=RESERVED,
            Type="User",
        )
    # Nothing of a refused request is kept; a key merely containing "aws:" is the caller's own.
    assert lam.list_tags(Resource=arn)["Tags"] == {"team": "platform"}
    lam.tag_resource(Resource=arn, Tags={"team:aws:x": "v"})
    assert lam.list_tags(Resource=arn)["Tags"] == {"team": "platform", "team:aws:x": "v"}


def test_create_function__a_tag_key_in_the_aws_namespace_is_refused(lam):
    assert_error(
        lambda: create(lam, "reserved-at-birth", Tags={"aws:lambda:owner": "me"}),
        code="InvalidParameterValueException",
        status=400,
        message=RESERVED,
        Type="User",
    )
    assert_error(
        lambda: lam.get_function(FunctionName="reserved-at-birth"),
        code="ResourceNotFoundException",
        status=404,
        message=Matches(
            r"Function not found: arn:aws:lambda:us-east-1:\d{12}:function:reserved-at-birth"
        ),
        Type="User",
    )
