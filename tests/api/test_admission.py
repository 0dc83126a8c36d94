"""How much body the API will take, decided from a request's head."""

from __future__ import annotations

import re

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from registry.accounts import Caller, KeyRecord
from registry.api.admission import BodyAllowance

KEYS = {"AKIDEXAMPLE": KeyRecord(Caller("123456789012"), "secret-of-the-example-key")}
_API_PATH = re.compile(r"/\d{4}-\d{2}-\d{2}/")
LIMIT = 1000
PATH = "/2018-10-31/layers/name/versions"


def _gunicorn_headers(key: str = "AKIDEXAMPLE", region: str = "us-east-1") -> list[tuple[str, str]]:
    request = AWSRequest(
        method="POST",
        url="http://127.0.0.1:8000" + PATH,
        data=b"{}",
        headers={"Host": "127.0.0.1:8000"},
    )
    SigV4Auth(Credentials(key, KEYS["AKIDEXAMPLE"].secret_access_key), "lambda", region).add_auth(
        request
    )
    # gunicorn hands headers over as (UPPERCASE-NAME, value) pairs.
    return [(name.upper(), value) for name, value in request.headers.items()]


def _allowance() -> BodyAllowance:
    return BodyAllowance(
        lambda _method, path: ("lambda",) if _API_PATH.match(path) else None,
        KEYS.get,
        "us-east-1",
        LIMIT,
    )


def test_validly_signed_headers__admit_the_api_limit():
    assert _allowance()("POST", PATH, _gunicorn_headers()) == LIMIT


def test_unsigned_unknown_key_or_foreign_region__admit_nothing():
    allowance = _allowance()
    assert allowance("POST", PATH, [("HOST", "x"), ("CONTENT-LENGTH", "72351744")]) == 0
    assert allowance("POST", PATH, _gunicorn_headers(key="AKIDUNKNOWN")) == 0
    assert allowance("POST", PATH, _gunicorn_headers(region="xx-evil-9")) == 0


def test_extension_paths__take_no_body():
    assert _allowance()("POST", "/healthz", _gunicorn_headers()) == 0


def test_console_forms__take_a_small_body_and_nothing_else_unsigned_does():
    from registry import console

    allowance = BodyAllowance(
        lambda _method, path: ("lambda",) if _API_PATH.match(path) else None,
        KEYS.get,
        "us-east-1",
        LIMIT,
        unsigned=console.body_allowance,
    )
    assert allowance("POST", "/console/sign-in", []) == console.MAX_FORM_BYTES
    assert allowance("GET", "/console/layers", []) == 0
    assert allowance("POST", "/consolex", []) == 0
    assert allowance("POST", "/healthz", []) == 0
    assert allowance("POST", PATH, [("HOST", "x")]) == 0  # the API still needs its signature
