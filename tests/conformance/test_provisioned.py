"""Provisioned concurrency as AWS answers it: only published versions and aliases of them, a
setting missing on Get but not on Delete, a version and an alias of it never both, and the
shapes of Put, Get and List."""

from __future__ import annotations

from tests.conformance.expect import INT, TIMESTAMP, Matches, assert_answer, assert_error
from tests.support.functions import create

UNPUBLISHED = "Provisioned Concurrency Configs cannot be applied to unpublished function versions."
NOT_PUBLISHED_OR_ALIAS = "The function resource provided must be an alias or a published version."


def provision(lam, name: str, qualifier: str, count: int = 1) -> dict:
    return lam.put_provisioned_concurrency_config(
        FunctionName=name, Qualifier=qualifier, ProvisionedConcurrentExecutions=count
    )


def test_put_provisioned_concurrency_config__latest_is_refused(lam):
    create(lam, "unpublished")
    assert_error(
        lambda: provision(lam, "unpublished", "$LATEST"),
        code="InvalidParameterValueException",
        status=400,
        message=UNPUBLISHED,
        Type="User",
    )


def test_put_provisioned_concurrency_config__an_alias_of_latest_is_refused(lam):
    create(lam, "loose")
    lam.create_alias(FunctionName="loose", Name="edge", FunctionVersion="$LATEST")
    assert_error(
        lambda: provision(lam, "loose", "edge"),
        code="InvalidParameterValueException",
        status=400,
        message=UNPUBLISHED,
        Type="User",
    )


def test_get_provisioned_concurrency_config__latest_is_not_a_published_version(lam):
    create(lam, "plain")
    assert_error(
        lambda: lam.get_provisioned_concurrency_config(FunctionName="plain", Qualifier="$LATEST"),
        code="InvalidParameterValueException",
        status=400,
        message=NOT_PUBLISHED_OR_ALIAS,
        Type="User",
    )


def test_get_provisioned_concurrency_config__a_version_without_one_has_its_own_error(lam):
    create(lam, "unprovisioned", Publish=True)
    assert_error(
        lambda: lam.get_provisioned_concurrency_config(FunctionName="unprovisioned", Qualifier="1"),
        code="ProvisionedConcurrencyConfigNotFoundException",
        status=404,
        message="No Provisioned Concurrency Config found for this function",
        Type="User",
    )


def test_delete_provisioned_concurrency_config__a_missing_setting_answers_as_a_deleted_one(lam):
    create(lam, "idle", Publish=True)
    response = lam.delete_provisioned_concurrency_config(FunctionName="idle", Qualifier="1")
    assert_answer(response, {}, status=204)


def test_put_provisioned_concurrency_config__an_alias_of_a_provisioned_version_conflicts(lam):
    create(lam, "versioned", Publish=True)
    lam.create_alias(FunctionName="versioned", Name="live", FunctionVersion="1")
    provision(lam, "versioned", "1")
    assert_error(
        lambda: provision(lam, "versioned", "live"),
        code="ResourceConflictException",
        status=409,
        message="Alias can't be used for Provisioned Concurrency configuration on an already "
        "Provisioned version",
        Type="User",
    )


def test_put_provisioned_concurrency_config__a_version_of_a_provisioned_alias_conflicts(lam):
    create(lam, "aliased", Publish=True)
    lam.create_alias(FunctionName="aliased", Name="live", FunctionVersion="1")
    provision(lam, "aliased", "live")
    assert_error(
        lambda: provision(lam, "aliased", "1"),
        code="ResourceConflictException",
        status=409,
        message="Version is pointed by a Provisioned Concurrency alias",
        Type="User",
    )
    # Deleting the alias's setting frees the version.
    lam.delete_provisioned_concurrency_config(FunctionName="aliased", Qualifier="live")
    assert provision(lam, "aliased", "1")["RequestedProvisionedConcurrentExecutions"] == 1


def test_provisioned_concurrency__put_get_and_list_answer_aws_shapes(lam, account):
    create(lam, "shaped", Publish=True)
    lam.create_alias(FunctionName="shaped", Name="live", FunctionVersion="1")
    # AWS answers Put before the environments are ready (IN_PROGRESS, none available); this
    # server prepares them before answering, so its answer may already be READY.
    assert_answer(
        provision(lam, "shaped", "live"),
        {
            "RequestedProvisionedConcurrentExecutions": 1,
            "AvailableProvisionedConcurrentExecutions": INT,
            "AllocatedProvisionedConcurrentExecutions": INT,
            "Status": Matches("IN_PROGRESS|READY"),
            "LastModified": TIMESTAMP,
        },
        status=202,
    )
    ready = {
        "RequestedProvisionedConcurrentExecutions": 1,
        "AvailableProvisionedConcurrentExecutions": 1,
        "AllocatedProvisionedConcurrentExecutions": 1,
        "Status": "READY",
        "LastModified": TIMESTAMP,
    }
    assert_answer(
        lam.get_provisioned_concurrency_config(FunctionName="shaped", Qualifier="live"),
        ready,
        status=200,
    )
    alias_arn = f"arn:aws:lambda:us-east-1:{account.account_id}:function:shaped:live"
    assert_answer(
        lam.list_provisioned_concurrency_configs(FunctionName="shaped"),
        {"ProvisionedConcurrencyConfigs": [{"FunctionArn": alias_arn, **ready}]},
        status=200,
    )
