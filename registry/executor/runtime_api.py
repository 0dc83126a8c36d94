"""The Lambda Runtime API (2018-06-01), served to exactly one environment's runtime.

The runtime long-polls `GET /2018-06-01/runtime/invocation/next`, then posts the outcome to
`.../invocation/{id}/response` or `.../error`; a runtime that cannot initialise posts
`/runtime/init/error`. `RuntimeChannel` (runtime_channel.py) holds that state machine;
`RuntimeApiServer` routes the runtime's requests to it, in the bounded HTTP/1.1 of
runtime_http.py, over a socket that only the sandboxed runtime can reach.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable

from registry.executor.runtime_channel import MAX_RESPONSE_BYTES, Invocation, RuntimeChannel
from registry.executor.runtime_http import (
    Refused,
    TooLarge,
    body_framing,
    linger,
    read_chunked,
    read_head,
    send,
    send_json,
    too_large,
)

MAX_ERROR_BYTES = 1024 * 1024
# The runtime is untrusted: it gets a few connections, not executor threads at will. Bodies are
# read only up to their route's limit; past it nothing is kept.
MAX_CONNECTIONS = 16
_PREFIX = "/2018-06-01/runtime/"


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
        except Refused as refused:
            try:
                send_json(
                    conn,
                    refused.status,
                    {"errorMessage": refused.message, "errorType": refused.error_type},
                    close=True,
                )
                linger(conn)
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
        head = read_head(reader)
        if head is None:
            return False
        method, target, headers = head
        framing = body_framing(headers)
        if method == "GET" and target == _PREFIX + "invocation/next":
            if framing != ("length", 0):
                raise Refused(400, "InvalidRequest", "GET /invocation/next takes no body")
            invocation = self._channel.next_invocation()
            if invocation is None:
                return False
            send(conn, 200, invocation.payload, _next_headers(invocation))
            return True
        parts = target[len(_PREFIX) :].split("/") if target.startswith(_PREFIX) else []
        error_type = headers.get("lambda-runtime-function-error-type")
        if method == "POST" and parts == ["init", "error"]:
            refusal = self._channel.init_error_refusal()
            if refusal is not None:
                return self._refuse_unread(conn, framing, *refusal)
            try:
                body = self._body(conn, reader, headers, framing, MAX_ERROR_BYTES)
            except TooLarge as large:
                self._channel.fail_init(_oversized_error(large.size), error_type)
                raise Refused(413, "RequestEntityTooLarge", too_large(MAX_ERROR_BYTES)) from None
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
            except TooLarge as large:
                # Recorded from the declared size alone, so the invoker still learns how large.
                if parts[2] == "response":
                    self._channel.answer(parts[1], oversized=large.size)
                else:
                    self._channel.answer(
                        parts[1], error=_oversized_error(large.size), error_type=error_type
                    )
                raise Refused(413, "RequestEntityTooLarge", too_large(limit)) from None
            if parts[2] == "response":
                status, answer = self._channel.answer(parts[1], response=body)
            else:
                status, answer = self._channel.answer(parts[1], error=body, error_type=error_type)
        else:
            return self._refuse_unread(
                conn, framing, 404, {"errorMessage": "Not found", "errorType": "NotFound"}
            )
        send_json(conn, status, answer)
        return True

    def _refuse_unread(self, conn, framing, status: int, answer: dict) -> bool:
        """Answers without reading the body; a connection with an unread body cannot be reused."""
        has_body = framing != ("length", 0)
        send_json(conn, status, answer, close=has_body)
        if has_body:
            linger(conn)
        return not has_body

    def _body(self, conn, reader, headers, framing, limit: int) -> bytes:
        """The request body, read only up to `limit`: TooLarge past it, nothing more read."""
        kind, length = framing
        if kind == "length" and length > limit:
            raise TooLarge(length)
        if headers.get("expect", "").lower() == "100-continue":
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        with self._body_slot:
            if kind == "length":
                body = reader.read(length)
                if len(body) < length:
                    raise ConnectionError("the runtime closed the connection mid-body")
                return body
            return read_chunked(reader, limit)


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
