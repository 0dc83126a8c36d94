"""Every path form Lambda's clients have sent reaches its operation. botocore's models have
changed request paths over the years: the AWS CLI v2 that Debian ships lists functions at
`/2015-03-31/functions/` and reads the account's settings at `/2016-08-19/account-settings/`,
where today's models send no trailing slash."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.conformance.expect import INT, Matches, differences
from tests.support.functions import create
from tests.support.zips import layer_zip


def _send(strata_server, account, method: str, path: str) -> tuple[int, dict, dict]:
    """A request signed as botocore signs it, sent to exactly `path`."""
    request = AWSRequest(method=method, url=strata_server.url + path)
    SigV4Auth(
        Credentials(account.access_key_id, account.secret_access_key), "lambda", "us-east-1"
    ).add_auth(request)
    prepared = urllib.request.Request(
        request.url, method=method, headers=dict(request.headers.items())
    )
    try:
        with urllib.request.urlopen(prepared, timeout=30) as response:
            body = response.read()
            return response.status, dict(response.headers), json.loads(body) if body else {}
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"{}")


@pytest.mark.parametrize("path", ["/2015-03-31/functions", "/2015-03-31/functions/"])
def test_list_functions__with_or_without_the_trailing_slash(path, strata_server, account, lam):
    create(lam, "listed")
    status, _, body = _send(strata_server, account, "GET", path)
    assert status == 200, body
    assert [f["FunctionName"] for f in body["Functions"]] == ["listed"]


@pytest.mark.parametrize("path", ["/2016-08-19/account-settings", "/2016-08-19/account-settings/"])
def test_get_account_settings__with_or_without_the_trailing_slash(path, strata_server, account):
    status, _, body = _send(strata_server, account, "GET", path)
    assert status == 200, body
    found = differences(
        body,
        {
            "AccountLimit": {
                "TotalCodeSize": INT,
                "CodeSizeUnzipped": INT,
                "CodeSizeZipped": INT,
                "ConcurrentExecutions": INT,
                "UnreservedConcurrentExecutions": INT,
            },
            "AccountUsage": {"TotalCodeSize": INT, "FunctionCount": 0},
        },
    )
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    "path",
    [
        "/2015-03-31/functions/slashed/",
        "/2015-03-31/functions/slashed/configuration/",
        "/2015-03-31/functions/slashed/versions/",
        "/2015-03-31/functions/slashed/aliases/",
        "/2019-09-30/functions/slashed/concurrency/",
        "/2018-10-31/layers/",
        "/2018-10-31/layers/slashed/versions/",
        "/2018-10-31/layers/slashed/versions/1/",
    ],
)
def test_every_operation__answers_with_a_trailing_slash(path, strata_server, account, lam):
    create(lam, "slashed")
    lam.publish_layer_version(LayerName="slashed", Content={"ZipFile": layer_zip()})
    status, headers, body = _send(strata_server, account, "GET", path)
    assert status == 200, body
    assert "x-amzn-ErrorType" not in headers


def test_unknown_path__is_still_an_unknown_operation(strata_server, account):
    status, headers, body = _send(strata_server, account, "GET", "/2015-03-31/nothing-here/")
    assert status == 404
    assert headers["x-amzn-ErrorType"] == "UnknownOperationException"
    expected = {"__type": "UnknownOperationException", "Type": "User", "message": Matches(".+")}
    found = differences(body, expected)
    assert not found, "\n".join(found)
