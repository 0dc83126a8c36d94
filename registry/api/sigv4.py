"""AWS Signature Version 4 verification for requests signed for the `lambda` service.

The signature is recomputed from the request exactly as botocore builds it: the canonical URI is
the path *as sent on the wire* (already percent-encoded) encoded once more, so an ARN in the path
(`arn%3Aaws%3A...`) is signed as `arn%253Aaws%253A...`. The decoded path must never be used here.
"""

from __future__ import annotations

import hashlib
import hmac
import posixpath
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Callable, Mapping
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


def verify(
    request: SignedRequest,
    find_key: Callable[[str], KeyRecord | None],
    *,
    now: datetime | None = None,
) -> Caller:
    authorization = request.headers.get("Authorization")
    if not authorization:
        raise MissingAuthenticationToken("Missing Authentication Token: sign the request with AWS SigV4.")
    match = _AUTH.fullmatch(authorization.strip())
    if not match:
        raise InvalidSignature(
            "The Authorization header is not an AWS4-HMAC-SHA256 signature "
            "(Credential=..., SignedHeaders=..., Signature=...)."
        )
    scope = match["credential"].split("/")
    if len(scope) != 5 or scope[3] != SERVICE or scope[4] != "aws4_request":
        raise InvalidSignature(
            f"Credential should be scoped to a valid service and terminator: "
            f"ACCESS_KEY/DATE/REGION/{SERVICE}/aws4_request, got {match['credential']!r}."
        )
    access_key_id, date, region = scope[0], scope[1], scope[2]
    amz_date = request.headers.get("X-Amz-Date", "")
    request_time = _parse_amz_date(amz_date)
    if amz_date[:8] != date:
        raise InvalidSignature(f"Credential should be scoped to the date of X-Amz-Date ({amz_date[:8]}), not {date}.")
    now = now or datetime.now(timezone.utc)
    if abs(now - request_time) > MAX_SKEW:
        raise InvalidSignature(
            f"Signature expired: {amz_date} is not within 15 minutes of the server time "
            f"{now.strftime('%Y%m%dT%H%M%SZ')}."
        )
    record = find_key(access_key_id)
    if record is None:
        raise UnrecognizedClient("The security token included in the request is invalid.")

    signed_headers = match["signed"].split(";")
    if "host" not in signed_headers:
        raise InvalidSignature("The host header must be signed.")
    canonical = "\n".join(
        [
            request.method.upper(),
            canonical_uri(request.raw_path),
            canonical_query(request.raw_query),
            "".join(f"{h}:{_header_value(request.headers, h)}\n" for h in signed_headers),
            match["signed"],
            request.payload_sha256,
        ]
    )
    string_to_sign = "\n".join(
        [ALGORITHM, amz_date, f"{date}/{region}/{SERVICE}/aws4_request", hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _signing_key(record.secret_access_key, date, region)
    expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, match["signature"]):
        raise InvalidSignature(
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method."
        )
    return record.caller


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
def _signing_key(secret: str, date: str, region: str) -> bytes:
    key = hmac.new(f"AWS4{secret}".encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, SERVICE, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key
