"""GetAccountSettings through boto3 and the AWS CLI against real servers: Lambda's limits, the
account's concurrency limit as `strata accounts set-concurrency-limit` sets it, and the code
storage and functions the account uses."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.api.test_aws_cli import aws
from tests.support.functions import create, handler_zip
from tests.support.zips import layer_zip
from tests.test_openapi import call, check

STRATA = str(Path(sys.executable).with_name("strata"))
GB, MB = 1024**3, 1024**2


def strata(server, *args: str) -> subprocess.CompletedProcess:
    """The `strata` command against the server's database (SQLite or PostgreSQL)."""
    return subprocess.run(
        [STRATA, *args, "--data-dir", str(server.data_dir)],
        env={**os.environ, **server.env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def usage(lam) -> dict:
    return lam.get_account_settings()["AccountUsage"]


def test_get_account_settings__a_fresh_account_has_lambdas_limits_and_uses_nothing(lam):
    settings = lam.get_account_settings()
    assert settings["AccountLimit"] == {
        "TotalCodeSize": 75 * GB,
        "CodeSizeUnzipped": 250 * MB,
        "CodeSizeZipped": 50 * MB,
        "ConcurrentExecutions": 1000,
        "UnreservedConcurrentExecutions": 1000,
    }
    assert settings["AccountUsage"] == {"TotalCodeSize": 0, "FunctionCount": 0}


def test_get_account_settings__usage_is_every_stored_package_of_the_account_only(
    strata_server, lam
):
    first, second = layer_zip(body="VALUE = 1\n"), layer_zip(body="VALUE = 2\n" * 50)
    lam.publish_layer_version(LayerName="shared", Content={"ZipFile": first})
    lam.publish_layer_version(LayerName="shared", Content={"ZipFile": second})
    code = handler_zip("def handler(event, context):\n    return 1\n")
    newer = handler_zip("def handler(event, context):\n    return 2\n" + "# pad\n" * 40)
    create(lam, "one", code)
    lam.publish_version(FunctionName="one")  # version 1 counts beside an equal $LATEST
    lam.update_function_code(FunctionName="one", ZipFile=newer)
    create(lam, "two", code)
    assert usage(lam) == {
        # version 1 of "one" and $LATEST of "two" hold `code`; $LATEST of "one" holds `newer`
        "TotalCodeSize": len(first) + len(second) + 2 * len(code) + len(newer),
        "FunctionCount": 2,
    }
    other = strata_server.client(strata_server.new_account())
    assert usage(other) == {"TotalCodeSize": 0, "FunctionCount": 0}


def test_get_account_settings__deleted_versions_and_functions_stop_counting(lam):
    content = layer_zip(body="VALUE = 3\n" * 20)
    lam.publish_layer_version(LayerName="gone", Content={"ZipFile": content})
    code = handler_zip("def handler(event, context):\n    return 3\n")
    create(lam, "brief", code)
    lam.publish_version(FunctionName="brief")
    assert usage(lam)["TotalCodeSize"] == len(content) + 2 * len(code)

    lam.delete_layer_version(LayerName="gone", VersionNumber=1)
    assert usage(lam)["TotalCodeSize"] == 2 * len(code)
    lam.delete_function(FunctionName="brief", Qualifier="1")
    assert usage(lam) == {"TotalCodeSize": len(code), "FunctionCount": 1}
    lam.delete_function(FunctionName="brief")
    assert usage(lam) == {"TotalCodeSize": 0, "FunctionCount": 0}


def test_set_concurrency_limit__changes_the_accounts_limit_and_refuses_less_than_100(
    strata_server, account, lam
):
    done = strata(strata_server, "accounts", "set-concurrency-limit", account.account_id, "250")
    assert done.returncode == 0, done.stderr
    limit = lam.get_account_settings()["AccountLimit"]
    assert (limit["ConcurrentExecutions"], limit["UnreservedConcurrentExecutions"]) == (250, 250)

    refused = strata(strata_server, "accounts", "set-concurrency-limit", account.account_id, "99")
    assert refused.returncode == 1 and refused.stderr.startswith("error: ")
    assert "at least 100" in refused.stderr
    assert lam.get_account_settings()["AccountLimit"]["ConcurrentExecutions"] == 250
    other = strata_server.client(strata_server.new_account())
    assert other.get_account_settings()["AccountLimit"]["ConcurrentExecutions"] == 1000


def test_set_concurrency_limit__refuses_a_limit_the_reservations_leave_less_than_100_of(
    strata_server, account, lam
):
    create(lam, "reserving", handler_zip("def handler(event, context):\n    return 5\n"))
    lam.put_function_concurrency(FunctionName="reserving", ReservedConcurrentExecutions=800)
    refused = strata(strata_server, "accounts", "set-concurrency-limit", account.account_id, "899")
    assert refused.returncode == 1 and refused.stderr.startswith("error: ")
    assert "would leave 99 executions unreserved" in refused.stderr
    assert "reserve 800" in refused.stderr and "at least 900" in refused.stderr
    assert lam.get_account_settings()["AccountLimit"]["ConcurrentExecutions"] == 1000

    done = strata(strata_server, "accounts", "set-concurrency-limit", account.account_id, "900")
    assert done.returncode == 0, done.stderr
    limit = lam.get_account_settings()["AccountLimit"]
    assert (limit["ConcurrentExecutions"], limit["UnreservedConcurrentExecutions"]) == (900, 100)


def test_set_concurrency_limit__an_unknown_account_is_not_found(strata_server):
    done = strata(strata_server, "accounts", "set-concurrency-limit", "999999999999", "500")
    assert done.returncode != 0 and "999999999999 does not exist" in done.stderr


def test_get_account_settings__matches_the_openapi_schema_with_or_without_the_trailing_slash(
    strata_server, account
):
    credentials = (account.access_key_id, account.secret_access_key)
    for path in ("/2016-08-19/account-settings", "/2016-08-19/account-settings/"):
        status, body = call(strata_server, "GET", path, credentials=credentials)
        assert status == 200, body
        check("/2016-08-19/account-settings", "get", status, body)


def test_get_account_settings__an_unsigned_request_is_refused(strata_server):
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(strata_server.url + "/2016-08-19/account-settings", timeout=10)
    assert refused.value.code == 403


def test_aws_cli_get_account_settings(strata_server, account, lam):
    create(lam, "cli", handler_zip("def handler(event, context):\n    return 4\n"))
    settings = aws(strata_server, account, "get-account-settings")
    assert settings["AccountLimit"]["ConcurrentExecutions"] == 1000
    assert settings["AccountUsage"]["FunctionCount"] == 1
