"""Fetch `Content.Location` over plain HTTP: streamed, hashed on the fly, resumed, retried.

Locations are presigned or HMAC-signed URLs that may point at another host, so nothing from the
AWS credential chain is ever sent with them. Two budgets are kept apart (a lesson from pip): a
connection that fails before any progress uses the retry budget with exponential backoff; a stream
cut after progress resumes with a Range request guarded by If-Range, on its own budget.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error

from registry.client.errors import HashMismatch, NetworkError

_CHUNK = 1 << 20
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_RETRY_STATUS = {429, 500, 502, 503, 504}


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 5  # attempts that made no progress
    resumes: int = 10  # Range resumes after a stream was cut
    backoff: float = 0.25  # first pause; doubles each retry
    max_backoff: float = 8.0


DEFAULT_RETRY = RetryPolicy()


def make_pool(jobs: int) -> urllib3.PoolManager:
    # redirect=5 follows presigned-URL redirects; urllib3 strips Authorization on a host change.
    return urllib3.PoolManager(
        num_pools=8,
        maxsize=max(1, jobs),
        timeout=urllib3.Timeout(connect=10, read=60),
        retries=urllib3.Retry(
            total=None, connect=0, read=0, status=0, other=0, redirect=5, raise_on_status=False
        ),
    )


class LinkRefused(NetworkError):
    """The location answered 401/403: typically a signed link that expired before it was used."""


def require_http(url: str, subject: str) -> None:
    if not url.startswith(("http://", "https://")):
        raise NetworkError(
            f"{subject}: the server gave Content.Location {url!r}, which is not an HTTP(S) URL, "
            "so the layer cannot be downloaded from it; this server does not serve layer content"
        )


class _Restart(Exception):
    """The server answered a different range than asked for: start over from byte 0."""


def fetch(
    url: str,
    dest: Path,
    *,
    sha256: str,
    size: int | None,
    subject: str,
    pool: urllib3.PoolManager,
    on_bytes: Callable[[int], None] = lambda n: None,
    policy: RetryPolicy = DEFAULT_RETRY,
) -> None:
    """Download `url` into `dest` and verify it; HashMismatch or NetworkError name `subject`."""
    require_http(url, subject)
    validator = None  # a strong ETag or Last-Modified of the first response, for If-Range
    retries = resumes = 0
    with open(dest, "wb") as out:
        sink = _Sink(out, on_bytes)
        while True:
            progressed = False
            try:
                response = pool.request(
                    "GET", url, headers=_headers(sink.have, validator), preload_content=False
                )
                try:
                    _check_status(response, sink, url, subject)
                    validator = validator or _validator(response.headers)
                    for chunk in response.stream(_CHUNK, decode_content=False):
                        sink.write(chunk)
                        progressed = True
                        if size is not None and sink.have > size:
                            break
                finally:
                    # Unread bytes would poison the pooled connection for the next request.
                    response.drain_conn()
                    response.release_conn()
                if size is None or sink.have >= size:
                    break
                raise _Retryable(f"connection closed after {sink.have} of {size} bytes")
            except _Restart:
                sink.reset()
                resumes += 1
                if resumes > policy.resumes:
                    raise NetworkError(
                        f"{subject}: {_redact(url)} kept answering the wrong range; giving up"
                    ) from None
            except (_Retryable, Urllib3Error, OSError) as exc:
                if progressed and resumes < policy.resumes:
                    resumes += 1
                    continue
                retries += 1
                if retries > policy.retries:
                    raise NetworkError(
                        f"{subject}: downloading {_redact(url)} failed after "
                        f"{policy.retries} retries: {_redact_in(str(exc), url)}; "
                        "check the network and that the server is up, then run the command again"
                    ) from None
                time.sleep(min(policy.max_backoff, policy.backoff * 2 ** (retries - 1)))
    _verify(sink, sha256, size, subject)


def _headers(have: int, validator: str | None) -> dict[str, str]:
    """Ask for the rest of the body after `have` bytes, only if it is still the same body."""
    headers = {"Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
        if validator:
            headers["If-Range"] = validator
    return headers


def _check_status(response, sink: _Sink, url: str, subject: str) -> None:
    """Raise what the response's status means for the download; reset `sink` for a whole body."""
    if response.status in _RETRY_STATUS:
        raise _Retryable(f"HTTP {response.status}")
    if response.status == 200 and sink.have:
        sink.reset()  # the Range was ignored (or If-Range failed): a whole body again
    elif response.status == 206:
        if _range_start(response.headers.get("Content-Range", "")) != sink.have:
            raise _Restart()
    elif response.status in (401, 403):
        raise LinkRefused(
            f"{subject}: downloading {_redact(url)} was refused (HTTP {response.status})"
            f"{_reason(response)}; the link may have expired (they last 10 minutes): "
            "run the command again"
        )
    elif response.status != 200:
        raise NetworkError(
            f"{subject}: downloading {_redact(url)} failed with HTTP {response.status}"
            f"{_reason(response)}; check that the layer still exists and run the command again"
        )


def _verify(sink: _Sink, sha256: str, size: int | None, subject: str) -> None:
    got = sink.digest.hexdigest()
    if (size is not None and sink.have != size) or got != sha256:
        raise HashMismatch(
            f"{subject}: downloaded bytes do not match the layer's CodeSha256: expected sha256 "
            f"{sha256} ({size} bytes), got {got} ({sink.have} bytes); the stored layer may be "
            "corrupted or tampered with: nothing was installed, tell the registry's operator"
        )


class _Sink:
    """The partial download: file, running hash and length, kept in step across resumes."""

    def __init__(self, out, on_bytes: Callable[[int], None]):
        self.out = out
        self.on_bytes = on_bytes
        self.digest = hashlib.sha256()
        self.have = 0

    def write(self, chunk: bytes) -> None:
        self.out.write(chunk)
        self.digest.update(chunk)
        self.have += len(chunk)
        self.on_bytes(len(chunk))

    def reset(self) -> None:
        self.out.seek(0)
        self.out.truncate()
        self.on_bytes(-self.have)
        self.digest = hashlib.sha256()
        self.have = 0


class _Retryable(Exception):
    pass


def _validator(headers) -> str | None:
    # If-Range needs a strong validator (RFC 9110 13.1.5): a weak ETag falls back to Last-Modified.
    etag = headers.get("ETag")
    if etag and not etag.startswith("W/"):
        return etag
    return headers.get("Last-Modified")


def _range_start(header: str) -> int | None:
    match = _CONTENT_RANGE.fullmatch(header.strip())
    return int(match.group(1)) if match else None


def _reason(response) -> str:
    body = response.read(300, decode_content=True) if response.status >= 400 else b""
    text = body.decode("utf-8", "replace").strip()
    return f" ({text})" if text else ""


def _redact(url: str) -> str:
    # Signed URLs carry their signature in the query: keep it out of messages and logs.
    return url.split("?", 1)[0]


def _redact_in(text: str, url: str) -> str:
    _, _, query = url.partition("?")
    return text.replace(query, "...") if query else text
