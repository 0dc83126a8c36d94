"""How the PostgreSQL pool finds connections the server has dropped: one idle for a while is
pinged first and replaced unseen; one used moments ago is not pinged, so a request on it fails
once, and the pool replaces every connection as old."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from registry import db as database
from registry.db import Database, upgrade
from registry.errors import ServiceUnavailable


def _backend(db: Database) -> int:
    with db.connect() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar()


def _terminate(cluster, pid: int) -> None:
    with cluster.connect_admin() as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_pool__a_dropped_connection_idle_past_the_threshold_is_replaced_unseen(
    postgres_cluster, postgres_url, monkeypatch
):
    upgrade(postgres_url)
    db = Database(postgres_url)
    try:
        dropped = _backend(db)
        _terminate(postgres_cluster, dropped)
        monkeypatch.setattr(database, "PING_AFTER_IDLE_S", 0.0)
        assert _backend(db) != dropped
    finally:
        db.dispose()


def test_pool__a_dropped_connection_used_moments_ago_fails_one_request_only(
    postgres_cluster, postgres_url, monkeypatch
):
    upgrade(postgres_url)
    db = Database(postgres_url)
    monkeypatch.setattr(database, "PING_AFTER_IDLE_S", 60.0)  # "moments ago", however slow the host
    try:
        dropped = _backend(db)
        _terminate(postgres_cluster, dropped)
        with pytest.raises(ServiceUnavailable):
            _backend(db)
        assert _backend(db) != dropped
    finally:
        db.dispose()
