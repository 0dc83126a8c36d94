"""Reserved concurrency through boto3 and the AWS CLI against real servers: Put/Get/Delete
FunctionConcurrency, GetFunction's Concurrency, GetAccountSettings' unreserved concurrency and the
100 executions Lambda keeps unreserved. (Provisioned concurrency's rules are specified in
tests/invocations/test_provisioned.py; the rules themselves, below HTTP, in
tests/functions/test_concurrency.py.)"""

from __future__ import annotations

import json

import pytest

from tests.api.test_aws_cli import aws
from tests.support.functions import create
from tests.test_openapi import call, check

BELOW_MINIMUM = (
    "Specified ReservedConcurrentExecutions for function decreases account's "
    "UnreservedConcurrentExecution below its minimum value of [100]."
)


def unreserved(lam) -> int:
    return lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"]


def reserved(lam, name: str) -> int | None:
    return lam.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions")


def test_put_function_concurrency__reserves_for_the_function_and_get_function_shows_it(lam):
    create(lam, "reserving")
    create(lam, "sharing")
    put = lam.put_function_concurrency(FunctionName="reserving", ReservedConcurrentExecutions=10)
    assert put["ReservedConcurrentExecutions"] == 10
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert reserved(lam, "reserving") == 10
    assert lam.get_function(FunctionName="reserving")["Concurrency"] == {
        "ReservedConcurrentExecutions": 10
    }
    # Without a reservation both answers leave the member out, as Lambda's do.
    assert "Concurrency" not in lam.get_function(FunctionName="sharing")
    assert reserved(lam, "sharing") is None
    assert unreserved(lam) == 990


def test_put_function_concurrency__takes_a_partial_or_full_arn(lam, account):
    create(lam, "named")
    partial = f"{account.account_id}:function:named"
    lam.put_function_concurrency(FunctionName=partial, ReservedConcurrentExecutions=3)
    full = f"arn:aws:lambda:us-east-1:{partial}"
    assert reserved(lam, full) == 3
    lam.delete_function_concurrency(FunctionName=full)
    assert reserved(lam, "named") is None


def test_put_function_concurrency__refuses_to_leave_less_than_100_unreserved(lam):
    for name in ("first", "second"):
        create(lam, name)
    lam.put_function_concurrency(FunctionName="first", ReservedConcurrentExecutions=600)
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as refused:
        lam.put_function_concurrency(FunctionName="second", ReservedConcurrentExecutions=301)
    assert refused.value.response["Error"]["Message"] == BELOW_MINIMUM
    assert reserved(lam, "second") is None

    lam.put_function_concurrency(FunctionName="second", ReservedConcurrentExecutions=300)
    assert unreserved(lam) == 100
    # A function's own reservation is replaced, not added to: lowering it always fits.
    lam.put_function_concurrency(FunctionName="first", ReservedConcurrentExecutions=500)
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.put_function_concurrency(FunctionName="first", ReservedConcurrentExecutions=601)
    assert (reserved(lam, "first"), unreserved(lam)) == (500, 200)


def test_put_function_concurrency__other_accounts_reservations_do_not_count(strata_server, lam):
    create(lam, "mine")
    lam.put_function_concurrency(FunctionName="mine", ReservedConcurrentExecutions=900)
    other = strata_server.client(strata_server.new_account())
    create(other, "theirs")
    other.put_function_concurrency(FunctionName="theirs", ReservedConcurrentExecutions=900)
    assert (unreserved(lam), unreserved(other)) == (100, 100)
    with pytest.raises(other.exceptions.ResourceNotFoundException):
        other.get_function_concurrency(FunctionName="mine")


def test_put_function_concurrency__zero_is_a_reservation(lam):
    create(lam, "stopped")
    assert (
        lam.put_function_concurrency(FunctionName="stopped", ReservedConcurrentExecutions=0)[
            "ReservedConcurrentExecutions"
        ]
        == 0
    )
    assert reserved(lam, "stopped") == 0
    assert lam.get_function(FunctionName="stopped")["Concurrency"] == {
        "ReservedConcurrentExecutions": 0
    }


def test_put_function_concurrency__refuses_what_is_not_a_reservation(strata_server, account, lam):
    create(lam, "checked")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.put_function_concurrency(FunctionName="missing", ReservedConcurrentExecutions=1)
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="qualifier"):
        lam.put_function_concurrency(FunctionName="checked:1", ReservedConcurrentExecutions=1)
    credentials = (account.access_key_id, account.secret_access_key)
    path = "/2017-10-31/functions/checked/concurrency"
    # botocore refuses these before sending; other clients reach the server with them. A number
    # below the model's minimum is the model's refusal; a value of the wrong type the operation's.
    refusals = [
        (b'{"ReservedConcurrentExecutions": -1}', "ValidationException"),
        (b'{"ReservedConcurrentExecutions": 1.5}', "InvalidParameterValueException"),
        (b'{"ReservedConcurrentExecutions": true}', "InvalidParameterValueException"),
        (b"{}", "InvalidParameterValueException"),
    ]
    for body, code in refusals:
        status, answer = call(strata_server, "PUT", path, body, credentials)
        assert status == 400, answer
        assert json.loads(answer)["__type"] == code, (body, answer)
    assert reserved(lam, "checked") is None


def test_delete_function_concurrency__gives_the_reservation_back(lam):
    create(lam, "returning")
    lam.put_function_concurrency(FunctionName="returning", ReservedConcurrentExecutions=900)
    deleted = lam.delete_function_concurrency(FunctionName="returning")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert reserved(lam, "returning") is None
    assert "Concurrency" not in lam.get_function(FunctionName="returning")
    assert unreserved(lam) == 1000
    lam.delete_function_concurrency(FunctionName="returning")  # nothing left to delete: fine
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.delete_function_concurrency(FunctionName="missing")


def test_delete_function__deletes_its_reservation(lam):
    create(lam, "brief")
    lam.put_function_concurrency(FunctionName="brief", ReservedConcurrentExecutions=900)
    lam.delete_function(FunctionName="brief")
    assert unreserved(lam) == 1000
    create(lam, "brief")  # the same name again is a new function, without a reservation
    assert reserved(lam, "brief") is None
    create(lam, "next")
    lam.put_function_concurrency(FunctionName="next", ReservedConcurrentExecutions=900)
    assert unreserved(lam) == 100


def test_function_concurrency__answers_match_the_openapi_schemas(strata_server, account, lam):
    create(lam, "spec")
    credentials = (account.access_key_id, account.secret_access_key)
    put = "/2017-10-31/functions/{FunctionName}/concurrency"
    get = "/2019-09-30/functions/{FunctionName}/concurrency"
    at_put, at_get = (
        "/2017-10-31/functions/spec/concurrency",
        "/2019-09-30/functions/spec/concurrency",
    )
    exchanges = [
        (get, "get", at_get, None, 200),
        (put, "put", at_put, b'{"ReservedConcurrentExecutions": 5}', 200),
        (put, "put", at_put, b'{"ReservedConcurrentExecutions": 950}', 400),
        (get, "get", at_get, None, 200),
        ("/2015-03-31/functions/{FunctionName}", "get", "/2015-03-31/functions/spec", None, 200),
        (put, "delete", at_put, None, 204),
        (get, "get", "/2019-09-30/functions/missing/concurrency", None, 404),
    ]
    for template, method, path, body, expected in exchanges:
        status, payload = call(strata_server, method.upper(), path, body, credentials)
        assert status == expected, (path, payload)
        check(template, method, status, payload)


def test_aws_cli_put_get_and_delete_function_concurrency(strata_server, account, lam):
    create(lam, "cli")
    put = aws(
        strata_server,
        account,
        "put-function-concurrency",
        "--function-name",
        "cli",
        "--reserved-concurrent-executions",
        "25",
    )
    assert put == {"ReservedConcurrentExecutions": 25}
    got = aws(strata_server, account, "get-function-concurrency", "--function-name", "cli")
    assert got == {"ReservedConcurrentExecutions": 25}
    settings = aws(strata_server, account, "get-account-settings")
    assert settings["AccountLimit"]["UnreservedConcurrentExecutions"] == 975
    aws(strata_server, account, "delete-function-concurrency", "--function-name", "cli")
    assert aws(strata_server, account, "get-function-concurrency", "--function-name", "cli") == {}
