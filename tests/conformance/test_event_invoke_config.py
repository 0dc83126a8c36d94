"""Asynchronous invocation configuration as AWS answers it: Put/Get/Update/Delete/
ListFunctionEventInvokeConfigs, the qualified FunctionArn of $LATEST, a version or an alias, the
empty DestinationConfig members, and AWS's errors for a missing function, qualifier or setting."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.conformance.expect import Kind, Matches, assert_answer, assert_error
from tests.support.functions import create

REGION = "us-east-1"
NO_DESTINATIONS = {"OnSuccess": {}, "OnFailure": {}}
WHEN = Kind(datetime)  # the model's Date: epoch seconds on the wire, a datetime through boto3


def arn(account, name: str, qualifier: str | None = None) -> str:
    base = f"arn:aws:lambda:{REGION}:{account.account_id}:function:{name}"
    return f"{base}:{qualifier}" if qualifier else base


@pytest.fixture
def raw(strata_server, account):
    """A client of the same account that sends what it is given, unchecked."""
    return strata_server.client(account, parameter_validation=False)


def test_put__unqualified_applies_to_latest_and_names_it(lam, account):
    create(lam, "eic-put")

    answer = lam.put_function_event_invoke_config(
        FunctionName="eic-put", MaximumRetryAttempts=0, MaximumEventAgeInSeconds=3600
    )

    assert_answer(
        answer,
        {
            "LastModified": WHEN,
            "FunctionArn": arn(account, "eic-put", "$LATEST"),
            "MaximumRetryAttempts": 0,
            "MaximumEventAgeInSeconds": 3600,
            "DestinationConfig": NO_DESTINATIONS,
        },
        status=200,
    )


def test_put__leaves_out_what_it_was_not_given(lam, account):
    create(lam, "eic-partial")

    answer = lam.put_function_event_invoke_config(
        FunctionName="eic-partial", MaximumRetryAttempts=1
    )

    assert_answer(
        answer,
        {
            "LastModified": WHEN,
            "FunctionArn": arn(account, "eic-partial", "$LATEST"),
            "MaximumRetryAttempts": 1,
            "DestinationConfig": NO_DESTINATIONS,
        },
        status=200,
    )


def test_put__replaces_the_whole_setting(lam):
    create(lam, "eic-replace")
    lam.put_function_event_invoke_config(
        FunctionName="eic-replace", MaximumRetryAttempts=0, MaximumEventAgeInSeconds=100
    )

    lam.put_function_event_invoke_config(FunctionName="eic-replace", MaximumEventAgeInSeconds=200)

    got = lam.get_function_event_invoke_config(FunctionName="eic-replace")
    assert "MaximumRetryAttempts" not in got
    assert got["MaximumEventAgeInSeconds"] == 200


def test_put__of_a_version_and_of_an_alias_names_each(lam, account):
    create(lam, "eic-qualified", Publish=True)
    lam.create_alias(FunctionName="eic-qualified", Name="live", FunctionVersion="1")

    version = lam.put_function_event_invoke_config(
        FunctionName="eic-qualified", Qualifier="1", MaximumRetryAttempts=2
    )
    alias = lam.put_function_event_invoke_config(
        FunctionName=arn(account, "eic-qualified", "live"), MaximumRetryAttempts=1
    )

    assert version["FunctionArn"] == arn(account, "eic-qualified", "1")
    assert alias["FunctionArn"] == arn(account, "eic-qualified", "live")
    got = lam.get_function_event_invoke_config(FunctionName="eic-qualified", Qualifier="live")
    assert got["MaximumRetryAttempts"] == 1


def test_put__with_nothing_to_set_is_refused(lam):
    create(lam, "eic-empty")

    assert_error(
        lambda: lam.put_function_event_invoke_config(FunctionName="eic-empty"),
        code="InvalidParameterValueException",
        status=400,
        message="You must specify at least one of error handling or destination setting.",
    )


@pytest.mark.parametrize(
    "member, value, field, constraint",
    [
        ("MaximumRetryAttempts", 3, "maximumRetryAttempts", "less than or equal to 2"),
        ("MaximumEventAgeInSeconds", 59, "maximumEventAgeInSeconds", "greater than or equal to 60"),
        (
            "MaximumEventAgeInSeconds",
            21601,
            "maximumEventAgeInSeconds",
            "less than or equal to 21600",
        ),
    ],
)
def test_put__outside_the_models_range_is_a_validation_error(raw, member, value, field, constraint):
    create(raw, "eic-range")

    assert_error(
        lambda: raw.put_function_event_invoke_config(FunctionName="eic-range", **{member: value}),
        code="ValidationException",
        status=400,
        message=f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy "
        f"constraint: Member must have value {constraint}",
    )


@pytest.mark.parametrize(
    "name, qualifier", [("eic-nowhere", None), ("eic-there", "7"), ("eic-there", "gone")]
)
def test_put__of_a_missing_function_or_qualifier_is_not_found(lam, name, qualifier):
    create(lam, "eic-there")
    kwargs = {"Qualifier": qualifier} if qualifier else {}

    assert_error(
        lambda: lam.put_function_event_invoke_config(
            FunctionName=name, MaximumRetryAttempts=1, **kwargs
        ),
        code="ResourceNotFoundException",
        status=404,
        message="The function doesn't exist.",
    )


def test_get__without_a_setting_is_not_found_naming_latest(lam, account):
    create(lam, "eic-none")

    assert_error(
        lambda: lam.get_function_event_invoke_config(FunctionName="eic-none"),
        code="ResourceNotFoundException",
        status=404,
        message=f"The function {arn(account, 'eic-none', '$LATEST')} doesn't have an "
        "EventInvokeConfig",
    )


def test_get__of_a_missing_function_answers_as_for_a_missing_setting(lam, account):
    assert_error(
        lambda: lam.get_function_event_invoke_config(FunctionName="eic-ghost"),
        code="ResourceNotFoundException",
        status=404,
        message=f"The function {arn(account, 'eic-ghost', '$LATEST')} doesn't have an "
        "EventInvokeConfig",
    )


def test_update__changes_only_what_it_is_given(lam, account):
    create(lam, "eic-update")
    lam.put_function_event_invoke_config(FunctionName="eic-update", MaximumRetryAttempts=0)

    answer = lam.update_function_event_invoke_config(
        FunctionName="eic-update", MaximumEventAgeInSeconds=120
    )

    assert_answer(
        answer,
        {
            "LastModified": WHEN,
            "FunctionArn": arn(account, "eic-update", "$LATEST"),
            "MaximumRetryAttempts": 0,
            "MaximumEventAgeInSeconds": 120,
            "DestinationConfig": NO_DESTINATIONS,
        },
        status=200,
    )


def test_update__without_a_setting_is_not_found(lam, account):
    create(lam, "eic-update-none")

    assert_error(
        lambda: lam.update_function_event_invoke_config(
            FunctionName="eic-update-none", MaximumRetryAttempts=1
        ),
        code="ResourceNotFoundException",
        status=404,
        message=f"The function {arn(account, 'eic-update-none', '$LATEST')} doesn't have an "
        "EventInvokeConfig",
    )


def test_delete__removes_the_setting(lam, account):
    create(lam, "eic-delete")
    lam.put_function_event_invoke_config(FunctionName="eic-delete", MaximumRetryAttempts=1)

    answer = lam.delete_function_event_invoke_config(FunctionName="eic-delete")

    assert_answer(answer, {}, status=204)
    assert_error(
        lambda: lam.delete_function_event_invoke_config(FunctionName="eic-delete"),
        code="ResourceNotFoundException",
        status=404,
        message=f"The function {arn(account, 'eic-delete', '$LATEST')} doesn't have an "
        "EventInvokeConfig",
    )


def test_list__latest_then_versions_then_aliases_a_page_at_a_time(lam, account):
    create(lam, "eic-list", Publish=True)
    lam.create_alias(FunctionName="eic-list", Name="live", FunctionVersion="1")
    for qualifier in ("live", "1", "$LATEST"):
        lam.put_function_event_invoke_config(
            FunctionName="eic-list", Qualifier=qualifier, MaximumRetryAttempts=1
        )

    first = lam.list_function_event_invoke_configs(FunctionName="eic-list", MaxItems=2)
    rest = lam.list_function_event_invoke_configs(
        FunctionName="eic-list", Marker=first["NextMarker"]
    )

    item = {
        "LastModified": WHEN,
        "FunctionArn": Matches(".*"),
        "MaximumRetryAttempts": 1,
        "DestinationConfig": NO_DESTINATIONS,
    }
    assert_answer(
        first,
        {"FunctionEventInvokeConfigs": [item, item], "NextMarker": Kind(str)},
        status=200,
    )
    assert_answer(rest, {"FunctionEventInvokeConfigs": [item]}, status=200)
    listed = [c["FunctionArn"] for c in first["FunctionEventInvokeConfigs"]]
    listed += [c["FunctionArn"] for c in rest["FunctionEventInvokeConfigs"]]
    assert listed == [arn(account, "eic-list", q) for q in ("$LATEST", "1", "live")]


def test_list__of_a_function_without_settings_is_empty(lam):
    create(lam, "eic-list-none")

    answer = lam.list_function_event_invoke_configs(FunctionName="eic-list-none")

    assert_answer(answer, {"FunctionEventInvokeConfigs": []}, status=200)


def test_settings_go_with_their_alias_version_and_function(lam, account):
    create(lam, "eic-cleanup", Publish=True)
    lam.create_alias(FunctionName="eic-cleanup", Name="live", FunctionVersion="1")
    lam.publish_version(FunctionName="eic-cleanup", Description="two")
    for qualifier in ("live", "2", "$LATEST"):
        lam.put_function_event_invoke_config(
            FunctionName="eic-cleanup", Qualifier=qualifier, MaximumRetryAttempts=0
        )

    lam.delete_alias(FunctionName="eic-cleanup", Name="live")
    lam.delete_function(FunctionName="eic-cleanup", Qualifier="2")

    listed = lam.list_function_event_invoke_configs(FunctionName="eic-cleanup")
    assert [c["FunctionArn"] for c in listed["FunctionEventInvokeConfigs"]] == [
        arn(account, "eic-cleanup", "$LATEST")
    ]
    lam.delete_function(FunctionName="eic-cleanup")
    create(lam, "eic-cleanup")
    assert_answer(
        lam.list_function_event_invoke_configs(FunctionName="eic-cleanup"),
        {"FunctionEventInvokeConfigs": []},
        status=200,
    )


def test_destination__a_function_of_the_account_is_kept(lam, account):
    create(lam, "eic-source")
    create(lam, "eic-sink")

    answer = lam.put_function_event_invoke_config(
        FunctionName="eic-source",
        DestinationConfig={"OnFailure": {"Destination": arn(account, "eic-sink")}},
    )

    assert answer["DestinationConfig"] == {
        "OnSuccess": {},
        "OnFailure": {"Destination": arn(account, "eic-sink")},
    }
    cleared = lam.update_function_event_invoke_config(
        FunctionName="eic-source", DestinationConfig={"OnFailure": {"Destination": ""}}
    )
    assert cleared["DestinationConfig"] == NO_DESTINATIONS


@pytest.mark.parametrize(
    "destination",
    [
        "arn:aws:sqs:us-east-1:123456789012:failures",
        "arn:aws:sns:us-east-1:123456789012:failures",
        "arn:aws:events:us-east-1:123456789012:event-bus/default",
    ],
)
def test_destination__a_service_this_server_cannot_deliver_to_is_refused(lam, destination):
    create(lam, "eic-undeliverable")

    assert_error(
        lambda: lam.put_function_event_invoke_config(
            FunctionName="eic-undeliverable",
            DestinationConfig={"OnFailure": {"Destination": destination}},
        ),
        code="InvalidParameterValueException",
        status=400,
        message=Matches(
            f"The destination ARN {destination} is not supported: this server delivers "
            r"asynchronous invocation records only to Lambda functions .*"
        ),
    )
    assert_error(
        lambda: lam.get_function_event_invoke_config(FunctionName="eic-undeliverable"),
        code="ResourceNotFoundException",
        status=404,
        message=Matches(".* doesn't have an EventInvokeConfig"),
    )


def test_destination__the_function_itself_or_a_missing_one_is_refused(lam, account):
    create(lam, "eic-self")

    assert_error(
        lambda: lam.put_function_event_invoke_config(
            FunctionName="eic-self",
            DestinationConfig={"OnSuccess": {"Destination": arn(account, "eic-self")}},
        ),
        code="InvalidParameterValueException",
        status=400,
        message="You can't specify the function as a destination for itself.",
    )
    missing = arn(account, "eic-not-created")
    assert_error(
        lambda: lam.put_function_event_invoke_config(
            FunctionName="eic-self", DestinationConfig={"OnSuccess": {"Destination": missing}}
        ),
        code="InvalidParameterValueException",
        status=400,
        message=f"The destination ARN {missing} is invalid.",
    )
