"""The signature's headers are checked on their own, before any body exists; the final
comparison then needs only the body's hash."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from werkzeug.datastructures import Headers

from registry.accounts import Caller, KeyRecord
from registry.api import sigv4
from registry.errors import InvalidSignature, MissingAuthenticationToken, UnrecognizedClient

CALLER = Caller("123456789012")
KEYS = {"AKIDEXAMPLE": KeyRecord(CALLER, "secret-of-the-example-key")}
URL = "http://127.0.0.1:8000/2018-10-31/layers/name/versions"
BODY = b'{"Content": {"ZipFile": "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="}}'


def _headers(*, key: str = "AKIDEXAMPLE", region: str = "us-east-1", body: bytes = BODY) -> Headers:
    request = AWSRequest(method="POST", url=URL, data=body, headers={"Host": "127.0.0.1:8000"})
    SigV4Auth(Credentials(key, KEYS["AKIDEXAMPLE"].secret_access_key), "lambda", region).add_auth(
        request
    )
    return Headers(list(request.headers.items()))


def _request(headers: Headers, body: bytes = BODY) -> sigv4.SignedRequest:
    return sigv4.SignedRequest(
        "POST", "/2018-10-31/layers/name/versions", "", headers, hashlib.sha256(body).hexdigest()
    )


def test_header_check__needs_no_body_and_names_what_the_signature_claims():
    credential = sigv4.check_headers(_headers(), KEYS.get, region="us-east-1")
    assert credential.record is KEYS["AKIDEXAMPLE"]
    assert credential.region == "us-east-1"
    assert credential.signed_headers.split(";")[0] == "host"
    assert len(credential.signature) == 64


def test_header_check_then_signature__is_what_verify_does():
    headers = _headers()
    credential = sigv4.check_headers(headers, KEYS.get)
    assert sigv4.check_signature(_request(headers), credential) == CALLER
    assert sigv4.verify(_request(headers), KEYS.get) == CALLER


def test_signature_check__refuses_a_body_other_than_the_one_signed():
    headers = _headers()
    credential = sigv4.check_headers(headers, KEYS.get)
    with pytest.raises(InvalidSignature, match="does not match"):
        sigv4.check_signature(_request(headers, body=BODY + b" "), credential)


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        (Headers([("Host", "x")]), MissingAuthenticationToken),
        (Headers([("Authorization", "Basic dXNlcjpwdw==")]), InvalidSignature),
        (_headers(key="AKIDUNKNOWN"), UnrecognizedClient),
        (_headers(region="xx-evil-9"), InvalidSignature),
    ],
)
def test_header_check__refuses_from_the_headers_alone(headers, error):
    with pytest.raises(error):
        sigv4.check_headers(headers, KEYS.get, region="us-east-1")


@pytest.mark.parametrize("skew", [timedelta(minutes=16), timedelta(minutes=-16)])
def test_header_check__refuses_a_date_outside_the_window(skew):
    with pytest.raises(InvalidSignature, match="Signature expired"):
        sigv4.check_headers(_headers(), KEYS.get, now=datetime.now(timezone.utc) + skew)


def test_header_check__refuses_unsigned_host():
    headers = _headers()
    authorization = headers["Authorization"].replace("SignedHeaders=host;", "SignedHeaders=")
    headers["Authorization"] = authorization
    assert "SignedHeaders=x-amz-date" in authorization
    with pytest.raises(InvalidSignature, match="host header must be signed"):
        sigv4.check_headers(headers, KEYS.get)
