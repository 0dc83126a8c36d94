"""The verifier recomputes exactly the signatures botocore makes."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from werkzeug.datastructures import Headers

from registry.accounts import Caller, KeyRecord
from registry.api import sigv4
from registry.errors import InvalidSignature, MissingAuthenticationToken, UnrecognizedClient

KEYS = {
    "AKIDEXAMPLE": KeyRecord(Caller("123456789012"), "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
}


def signed(
    url: str, method: str = "GET", body: bytes = b"", headers=None, secret=None, service="lambda"
) -> sigv4.SignedRequest:
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    key = KEYS["AKIDEXAMPLE"].secret_access_key if secret is None else secret
    SigV4Auth(Credentials("AKIDEXAMPLE", key), service, "us-east-1").add_auth(request)
    parts = urlsplit(url)
    sent = Headers([*request.headers.items(), ("Host", parts.netloc)])
    return sigv4.SignedRequest(
        method, parts.path, parts.query, sent, hashlib.sha256(body).hexdigest()
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/2018-10-31/layers",
        "http://127.0.0.1:8000/2018-10-31/layers/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Alayer%3Amy-layer/versions/1",
        "http://127.0.0.1:8000/2018-10-31/layers?find=LayerVersion&Arn=arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Alayer%3Ax%3A1",
        "http://127.0.0.1:8000/2018-10-31/layers?CompatibleRuntime=python3.12&MaxItems=10&Marker=YWJj%3D",
        "http://localhost/prefix/2015-03-31/functions/my-fn%3A%24LATEST/invocations?Qualifier=%24LATEST",
    ],
)
def test_verify__accepts_botocore_signatures(url):
    assert sigv4.verify(signed(url), KEYS.get) == Caller("123456789012")


def test_verify__accepts_signed_json_body():
    request = signed(
        "http://h/2018-10-31/layers/x/versions",
        "POST",
        b'{"a": 1}',
        {"Content-Type": "application/json"},
    )
    assert sigv4.verify(request, KEYS.get).account_id == "123456789012"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda r: sigv4.SignedRequest(
            r.method, r.raw_path + "x", r.raw_query, r.headers, r.payload_sha256
        ),
        lambda r: sigv4.SignedRequest(
            r.method, r.raw_path, "MaxItems=11", r.headers, r.payload_sha256
        ),
        lambda r: sigv4.SignedRequest(
            "DELETE", r.raw_path, r.raw_query, r.headers, r.payload_sha256
        ),
        lambda r: sigv4.SignedRequest(
            r.method, r.raw_path, r.raw_query, r.headers, hashlib.sha256(b"{}").hexdigest()
        ),
    ],
)
def test_verify__any_change_breaks_the_signature(tamper):
    request = signed("http://h/2018-10-31/layers?MaxItems=10")
    with pytest.raises(InvalidSignature):
        sigv4.verify(tamper(request), KEYS.get)


def test_verify__decoded_path_does_not_verify():
    request = signed(
        "http://h/2018-10-31/layers/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Alayer%3Ax/versions"
    )
    decoded = sigv4.SignedRequest(
        request.method,
        request.raw_path.replace("%3A", ":"),
        "",
        request.headers,
        request.payload_sha256,
    )
    with pytest.raises(InvalidSignature):
        sigv4.verify(decoded, KEYS.get)


def test_verify__wrong_secret_unknown_key_missing_header_other_service():
    with pytest.raises(InvalidSignature):
        sigv4.verify(signed("http://h/2018-10-31/layers", secret="nope"), KEYS.get)
    with pytest.raises(UnrecognizedClient):
        sigv4.verify(signed("http://h/2018-10-31/layers"), {}.get)
    with pytest.raises(MissingAuthenticationToken):
        sigv4.verify(
            sigv4.SignedRequest(
                "GET", "/2018-10-31/layers", "", {}, hashlib.sha256(b"").hexdigest()
            ),
            KEYS.get,
        )
    with pytest.raises(InvalidSignature, match="service"):
        sigv4.verify(signed("http://h/2018-10-31/layers", service="s3"), KEYS.get)


def test_verify__fifteen_minute_window():
    request = signed("http://h/2018-10-31/layers")
    now = datetime.now(timezone.utc)
    assert sigv4.verify(request, KEYS.get, now=now + timedelta(minutes=14))
    with pytest.raises(InvalidSignature, match="expired"):
        sigv4.verify(request, KEYS.get, now=now + timedelta(minutes=16))
    with pytest.raises(InvalidSignature, match="expired"):
        sigv4.verify(request, KEYS.get, now=now - timedelta(minutes=16))
