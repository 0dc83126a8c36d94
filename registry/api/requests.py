"""Reading request bodies and parameters; every malformed input becomes a typed domain error."""

from __future__ import annotations

import binascii
import hashlib
import json
from concurrent.futures import ThreadPoolExecutor

import pybase64
from flask import g, request

from registry.archives import ZipContent
from registry.errors import InvalidParameterValue, InvalidRequestContent, TooManyRequests
from registry.front.body import PrefetchedBody
from registry.messages import not_a_string, not_a_string_list

_BLOB_KEY = b'"ZipFile"'
_SENTINEL = "\u0000strata-zip-file\u0000"


class Blob:
    """The decoded bytes of a base64 member (a wrapper, so the bytes are never copied)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes):
        self.data = data


_CHUNK = 1024 * 1024
# One thread, so chunks are hashed in the order they were submitted.
_HASHER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="body-sha256")


def raw_body() -> bytes | bytearray:
    """The request body, hashed as it arrived (SigV4 signs the body's sha256). Under the server
    front the body was read, and hashed, before the request reached this thread; otherwise it is
    read here into one buffer that grows only as bytes arrive (a declared Content-Length is a
    claim, not an allocation). Going through werkzeug's get_data would hold the body twice while
    copying it, which for a 67 MB publish is most of the server's peak memory."""
    body = g.get("raw_body")
    if body is not None:
        return body
    stream = request.stream  # raises 413 above MAX_CONTENT_LENGTH
    prefetched = request.environ.get("wsgi.input")
    if isinstance(prefetched, PrefetchedBody):
        if prefetched.throttled:
            raise TooManyRequests(
                "The server is busy receiving other large request bodies; retry shortly."
            )
        if prefetched.withheld:
            raise InvalidRequestContent(
                "The request body was not read: the request was refused from its headers."
            )
        g.raw_body, g.raw_body_sha256 = prefetched.data, prefetched.sha256
        return prefetched.data
    body, g.raw_body_sha256 = _read_hashed(stream, request.content_length)
    g.raw_body = body
    return body


def _read_hashed(stream, length: int | None) -> tuple[bytearray, str]:
    digest = hashlib.sha256()
    body = bytearray()
    # A large body is hashed on another thread while the next chunk is read (hashlib releases
    # the GIL), which takes the hash off a publish's critical path.
    small = length is not None and length <= _CHUNK
    hashed = None
    while length is None or len(body) < length:
        chunk = stream.read(_CHUNK if length is None else min(_CHUNK, length - len(body)))
        if not chunk:
            break
        body += chunk
        if small:
            digest.update(chunk)
        else:
            hashed = _HASHER.submit(digest.update, chunk)
    if hashed is not None:
        hashed.result()
    if length is not None and len(body) < length:
        raise InvalidRequestContent(
            f"The request body ended after {len(body)} of its {length} bytes."
        )
    return body, digest.hexdigest()


def body_sha256() -> str:
    raw_body()
    return g.raw_body_sha256


def json_body() -> dict:
    """The request's JSON object. A base64 `ZipFile` member (up to 67 MB of text) is decoded
    straight from the raw body rather than first becoming a Python string, which keeps a publish's
    peak memory near the size of the zip. No member holds a NUL character."""
    body = json_document()
    _refuse_nul(body)
    return body


def json_document() -> dict:
    """The request's JSON object as sent, parsed once per request: the model's checks read it
    before the handler does, and answer first for a value their patterns refuse."""
    body = g.get("json_body")
    if body is None:
        body = g.json_body = _parse_json_body()
    return body


def _parse_json_body() -> dict:
    raw = raw_body()
    if not raw:
        return {}
    blob = None
    span = _blob_span(raw)
    if span is not None:
        start, end = span
        blob = _decode(memoryview(raw)[start:end], "ZipFile")
        raw = raw[:start] + json.dumps(_SENTINEL).encode()[1:-1] + raw[end:]
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidRequestContent(f"Could not parse request body into json: {error}") from None
    except RecursionError:
        raise InvalidRequestContent(
            "Could not parse request body into json: it is nested too deeply."
        ) from None
    if not isinstance(body, dict):
        raise InvalidRequestContent("The request body must be a JSON object.")
    if blob is not None:
        _put_back(body, blob)
    return body


def refuse_nul_in_parameters() -> None:
    """Query and path parameters name things; none of the Lambda model's names holds a NUL, and
    PostgreSQL cannot compare text with one."""
    for name, value in [*request.args.items(multi=True), *(request.view_args or {}).items()]:
        if "\x00" in name or (isinstance(value, str) and "\x00" in value):
            raise InvalidParameterValue(
                f"{name.replace(chr(0), '')[:200]} may not contain a NUL character."
            )


def _refuse_nul(body: dict) -> None:
    """No member of a Lambda request holds a NUL character (PostgreSQL could not store it in
    text). The error names the top-level member it is in; deeper paths are not built, since
    the body's keys and nesting are the client's choice."""
    for member, value in body.items():
        stack = [member, value]
        while stack:
            node = stack.pop()
            if isinstance(node, str):
                if "\x00" in node:
                    name = member.replace("\x00", "")[:100] or "A member"
                    raise InvalidParameterValue(f"{name} may not contain a NUL character.")
            elif isinstance(node, dict):
                stack.extend(node.keys())
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)


def _blob_span(raw: bytes) -> tuple[int, int] | None:
    """Where the value of a large "ZipFile" member lies. Base64 text needs no JSON escapes, so
    the closing quote ends it; a value with anything else in it fails strict decoding."""
    key = raw.find(_BLOB_KEY)
    if key < 0:
        return None
    position = key + len(_BLOB_KEY)
    while position < len(raw) and raw[position] in b" \t\r\n:":
        position += 1
    if position >= len(raw) or raw[position] != ord('"'):
        return None
    end = raw.find(b'"', position + 1)
    if end < 0 or end - position < 4096:
        return None
    return position + 1, end


def _put_back(node, blob: Blob) -> bool:
    for key, value in node.items():
        if value == _SENTINEL:
            node[key] = blob
            return True
        if isinstance(value, dict) and _put_back(value, blob):
            return True
    return False


def string(
    body: dict, key: str, *, required: bool = False, default: str | None = None
) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise InvalidParameterValue(f"{key} is required.")
        return default
    if not isinstance(value, str):
        raise InvalidParameterValue(not_a_string(key))
    return value


def string_list(body: dict, key: str) -> list[str] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidParameterValue(not_a_string_list(key))
    return value


def base64_blob(value, field: str) -> bytes:
    if isinstance(value, Blob):
        return value.data
    if not isinstance(value, str):
        raise InvalidParameterValue(f"{field} must be a base64-encoded string.")
    return _decode(value.encode("ascii", "replace"), field).data


def _decode(text, field: str) -> Blob:
    # pybase64 (SIMD) decodes five times faster than binascii and is exactly as strict as its
    # strict_mode: alphabet, padding, no whitespace.
    try:
        return Blob(pybase64.b64decode(text, validate=True))
    except (binascii.Error, ValueError):
        raise InvalidParameterValue(f"{field} is not valid base64.") from None


def zip_content(members, field: str) -> ZipContent:
    """`Content` of PublishLayerVersion or `Code` of CreateFunction (and UpdateFunctionCode's
    top-level members): exactly one of a base64 ZipFile, or S3Bucket with S3Key."""
    if not isinstance(members, dict):
        raise InvalidParameterValue(f"{field} is required: pass ZipFile, or S3Bucket and S3Key.")
    if members.get("ImageUri") is not None:
        raise InvalidParameterValue(
            "Container images are not supported: pass ZipFile, or S3Bucket and S3Key."
        )
    has_zip = members.get("ZipFile") is not None
    has_s3 = members.get("S3Bucket") is not None or members.get("S3Key") is not None
    if has_zip == has_s3:
        raise InvalidParameterValue(
            f"{field} must contain exactly one of ZipFile, or S3Bucket with S3Key."
        )
    if has_zip:
        return ZipContent(zip_file=base64_blob(members["ZipFile"], f"{field}.ZipFile"))
    # The bucket's and key's patterns and lengths are the model's, checked before this runs.
    bucket = string(members, "S3Bucket", required=True)
    key = string(members, "S3Key", required=True)
    if members.get("S3ObjectVersion") is not None:
        raise InvalidParameterValue(
            "S3ObjectVersion is not supported: name the object by S3Key only."
        )
    return ZipContent(s3_bucket=bucket, s3_key=key)
