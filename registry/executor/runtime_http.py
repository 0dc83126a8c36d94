"""The small HTTP/1.1 the Runtime API speaks to an untrusted runtime, every part of it bounded.

Keep-alive, Content-Length or chunked bodies, Expect: 100-continue (as curl sends): request heads
are read with each line and their number capped, bodies only up to their route's limit, and a
refused request is answered and then drained, bounded in bytes and time, before the close.
"""

from __future__ import annotations

import json
import re
import socket
import time

# The runtime is untrusted: it gets bounded heads, not memory at will.
MAX_HEADERS = 100
MAX_LINE_BYTES = 8192
MAX_CHUNKS = 1 << 17
# After refusing a body, so that a client still sending it reads the answer instead of a reset,
# this much more is discarded (never kept) before the connection closes.
LINGER_BYTES = 16 * 1024 * 1024
LINGER_S = 2.0
_FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding"})
_DECIMAL = re.compile(r"[0-9]{1,19}")
_HEX = re.compile(rb"[0-9a-fA-F]{1,16}")
# Header values the server writes must not end the header early (CR, LF) or carry other controls.
_UNSAFE_IN_HEADER = re.compile(r"[\x00-\x1f\x7f]")


class Refused(Exception):
    """A request the server answers with an error and then closes the connection: its body is
    not read on (beyond a bounded discard, see linger), so a runtime cannot make the executor
    buffer anything, or read without end."""

    def __init__(self, status: int, error_type: str, message: str):
        super().__init__(message)
        self.status, self.error_type, self.message = status, error_type, message


class TooLarge(Exception):
    """A body over its route's limit; `size` is its declared length, or for a chunked body the
    bytes counted up to and including the chunk that broke the limit (that chunk is not read)."""

    def __init__(self, size: int):
        super().__init__(size)
        self.size = size


def linger(conn: socket.socket) -> None:
    """Half-closes, then discards what the client still sends, bounded in bytes and time."""
    conn.shutdown(socket.SHUT_WR)
    deadline = time.monotonic() + LINGER_S
    discarded = 0
    while discarded < LINGER_BYTES:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        conn.settimeout(remaining)
        try:
            got = conn.recv_into(_DISCARD)
        except OSError:
            return
        if not got:
            return
        discarded += got


_DISCARD = bytearray(65536)  # shared: what lands in it is never read


def read_head(reader) -> tuple[str, str, dict[str, str]] | None:
    """Request line and headers, each line and their number bounded; None at a clean EOF."""
    line = reader.readline(MAX_LINE_BYTES + 1)
    if not line:
        return None
    if not line.endswith(b"\n"):
        raise Refused(414, "InvalidRequest", "Request line too long")
    try:
        method, target, version = line.decode("ascii").split()
    except ValueError:
        raise Refused(400, "InvalidRequest", "Malformed request line") from None
    if not version.startswith("HTTP/1."):
        raise Refused(400, "InvalidRequest", "Only HTTP/1.x is served")
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS + 1):
        raw = reader.readline(MAX_LINE_BYTES + 1)
        if raw in (b"\r\n", b"\n"):
            return method, target, headers
        if not raw.endswith(b"\n"):
            if not raw:
                raise ConnectionError("the runtime closed the connection mid-headers")
            raise Refused(431, "InvalidRequest", "Header line too long")
        name, colon, value = raw.decode("latin-1").partition(":")
        name = name.strip().lower()
        if not colon or not name:
            raise Refused(400, "InvalidRequest", "Malformed header line")
        if name in _FRAMING_HEADERS and name in headers:
            # Two framings for one body is how requests are smuggled: never pick one.
            raise Refused(400, "InvalidRequest", f"Duplicate {name} header")
        headers[name] = value.strip()
    raise Refused(431, "InvalidRequest", f"More than {MAX_HEADERS} headers")


def body_framing(headers: dict[str, str]) -> tuple[str, int]:
    """("length", n) or ("chunked", -1); malformed, negative or conflicting framing refused."""
    encoding, length = headers.get("transfer-encoding"), headers.get("content-length")
    if encoding is not None:
        if length is not None:
            raise Refused(400, "InvalidRequest", "Both Content-Length and Transfer-Encoding")
        if encoding.lower() != "chunked":
            raise Refused(400, "InvalidRequest", "Only the chunked transfer encoding is served")
        return "chunked", -1
    if length is None:
        return "length", 0
    if not _DECIMAL.fullmatch(length):
        raise Refused(400, "InvalidRequest", "Invalid Content-Length")
    return "length", int(length)


def read_chunked(reader, limit: int) -> bytes:
    body = bytearray()
    for _ in range(MAX_CHUNKS):
        line = reader.readline(MAX_LINE_BYTES + 1)
        if not line.endswith(b"\n"):
            if not line:
                raise ConnectionError("the runtime closed the connection mid-body")
            raise Refused(400, "InvalidRequest", "Chunk size line too long")
        size = line.split(b";", 1)[0].strip()
        if not _HEX.fullmatch(size):
            raise Refused(400, "InvalidRequest", "Invalid chunk size")
        length = int(size, 16)
        if length == 0:
            for _ in range(MAX_HEADERS + 1):  # trailers, ignored
                trailer = reader.readline(MAX_LINE_BYTES + 1)
                if trailer in (b"\r\n", b"\n"):
                    return bytes(body)
                if not trailer.endswith(b"\n"):
                    raise Refused(400, "InvalidRequest", "Malformed chunked trailer")
            raise Refused(400, "InvalidRequest", "Too many trailers")
        if len(body) + length > limit:
            raise TooLarge(len(body) + length)
        data = reader.read(length)
        if len(data) < length:
            raise ConnectionError("the runtime closed the connection mid-chunk")
        body += data
        if reader.readline(3) not in (b"\r\n", b"\n"):
            raise Refused(400, "InvalidRequest", "Chunk not followed by CRLF")
    raise Refused(400, "InvalidRequest", f"More than {MAX_CHUNKS} chunks")


def too_large(limit: int) -> str:
    return f"Exceeded maximum allowed payload size ({limit} bytes)."


_REASONS = {
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    413: "Request Entity Too Large",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
}


def send(conn: socket.socket, status: int, body: bytes, headers=(), *, close: bool = False) -> None:
    head = [
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
    ]
    head.extend(
        f"{name}: {value}" for name, value in headers if not _UNSAFE_IN_HEADER.search(name + value)
    )
    if close:
        head.append("Connection: close")
    conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1", "replace") + body)


def send_json(conn: socket.socket, status: int, document: dict, *, close: bool = False) -> None:
    send(conn, status, json.dumps(document).encode(), close=close)
