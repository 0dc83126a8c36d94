"""The Lambda Runtime API (2018-06-01), served to exactly one environment's runtime.

The runtime long-polls `GET /2018-06-01/runtime/invocation/next`, then posts the outcome to
`.../invocation/{id}/response` or `.../error`; a runtime that cannot initialise posts
`/runtime/init/error`. `RuntimeChannel` holds that state machine; `RuntimeApiServer` speaks a small
HTTP/1.1 (keep-alive, Content-Length or chunked bodies, Expect: 100-continue, as curl sends) over a
socket that only the sandboxed runtime can reach.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field

MAX_RESPONSE_BYTES = 6 * 1024 * 1024 + 100  # Lambda's limit for a synchronous response
MAX_ERROR_BYTES = 1024 * 1024
# The runtime is untrusted: it gets a few connections and headers, not executor threads at will.
MAX_CONNECTIONS = 16
MAX_HEADERS = 100
_PREFIX = "/2018-06-01/runtime/"


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
                lambda: self.ready_at is not None or self.init_error or self.exited, timeout)

    def wait_answer(self, invocation: Invocation, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(
                lambda: invocation.answered or self.init_error or self.exited, timeout)

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

    def answer(self, request_id: str, *, response: bytes | None = None,
               error: bytes | None = None, error_type: str | None = None,
               oversized: int | None = None) -> tuple[int, dict]:
        with self._cond:
            invocation = self._current
            if invocation is None or invocation.request_id != request_id or not invocation.taken:
                return 400, {"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"}
            if invocation.answered:
                return 400, {"errorMessage": "Invalid state transition: response already sent",
                             "errorType": "InvalidStateTransition"}
            invocation.response, invocation.error = response, error
            invocation.error_type, invocation.oversized = error_type, oversized
            invocation.answered = True
            self._current = None
            self._cond.notify_all()
        if oversized is not None:
            return 413, {"errorMessage": f"Exceeded maximum allowed payload size "
                                         f"({MAX_RESPONSE_BYTES} bytes).",
                         "errorType": "RequestEntityTooLarge"}
        return 202, {"status": "OK"}

    def fail_init(self, error: bytes, error_type: str | None) -> tuple[int, dict]:
        with self._cond:
            if self.ready_at is not None:
                return 403, {"errorMessage": "Init error after init", "errorType": "InvalidStateTransition"}
            self.init_error = (error, error_type)
            self._cond.notify_all()
        return 202, {"status": "OK"}


class _BadRequest(Exception):
    pass


class RuntimeApiServer:
    """Accepts the runtime's connections on `listener`, one thread per connection."""

    def __init__(self, listener: socket.socket, channel: RuntimeChannel):
        self._listener = listener
        self._channel = channel
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
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
            with self._lock:
                if self._closed:
                    conn.close()
                    return
                if len(self._conns) >= MAX_CONNECTIONS:
                    conn.close()
                    continue
                self._conns.add(conn)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(conn,), name="strata-runtime-conn",
                             daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb", buffering=65536)
        try:
            while self._serve_one(conn, reader):
                pass
        except (OSError, ValueError, _BadRequest):
            pass
        finally:
            with self._lock:
                self._conns.discard(conn)
            reader.close()
            conn.close()

    def _serve_one(self, conn: socket.socket, reader) -> bool:
        line = reader.readline(8192)
        if not line:
            return False
        try:
            method, target, _version = line.decode("latin-1").split()
        except ValueError:
            raise _BadRequest() from None
        headers = {}
        while True:
            raw = reader.readline(65536)
            if raw in (b"\r\n", b"\n", b""):
                break
            if len(headers) >= MAX_HEADERS:
                raise _BadRequest()
            name, _, value = raw.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if method == "GET" and target == _PREFIX + "invocation/next":
            invocation = self._channel.next_invocation()
            if invocation is None:
                return False
            _send(conn, 200, invocation.payload, _next_headers(invocation))
            return True
        if method != "POST" or not target.startswith(_PREFIX):
            self._discard_body(conn, reader, headers)
            _send_json(conn, 404, {"errorMessage": "Not found", "errorType": "NotFound"})
            return True
        parts = target[len(_PREFIX):].split("/")
        error_type = headers.get("lambda-runtime-function-error-type")
        if parts == ["init", "error"]:
            body, _ = self._body(conn, reader, headers, MAX_ERROR_BYTES)
            status, answer = self._channel.fail_init(body, error_type)
        elif len(parts) == 3 and parts[0] == "invocation" and parts[2] == "response":
            body, oversized = self._body(conn, reader, headers, MAX_RESPONSE_BYTES)
            status, answer = self._channel.answer(
                parts[1], response=None if oversized else body, oversized=oversized)
        elif len(parts) == 3 and parts[0] == "invocation" and parts[2] == "error":
            body, _ = self._body(conn, reader, headers, MAX_ERROR_BYTES)
            status, answer = self._channel.answer(parts[1], error=body, error_type=error_type)
        else:
            self._discard_body(conn, reader, headers)
            status, answer = 404, {"errorMessage": "Not found", "errorType": "NotFound"}
        _send_json(conn, status, answer)
        return True

    def _body(self, conn, reader, headers, limit: int) -> tuple[bytes, int | None]:
        """The request body, or (b"", its size) when it is larger than `limit` (then discarded)."""
        if headers.get("expect", "").lower() == "100-continue":
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        if "chunked" in headers.get("transfer-encoding", "").lower():
            chunks, size = [], 0
            while True:
                length = int(reader.readline(1024).split(b";")[0].strip() or b"0", 16)
                if length == 0:
                    while reader.readline(65536) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                data = reader.read(length)
                reader.readline(8)
                size += length
                if size <= limit:
                    chunks.append(data)
            return (b"".join(chunks), None) if size <= limit else (b"", size)
        length = int(headers.get("content-length", "0"))
        if length <= limit:
            return reader.read(length), None
        remaining = length
        while remaining:
            got = reader.read(min(remaining, 1 << 20))
            if not got:
                break
            remaining -= len(got)
        return b"", length

    def _discard_body(self, conn, reader, headers) -> None:
        self._body(conn, reader, headers, 0)


def _next_headers(invocation: Invocation) -> list[tuple[str, str]]:
    headers = [
        ("Lambda-Runtime-Aws-Request-Id", invocation.request_id),
        ("Lambda-Runtime-Deadline-Ms", str(invocation.deadline_ms)),
        ("Lambda-Runtime-Invoked-Function-Arn", invocation.function_arn),
        ("Lambda-Runtime-Trace-Id", invocation.trace_id),
    ]
    if invocation.client_context:
        headers.append(("Lambda-Runtime-Client-Context", invocation.client_context))
    return headers


_REASONS = {200: "OK", 202: "Accepted", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
            413: "Request Entity Too Large"}


def _send(conn: socket.socket, status: int, body: bytes, headers=()) -> None:
    head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}",
            "Content-Type: application/json", f"Content-Length: {len(body)}"]
    head.extend(f"{name}: {value}" for name, value in headers)
    conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)


def _send_json(conn: socket.socket, status: int, document: dict) -> None:
    _send(conn, status, json.dumps(document).encode())
