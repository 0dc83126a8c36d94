"""A gunicorn worker whose event loop, not a request thread, reads every request.

gunicorn's gthread worker hands a connection to a request thread as soon as it is readable, and
the thread then blocks until the client has sent the whole request: a few clients that never
finish their headers, or that declare a large body and stall, hold every thread. Here the
worker's selector loop reads the head and then the body of each request without blocking, under
the deadlines of `FrontLimits`, and submits only complete requests to the thread pool. Between
head and body the application's `body_allowance(method, path, headers)` (run on a small pool of
its own, as it may look a key up in the database) says how many body bytes it will accept: a
request declaring more, or one it refuses outright, is answered without its body being read, and
its connection is closed; so is one arriving while the worker already holds its budget of bodies
(the application answers it 429). A complete request goes to one of three pools of request
threads (see `traffic`): synchronous invocations to many threads of their own, health checks to
two of their own, everything else to the worker's `threads`, which no invocation ever holds. A
file response (a blob download) is written by the thread only as far as the socket takes it at
once; the loop sends the rest as the client reads.

Process management, the thread pool, request handling and error pages stay gunicorn's (run it
with `--worker-class registry.front.worker.FrontWorker`). Plain-text HTTP/1.x only.
"""

from __future__ import annotations

import errno
import selectors
import socket
import time
from concurrent import futures
from functools import partial

from gunicorn import util
from gunicorn.http.body import ChunkedReader, LengthReader
from gunicorn.http.errors import InvalidChunkSize
from gunicorn.http.message import Request
from gunicorn.http.unreader import IterUnreader
from gunicorn.workers.gthread import ThreadWorker

from registry.front.body import BodyError, ChunkedBody, LengthBody, PrefetchedBody
from registry.front.connection import (
    Connection,
    Stage,
    connections_fitting_descriptors,
    head_too_large,
)
from registry.front.draining import Draining
from registry.front.limits import FrontLimits
from registry.front.responses import ResponseBody
from registry.front.serving import Serving
from registry.front.traffic import (
    RequestThreads,
    Traffic,
    invocation_threads,
    throttled_invocation,
    traffic_of,
)
from registry.metrics import multiprocess as metrics_multiprocess

_SWEEP_INTERVAL = 0.25
_HEAD_RECV = 64 * 1024
_BODY_RECV = 1024 * 1024
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_TIMEOUT_ANSWER = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


class _Uncounted:
    """What the front answers itself goes uncounted when the application has no metrics (it
    sets `front_answers`, registry/metrics/front.py). Not imported from there: prometheus_client
    must not be loaded in the master before its multiprocess directory is named."""

    def answered(self, status: int, service: str, operation: str) -> None:
        pass

    def refused(self, reason: str) -> None:
        pass


class FrontWorker(Draining, Serving, ThreadWorker):
    @classmethod
    def check_config(cls, cfg, log):
        super().check_config(cfg, log)
        if cfg.is_ssl:
            raise RuntimeError("The front worker serves plain HTTP: terminate TLS before it.")
        metrics_multiprocess.prepare_master(cfg)

    def run(self):
        self.worker_connections = connections_fitting_descriptors(self.worker_connections)
        self._limits = getattr(self.wsgi, "front_limits", None) or FrontLimits()
        self._allowance = getattr(self.wsgi, "body_allowance", None)
        self._counted = getattr(self.wsgi, "front_answers", None) or _Uncounted()
        self._admission = futures.ThreadPoolExecutor(
            max_workers=2, thread_name_prefix="front-admission"
        )
        self._connections: set[Connection] = set()
        self._next_sweep = 0.0
        self._reserved_body_bytes = 0
        self._threads = RequestThreads(self.tpool, invocation_threads())
        try:
            super().run()
        finally:
            self._admission.shutdown(wait=False)
            self._threads.shutdown()

    # -- the event loop's side ------------------------------------------------------------------

    def accept(self, listener):
        try:
            sock, client = listener.accept()
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        sock.setblocking(False)
        self.nr_conns += 1
        conn = Connection(
            sock, client, listener.getsockname(), time.monotonic() + self._limits.header_timeout
        )
        self._connections.add(conn)
        self._watch(conn)

    def murder_pending(self):
        """Closes connections past their deadline. The loop calls this after every batch of
        events; a sweep over thousands of connections is worth doing a few times a second only."""
        super().murder_pending()
        self.stop_accepting_when_due()
        now = time.monotonic()
        if now < self._next_sweep and self.alive:
            return
        self._next_sweep = now + _SWEEP_INTERVAL
        for conn in list(self._connections):
            if conn.stage is Stage.HEAD and conn.idle:
                conn.deadline = self.idle_deadline(conn)
            if conn.stage is Stage.LINGER and conn.deadline <= now:
                self._close(conn)
            elif conn.stage in (Stage.HEAD, Stage.BODY) and conn.deadline <= now:
                if not conn.idle:
                    self._counted.refused("timeout")
                    self._send_quietly(conn, _TIMEOUT_ANSWER)
                self._linger(conn)
            elif conn.stage is Stage.SENDING and conn.deadline <= now:
                self._close(conn)

    def _on_readable(self, conn: Connection, _fileobj) -> None:
        size = _HEAD_RECV
        if conn.stage is Stage.BODY:
            size = min(_BODY_RECV, max(conn.body.wanted(), 1))
        try:
            chunk = conn.sock.recv(size)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close(conn)
            return
        if not chunk:
            self._close(conn)
        elif conn.stage is Stage.HEAD:
            conn.buffer += chunk
            self._advance_head(conn)
        elif conn.stage is Stage.BODY:
            self._advance_body(conn, chunk)
        # LINGER: what arrives is discarded

    def _advance_head(self, conn: Connection) -> None:
        if conn.idle:
            conn.idle = False
            conn.deadline = time.monotonic() + self._limits.header_timeout
        end = conn.buffer.find(b"\r\n\r\n")
        if end < 0 or end + 4 > self._limits.max_head_bytes:
            if len(conn.buffer) > self._limits.max_head_bytes:
                self._counted.refused("too_large")
                self._answer_error(conn, head_too_large(conn.buffer, self._limits.max_head_bytes))
            return
        head = bytes(conn.buffer[: end + 4])
        del conn.buffer[: end + 4]
        conn.requests += 1
        try:
            request = Request(self.cfg, IterUnreader([head]), conn.client, conn.requests)
        except Exception as error:  # gunicorn's parse errors, answered by its error pages
            self._counted.refused("malformed")
            self._answer_error(conn, error)
            return
        conn.request = request
        reader = request.body.reader
        # Without Content-Length or chunked framing a request has no body (RFC 9112 6.3).
        has_body = isinstance(reader, ChunkedReader) or (
            isinstance(reader, LengthReader) and reader.length > 0
        )
        if not has_body:
            self._dispatch(conn, PrefetchedBody())
            return
        declared = reader.length if isinstance(reader, LengthReader) else None
        self._unwatch(conn)
        conn.stage = Stage.ADMISSION
        admitted = self._admission.submit(self._body_allowance, request)
        admitted.add_done_callback(
            lambda future: self.method_queue.defer(self._on_admitted, conn, declared, future)
        )

    def _body_allowance(self, request: Request) -> int:
        if self._allowance is None:
            return self._limits.default_body_bytes
        return self._allowance(request.method, request.path, request.headers)

    def _on_admitted(self, conn: Connection, declared: int | None, future: futures.Future) -> None:
        if conn.stage is not Stage.ADMISSION:
            return
        try:
            allowed = future.result()
        except Exception:
            self.log.exception("Admitting a request body failed")
            allowed = 0
        if allowed <= 0 or (declared is not None and declared > allowed):
            conn.request.force_close()
            self._dispatch(conn, PrefetchedBody(withheld=True))
            return
        reserve = declared if declared is not None else allowed
        if (
            self._reserved_body_bytes
            and self._reserved_body_bytes + reserve > self._limits.body_budget_bytes
        ):
            conn.request.force_close()
            self._dispatch(conn, PrefetchedBody(throttled=True))
            return
        conn.reserved = reserve
        self._reserved_body_bytes += reserve
        if conn.request._expected_100_continue and not self._send_quietly(conn, _CONTINUE):
            self._close(conn)
            return
        conn.request._expected_100_continue = False
        conn.body = LengthBody(declared) if declared is not None else ChunkedBody(allowed)
        conn.stage = Stage.BODY
        pending, conn.buffer = bytes(conn.buffer), bytearray()
        self._advance_body(conn, pending)

    def _advance_body(self, conn: Connection, chunk: bytes) -> None:
        try:
            rest = conn.body.feed(chunk)
        except BodyError as error:
            self._counted.refused("malformed")
            self._answer_error(conn, InvalidChunkSize(str(error)))
            return
        conn.deadline = time.monotonic() + self._limits.body_timeout
        if not conn.body.complete:
            self._watch(conn)
            return
        conn.buffer[:0] = rest
        body, conn.body = conn.body, None
        self._dispatch(conn, PrefetchedBody(body.data, body.sha256))

    def _dispatch(self, conn: Connection, body: PrefetchedBody) -> None:
        self._unwatch(conn)
        conn.stage = Stage.APP
        request = conn.request
        draining = self.answers_draining(request, bytes_in=len(body.data))
        if draining is not None:
            self._send_quietly(conn, draining)
            self._linger(conn)
            return
        # Answered here, or not at all: the front has already read (or refused) the body.
        request._expected_100_continue = False
        request.body = body
        traffic = traffic_of(request.method, request.path, request.headers)
        served = self._threads.submit(traffic, self._serve, conn, request)
        if served is None:
            self._throttle(conn, len(body.data))
            return
        served.add_done_callback(
            lambda future: self.method_queue.defer(self._on_served, conn, future, traffic)
        )

    def _throttle(self, conn: Connection, bytes_in: int) -> None:
        """Past the invocation pool's bound: answered by the loop, in a few bytes the socket's
        empty send buffer takes at once."""
        keep_alive = bool(self.alive and self.cfg.keepalive and not conn.request.should_close())
        answer = throttled_invocation(
            conn.request, keep_alive=keep_alive, bytes_in=bytes_in, counted=self._counted
        )
        if not self._send_quietly(conn, answer):
            self._close(conn)
            return
        self._release_body(conn)
        self._next_request(conn, keep_alive=keep_alive)

    def _answer_error(self, conn: Connection, error: Exception) -> None:
        self._unwatch(conn)
        conn.stage = Stage.APP
        answered = self.tpool.submit(self._write_error, conn, error)
        answered.add_done_callback(
            lambda future: self.method_queue.defer(self._on_served, conn, future)
        )

    def _on_served(
        self, conn: Connection, future: futures.Future, traffic: Traffic = Traffic.CONTROL
    ) -> None:
        self._threads.done(traffic)
        self._release_body(conn)
        outcome = not future.cancelled() and future.exception() is None and future.result()
        if isinstance(outcome, ResponseBody):
            conn.stage, conn.sending = Stage.SENDING, outcome
            conn.deadline = time.monotonic() + self._limits.body_timeout
            self._watch(conn, selectors.EVENT_WRITE, self._on_writable)
            return
        self._next_request(conn, keep_alive=bool(outcome))

    def _on_writable(self, conn: Connection, _fileobj) -> None:
        body = conn.sending
        try:
            before = body.out.sent
            done = body.out.flush() and body.advance() and body.out.flush()
        except Exception as error:  # the peer went away, or the file could not be read
            self.log.debug("Sending a response failed: %s", error)
            self._finish_sending(conn, body)
            self._close(conn)
            return
        if body.out.sent != before:
            conn.deadline = time.monotonic() + self._limits.body_timeout
        if done:
            self._unwatch(conn)
            self._finish_sending(conn, body)
            self._next_request(conn, keep_alive=not body.response.should_close())

    def _finish_sending(self, conn: Connection, body: ResponseBody) -> None:
        conn.sending = None
        try:
            body.close()
        except Exception:
            self.log.exception("Closing a response body failed")

    def _next_request(self, conn: Connection, *, keep_alive: bool) -> None:
        conn.request = None
        if not (keep_alive and self.alive):
            self._linger(conn)
            return
        try:
            conn.sock.setblocking(False)
        except OSError:
            self._close(conn)
            return
        conn.stage = Stage.HEAD
        if conn.buffer:
            conn.deadline = time.monotonic() + self._limits.header_timeout
            self._advance_head(conn)
        else:
            conn.idle = True
            conn.idle_since = time.monotonic()
            conn.deadline = conn.idle_since + self.cfg.keepalive
        if conn.stage is Stage.HEAD:
            self._watch(conn)

    def _release_body(self, conn: Connection) -> None:
        self._reserved_body_bytes -= conn.reserved
        conn.reserved = 0

    def _linger(self, conn: Connection) -> None:
        """Half-closes, then drains what the client still sends for a moment: closing with unread
        bytes would reset the connection and could destroy the answer before the client reads it."""
        if conn.stage is Stage.CLOSED:
            return
        self._release_body(conn)
        conn.body = None
        try:
            conn.sock.setblocking(False)
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._close(conn)
            return
        conn.stage = Stage.LINGER
        conn.deadline = time.monotonic() + self._limits.linger
        conn.buffer = bytearray()
        self._watch(conn)

    def _close(self, conn: Connection) -> None:
        if conn.stage is Stage.CLOSED:
            return
        self._unwatch(conn)
        self._release_body(conn)
        conn.body = None
        conn.stage = Stage.CLOSED
        self._connections.discard(conn)
        self.nr_conns -= 1
        util.close(conn.sock)

    def _watch(self, conn: Connection, events: int = selectors.EVENT_READ, callback=None) -> None:
        if not conn.watched:
            self.poller.register(conn.sock, events, partial(callback or self._on_readable, conn))
            conn.watched = True

    def _unwatch(self, conn: Connection) -> None:
        if conn.watched:
            try:
                self.poller.unregister(conn.sock)
            except (KeyError, ValueError, OSError):
                pass
            conn.watched = False

    def _send_quietly(self, conn: Connection, data: bytes) -> bool:
        """A few bytes the socket's empty send buffer takes at once; False when it cannot."""
        try:
            return conn.sock.send(data) == len(data)
        except OSError:
            return False
