"""How a front worker stops when its node is drained (SIGTERM): nothing a load balancer already
sent it is cut off, and nothing new reaches it.

The listening socket is shared by the node's workers and its master, and the kernel completes
connections into it until the last of them closes it; a connection completed after the last
acceptor has stopped is reset when the socket closes, after the balancer has sent it a request
(a 502 it cannot retry). So a draining worker first goes on accepting for a while
(`drain_accept`), answering every request with `Connection: close` and its readiness probe with
503 `draining`, so that the balancer takes the node out of rotation while nothing is lost. Then
it takes what is left in the socket's backlog, closes the socket (the next connections are
refused, and a balancer sends them to another node at once) and serves what is in flight before
it exits (gunicorn's graceful timeout bounds the wait). Idle kept-alive connections stay open for
a moment (a request arriving on one is answered) while the balancer notices that the node is
going.
"""

from __future__ import annotations

import time

from registry.front import request_lines

# How long a draining worker keeps its idle kept-alive connections open, at most.
DRAIN_KEEPALIVE_S = 2.0
# The same for a worker holding over half the connections it may: clients keeping connections
# idle for the whole keep-alive must not keep new clients out.
CROWDED_KEEPALIVE_S = 2.0

READINESS_PATH = "/readyz"
DRAINING_BODY = b'{"status": "draining"}\n'
DRAINING_READINESS = (
    b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n"
    b"Content-Type: application/json\r\nContent-Length: 23\r\n\r\n" + DRAINING_BODY
)


class Draining:
    """Mixed into the front worker, before gunicorn's ThreadWorker."""

    _keepalive_until: float | None = None
    _accepting_until: float | None = None

    def set_accept_enabled(self, enabled):
        if not enabled and not self.alive and self._accepting_until is None:
            self._accepting_until = time.monotonic() + self._limits.drain_accept
            if self._limits.drain_accept > 0:
                # Counted as a connection, so gunicorn's drain loop runs while the window lasts.
                self.nr_conns += 1
                return
        super().set_accept_enabled(enabled)
        if not enabled and not self.alive:
            for listener in self.sockets:
                self._take_backlog(listener)
                listener.close()

    def stop_accepting_when_due(self) -> None:
        """Ends the accepting part of the drain once its window has passed."""
        if self.alive or self._accepting_until is None or not self._accepting:
            return
        if time.monotonic() >= self._accepting_until:
            self.nr_conns -= 1
            self.set_accept_enabled(False)

    def answers_draining(self, request, bytes_in: int) -> bytes | None:
        """The readiness probe's answer once the worker drains: the balancer stops sending."""
        if self.alive or request.method != "GET" or request.path != READINESS_PATH:
            return None
        request_lines.answered(
            request,
            503,
            request_id=None,
            service="strata",
            operation="readyz",
            bytes_in=bytes_in,
            bytes_out=len(DRAINING_BODY),
            counted=self._counted,
        )
        return DRAINING_READINESS

    def _take_backlog(self, listener) -> None:
        while self.nr_conns < self.worker_connections:
            held = self.nr_conns
            try:
                self.accept(listener)
            except OSError:
                return
            if self.nr_conns == held:
                return

    def idle_deadline(self, conn) -> float:
        """An idle kept-alive connection's deadline, shortened while the worker is crowded and
        once it drains."""
        deadline = conn.deadline
        if self.nr_conns * 2 > self.worker_connections:
            deadline = min(deadline, conn.idle_since + CROWDED_KEEPALIVE_S)
        if self.alive:
            return deadline
        if self._keepalive_until is None:
            self._keepalive_until = time.monotonic() + DRAIN_KEEPALIVE_S
        return min(deadline, self._keepalive_until)
