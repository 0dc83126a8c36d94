"""Published versions and aliases through boto3, on both backend pairs."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from tests.support.functions import create, handler_zip, publish, update_code, update_configuration


def returns(value: int) -> bytes:
    return handler_zip(f"def handler(event, context):\n    return {value}\n")


def test_publish_version__numbers_never_reused(lam):
    create(lam, "counted", returns(1), Publish=True)
    for value in (2, 3):
        update_code(lam, FunctionName="counted", ZipFile=returns(value))
        publish(lam, FunctionName="counted")
    lam.delete_function(FunctionName="counted", Qualifier="3")
    update_code(lam, FunctionName="counted", ZipFile=returns(4))
    assert publish(lam, FunctionName="counted")["Version"] == "4"
    listed = [
        v["Version"] for v in lam.list_versions_by_function(FunctionName="counted")["Versions"]
    ]
    assert listed == ["$LATEST", "1", "2", "4"]


def test_publish_version__unchanged_latest_returns_the_newest_version(lam):
    first = create(lam, "steady", Publish=True)
    assert first["Version"] == "1"
    again = publish(lam, FunctionName="steady")
    assert (again["Version"], again["FunctionArn"]) == ("1", first["FunctionArn"])
    update_configuration(lam, FunctionName="steady", MemorySize=256)
    assert publish(lam, FunctionName="steady")["Version"] == "2"


def test_publish_version__is_an_immutable_snapshot(lam):
    create(lam, "frozen", returns(1), MemorySize=256, Environment={"Variables": {"MODE": "one"}})
    published = publish(lam, FunctionName="frozen", Description="first release")
    update_configuration(
        lam, FunctionName="frozen", MemorySize=512, Environment={"Variables": {"MODE": "two"}}
    )
    update_code(lam, FunctionName="frozen", ZipFile=returns(2))
    version = lam.get_function_configuration(FunctionName="frozen", Qualifier="1")
    assert (version["MemorySize"], version["Environment"], version["CodeSha256"]) == (
        256,
        {"Variables": {"MODE": "one"}},
        published["CodeSha256"],
    )
    assert version["Description"] == "first release"
    assert version["FunctionArn"].endswith(":frozen:1")
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        update_configuration(lam, FunctionName="frozen:1", MemorySize=1024)


def test_publish_version__code_sha_and_revision_preconditions(lam):
    create(lam, "guarded")
    created = lam.get_function_configuration(FunctionName="guarded")
    with pytest.raises(lam.exceptions.InvalidParameterValueException):  # as on AWS
        publish(lam, FunctionName="guarded", CodeSha256="AAAA")
    with pytest.raises(lam.exceptions.PreconditionFailedException):
        publish(lam, FunctionName="guarded", RevisionId="stale")
    out = publish(
        lam,
        FunctionName="guarded",
        CodeSha256=created["CodeSha256"],
        RevisionId=created["RevisionId"],
    )
    assert out["Version"] == "1"


def test_publish_version__concurrent_publishes_of_distinct_code_get_distinct_numbers(
    strata_server, account
):
    lam = strata_server.client(account)
    create(lam, "racing")

    def publish(value):
        # Lambda applies one update at a time and refuses the others meanwhile; clients retry.
        client = strata_server.client(account)
        while True:
            try:
                client.update_function_code(
                    FunctionName="racing", ZipFile=returns(value), Publish=True
                )
                return
            except client.exceptions.ResourceConflictException:
                time.sleep(0.02)

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(publish, range(6)))
    versions = [
        v["Version"] for v in lam.list_versions_by_function(FunctionName="racing")["Versions"]
    ][1:]
    assert len(versions) == len(set(versions))
    assert sorted(map(int, versions)) == list(range(1, len(versions) + 1))


def test_list_versions_by_function__pages_without_gaps(lam):
    create(lam, "paged", returns(0), Publish=True)
    for value in (1, 2, 3):
        update_code(lam, FunctionName="paged", ZipFile=returns(value), Publish=True)
    pages = lam.get_paginator("list_versions_by_function").paginate(
        FunctionName="paged", PaginationConfig={"PageSize": 2}
    )
    assert [v["Version"] for page in pages for v in page["Versions"]] == [
        "$LATEST",
        "1",
        "2",
        "3",
        "4",
    ]


def test_alias__create_get_update_list_delete(lam, account):
    create(lam, "aliased", returns(1), Publish=True)
    update_code(lam, FunctionName="aliased", ZipFile=returns(2), Publish=True)
    created = lam.create_alias(
        FunctionName="aliased", Name="prod", FunctionVersion="1", Description="live"
    )
    assert (
        created["AliasArn"]
        == f"arn:aws:lambda:us-east-1:{account.account_id}:function:aliased:prod"
    )
    assert (created["FunctionVersion"], created["Description"]) == ("1", "live")
    assert lam.get_alias(FunctionName="aliased", Name="prod")["RevisionId"] == created["RevisionId"]
    with pytest.raises(lam.exceptions.PreconditionFailedException):
        lam.update_alias(
            FunctionName="aliased", Name="prod", FunctionVersion="2", RevisionId="stale"
        )
    updated = lam.update_alias(
        FunctionName="aliased", Name="prod", FunctionVersion="2", RevisionId=created["RevisionId"]
    )
    assert updated["FunctionVersion"] == "2" and updated["RevisionId"] != created["RevisionId"]
    lam.create_alias(FunctionName="aliased", Name="canary", FunctionVersion="$LATEST")
    assert [a["Name"] for a in lam.list_aliases(FunctionName="aliased")["Aliases"]] == [
        "canary",
        "prod",
    ]
    assert [
        a["Name"] for a in lam.list_aliases(FunctionName="aliased", FunctionVersion="2")["Aliases"]
    ] == ["prod"]
    assert (
        lam.get_function_configuration(FunctionName="aliased", Qualifier="prod")["Version"] == "2"
    )
    lam.delete_alias(FunctionName="aliased", Name="canary")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_alias(FunctionName="aliased", Name="canary")


def test_alias__refuses_missing_versions_duplicates_numeric_names_and_weights(lam):
    create(lam, "strict-alias", Publish=True)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.create_alias(FunctionName="strict-alias", Name="ghost", FunctionVersion="9")
    lam.create_alias(FunctionName="strict-alias", Name="prod", FunctionVersion="1")
    with pytest.raises(lam.exceptions.ResourceConflictException):
        lam.create_alias(FunctionName="strict-alias", Name="prod", FunctionVersion="1")
    with pytest.raises(ClientError) as numeric:  # the model's pattern refuses an all-digit name
        lam.create_alias(FunctionName="strict-alias", Name="123", FunctionVersion="1")
    assert numeric.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as weighted:
        lam.update_alias(
            FunctionName="strict-alias",
            Name="prod",
            RoutingConfig={"AdditionalVersionWeights": {"1": 0.5}},
        )
    assert weighted.value.response["Error"]["Message"] == (
        "Invalid function version 1. Function version 1 is already included in routing "
        "configuration."
    )


def test_delete_function__a_version_an_alias_points_at_is_a_conflict(lam):
    create(lam, "pinned", Publish=True)
    lam.create_alias(FunctionName="pinned", Name="live", FunctionVersion="1")
    with pytest.raises(lam.exceptions.ResourceConflictException) as conflict:
        lam.delete_function(FunctionName="pinned", Qualifier="1")
    assert "live" in conflict.value.response["Error"]["Message"]
