"""Every Lambda API request must carry a valid SigV4 signature from a known access key."""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.support.zips import layer_zip


def error_code(call) -> tuple[str, int]:
    with pytest.raises(ClientError) as refused:
        call()
    return refused.value.response["Error"]["Code"], refused.value.response["ResponseMetadata"][
        "HTTPStatusCode"
    ]


def test_auth__wrong_secret_is_refused(strata_server):
    lam = strata_server.client(("test", "not-the-secret"))
    assert error_code(lambda: lam.list_layers()) == ("InvalidSignatureException", 403)


def test_auth__unknown_access_key_is_refused(strata_server):
    lam = strata_server.client(("AKIANOSUCHKEY", "whatever"))
    assert error_code(lambda: lam.list_layers()) == ("UnrecognizedClientException", 403)


def test_auth__unsigned_request_is_refused(strata_server):
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{strata_server.url}/2018-10-31/layers", timeout=5)
    assert refused.value.code == 403
    assert refused.value.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


class _SignerAt(SigV4Auth):
    """botocore's own signer, with the request time set instead of read from the clock."""

    def __init__(self, credentials, when: datetime):
        super().__init__(credentials, "lambda", "us-east-1")
        self._when = when

    def add_auth(self, request):
        request.context["timestamp"] = self._when.strftime("%Y%m%dT%H%M%SZ")
        self._modify_request_before_signing(request)
        signature = self.signature(
            self.string_to_sign(request, self.canonical_request(request)), request
        )
        self._inject_signature_to_request(request, signature)


def _signed(strata_server, url: str, when: datetime) -> urllib.request.Request:
    request = AWSRequest(method="GET", url=url)
    _SignerAt(Credentials(*strata_server.dev_credentials), when).add_auth(request)
    return urllib.request.Request(url, headers=dict(request.headers.items()))


def test_auth__request_older_than_fifteen_minutes_is_refused(strata_server):
    url = f"{strata_server.url}/2018-10-31/layers"
    stale = datetime.now(timezone.utc) - timedelta(minutes=16)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(_signed(strata_server, url, stale), timeout=5)
    assert refused.value.code == 403
    assert "expired" in refused.value.read().decode()
    fresh = datetime.now(timezone.utc) - timedelta(minutes=14)
    with urllib.request.urlopen(_signed(strata_server, url, fresh), timeout=5) as response:
        assert response.status == 200


def test_auth__tampered_body_is_refused(strata_server):
    url = f"{strata_server.url}/2018-10-31/layers/x/versions"
    request = AWSRequest(
        method="POST",
        url=url,
        data=b'{"Content": {}}',
        headers={"Content-Type": "application/json"},
    )
    SigV4Auth(Credentials(*strata_server.dev_credentials), "lambda", "us-east-1").add_auth(request)
    forged = urllib.request.Request(
        url, data=b'{"Content": {"x": 1}}', headers=dict(request.headers.items()), method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(forged, timeout=5)
    assert refused.value.headers["x-amzn-ErrorType"] == "InvalidSignatureException"


def test_auth__arn_in_path_verifies_with_double_encoding(strata_server, lam, account):
    lam.publish_layer_version(LayerName="encoded", Content={"ZipFile": layer_zip()})
    arn = f"arn:aws:lambda:us-east-1:{account.account_id}:layer:encoded"
    assert lam.get_layer_version(LayerName=arn, VersionNumber=1)["Version"] == 1
    assert lam.list_layer_versions(LayerName=arn)["LayerVersions"][0]["Version"] == 1


def test_health__liveness_and_readiness_need_no_signature(strata_server):
    for path in ("/healthz", "/readyz"):
        with urllib.request.urlopen(strata_server.url + path, timeout=5) as response:
            assert response.status == 200
