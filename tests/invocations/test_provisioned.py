"""Provisioned concurrency's rules through boto3 against real servers: it counts against the
function's reserved concurrency, or without one against the account's unreserved concurrency, as
on Lambda; ListProvisionedConcurrencyConfigs pages every version's and alias's setting. (Warm
environments without init duration: tests/invocations/test_invoke.py.)"""

from __future__ import annotations

import base64
import re
import time

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import select

from registry.invocations.provisioned import ProvisionedConcurrencyService
from registry.models import Function, ProvisionedConcurrency
from tests.support.functions import create, handler_zip, invoke, publish, update_configuration
from tests.support.provisioned import wait_provisioned
from tests.test_openapi import call, check

OVER_RESERVED = (
    "Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution "
    "for function"
)
BELOW_MINIMUM = (
    "Specified ConcurrentExecutions for function decreases account's "
    "UnreservedConcurrentExecution below its minimum value of [100]."
)
PROVISIONED = "/2019-09-30/functions/{FunctionName}/provisioned-concurrency"
# Long enough to see a setting IN_PROGRESS while its environments start.
SLOW_INIT = """
import time

time.sleep(1.5)


def handler(event, context):
    return context.function_version
"""


def published(lam, name: str, versions: int = 1) -> None:
    """A function with `versions` published versions (1, 2, ...) and an alias `live` on 1."""
    create(lam, name, Publish=True)
    for number in range(2, versions + 1):
        update_configuration(lam, FunctionName=name, Timeout=5 + number)
        publish(lam, FunctionName=name)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")


def provision(lam, name: str, qualifier: str, count: int) -> dict:
    return lam.put_provisioned_concurrency_config(
        FunctionName=name, Qualifier=qualifier, ProvisionedConcurrentExecutions=count
    )


def refusal(lam, name: str, qualifier: str, count: int) -> str:
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as refused:
        provision(lam, name, qualifier, count)
    return refused.value.response["Error"]["Message"]


def test_put_provisioned_concurrency_config__refuses_more_than_the_functions_reservation(lam):
    published(lam, "reserved", versions=2)
    lam.put_function_concurrency(FunctionName="reserved", ReservedConcurrentExecutions=4)
    assert provision(lam, "reserved", "1", 3)["RequestedProvisionedConcurrentExecutions"] == 3
    # Versions and aliases count together against the one reservation.
    assert refusal(lam, "reserved", "2", 2) == OVER_RESERVED
    assert refusal(lam, "reserved", "live", 2) == OVER_RESERVED
    provision(lam, "reserved", "2", 1)
    # A setting replaces its own earlier value.
    provision(lam, "reserved", "1", 2)
    provision(lam, "reserved", "2", 2)
    with pytest.raises(lam.exceptions.ProvisionedConcurrencyConfigNotFoundException):
        lam.get_provisioned_concurrency_config(FunctionName="reserved", Qualifier="live")
    requested = [
        config["RequestedProvisionedConcurrentExecutions"]
        for config in lam.list_provisioned_concurrency_configs(FunctionName="reserved")[
            "ProvisionedConcurrencyConfigs"
        ]
    ]
    assert requested == [2, 2]


def test_put_function_concurrency__refuses_less_than_the_functions_provisioned_concurrency(lam):
    published(lam, "lowered", versions=2)
    provision(lam, "lowered", "1", 2)
    provision(lam, "lowered", "2", 1)
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as refused:
        lam.put_function_concurrency(FunctionName="lowered", ReservedConcurrentExecutions=2)
    assert refused.value.response["Error"]["Message"] == (
        "ReservedConcurrentExecutions 2 should not be lower than function's total provisioned "
        "concurrency [3]."
    )
    lam.put_function_concurrency(FunctionName="lowered", ReservedConcurrentExecutions=3)
    lam.delete_provisioned_concurrency_config(FunctionName="lowered", Qualifier="2")
    lam.put_function_concurrency(FunctionName="lowered", ReservedConcurrentExecutions=2)
    assert lam.get_function_concurrency(FunctionName="lowered")["ReservedConcurrentExecutions"] == 2


def test_put_provisioned_concurrency_config__refuses_to_leave_less_than_100_unreserved(lam):
    create(lam, "reserving")
    published(lam, "first")
    published(lam, "second")
    lam.put_function_concurrency(FunctionName="reserving", ReservedConcurrentExecutions=896)
    provision(lam, "first", "1", 2)
    provision(lam, "second", "1", 2)  # 1000 - 896 - 2 - 2 = 100 left: allowed
    # Every function without a reservation counts, the other one's settings too.
    assert refusal(lam, "second", "live", 1) == BELOW_MINIMUM
    assert refusal(lam, "first", "1", 3) == BELOW_MINIMUM
    # Provisioned concurrency of functions without a reservation is not reserved: GetAccountSettings
    # leaves it in UnreservedConcurrentExecutions, as Lambda does ...
    limit = lam.get_account_settings()["AccountLimit"]
    assert limit["UnreservedConcurrentExecutions"] == 104
    # ... but a reservation may not take it.
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.put_function_concurrency(FunctionName="reserving", ReservedConcurrentExecutions=897)
    lam.delete_provisioned_concurrency_config(FunctionName="first", Qualifier="1")
    provision(lam, "first", "live", 2)


def test_list_provisioned_concurrency_configs__pages_every_version_and_alias(lam, account):
    published(lam, "listed", versions=3)
    # An alias may not be provisioned with the version it points at: it points at another one.
    lam.update_alias(FunctionName="listed", Name="live", FunctionVersion="3")
    assert (
        lam.list_provisioned_concurrency_configs(FunctionName="listed")[
            "ProvisionedConcurrencyConfigs"
        ]
        == []
    )
    for qualifier, count in (("1", 1), ("2", 2), ("live", 1)):
        provision(lam, "listed", qualifier, count)
    for qualifier in ("1", "2", "live"):
        wait_provisioned(lam, "listed", qualifier)
    first = lam.list_provisioned_concurrency_configs(FunctionName="listed", MaxItems=2)
    assert len(first["ProvisionedConcurrencyConfigs"]) == 2 and first["NextMarker"]
    rest = lam.list_provisioned_concurrency_configs(
        FunctionName="listed", MaxItems=2, Marker=first["NextMarker"]
    )
    assert "NextMarker" not in rest
    configs = first["ProvisionedConcurrencyConfigs"] + rest["ProvisionedConcurrencyConfigs"]
    arn = f"arn:aws:lambda:us-east-1:{account.account_id}:function:listed"
    assert [
        (
            c["FunctionArn"],
            c["RequestedProvisionedConcurrentExecutions"],
            c["AvailableProvisionedConcurrentExecutions"],
            c["AllocatedProvisionedConcurrentExecutions"],
            c["Status"],
        )
        for c in configs
    ] == [
        (f"{arn}:1", 1, 1, 1, "READY"),
        (f"{arn}:2", 2, 2, 2, "READY"),
        (f"{arn}:live", 1, 1, 1, "READY"),
    ]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000", c["LastModified"])
               for c in configs)  # fmt: skip
    paginated = [
        c["FunctionArn"]
        for page in lam.get_paginator("list_provisioned_concurrency_configs").paginate(
            FunctionName=f"{arn}", PaginationConfig={"PageSize": 1}
        )
        for c in page["ProvisionedConcurrencyConfigs"]
    ]
    assert paginated == [c["FunctionArn"] for c in configs]
    got = lam.get_provisioned_concurrency_config(FunctionName="listed", Qualifier="2")
    assert (
        got["AllocatedProvisionedConcurrentExecutions"],
        got["AvailableProvisionedConcurrentExecutions"],
    ) == (2, 2)


def test_list_provisioned_concurrency_configs__refuses_bad_arguments(lam):
    published(lam, "arguments")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.list_provisioned_concurrency_configs(FunctionName="missing")
    with pytest.raises(ClientError) as above_maximum:
        lam.list_provisioned_concurrency_configs(FunctionName="arguments", MaxItems=51)
    assert above_maximum.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.list_provisioned_concurrency_configs(FunctionName="arguments", Marker="Cg==")
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="qualifier"):
        lam.list_provisioned_concurrency_configs(FunctionName="arguments:live")


def test_provisioned_concurrency__answers_match_the_openapi_schemas(strata_server, account, lam):
    published(lam, "spec")
    credentials = (account.access_key_id, account.secret_access_key)
    base = "/2019-09-30/functions/spec/provisioned-concurrency"
    exchanges = [
        ("put", base + "?Qualifier=1", b'{"ProvisionedConcurrentExecutions": 1}', 202),
        ("put", base + "?Qualifier=live", b'{"ProvisionedConcurrentExecutions": 950}', 400),
        ("get", base + "?Qualifier=1", None, 200),
        ("get", base + "?List=ALL", None, 200),
        ("get", base + "?List=ALL&MaxItems=1", None, 200),
        ("get", base + "?List=SOME", None, 400),
        ("delete", base + "?Qualifier=1", None, 204),
        ("get", base + "?Qualifier=1", None, 404),
        ("delete", base + "?Qualifier=1", None, 204),  # nothing left to delete, as on Lambda
        ("get", base + "?List=ALL", None, 200),
    ]
    for method, path, body, expected in exchanges:
        status, payload = call(strata_server, method.upper(), path, body, credentials)
        assert status == expected, (path, payload)
        check(PROVISIONED, method, status, payload)


def test_update_alias__a_provisioned_alias_is_not_pointed_or_routed_at_a_provisioned_version(lam):
    published(lam, "moved", versions=3)
    provision(lam, "moved", "live", 1)
    provision(lam, "moved", "2", 1)
    for change in (
        {"FunctionVersion": "2"},
        {"RoutingConfig": {"AdditionalVersionWeights": {"2": 0.5}}},
    ):
        with pytest.raises(lam.exceptions.ResourceConflictException):
            lam.update_alias(FunctionName="moved", Name="live", **change)
        assert lam.get_alias(FunctionName="moved", Name="live")["FunctionVersion"] == "1"
    # A version without a setting of its own is fine.
    assert (
        lam.update_alias(FunctionName="moved", Name="live", FunctionVersion="3")["FunctionVersion"]
        == "3"
    )


def test_update_alias__a_provisioned_alias_pointed_elsewhere_is_allocated_anew(lam):
    """Its setting is IN_PROGRESS until the new version's environments are warm, then READY,
    and invocations through the alias find them warm."""
    create(lam, "shifted", handler_zip(SLOW_INIT), Publish=True)
    update_configuration(lam, FunctionName="shifted", Timeout=7)
    publish(lam, FunctionName="shifted")
    lam.create_alias(FunctionName="shifted", Name="live", FunctionVersion="1")
    provision(lam, "shifted", "live", 1)
    assert wait_provisioned(lam, "shifted", "live")["Status"] == "READY"
    lam.update_alias(FunctionName="shifted", Name="live", FunctionVersion="2")
    moving = lam.get_provisioned_concurrency_config(FunctionName="shifted", Qualifier="live")
    assert (moving["Status"], moving["AllocatedProvisionedConcurrentExecutions"]) == (
        "IN_PROGRESS",
        0,
    )
    assert wait_provisioned(lam, "shifted", "live")["Status"] == "READY"
    # Every app process picks the new version up within a second and starts it (1.5 s of init).
    time.sleep(5)
    response, version = invoke(lam, "shifted", Qualifier="live", LogType="Tail")
    assert (response["ExecutedVersion"], version) == ("2", "2")
    assert "Init Duration" not in base64.b64decode(response["LogResult"]).decode()


def test_update_alias__warming_the_version_it_left_never_marks_the_setting_ready(
    lam, strata_server
):
    """A process that finishes warming the old version after the alias moved must not settle
    the setting: the new version's environments are not warm yet."""
    create(lam, "raced", handler_zip(SLOW_INIT.replace("1.5", "6")), Publish=True)
    update_configuration(lam, FunctionName="raced", Timeout=9)
    publish(lam, FunctionName="raced")
    lam.create_alias(FunctionName="raced", Name="live", FunctionVersion="1")
    provision(lam, "raced", "live", 1)
    assert wait_provisioned(lam, "raced", "live", timeout=60)["Status"] == "READY"
    lam.update_alias(FunctionName="raced", Name="live", FunctionVersion="2")

    with strata_server.db.read() as session:
        row = session.execute(
            select(ProvisionedConcurrency)
            .join(Function, Function.id == ProvisionedConcurrency.function_id)
            .where(Function.name == "raced", ProvisionedConcurrency.qualifier == "live")
        ).scalar_one()
    late = ProvisionedConcurrencyService(strata_server.db, None, None)
    late._settle(row, "1", "READY", None)  # what warming version 1 ends in, late

    moving = lam.get_provisioned_concurrency_config(FunctionName="raced", Qualifier="live")
    assert moving["Status"] == "IN_PROGRESS"
