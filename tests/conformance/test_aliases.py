"""Weighted aliases as AWS answers them: RoutingConfig.AdditionalVersionWeights is kept and shown
by CreateAlias, GetAlias, UpdateAlias and ListAliases, and refused where AWS refuses it (more than
one extra version, a weight outside 0-1, the alias's own version, $LATEST, a version that does not
exist, versions with different execution roles)."""

from __future__ import annotations

from tests.conformance.expect import UUID, assert_answer, assert_error
from tests.support.functions import ROLE, create, wait_updated

OTHER_ROLE = "arn:aws:iam::123456789012:role/strata-other"


def versions(lam, name: str, count: int, **latest) -> None:
    """A function with published versions 1..count; `latest` changes the last one."""
    create(lam, name, Publish=True)
    for number in range(2, count + 1):
        changes = latest if number == count else {}
        lam.update_function_configuration(FunctionName=name, Timeout=5 + number, **changes)
        wait_updated(lam, name)
        lam.publish_version(FunctionName=name)


def alias_arn(account, name: str, alias: str) -> str:
    return f"arn:aws:lambda:us-east-1:{account.account_id}:function:{name}:{alias}"


def routed(lam, name: str, primary: str, weights: dict):
    return lambda: lam.create_alias(
        FunctionName=name,
        Name="canary",
        FunctionVersion=primary,
        RoutingConfig={"AdditionalVersionWeights": weights},
    )


def test_create_alias__a_weighted_routing_config_is_kept_and_shown(lam, account):
    versions(lam, "weighted", 2)
    expected = {
        "AliasArn": alias_arn(account, "weighted", "canary"),
        "Name": "canary",
        "FunctionVersion": "1",
        "Description": "",
        "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.3}},
        "RevisionId": UUID,
    }
    assert_answer(routed(lam, "weighted", "1", {"2": 0.3})(), expected, status=201)
    assert_answer(lam.get_alias(FunctionName="weighted", Name="canary"), expected, status=200)
    assert_answer(lam.list_aliases(FunctionName="weighted"), {"Aliases": [expected]}, status=200)


def test_update_alias__routing_is_kept_unless_given_and_an_empty_one_removes_it(lam, account):
    versions(lam, "shifting", 3)
    routed(lam, "shifting", "1", {"2": 0.5})()
    moved = lam.update_alias(FunctionName="shifting", Name="canary", FunctionVersion="3")
    assert moved["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 0.5}}
    assert_answer(
        lam.update_alias(
            FunctionName="shifting", Name="canary", RoutingConfig={"AdditionalVersionWeights": {}}
        ),
        {
            "AliasArn": alias_arn(account, "shifting", "canary"),
            "Name": "canary",
            "FunctionVersion": "3",
            "Description": "",
            "RevisionId": UUID,
        },
        status=200,
    )


def test_create_alias__more_than_one_additional_version_is_refused(lam):
    versions(lam, "crowded", 3)
    assert_error(
        routed(lam, "crowded", "1", {"2": 0.1, "3": 0.1}),
        code="InvalidParameterValueException",
        status=400,
        message="Number of items in AdditionalVersionWeights cannot be greater than 1",
        Type="User",
    )


def test_create_alias__a_weight_above_one_breaks_the_models_range(lam):
    versions(lam, "heavy", 2)
    assert_error(
        routed(lam, "heavy", "1", {"2": 1.5}),
        code="ValidationException",
        status=400,
        message="1 validation error detected: Value '{2=1.5}' at "
        "'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value must "
        "satisfy constraint: [Member must have value less than or equal to 1.0, Member must have "
        "value greater than or equal to 0.0]",
    )


def test_create_alias__the_aliass_own_version_cannot_be_the_additional_one(lam):
    versions(lam, "selfish", 2)
    assert_error(
        routed(lam, "selfish", "1", {"1": 0.5}),
        code="InvalidParameterValueException",
        status=400,
        message="Invalid function version 1. Function version 1 is already included in routing "
        "configuration.",
        Type="User",
    )


def test_create_alias__an_alias_of_latest_routes_to_no_other_version(lam):
    versions(lam, "unsettled", 2)
    assert_error(
        routed(lam, "unsettled", "$LATEST", {"1": 0.5}),
        code="InvalidParameterValueException",
        status=400,
        message="$LATEST is not supported for an alias pointing to more than 1 version",
        Type="User",
    )


def test_create_alias__an_additional_version_that_does_not_exist_is_not_found(lam, account):
    versions(lam, "ahead", 1)
    assert_error(
        routed(lam, "ahead", "1", {"9": 0.5}),
        code="ResourceNotFoundException",
        status=404,
        message="Function not found: "
        f"arn:aws:lambda:us-east-1:{account.account_id}:function:ahead:9",
        Type="User",
    )


def test_create_alias__versions_with_different_execution_roles_are_refused(lam):
    versions(lam, "two-roles", 2, Role=OTHER_ROLE)
    assert lam.get_function_configuration(FunctionName="two-roles", Qualifier="1")["Role"] == ROLE
    assert_error(
        routed(lam, "two-roles", "1", {"2": 0.5}),
        code="InvalidParameterValueException",
        status=400,
        message="Specified versions must be associated with the same execution role",
        Type="User",
    )


def test_delete_function__a_version_an_alias_routes_a_share_to_is_kept(lam):
    versions(lam, "referenced", 2)
    routed(lam, "referenced", "1", {"2": 0.2})()
    assert_error(
        lambda: lam.delete_function(FunctionName="referenced", Qualifier="2"),
        code="ResourceConflictException",
        status=409,
        message="Unable to delete version because the following aliases reference it: ['canary']",
        Type="User",
    )
    assert (
        lam.get_function(FunctionName="referenced", Qualifier="2")["Configuration"]["Version"]
        == "2"
    )
