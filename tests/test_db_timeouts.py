"""The metadata database's calls are bounded in time: a PostgreSQL server that accepts connections
and never answers, or a lock held on a table, fails the call with ServiceUnavailable within
seconds."""

from __future__ import annotations

import socket
import sqlite3
import threading
import time

import psycopg
import pytest

from registry.db import Database, upgrade
from registry.errors import ServiceUnavailable

BOUND_S = 6.0


def timed_unavailable(call) -> float:
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable):
        call()
    return time.monotonic() - started


def test_a_postgres_server_that_never_answers__fails_a_call_within_the_bound():
    with socket.socket() as listener:  # accepts connections (the backlog), never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        db = Database(f"postgresql+psycopg://strata@127.0.0.1:{port}/strata")
        try:
            assert timed_unavailable(db.check) < BOUND_S
        finally:
            db.dispose()


def test_a_lock_held_on_a_table__fails_statements_and_the_check_within_the_bound(
    postgres_cluster, postgres_url
):
    upgrade(postgres_url)
    db = Database(postgres_url)
    name = postgres_url.rsplit("/", 1)[1]
    try:
        with psycopg.connect(
            host=postgres_cluster.host,
            port=postgres_cluster.port,
            user=postgres_cluster.user,
            dbname=name,
        ) as admin:
            admin.execute("LOCK TABLE layers IN ACCESS EXCLUSIVE MODE")
            assert timed_unavailable(db.check) < BOUND_S
            admin.rollback()
        db.check()
    finally:
        db.dispose()


def test_settings_in_the_url__win_over_the_bounds_given_by_default():
    from registry.db import _postgres_timeouts

    args = _postgres_timeouts(
        "postgresql+psycopg://u@h/db?connect_timeout=30&options=-c%20lock_timeout%3D60000"
    )
    assert "connect_timeout" not in args  # the URL's own is passed on unchanged
    assert args["options"].endswith("-c lock_timeout=60000")  # the last -c of a name wins


def test_sqlite__processes_opening_a_new_database_at_once_all_switch_it_to_wal(tmp_path):
    """A server's workers starting together each switch the database file to WAL on their first
    connection; SQLite refuses all but one of the simultaneous switches at once (about one start
    in fifteen here), which must not fail a worker's first request."""
    for attempt in range(40):
        path = tmp_path / f"fresh-{attempt}.db"
        plain = sqlite3.connect(path)
        plain.execute("CREATE TABLE t (a)")
        plain.commit()
        plain.close()
        assert _first_requests_at_once(f"sqlite:///{path}", 2) == ([], ["wal", "wal"]), attempt


def _first_requests_at_once(url: str, workers: int) -> tuple[list[str], list[str]]:
    """(errors, journal modes) of `workers` databases each making its first connection at once."""
    together = threading.Barrier(workers)
    modes, errors = [], []

    def first_request():
        database = Database(url)
        together.wait()
        try:
            with database.connect() as connection:
                modes.append(connection.exec_driver_sql("PRAGMA journal_mode").scalar())
        except Exception as error:
            errors.append(repr(error))
        finally:
            database.dispose()

    threads = [threading.Thread(target=first_request) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors, modes
