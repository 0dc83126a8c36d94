"""How a front worker stops when its node is drained (SIGTERM): nothing a load balancer already
sent it is cut off, and nothing new reaches it.

The worker stops accepting, then serves what is in flight before it exits (gunicorn's graceful
timeout bounds the wait). Two races would lose requests on the way: connections the kernel has
completed into the listening socket's backlog, which nobody accepts once the workers stop and
which are reset at exit; and a request a balancer is sending on a kept-alive connection just as
the worker closes it. So the backlog is taken and served before the socket is closed (the next
connections are then refused, and a balancer sends them to another node at once), and idle
kept-alive connections stay open for a moment (a request arriving on one is answered, with
`Connection: close`) while the balancer notices that the node is going.
"""

from __future__ import annotations

import time

# How long a draining worker keeps its idle kept-alive connections open, at most.
DRAIN_KEEPALIVE_S = 2.0


class Draining:
    """Mixed into the front worker, before gunicorn's ThreadWorker."""

    _keepalive_until: float | None = None

    def set_accept_enabled(self, enabled):
        super().set_accept_enabled(enabled)
        if not enabled and not self.alive:
            for listener in self.sockets:
                self._take_backlog(listener)
                listener.close()

    def _take_backlog(self, listener) -> None:
        while self.nr_conns < self.worker_connections:
            held = self.nr_conns
            try:
                self.accept(listener)
            except OSError:
                return
            if self.nr_conns == held:
                return

    def idle_deadline(self, deadline: float) -> float:
        """An idle kept-alive connection's deadline, shortened once the worker drains."""
        if self.alive:
            return deadline
        if self._keepalive_until is None:
            self._keepalive_until = time.monotonic() + DRAIN_KEEPALIVE_S
        return min(deadline, self._keepalive_until)
