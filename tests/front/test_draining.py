"""How long the front keeps an idle kept-alive connection: the keep-alive while it has room,
two seconds while it holds over half the connections it may, and never past the drain."""

from __future__ import annotations

from types import SimpleNamespace

from registry.front.draining import CROWDED_KEEPALIVE_S, Draining


class _Worker(Draining):
    alive = True
    nr_conns = 0
    worker_connections = 10


def _idle(since: float, keepalive: float = 60.0) -> SimpleNamespace:
    return SimpleNamespace(idle_since=since, deadline=since + keepalive)


def test_idle_deadline__the_whole_keep_alive_while_the_worker_has_room():
    worker = _Worker()
    worker.nr_conns = 5
    assert worker.idle_deadline(_idle(100.0)) == 160.0


def test_idle_deadline__a_crowded_worker_keeps_idle_connections_two_seconds():
    worker = _Worker()
    worker.nr_conns = 6
    assert worker.idle_deadline(_idle(100.0)) == 100.0 + CROWDED_KEEPALIVE_S
    # Swept again and again while crowded, the deadline stays where it was put.
    conn = _idle(100.0)
    conn.deadline = worker.idle_deadline(conn)
    assert worker.idle_deadline(conn) == 100.0 + CROWDED_KEEPALIVE_S
