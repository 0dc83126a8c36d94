"""Provisioned concurrency as AWS answers it: only published versions and aliases of them, a
setting missing on Get but not on Delete, a version and an alias of it never both, and the
shapes of Put, Get and List."""

from __future__ import annotations

import time

from tests.conformance.expect import TIMESTAMP_SECONDS, assert_answer, assert_error
from tests.support.functions import create, handler_zip
from tests.support.provisioned import wait_provisioned

UNPUBLISHED = "Provisioned Concurrency Configs cannot be applied to unpublished function versions."
NOT_PUBLISHED_OR_ALIAS = "The function resource provided must be an alias or a published version."
INIT_SECONDS = 1.5


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
    # Put answers before any environment is ready, without Available, as Lambda does.
    assert_answer(
        provision(lam, "shaped", "live"),
        {
            "RequestedProvisionedConcurrentExecutions": 1,
            "AllocatedProvisionedConcurrentExecutions": 0,
            "Status": "IN_PROGRESS",
            "LastModified": TIMESTAMP_SECONDS,
        },
        status=202,
    )
    wait_provisioned(lam, "shaped", "live")
    ready = {
        "RequestedProvisionedConcurrentExecutions": 1,
        "AvailableProvisionedConcurrentExecutions": 1,
        "AllocatedProvisionedConcurrentExecutions": 1,
        "Status": "READY",
        "LastModified": TIMESTAMP_SECONDS,
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


SLOW_INIT = handler_zip(
    """
    import time

    time.sleep(INIT_SECONDS)


    def handler(event, context):
        return "warm"
    """.replace("INIT_SECONDS", str(INIT_SECONDS))
)


def test_put_provisioned_concurrency_config__answers_at_once_and_is_in_progress_until_warm(
    lam, account
):
    create(lam, "slow-start", SLOW_INIT, Publish=True)
    started = time.monotonic()
    answer = provision(lam, "slow-start", "1", 2)
    assert time.monotonic() - started < INIT_SECONDS  # no environment started on the request
    assert answer["Status"] == "IN_PROGRESS"
    in_progress = {
        "RequestedProvisionedConcurrentExecutions": 2,
        "AvailableProvisionedConcurrentExecutions": 0,
        "AllocatedProvisionedConcurrentExecutions": 0,
        "Status": "IN_PROGRESS",
        "LastModified": answer["LastModified"],
    }
    assert_answer(
        lam.get_provisioned_concurrency_config(FunctionName="slow-start", Qualifier="1"),
        in_progress,
        status=200,
    )
    arn = f"arn:aws:lambda:us-east-1:{account.account_id}:function:slow-start:1"
    assert_answer(
        lam.list_provisioned_concurrency_configs(FunctionName="slow-start"),
        {"ProvisionedConcurrencyConfigs": [{"FunctionArn": arn, **in_progress}]},
        status=200,
    )
    ready = wait_provisioned(lam, "slow-start", "1")
    assert (ready["Status"], ready["AvailableProvisionedConcurrentExecutions"]) == ("READY", 2)
    assert ready["LastModified"] == answer["LastModified"]  # the setting's change, not the warming
    assert time.monotonic() - started >= INIT_SECONDS


def test_put_provisioned_concurrency_config__failed_with_the_reason_when_init_fails(lam):
    broken = handler_zip("raise RuntimeError('no database')\n\ndef handler(e, c):\n    return 1\n")
    create(lam, "broken-start", broken, Publish=True)
    assert provision(lam, "broken-start", "1")["Status"] == "IN_PROGRESS"
    failed = wait_provisioned(lam, "broken-start", "1")
    assert_answer(
        failed,
        {
            "RequestedProvisionedConcurrentExecutions": 1,
            "AvailableProvisionedConcurrentExecutions": 0,
            "AllocatedProvisionedConcurrentExecutions": 0,
            "Status": "FAILED",
            "StatusReason": "FUNCTION_ERROR_INIT_FAILURE",
            "LastModified": TIMESTAMP_SECONDS,
        },
        status=200,
    )
    # The setting still claims its concurrency until deleted, as on Lambda; deleting it works.
    lam.delete_provisioned_concurrency_config(FunctionName="broken-start", Qualifier="1")
    assert (
        lam.list_provisioned_concurrency_configs(FunctionName="broken-start")[
            "ProvisionedConcurrencyConfigs"
        ]
        == []
    )
