"""AWS Signature Version 4 verification for requests signed for the `lambda` service (and the
`logs` and `monitoring` services the same endpoint serves).

The signature is recomputed from the request exactly as botocore builds it: the canonical URI is
the path *as sent on the wire* (already percent-encoded) encoded once more, so an ARN in the path
(`arn%3Aaws%3A...`) is signed as `arn%253Aaws%253A...`. The decoded path must never be used here.
"""

from __future__ import annotations

import hashlib
import hmac
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from urllib.parse import parse_qsl, quote

from registry.accounts import Caller, KeyRecord
from registry.errors import InvalidSignature, MissingAuthenticationToken, UnrecognizedClient

SERVICE = "lambda"
ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = timedelta(minutes=15)
_AUTH = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+)\s*,\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+)\s*,\s*Signature=(?P<signature>[0-9a-f]{64})\s*"
)
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class SignedRequest:
    method: str
    raw_path: str  # as sent, percent-encoding intact, without the query
    raw_query: str
    headers: Mapping[str, str]  # case-insensitive lookup
    payload_sha256: str  # hex digest of the body as received


@dataclass(frozen=True)
class Credential:
    """What a request's signature headers claim, checked in everything but the signature itself:
    the form, the scope, the date window and the key. Needs no body, so a server can refuse a
    request before reading one."""

    record: KeyRecord
    date: str  # YYYYMMDD of the scope
    region: str  # as scoped by the client
    amz_date: str
    signed_headers: str  # the SignedHeaders list as sent, ";"-separated
    signature: str
    service: str = SERVICE  # the service the scope names


def verify(
    request: SignedRequest,
    find_key: Callable[[str], KeyRecord | None],
    *,
    now: datetime | None = None,
    region: str | None = None,
) -> Caller:
    """The caller who signed `request`. With `region`, the credential scope must name it (a
    signature made for another region is not valid here, as on AWS)."""
    return check_signature(
        request, check_headers(request.headers, find_key, now=now, region=region)
    )


def check_headers(
    headers: Mapping[str, str],
    find_key: Callable[[str], KeyRecord | None],
    *,
    now: datetime | None = None,
    region: str | None = None,
    services: tuple[str, ...] = (SERVICE,),
) -> Credential:
    """Every check of the signature headers that does not need the body (`headers` is a
    case-insensitive mapping); the scope must name one of `services`."""
    match = _authorization(headers)
    access_key_id, date, scoped_region, service = _scope(match["credential"], region, services)
    amz_date = headers.get("X-Amz-Date", "")
    _check_request_time(amz_date, date, now or datetime.now(timezone.utc))
    record = find_key(access_key_id)
    if record is None:
        raise UnrecognizedClient("The security token included in the request is invalid.")
    if "host" not in match["signed"].split(";"):
        raise InvalidSignature("The host header must be signed.")
    return Credential(
        record, date, scoped_region, amz_date, match["signed"], match["signature"], service
    )


def check_signature(request: SignedRequest, credential: Credential) -> Caller:
    """The caller, once the signature over the whole request (body hash included) matches."""
    string_to_sign = "\n".join(
        [
            ALGORITHM,
            credential.amz_date,
            f"{credential.date}/{credential.region}/{credential.service}/aws4_request",
            hashlib.sha256(
                _canonical_request(request, credential.signed_headers).encode()
            ).hexdigest(),
        ]
    )
    key = _signing_key(
        credential.record.secret_access_key, credential.date, credential.region, credential.service
    )
    expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, credential.signature):
        raise InvalidSignature(
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method."
        )
    return credential.record.caller


def _authorization(headers: Mapping[str, str]) -> re.Match:
    authorization = headers.get("Authorization")
    if not authorization:
        raise MissingAuthenticationToken(
            "Missing Authentication Token: sign the request with AWS SigV4."
        )
    match = _AUTH.fullmatch(authorization.strip())
    if not match:
        raise InvalidSignature(
            "The Authorization header is not an AWS4-HMAC-SHA256 signature "
            "(Credential=..., SignedHeaders=..., Signature=...)."
        )
    return match


def _scope(
    credential: str, region: str | None, services: tuple[str, ...]
) -> tuple[str, str, str, str]:
    """ACCESS_KEY/DATE/REGION/SERVICE/aws4_request, split into its key, date, region and
    service."""
    scope = credential.split("/")
    if len(scope) != 5 or scope[3] not in services or scope[4] != "aws4_request":
        raise InvalidSignature(
            f"Credential should be scoped to a valid service and terminator: "
            f"ACCESS_KEY/DATE/REGION/{'|'.join(services)}/aws4_request, got {credential!r}."
        )
    access_key_id, date, scoped_region = scope[0], scope[1], scope[2]
    if region is not None and scoped_region != region:
        raise InvalidSignature(
            f"Credential should be scoped to a valid region. This endpoint serves {region}, "
            f"not {scoped_region[:64]!r}."
        )
    return access_key_id, date, scoped_region, scope[3]


def _check_request_time(amz_date: str, scope_date: str, now: datetime) -> None:
    request_time = _parse_amz_date(amz_date)
    if amz_date[:8] != scope_date:
        raise InvalidSignature(
            f"Credential should be scoped to the date of X-Amz-Date ({amz_date[:8]}), "
            f"not {scope_date}."
        )
    if abs(now - request_time) > MAX_SKEW:
        raise InvalidSignature(
            f"Signature expired: {amz_date} is not within 15 minutes of the server time "
            f"{now.strftime('%Y%m%dT%H%M%SZ')}."
        )


def _canonical_request(request: SignedRequest, signed_headers: str) -> str:
    return "\n".join(
        [
            request.method.upper(),
            canonical_uri(request.raw_path),
            canonical_query(request.raw_query),
            "".join(
                f"{h}:{_header_value(request.headers, h)}\n" for h in signed_headers.split(";")
            ),
            signed_headers,
            request.payload_sha256,
        ]
    )


def canonical_uri(raw_path: str) -> str:
    path = raw_path or "/"
    normalized = posixpath.normpath(path) if path not in ("/", "") else "/"
    if path.endswith("/") and normalized != "/":
        normalized += "/"
    normalized = normalized.replace("//", "/")
    return quote(normalized, safe="/~")


def canonical_query(raw_query: str) -> str:
    pairs = parse_qsl(raw_query, keep_blank_values=True)
    encoded = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def _header_value(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:
        raise InvalidSignature(f"The signed header {name!r} is missing from the request.")
    return _SPACES.sub(" ", value.strip())


def _parse_amz_date(value: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise InvalidSignature(
            "X-Amz-Date is missing or malformed: send it as YYYYMMDDTHHMMSSZ (UTC)."
        ) from None


@lru_cache(maxsize=1024)
def _signing_key(secret: str, date: str, region: str, service: str = SERVICE) -> bytes:
    key = hmac.new(f"AWS4{secret}".encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key
