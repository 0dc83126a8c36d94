"""Each rule of the SigV4 verifier, shown with requests signed correctly in every other respect.

The requests here are signed by a small signer written from AWS's specification (not botocore, and
not the module under test), so a request can be valid except for the one rule a test is about:
a verifier that dropped that rule would accept it.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta, timezone

import pytest
from werkzeug.datastructures import Headers

from registry.accounts import Caller, KeyRecord
from registry.api import sigv4
from registry.errors import InvalidSignature, MissingAuthenticationToken, UnrecognizedClient

ACCOUNT = "123456789012"
KEY_ID, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
KEYS = {KEY_ID: KeyRecord(Caller(ACCOUNT), SECRET)}
WHEN = datetime(2026, 1, 2, 0, 1, 0, tzinfo=timezone.utc)
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def sign(
    *,
    method: str = "GET",
    path: str = "/2018-10-31/layers",
    query: str = "",
    signed_query: str | None = None,
    headers: dict[str, str] | None = None,
    signed_headers: tuple[str, ...] = ("host", "x-amz-date"),
    canonical_values: dict[str, str] | None = None,
    amz_date: str = WHEN.strftime("%Y%m%dT%H%M%SZ"),
    scope_date: str | None = None,
    credential: str | None = None,
    region: str = "us-east-1",
    service: str = "lambda",
    secret: str = SECRET,
    body: bytes = b"",
) -> sigv4.SignedRequest:
    """A request for `path` + `query`, signed over `signed_query` (default: `query`, which must
    then be in canonical form) and the given headers' `canonical_values` (default: as sent)."""
    sent = {"Host": "127.0.0.1:8000", "X-Amz-Date": amz_date, **(headers or {})}
    values = {name.lower(): value for name, value in sent.items()}
    values.update(canonical_values or {})
    scope_date = scope_date or amz_date[:8]
    scope = f"{scope_date}/{region}/{service}/aws4_request"
    canonical = "\n".join(
        [
            method,
            path,
            query if signed_query is None else signed_query,
            "".join(f"{name}:{values[name]}\n" for name in signed_headers),
            ";".join(signed_headers),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _hmac(f"AWS4{secret}".encode(), scope_date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    sent["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={credential or f'{KEY_ID}/{scope}'}, "
        f"SignedHeaders={';'.join(signed_headers)}, Signature={signature}"
    )
    return sigv4.SignedRequest(
        method, path, query, Headers(list(sent.items())), hashlib.sha256(body).hexdigest()
    )


def verify(request: sigv4.SignedRequest, now: datetime = WHEN) -> Caller:
    return sigv4.verify(request, KEYS.get, now=now)


def with_authorization(request: sigv4.SignedRequest, authorization: str) -> sigv4.SignedRequest:
    headers = Headers(list(request.headers.items()))
    headers["Authorization"] = authorization
    return sigv4.SignedRequest(
        request.method, request.raw_path, request.raw_query, headers, request.payload_sha256
    )


def test_signer__makes_requests_the_verifier_accepts():
    assert verify(sign()) == Caller(ACCOUNT)
    assert verify(sign(method="POST", body=b'{"a":1}')) == Caller(ACCOUNT)


# -- the credential scope --------------------------------------------------------------------------


def test_credential_date__differing_from_x_amz_date_is_refused():
    # One minute after midnight the previous day's scope is within the clock window, and the
    # signature over it is valid: only the date rule refuses it.
    request = sign(amz_date="20260102T000100Z", scope_date="20260101")
    with pytest.raises(InvalidSignature, match="date"):
        verify(request)


def test_credential_date__equal_to_x_amz_date_is_accepted():
    assert verify(sign(amz_date="20260102T000100Z", scope_date="20260102")) == Caller(ACCOUNT)


@pytest.mark.parametrize(
    "credential",
    [
        f"{KEY_ID}/20260102/us-east-1/lambda",
        f"{KEY_ID}/20260102/us-east-1/lambda/aws4_request/extra",
        f"{KEY_ID}/20260102/us-east-1/lambda/aws4_requesT",
        f"{KEY_ID}/20260102/us-east-1/iam/aws4_request",
        f"{KEY_ID}/20260102/lambda/aws4_request/us-east-1",
    ],
    ids=["four-parts", "six-parts", "terminator", "service", "order"],
)
def test_credential_scope__of_another_shape_is_refused(credential):
    with pytest.raises(InvalidSignature, match="scoped"):
        verify(sign(credential=credential))


def test_credential_region__must_be_the_servers_region_when_it_has_one():
    assert sigv4.verify(sign(), KEYS.get, now=WHEN, region="us-east-1") == Caller(ACCOUNT)
    elsewhere = sign(region="xx-evil-9")
    with pytest.raises(InvalidSignature, match="region"):
        sigv4.verify(elsewhere, KEYS.get, now=WHEN, region="us-east-1")
    # Without a configured region any correctly signed scope is accepted.
    assert verify(elsewhere) == Caller(ACCOUNT)


def test_unknown_access_key__is_an_unrecognized_client():
    request = sign(credential=f"AKIDUNKNOWN/{WHEN:%Y%m%d}/us-east-1/lambda/aws4_request")
    with pytest.raises(UnrecognizedClient):
        verify(request)


def test_wrong_secret__is_refused():
    with pytest.raises(InvalidSignature, match="does not match"):
        verify(sign(secret=SECRET + "x"))


# -- the clock -------------------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [timedelta(minutes=15), -timedelta(minutes=15), timedelta(0)])
def test_x_amz_date__up_to_fifteen_minutes_from_the_server_clock_is_accepted(offset):
    assert verify(sign(), now=WHEN + offset) == Caller(ACCOUNT)


@pytest.mark.parametrize(
    "offset", [timedelta(minutes=15, seconds=1), -timedelta(minutes=15, seconds=1)]
)
def test_x_amz_date__more_than_fifteen_minutes_away_is_refused(offset):
    with pytest.raises(InvalidSignature, match="expired"):
        verify(sign(), now=WHEN + offset)


def test_x_amz_date__defaults_to_the_real_clock():
    stale = sign()  # signed in January 2026
    with pytest.raises(InvalidSignature, match="expired"):
        sigv4.verify(stale, KEYS.get)
    fresh = sign(amz_date=datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ"))
    assert sigv4.verify(fresh, KEYS.get) == Caller(ACCOUNT)


@pytest.mark.parametrize(
    "amz_date", ["", "20260102", "2026-01-02T00:01:00Z", "20260102T000100", "20261302T000100Z"]
)
def test_x_amz_date__missing_or_malformed_is_refused(amz_date):
    request = sign(amz_date=amz_date or "20260102T000100Z", scope_date="20260102")
    headers = Headers([(k, v) for k, v in request.headers.items() if k != "X-Amz-Date"])
    if amz_date:
        headers["X-Amz-Date"] = amz_date
    request = sigv4.SignedRequest(
        request.method, request.raw_path, request.raw_query, headers, request.payload_sha256
    )
    with pytest.raises(InvalidSignature, match="X-Amz-Date"):
        verify(request)


# -- signed headers --------------------------------------------------------------------------------


def test_signed_headers__without_host_are_refused():
    request = sign(signed_headers=("x-amz-date",))
    with pytest.raises(InvalidSignature, match="host"):
        verify(request)


def test_signed_header__missing_from_the_request_is_refused():
    request = sign(headers={"X-Extra": "1"}, signed_headers=("host", "x-amz-date", "x-extra"))
    headers = Headers([(k, v) for k, v in request.headers.items() if k != "X-Extra"])
    stripped = sigv4.SignedRequest(
        request.method, request.raw_path, request.raw_query, headers, request.payload_sha256
    )
    with pytest.raises(InvalidSignature, match="x-extra"):
        verify(stripped)


def test_signed_header__value_is_trimmed_and_its_inner_spaces_collapsed():
    request = sign(
        headers={"X-Extra": "  a   b \t c  "},
        signed_headers=("host", "x-amz-date", "x-extra"),
        canonical_values={"x-extra": "a b c"},
    )
    assert verify(request) == Caller(ACCOUNT)


def test_signed_header__changed_value_is_refused():
    request = sign(headers={"X-Extra": "a"}, signed_headers=("host", "x-amz-date", "x-extra"))
    headers = Headers(list(request.headers.items()))
    headers["X-Extra"] = "b"
    changed = sigv4.SignedRequest(
        request.method, request.raw_path, request.raw_query, headers, request.payload_sha256
    )
    with pytest.raises(InvalidSignature, match="does not match"):
        verify(changed)


# -- the Authorization header ----------------------------------------------------------------------


def test_authorization__missing_is_a_missing_token():
    request = sign()
    headers = Headers([(k, v) for k, v in request.headers.items() if k != "Authorization"])
    with pytest.raises(MissingAuthenticationToken):
        verify(sigv4.SignedRequest("GET", request.raw_path, "", headers, EMPTY_SHA256))
    with pytest.raises(MissingAuthenticationToken):
        verify(with_authorization(request, ""))


def test_authorization__with_extra_spaces_is_accepted():
    request = sign()
    spaced = (
        request.headers["Authorization"]
        .replace(", ", " ,  ")
        .replace("AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA256   ")
    )
    assert verify(with_authorization(request, f"  {spaced}  ")) == Caller(ACCOUNT)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda a: a.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512"),
        lambda a: a.replace("AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA256"),
        lambda a: a.rsplit("=", 1)[0] + "=" + a.rsplit("=", 1)[1].upper(),
        lambda a: a[:-1],
        lambda a: a + "0",
        lambda a: a.split(", Signature=")[0],
        lambda a: a.replace(", SignedHeaders=host;x-amz-date", ""),
        lambda a: a.replace("SignedHeaders=host;x-amz-date", "SignedHeaders=host, x-amz-date"),
        lambda a: a + ", Extra=1",
        lambda a: "Bearer " + a,
    ],
    ids=[
        "algorithm",
        "no-space",
        "uppercase-hex",
        "short-signature",
        "long-signature",
        "no-signature",
        "no-signed-headers",
        "comma-in-signed-headers",
        "trailing-field",
        "prefixed",
    ],
)
def test_authorization__not_in_aws_form_is_refused(mangle):
    request = sign()
    with pytest.raises(InvalidSignature):
        verify(with_authorization(request, mangle(request.headers["Authorization"])))


# -- what the signature covers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "sent", ["MaxItems=10&Marker=", "MaxItems=10&Marker", "Marker=&MaxItems=10"]
)
def test_query__an_added_blank_parameter_breaks_the_signature(sent):
    request = sign(query=sent, signed_query="MaxItems=10")
    with pytest.raises(InvalidSignature, match="does not match"):
        verify(request)


def test_query__blank_parameters_that_were_signed_are_accepted():
    assert verify(sign(query="Marker=&MaxItems=10")) == Caller(ACCOUNT)
    assert verify(sign(query="Marker&MaxItems=10", signed_query="Marker=&MaxItems=10")) == Caller(
        ACCOUNT
    )


def test_query__is_signed_sorted_and_percent_encoded():
    request = sign(query="b=2&a=x%20y&a=1", signed_query="a=1&a=x%20y&b=2")
    assert verify(request) == Caller(ACCOUNT)


def test_method__is_compared_in_upper_case():
    request = sign(method="GET")
    lower = sigv4.SignedRequest(
        "get", request.raw_path, request.raw_query, request.headers, request.payload_sha256
    )
    assert verify(lower) == Caller(ACCOUNT)


def test_method__changed_breaks_the_signature():
    request = sign(method="GET")
    other = sigv4.SignedRequest(
        "PUT", request.raw_path, request.raw_query, request.headers, request.payload_sha256
    )
    with pytest.raises(InvalidSignature):
        verify(other)


def test_body__changed_breaks_the_signature():
    request = sign(method="POST", body=b'{"a":1}')
    other = sigv4.SignedRequest(
        "POST", request.raw_path, "", request.headers, hashlib.sha256(b'{"a":2}').hexdigest()
    )
    with pytest.raises(InvalidSignature):
        verify(other)


def test_region_and_service__are_part_of_the_signing_key():
    # Signed for us-west-2 but claiming us-east-1 in the scope: the key differs, so does the
    # signature.
    request = sign(
        region="us-west-2", credential=f"{KEY_ID}/{WHEN:%Y%m%d}/us-east-1/lambda/aws4_request"
    )
    with pytest.raises(InvalidSignature):
        verify(request)


# -- canonical forms -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, canonical",
    [
        ("", "/"),
        ("/", "/"),
        ("/2018-10-31/layers", "/2018-10-31/layers"),
        ("/a/b/", "/a/b/"),
        ("/a//b", "/a/b"),
        ("/a/./b/../c", "/a/c"),
        ("/a/b/../", "/a/"),
        ("//a//b", "/a/b"),
        ("/a%3Ab", "/a%253Ab"),
        ("/a b~", "/a%20b~"),
        ("/a_b-c.d", "/a_b-c.d"),
    ],
)
def test_canonical_uri__is_normalised_then_encoded_once_more(raw, canonical):
    assert sigv4.canonical_uri(raw) == canonical


@pytest.mark.parametrize(
    "raw, canonical",
    [
        ("", ""),
        ("b=2&a=1", "a=1&b=2"),
        ("a=2&a=1", "a=1&a=2"),
        ("Marker=&a=1", "Marker=&a=1"),
        ("flag&a=1", "a=1&flag="),
        ("k=a%3Ab%2Fc", "k=a%3Ab%2Fc"),
        ("k=a b", "k=a%20b"),
        ("k=-_.~", "k=-_.~"),
        ("k%20x=1", "k%20x=1"),
        ("a%2Fb=c%2Fd", "a%2Fb=c%2Fd"),
    ],
)
def test_canonical_query__is_sorted_with_blanks_kept_and_aws_encoding(raw, canonical):
    assert sigv4.canonical_query(raw) == canonical
