"""The Lambda Runtime API (2018-06-01), served to exactly one environment's runtime.

The runtime long-polls `GET /2018-06-01/runtime/invocation/next`, then posts the outcome to
`.../invocation/{id}/response` or `.../error`; a runtime that cannot initialise posts
`/runtime/init/error`. `RuntimeChannel` holds that state machine; `RuntimeApiServer` speaks a small
HTTP/1.1 (keep-alive, Content-Length or chunked bodies, Expect: 100-continue, as curl sends) over a
socket that only the sandboxed runtime can reach.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_RESPONSE_BYTES = 6 * 1024 * 1024 + 100  # Lambda's limit for a synchronous response
MAX_ERROR_BYTES = 1024 * 1024
# The runtime is untrusted: it gets a few connections and bounded heads, not executor threads or
# memory at will. Bodies are read only up to their route's limit; past it nothing is kept.
MAX_CONNECTIONS = 16
MAX_HEADERS = 100
MAX_LINE_BYTES = 8192
MAX_CHUNKS = 1 << 17
# After refusing a body, so that a client still sending it reads the answer instead of a reset,
# this much more is discarded (never kept) before the connection closes.
LINGER_BYTES = 16 * 1024 * 1024
LINGER_S = 2.0
_PREFIX = "/2018-06-01/runtime/"
_FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding"})
_DECIMAL = re.compile(r"[0-9]{1,19}")
_HEX = re.compile(rb"[0-9a-fA-F]{1,16}")
# Header values the server writes must not end the header early (CR, LF) or carry other controls.
_UNSAFE_IN_HEADER = re.compile(r"[\x00-\x1f\x7f]")


@dataclass
class Invocation:
    request_id: str
    payload: bytes
    deadline_ms: int
    function_arn: str
    trace_id: str
    client_context: str | None = None
    # set by the runtime's answer
    response: bytes | None = None
    error: bytes | None = None
    error_type: str | None = None
    oversized: int | None = None  # size of a response that broke the limit
    answered: bool = False
    taken: bool = field(default=False)


class RuntimeChannel:
    """Invocation hand-off between the executor (submit/wait) and the runtime's HTTP requests."""

    def __init__(self):
        self._cond = threading.Condition()
        self._pending: Invocation | None = None
        self._current: Invocation | None = None
        self.ready_at: float | None = None  # monotonic time of the first /next: init finished
        self.init_error: tuple[bytes, str | None] | None = None
        self.exited = False
        self.closed = False

    # executor side
    def submit(self, invocation: Invocation) -> None:
        with self._cond:
            self._pending = invocation
            self._current = invocation
            self._cond.notify_all()

    def wait_ready(self, timeout: float) -> bool:
        """Wait until the runtime asks for work, fails its init, or exits."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self.ready_at is not None or self.init_error or self.exited, timeout
            )

    def wait_answer(self, invocation: Invocation, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(
                lambda: invocation.answered or self.init_error or self.exited, timeout
            )

    def mark_exited(self) -> None:
        with self._cond:
            self.exited = True
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    # runtime side
    def next_invocation(self) -> Invocation | None:
        with self._cond:
            if self.ready_at is None:
                self.ready_at = time.monotonic()
                self._cond.notify_all()
            self._cond.wait_for(lambda: self._pending is not None or self.closed)
            if self.closed:
                return None
            invocation, self._pending = self._pending, None
            invocation.taken = True
            return invocation

    def answer_refusal(self, request_id: str) -> tuple[int, dict] | None:
        """Why an answer for `request_id` would be refused now (checked before reading its body)."""
        with self._cond:
            return self._answer_refusal(request_id)

    def _answer_refusal(self, request_id: str) -> tuple[int, dict] | None:
        invocation = self._current
        if invocation is None or invocation.request_id != request_id or not invocation.taken:
            return 400, {"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"}
        if invocation.answered:
            return 400, {
                "errorMessage": "Invalid state transition: response already sent",
                "errorType": "InvalidStateTransition",
            }
        return None

    def answer(
        self,
        request_id: str,
        *,
        response: bytes | None = None,
        error: bytes | None = None,
        error_type: str | None = None,
        oversized: int | None = None,
    ) -> tuple[int, dict]:
        with self._cond:
            refusal = self._answer_refusal(request_id)
            if refusal is not None:
                return refusal
            invocation = self._current
            invocation.response, invocation.error = response, error
            invocation.error_type, invocation.oversized = error_type, oversized
            invocation.answered = True
            self._current = None
            self._cond.notify_all()
        if oversized is not None:
            return 413, {
                "errorMessage": f"Exceeded maximum allowed payload size "
                f"({MAX_RESPONSE_BYTES} bytes).",
                "errorType": "RequestEntityTooLarge",
            }
        return 202, {"status": "OK"}

    def init_error_refusal(self) -> tuple[int, dict] | None:
        with self._cond:
            if self.ready_at is not None:
                return 403, {
                    "errorMessage": "Init error after init",
                    "errorType": "InvalidStateTransition",
                }
            return None

    def fail_init(self, error: bytes, error_type: str | None) -> tuple[int, dict]:
        with self._cond:
            if self.ready_at is not None:
                return 403, {
                    "errorMessage": "Init error after init",
                    "errorType": "InvalidStateTransition",
                }
            self.init_error = (error, error_type)
            self._cond.notify_all()
        return 202, {"status": "OK"}


class _Refused(Exception):
    """A request the server answers with an error and then closes the connection: its body is
    not read on (beyond a bounded discard, see _linger), so a runtime cannot make the executor
    buffer anything, or read without end."""

    def __init__(self, status: int, error_type: str, message: str):
        super().__init__(message)
        self.status, self.error_type, self.message = status, error_type, message


class _TooLarge(Exception):
    """A body over its route's limit; `size` is its declared length, or for a chunked body the
    bytes counted up to and including the chunk that broke the limit (that chunk is not read)."""

    def __init__(self, size: int):
        super().__init__(size)
        self.size = size


class RuntimeApiServer:
    """Accepts the runtime's connections on `listener`, one thread per connection.

    `admit`, when given, sees every accepted connection before anything is read from it and
    refuses those that do not come from this environment (see peers.py)."""

    def __init__(
        self,
        listener: socket.socket,
        channel: RuntimeChannel,
        admit: Callable[[socket.socket], bool] | None = None,
    ):
        self._listener = listener
        self._channel = channel
        self._admit = admit
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        # One body buffered at a time: the executor holds at most one response's worth of what
        # the runtime sends, however many connections it opens.
        self._body_slot = threading.Lock()
        self._closed = False
        self.refused = 0  # connections turned away by `admit`
        self._thread = threading.Thread(target=self._accept, name="strata-runtime-api", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            conns = list(self._conns)
        self._channel.close()
        for sock in [self._listener, *conns]:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            if self._admit is not None and not self._admitted(conn):
                self.refused += 1
                conn.close()
                continue
            with self._lock:
                if self._closed:
                    conn.close()
                    return
                if len(self._conns) >= MAX_CONNECTIONS:
                    conn.close()
                    continue
                self._conns.add(conn)
            if conn.family in (socket.AF_INET, socket.AF_INET6):
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(
                target=self._serve, args=(conn,), name="strata-runtime-conn", daemon=True
            ).start()

    def _admitted(self, conn: socket.socket) -> bool:
        try:
            return self._admit(conn)
        except OSError:
            return False

    def _serve(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb", buffering=65536)
        try:
            while self._serve_one(conn, reader):
                pass
        except _Refused as refused:
            try:
                _send_json(
                    conn,
                    refused.status,
                    {"errorMessage": refused.message, "errorType": refused.error_type},
                    close=True,
                )
                _linger(conn)
            except OSError:
                pass
        except (OSError, ValueError):
            pass
        finally:
            with self._lock:
                self._conns.discard(conn)
            reader.close()
            conn.close()

    def _serve_one(self, conn: socket.socket, reader) -> bool:
        """Serves one request; False when the connection is to be closed."""
        head = _read_head(reader)
        if head is None:
            return False
        method, target, headers = head
        framing = _framing(headers)
        if method == "GET" and target == _PREFIX + "invocation/next":
            if framing != ("length", 0):
                raise _Refused(400, "InvalidRequest", "GET /invocation/next takes no body")
            invocation = self._channel.next_invocation()
            if invocation is None:
                return False
            _send(conn, 200, invocation.payload, _next_headers(invocation))
            return True
        parts = target[len(_PREFIX) :].split("/") if target.startswith(_PREFIX) else []
        error_type = headers.get("lambda-runtime-function-error-type")
        if method == "POST" and parts == ["init", "error"]:
            refusal = self._channel.init_error_refusal()
            if refusal is not None:
                return self._refuse_unread(conn, framing, *refusal)
            try:
                body = self._body(conn, reader, headers, framing, MAX_ERROR_BYTES)
            except _TooLarge as large:
                self._channel.fail_init(_oversized_error(large.size), error_type)
                raise _Refused(413, "RequestEntityTooLarge", _too_large(MAX_ERROR_BYTES)) from None
            status, answer = self._channel.fail_init(body, error_type)
        elif (
            method == "POST"
            and len(parts) == 3
            and parts[0] == "invocation"
            and parts[2] in ("response", "error")
        ):
            refusal = self._channel.answer_refusal(parts[1])
            if refusal is not None:
                return self._refuse_unread(conn, framing, *refusal)
            limit = MAX_RESPONSE_BYTES if parts[2] == "response" else MAX_ERROR_BYTES
            try:
                body = self._body(conn, reader, headers, framing, limit)
            except _TooLarge as large:
                # Recorded from the declared size alone, so the invoker still learns how large.
                if parts[2] == "response":
                    self._channel.answer(parts[1], oversized=large.size)
                else:
                    self._channel.answer(
                        parts[1], error=_oversized_error(large.size), error_type=error_type
                    )
                raise _Refused(413, "RequestEntityTooLarge", _too_large(limit)) from None
            if parts[2] == "response":
                status, answer = self._channel.answer(parts[1], response=body)
            else:
                status, answer = self._channel.answer(parts[1], error=body, error_type=error_type)
        else:
            return self._refuse_unread(
                conn, framing, 404, {"errorMessage": "Not found", "errorType": "NotFound"}
            )
        _send_json(conn, status, answer)
        return True

    def _refuse_unread(self, conn, framing, status: int, answer: dict) -> bool:
        """Answers without reading the body; a connection with an unread body cannot be reused."""
        has_body = framing != ("length", 0)
        _send_json(conn, status, answer, close=has_body)
        if has_body:
            _linger(conn)
        return not has_body

    def _body(self, conn, reader, headers, framing, limit: int) -> bytes:
        """The request body, read only up to `limit`: _TooLarge past it, nothing more read."""
        kind, length = framing
        if kind == "length" and length > limit:
            raise _TooLarge(length)
        if headers.get("expect", "").lower() == "100-continue":
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        with self._body_slot:
            if kind == "length":
                body = reader.read(length)
                if len(body) < length:
                    raise ConnectionError("the runtime closed the connection mid-body")
                return body
            return _read_chunked(reader, limit)


def _linger(conn: socket.socket) -> None:
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


def _read_head(reader) -> tuple[str, str, dict[str, str]] | None:
    """Request line and headers, each line and their number bounded; None at a clean EOF."""
    line = reader.readline(MAX_LINE_BYTES + 1)
    if not line:
        return None
    if not line.endswith(b"\n"):
        raise _Refused(414, "InvalidRequest", "Request line too long")
    try:
        method, target, version = line.decode("ascii").split()
    except ValueError:
        raise _Refused(400, "InvalidRequest", "Malformed request line") from None
    if not version.startswith("HTTP/1."):
        raise _Refused(400, "InvalidRequest", "Only HTTP/1.x is served")
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS + 1):
        raw = reader.readline(MAX_LINE_BYTES + 1)
        if raw in (b"\r\n", b"\n"):
            return method, target, headers
        if not raw.endswith(b"\n"):
            if not raw:
                raise ConnectionError("the runtime closed the connection mid-headers")
            raise _Refused(431, "InvalidRequest", "Header line too long")
        name, colon, value = raw.decode("latin-1").partition(":")
        name = name.strip().lower()
        if not colon or not name:
            raise _Refused(400, "InvalidRequest", "Malformed header line")
        if name in _FRAMING_HEADERS and name in headers:
            # Two framings for one body is how requests are smuggled: never pick one.
            raise _Refused(400, "InvalidRequest", f"Duplicate {name} header")
        headers[name] = value.strip()
    raise _Refused(431, "InvalidRequest", f"More than {MAX_HEADERS} headers")


def _framing(headers: dict[str, str]) -> tuple[str, int]:
    """("length", n) or ("chunked", -1); malformed, negative or conflicting framing refused."""
    encoding, length = headers.get("transfer-encoding"), headers.get("content-length")
    if encoding is not None:
        if length is not None:
            raise _Refused(400, "InvalidRequest", "Both Content-Length and Transfer-Encoding")
        if encoding.lower() != "chunked":
            raise _Refused(400, "InvalidRequest", "Only the chunked transfer encoding is served")
        return "chunked", -1
    if length is None:
        return "length", 0
    if not _DECIMAL.fullmatch(length):
        raise _Refused(400, "InvalidRequest", "Invalid Content-Length")
    return "length", int(length)


def _read_chunked(reader, limit: int) -> bytes:
    body = bytearray()
    for _ in range(MAX_CHUNKS):
        line = reader.readline(MAX_LINE_BYTES + 1)
        if not line.endswith(b"\n"):
            if not line:
                raise ConnectionError("the runtime closed the connection mid-body")
            raise _Refused(400, "InvalidRequest", "Chunk size line too long")
        size = line.split(b";", 1)[0].strip()
        if not _HEX.fullmatch(size):
            raise _Refused(400, "InvalidRequest", "Invalid chunk size")
        length = int(size, 16)
        if length == 0:
            for _ in range(MAX_HEADERS + 1):  # trailers, ignored
                trailer = reader.readline(MAX_LINE_BYTES + 1)
                if trailer in (b"\r\n", b"\n"):
                    return bytes(body)
                if not trailer.endswith(b"\n"):
                    raise _Refused(400, "InvalidRequest", "Malformed chunked trailer")
            raise _Refused(400, "InvalidRequest", "Too many trailers")
        if len(body) + length > limit:
            raise _TooLarge(len(body) + length)
        data = reader.read(length)
        if len(data) < length:
            raise ConnectionError("the runtime closed the connection mid-chunk")
        body += data
        if reader.readline(3) not in (b"\r\n", b"\n"):
            raise _Refused(400, "InvalidRequest", "Chunk not followed by CRLF")
    raise _Refused(400, "InvalidRequest", f"More than {MAX_CHUNKS} chunks")


def _too_large(limit: int) -> str:
    return f"Exceeded maximum allowed payload size ({limit} bytes)."


def _oversized_error(size: int) -> bytes:
    return json.dumps(
        {
            "errorType": "Function.ErrorSizeTooLarge",
            "errorMessage": f"Error payload size ({size} bytes) exceeded maximum "
            f"allowed payload size ({MAX_ERROR_BYTES} bytes).",
        }
    ).encode()


def _next_headers(invocation: Invocation) -> list[tuple[str, str]]:
    headers = [
        ("Lambda-Runtime-Aws-Request-Id", invocation.request_id),
        ("Lambda-Runtime-Deadline-Ms", str(invocation.deadline_ms)),
        ("Lambda-Runtime-Invoked-Function-Arn", invocation.function_arn),
        ("Lambda-Runtime-Trace-Id", invocation.trace_id),
    ]
    context = _compact_json(invocation.client_context)
    if context:
        headers.append(("Lambda-Runtime-Client-Context", context))
    return headers


def _compact_json(text: str | None) -> str | None:
    """The client context re-serialised, whatever reached the executor: JSON escapes every
    control character, so the value cannot end the header; anything not JSON is dropped."""
    if not text:
        return None
    try:
        document = json.loads(text, strict=False)  # raw controls in strings come out escaped
    except (ValueError, RecursionError):
        return None
    return json.dumps(document, separators=(",", ":"), ensure_ascii=True).replace("\x7f", "\\u007f")


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


def _send(
    conn: socket.socket, status: int, body: bytes, headers=(), *, close: bool = False
) -> None:
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


def _send_json(conn: socket.socket, status: int, document: dict, *, close: bool = False) -> None:
    _send(conn, status, json.dumps(document).encode(), close=close)
