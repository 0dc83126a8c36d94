"""Errors of functions, versions and their layers as AWS words them: a function of another region,
versions and aliases that do not exist, what may not be deleted, layers a function cannot use,
PublishVersion's preconditions and the size of the environment."""

from __future__ import annotations

import json

import pytest

from tests.conformance.expect import assert_error
from tests.support.functions import create, wait_updated
from tests.support.zips import layer_zip

REGION = "us-east-1"


def arn(account, name: str, qualifier: str | None = None) -> str:
    base = f"arn:aws:lambda:{REGION}:{account.account_id}:function:{name}"
    return f"{base}:{qualifier}" if qualifier else base


def layer(lam, name: str) -> str:
    return lam.publish_layer_version(LayerName=name, Content={"ZipFile": layer_zip()})[
        "LayerVersionArn"
    ]


# -- not found, and another region ----------------------------------------------------------------


@pytest.mark.parametrize("operation", ["get_function", "invoke", "get_function_configuration"])
def test_a_function_arn_of_another_region_is_not_reachable(lam, account, operation):
    create(lam, "regional")
    elsewhere = f"arn:aws:lambda:us-west-2:{account.account_id}:function:regional"
    assert_error(
        lambda: getattr(lam, operation)(FunctionName=elsewhere),
        code="ResourceNotFoundException",
        status=404,
        message="Functions from 'us-west-2' are not reachable in this region ('us-east-1')",
        Type="User",
    )


def test_get_function__a_version_that_does_not_exist_is_not_found(lam, account):
    create(lam, "versionless")
    assert_error(
        lambda: lam.get_function(FunctionName="versionless", Qualifier="7"),
        code="ResourceNotFoundException",
        status=404,
        message=f"Function not found: {arn(account, 'versionless', '7')}",
        Type="User",
    )


def test_invoke__an_alias_that_does_not_exist_is_a_function_not_found(lam, account):
    create(lam, "aliasless")
    assert_error(
        lambda: lam.invoke(FunctionName="aliasless:prod"),
        code="ResourceNotFoundException",
        status=404,
        message=f"Function not found: {arn(account, 'aliasless', 'prod')}",
        Type="User",
    )


def test_get_alias__an_alias_that_does_not_exist_cannot_be_found(lam, account):
    create(lam, "unnamed")
    assert_error(
        lambda: lam.get_alias(FunctionName="unnamed", Name="prod"),
        code="ResourceNotFoundException",
        status=404,
        message=f"Cannot find alias arn: {arn(account, 'unnamed', 'prod')}",
        Type="User",
    )


# -- what may not be deleted ----------------------------------------------------------------------


def test_delete_function__latest_cannot_be_deleted_alone(lam):
    create(lam, "whole")
    assert_error(
        lambda: lam.delete_function(FunctionName="whole", Qualifier="$LATEST"),
        code="InvalidParameterValueException",
        status=400,
        message="$LATEST version cannot be deleted without deleting the function.",
        Type="User",
    )


def test_delete_function__an_alias_is_not_deleted_through_it(lam):
    create(lam, "kept", Publish=True)
    lam.create_alias(FunctionName="kept", Name="prod", FunctionVersion="1")
    assert_error(
        lambda: lam.delete_function(FunctionName="kept", Qualifier="prod"),
        code="InvalidParameterValueException",
        status=400,
        message="Deletion of aliases is not currently supported.",
        Type="User",
    )
    assert lam.get_alias(FunctionName="kept", Name="prod")["FunctionVersion"] == "1"


# -- layers a function cannot use -----------------------------------------------------------------


def test_create_function__a_layer_version_that_does_not_exist_is_an_invalid_parameter(lam, account):
    ghost = f"arn:aws:lambda:{REGION}:{account.account_id}:layer:ghost:3"
    assert_error(
        lambda: create(lam, "haunted", Layers=[ghost]),
        code="InvalidParameterValueException",
        status=400,
        message=f"Layer version {ghost} does not exist.",
        Type="User",
    )


def test_create_function__more_than_five_layers_are_refused(lam):
    six = [layer(lam, f"part{i}") for i in range(6)]
    assert_error(
        lambda: create(lam, "crowded", Layers=six),
        code="InvalidParameterValueException",
        status=400,
        message="Cannot reference more than 5 layers.",
        Type="User",
    )


def test_update_function_configuration__two_versions_of_one_layer_are_refused(lam):
    first = layer(lam, "twice")
    second = layer(lam, "twice")
    create(lam, "doubled")
    assert_error(
        lambda: lam.update_function_configuration(FunctionName="doubled", Layers=[first, second]),
        code="InvalidParameterValueException",
        status=400,
        message="Two different versions of the same layer are not allowed to be referenced in the "
        f"same function. {first} and {second} are versions of the same layer.",
        Type="User",
    )


def test_create_function__a_layer_of_another_region_is_refused(lam, account):
    elsewhere = f"arn:aws:lambda:eu-west-1:{account.account_id}:layer:far:1"
    assert_error(
        lambda: create(lam, "remote", Layers=[elsewhere]),
        code="InvalidParameterValueException",
        status=400,
        message="Layers are not in the same region as the function. Layers are expected to be in "
        "region us-east-1.",
        Type="User",
    )


@pytest.mark.parametrize("number", [0, -1])
def test_get_layer_version__a_number_below_one_is_an_invalid_parameter(lam, number):
    layer(lam, "counted")
    assert_error(
        lambda: lam.get_layer_version(LayerName="counted", VersionNumber=number),
        code="InvalidParameterValueException",
        status=400,
        message="Layer Version Cannot be less than 1",
        Type="User",
    )


# -- PublishVersion's preconditions ---------------------------------------------------------------


def test_publish_version__a_code_sha256_other_than_latests_is_an_invalid_parameter(lam):
    created = create(lam, "pinned")
    wrong = "A" * 43 + "="
    assert_error(
        lambda: lam.publish_version(FunctionName="pinned", CodeSha256=wrong),
        code="InvalidParameterValueException",
        status=400,
        message=f"CodeSHA256 ({wrong}) is different from current CodeSHA256 in $LATEST "
        f"({created['CodeSha256']}). Please try again with the CodeSHA256 in $LATEST.",
        Type="User",
    )


def test_publish_version__a_stale_revision_id_fails_the_precondition(lam):
    created = create(lam, "moving")
    lam.update_function_configuration(FunctionName="moving", Timeout=9)
    wait_updated(lam, "moving")
    assert_error(
        lambda: lam.publish_version(FunctionName="moving", RevisionId=created["RevisionId"]),
        code="PreconditionFailedException",
        status=412,
        message="The Revision Id provided does not match the latest Revision Id. Call the "
        "GetFunction/GetAlias API to retrieve the latest Revision Id",
        Type="User",
    )


# -- the environment's size -----------------------------------------------------------------------


def test_create_function__an_environment_over_4_kb_is_quoted_back(lam):
    variables = {"BIG": "x" * 4100}
    assert_error(
        lambda: create(lam, "bloated", Environment={"Variables": variables}),
        code="InvalidParameterValueException",
        status=400,
        message="Lambda was unable to configure your environment variables because the "
        "environment variables you have provided exceeded the 4KB limit. String measured: "
        + json.dumps(variables, separators=(",", ":")),
        Type="User",
    )


def test_get_function__a_malformed_qualifier_breaks_the_models_pattern(lam):
    create(lam, "strictly")
    assert_error(
        lambda: lam.get_function(FunctionName="strictly", Qualifier="a b"),
        code="ValidationException",
        status=400,
        message="1 validation error detected: Value 'a b' at 'qualifier' failed to satisfy "
        r"constraint: Member must satisfy regular expression pattern: "
        r"\$(LATEST(\.PUBLISHED)?)|[a-zA-Z0-9-_$]+",
    )
