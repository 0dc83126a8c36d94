"""The reads Terraform's AWS provider makes when it refreshes a function and its companions
(aws_lambda_function, _function_event_invoke_config, _function_url, _function_recursion_config,
_runtime_management_config, _event_source_mapping), answered as AWS answers them for a function
that has none of those settings, so that a refresh neither fails nor plans a change."""

from __future__ import annotations

import pytest

from tests.conformance.expect import assert_answer, assert_error
from tests.support.functions import create


def function_arn(account, name: str) -> str:
    return f"arn:aws:lambda:us-east-1:{account.account_id}:function:{name}"


def test_refresh__every_read_of_a_plain_function_succeeds_or_is_not_found_as_on_aws(lam, account):
    """resourceFunctionRead: GetFunction, ListVersionsByFunction, GetFunctionCodeSigningConfig;
    then the companions' reads."""
    create(lam, "refreshed")

    assert lam.get_function(FunctionName="refreshed")["Configuration"]["Version"] == "$LATEST"
    versions = lam.list_versions_by_function(FunctionName="refreshed", MaxItems=10000)
    assert [v["Version"] for v in versions["Versions"]] == ["$LATEST"]
    assert_answer(
        lam.get_function_code_signing_config(FunctionName="refreshed"),
        {"CodeSigningConfigArn": "", "FunctionName": "refreshed"},
        status=200,
    )
    assert_answer(lam.get_function_concurrency(FunctionName="refreshed"), {}, status=200)
    assert_error(
        lambda: lam.get_function_event_invoke_config(FunctionName="refreshed"),
        code="ResourceNotFoundException",
        status=404,
        message=f"The function {function_arn(account, 'refreshed')}:$LATEST doesn't have an "
        "EventInvokeConfig",
    )
    assert_error(
        lambda: lam.get_function_url_config(FunctionName="refreshed"),
        code="ResourceNotFoundException",
        status=404,
        message="The resource you requested does not exist.",
    )
    assert_answer(
        lam.get_function_recursion_config(FunctionName="refreshed"),
        {"RecursiveLoop": "Terminate"},
        status=200,
    )
    assert_answer(
        lam.get_runtime_management_config(FunctionName="refreshed"),
        {"UpdateRuntimeOn": "Auto", "FunctionArn": function_arn(account, "refreshed")},
        status=200,
    )


def test_function_url_config__a_list_of_none(lam):
    create(lam, "without-urls")

    assert_answer(
        lam.list_function_url_configs(FunctionName="without-urls"),
        {"FunctionUrlConfigs": []},
        status=200,
    )


def test_runtime_management_config__of_a_version_names_it(lam, account):
    create(lam, "runtime-managed", Publish=True)

    assert_answer(
        lam.get_runtime_management_config(FunctionName="runtime-managed", Qualifier="1"),
        {"UpdateRuntimeOn": "Auto", "FunctionArn": f"{function_arn(account, 'runtime-managed')}:1"},
        status=200,
    )


def test_event_source_mappings__none_for_a_function_or_the_account(lam):
    create(lam, "unmapped")

    assert_answer(
        lam.list_event_source_mappings(FunctionName="unmapped"),
        {"EventSourceMappings": []},
        status=200,
    )
    assert_answer(lam.list_event_source_mappings(), {"EventSourceMappings": []}, status=200)


@pytest.mark.parametrize(
    "read",
    [
        lambda lam, name: lam.get_function_code_signing_config(FunctionName=name),
        lambda lam, name: lam.get_function_url_config(FunctionName=name),
        lambda lam, name: lam.list_function_url_configs(FunctionName=name),
        lambda lam, name: lam.get_function_recursion_config(FunctionName=name),
        lambda lam, name: lam.get_runtime_management_config(FunctionName=name),
        lambda lam, name: lam.list_event_source_mappings(FunctionName=name),
    ],
    ids=[
        "GetFunctionCodeSigningConfig",
        "GetFunctionUrlConfig",
        "ListFunctionUrlConfigs",
        "GetFunctionRecursionConfig",
        "GetRuntimeManagementConfig",
        "ListEventSourceMappings",
    ],
)
def test_reads_of_a_missing_function__are_function_not_found(lam, account, read):
    """Terraform drops a resource from its state on ResourceNotFoundException."""
    assert_error(
        lambda: read(lam, "never-created"),
        code="ResourceNotFoundException",
        status=404,
        message=f"Function not found: {function_arn(account, 'never-created')}",
    )
