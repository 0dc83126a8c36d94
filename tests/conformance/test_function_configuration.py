"""FunctionConfiguration as AWS Lambda answers it: every member AWS sends for a Zip function, with
AWS's defaults, on CreateFunction, GetFunctionConfiguration, GetFunction, ListFunctions and
ListVersionsByFunction; and the configuration members Strata accepts only with the values it
runs by (anything else is refused, saying Strata does not support it)."""

from __future__ import annotations

import pytest

from tests.conformance.configurations import configuration, listed
from tests.conformance.expect import Matches, assert_answer, assert_error
from tests.support.functions import ECHO, ROLE, RUNTIME, create, wait_active


def test_create_function__answers_every_member_aws_sends_with_its_defaults(lam, account):
    answer = create(lam, "plain")
    assert_answer(
        answer,
        configuration(
            account.account_id,
            "plain",
            State="Pending",
            StateReason="The function is being created.",
            StateReasonCode="Creating",
            LastUpdateStatus=None,
        ),
        status=201,
    )


def test_get_function_configuration__an_active_function_has_every_member_aws_sends(lam, account):
    create(lam, "settled")
    assert_answer(
        lam.get_function_configuration(FunctionName="settled"),
        configuration(account.account_id, "settled"),
        status=200,
    )


def test_get_function__configuration_code_and_no_tags_member_without_tags(lam, account):
    create(lam, "fetched")
    assert_answer(
        lam.get_function(FunctionName="fetched"),
        {
            "Configuration": configuration(account.account_id, "fetched"),
            "Code": {"RepositoryType": "S3", "Location": Matches(r"https?://.+")},
        },
        status=200,
    )


def test_environment__shown_only_when_given_and_echoed_even_when_empty(lam, account):
    create(lam, "no-environment")
    assert "Environment" not in lam.get_function_configuration(FunctionName="no-environment")
    create(lam, "empty-environment", Environment={"Variables": {}})
    assert_answer(
        lam.get_function_configuration(FunctionName="empty-environment"),
        configuration(account.account_id, "empty-environment", Environment={"Variables": {}}),
        status=200,
    )


def test_runtime_version_arn__follows_the_runtime(lam):
    create(lam, "runtime-changes")
    before = lam.get_function_configuration(FunctionName="runtime-changes")
    lam.update_function_configuration(FunctionName="runtime-changes", Runtime="python3.12")
    lam.get_waiter("function_updated_v2").wait(
        FunctionName="runtime-changes", WaiterConfig={"Delay": 0.05, "MaxAttempts": 600}
    )
    after = lam.get_function_configuration(FunctionName="runtime-changes")
    assert (
        before["RuntimeVersionConfig"]["RuntimeVersionArn"]
        != after["RuntimeVersionConfig"]["RuntimeVersionArn"]
    )


def test_list_functions__items_leave_out_state_and_runtime_version(lam, account):
    create(lam, "listed-one", Description="one")
    assert_answer(
        lam.list_functions(),
        {"Functions": [listed(configuration(account.account_id, "listed-one", Description="one"))]},
        status=200,
    )


def test_list_versions_by_function__latest_qualified_and_versions_without_state(lam, account):
    create(lam, "versioned", Publish=True)
    item = listed(configuration(account.account_id, "versioned"))
    assert_answer(
        lam.list_versions_by_function(FunctionName="versioned"),
        {
            "Versions": [
                {**item, "FunctionArn": item["FunctionArn"] + ":$LATEST"},
                {**item, "FunctionArn": item["FunctionArn"] + ":1", "Version": "1"},
            ]
        },
        status=200,
    )


def test_get_function_configuration__a_published_version_has_every_member(lam, account):
    create(lam, "one-version", Publish=True)
    assert_answer(
        lam.get_function_configuration(FunctionName="one-version", Qualifier="1"),
        configuration(account.account_id, "one-version", arn_suffix=":1", Version="1"),
        status=200,
    )


@pytest.mark.parametrize(
    "members",
    [
        {"TracingConfig": {"Mode": "PassThrough"}},
        {"LoggingConfig": {"LogFormat": "Text"}},
        {"LoggingConfig": {"LogFormat": "Text", "LogGroup": "/aws/lambda/defaults-kept"}},
        {"SnapStart": {"ApplyOn": "None"}},
        {"VpcConfig": {"SubnetIds": [], "SecurityGroupIds": []}},
        {"FileSystemConfigs": []},
        {"DeadLetterConfig": {}},
        {"KMSKeyArn": ""},
    ],
)
def test_create_function__lambdas_defaults_are_accepted_and_answered(lam, account, members):
    answer = lam.create_function(
        FunctionName="defaults-kept",
        Runtime=RUNTIME,
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": ECHO},
        Timeout=5,
        **members,
    )
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 201
    wait_active(lam, "defaults-kept")
    assert_answer(
        lam.get_function_configuration(FunctionName="defaults-kept"),
        configuration(account.account_id, "defaults-kept"),
        status=200,
    )


UNSUPPORTED = Matches(r"Strata does not support .+")


@pytest.mark.parametrize(
    "members, message",
    [
        ({"TracingConfig": {"Mode": "Active"}}, UNSUPPORTED),
        ({"LoggingConfig": {"LogFormat": "JSON"}}, UNSUPPORTED),
        ({"LoggingConfig": {"ApplicationLogLevel": "DEBUG"}}, UNSUPPORTED),
        ({"LoggingConfig": {"LogGroup": "/custom/group"}}, UNSUPPORTED),
        ({"SnapStart": {"ApplyOn": "PublishedVersions"}}, UNSUPPORTED),
        ({"DeadLetterConfig": {"TargetArn": "arn:aws:sqs:us-east-1:123456789012:q"}}, UNSUPPORTED),
        ({"KMSKeyArn": "arn:aws:kms:us-east-1:123456789012:key/k"}, UNSUPPORTED),
        ({"VpcConfig": {"SubnetIds": ["subnet-1"], "SecurityGroupIds": ["sg-1"]}}, UNSUPPORTED),
        (
            {
                "FileSystemConfigs": [
                    {
                        "Arn": "arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/"
                        "fsap-0123456789abcdef0",
                        "LocalMountPath": "/mnt/data",
                    }
                ]
            },
            UNSUPPORTED,
        ),
    ],
)
def test_create_and_update__what_strata_cannot_honour_is_refused(lam, members, message):
    create(lam, "honest")
    assert_error(
        lambda: lam.create_function(
            FunctionName="refused",
            Runtime=RUNTIME,
            Role=ROLE,
            Handler="app.handler",
            Code={"ZipFile": ECHO},
            **members,
        ),
        code="InvalidParameterValueException",
        status=400,
        message=message,
        Type="User",
    )
    assert_error(
        lambda: lam.update_function_configuration(FunctionName="honest", **members),
        code="InvalidParameterValueException",
        status=400,
        message=message,
        Type="User",
    )
    assert lam.get_function_configuration(FunctionName="honest")["LastUpdateStatus"] == "Successful"
