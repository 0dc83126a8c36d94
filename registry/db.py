"""Engines, sessions and migrations.

Entry points for work: `Database.read()` (ORM), `Database.connect()` (Core, for hot paths) and
`Database.write()`. On SQLite a write transaction starts with BEGIN IMMEDIATE, so concurrent
writers queue on the database lock up front instead of failing with "database is locked" when a
read lock is upgraded mid-transaction; reads run in autocommit, each statement on a consistent
snapshot (WAL), which is all the single-statement reads need.
Database failures surface as `ServiceUnavailable`, never as driver tracebacks.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, exc, make_url, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from registry.errors import ServiceUnavailable
from registry.models import Base
from registry.private_files import private_sqlite_file

if TYPE_CHECKING:
    from registry.secret_box import SecretBox

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# Every database call is bounded in time, so a database that hangs or a lock someone holds fails
# requests with ServiceUnavailable instead of holding request threads for the whole outage.
# SQLite: the longest a writer waits for the file's write lock (transactions here take
# milliseconds, so this is only reached when another process holds the lock).
_SQLITE_BUSY_TIMEOUT_MS = 30_000
# PostgreSQL: seconds to establish a connection, milliseconds a statement may wait for a lock and
# may run in all (the server cancels it), and seconds to wait for a free connection in the pool.
# A code path that means to wait longer for a lock must SET LOCAL lock_timeout itself.
PG_CONNECT_TIMEOUT_S = 3
PG_LOCK_TIMEOUT_MS = 3_000
PG_STATEMENT_TIMEOUT_MS = 20_000
POOL_TIMEOUT_S = 5
PING_AFTER_IDLE_S = 1.0


def _make_engine(url: str, *, immediate: bool) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": _SQLITE_BUSY_TIMEOUT_MS / 1000})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record):
            # Let SQLAlchemy, not the driver, decide when a transaction begins.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            _wal(cursor)
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
            cursor.close()

        if immediate:

            @event.listens_for(engine, "begin")
            def _on_begin(connection):
                connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    engine = create_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_timeout=POOL_TIMEOUT_S,
        connect_args=_postgres_timeouts(url),
    )
    _ping_after_idle(engine)
    return engine


def _ping_after_idle(engine: Engine) -> None:
    """A connection idle in the pool for PING_AFTER_IDLE_S is pinged before use, and replaced if
    the server has dropped it (restarted, or a proxy's idle timeout). One used moments ago is not:
    a ping per request was a round trip in every request's few milliseconds. When the server
    restarts under load, a request on a connection used just before fails with
    ServiceUnavailable, and the pool replaces every connection older than that failure."""

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _idle_from_now(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy):
        if time.monotonic() - record.info.get("idle_since", float("-inf")) < PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError(str(error)) from error  # the pool connects afresh


def _wal(cursor) -> None:
    """Put the database file in WAL mode. Processes opening a database that is not in it yet all
    try to switch it at once (a server's workers starting): each holds a read lock and wants the
    write lock, and SQLite answers "database is locked" to all but one at once rather than make
    them wait on each other. Once one has switched, the others find WAL and have nothing to do."""
    deadline = time.monotonic() + _SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(0.005)


def _postgres_timeouts(url: str) -> dict[str, object]:
    """libpq connection arguments bounding connects and statements. Values the URL itself gives
    (connect_timeout, or -c settings in options) win over these."""
    query = make_url(url).query
    options = f"-c lock_timeout={PG_LOCK_TIMEOUT_MS} -c statement_timeout={PG_STATEMENT_TIMEOUT_MS}"
    given = query.get("options")
    if given:
        options = f"{options} {given if isinstance(given, str) else ' '.join(given)}"
    args: dict[str, object] = {"options": options}
    if "connect_timeout" not in query:
        args["connect_timeout"] = PG_CONNECT_TIMEOUT_S
    return args


class Database:
    def __init__(self, url: str):
        self.url = url
        _private_sqlite(url)
        self.engine = _make_engine(url, immediate=False)
        self._write_engine = (
            _make_engine(url, immediate=True) if url.startswith("sqlite") else self.engine
        )
        # Core reads on PostgreSQL run in autocommit: under READ COMMITTED each statement sees
        # the same data inside a transaction as outside one, and skipping BEGIN and ROLLBACK
        # saves two of a request's round trips to the server.
        self._core_engine = (
            self.engine
            if url.startswith("sqlite")
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self._read_sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(self._write_engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def read(self) -> Iterator[Session]:
        with _translate_errors(), self._read_sessions() as session:
            yield session

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A plain Core connection for the hot read paths, where ORM overhead would dominate."""
        with _translate_errors(), self._core_engine.connect() as connection:
            yield connection

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction committed on success and rolled back on any exception."""
        with _translate_errors(), self._write_sessions() as session, session.begin():
            yield session

    def check(self) -> None:
        """Raises ServiceUnavailable unless every table the registry serves from can be read: a
        lock held on one of them (a migration, a VACUUM FULL) stalls requests just as an outage
        does. One statement, so one round trip."""
        quote = self.engine.dialect.identifier_preparer.quote
        probes = ", ".join(
            f"(SELECT 1 FROM {quote(table.name)} LIMIT 1)" for table in Base.metadata.sorted_tables
        )
        with self.connect() as connection:
            connection.execute(text(f"SELECT 1, {probes}"))

    def dispose(self) -> None:
        self.engine.dispose()
        self._write_engine.dispose()


def dialect_insert(session: Session, table):
    """An INSERT of the session's dialect, which alone has `on_conflict_do_*` (an upsert)."""
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


@contextmanager
def _translate_errors():
    try:
        yield
    except (exc.OperationalError, exc.InterfaceError) as error:
        raise ServiceUnavailable(
            f"The metadata database is unavailable: {error.orig or error}"
        ) from error
    except exc.TimeoutError as error:  # no free connection in the pool in time
        raise ServiceUnavailable(f"The metadata database is unavailable: {error}") from error


def alembic_config(url: str, *, secret_box: SecretBox | None = None) -> Config:
    """`secret_box` is for the migrations that seal or open stored secrets; a database with no
    access keys migrates without one."""
    config = Config(attributes={"secret_box": secret_box})
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head", *, secret_box: SecretBox | None = None) -> None:
    """Bring the schema at `url` up to `revision` (the only way the schema is made)."""
    _private_sqlite(url)
    command.upgrade(alembic_config(url, secret_box=secret_box), revision)


def _private_sqlite(url: str) -> None:
    """The database file is created owner-only before SQLite opens it (its journals follow)."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        private_sqlite_file(Path(url.removeprefix("sqlite:///")))


def stored_utc(moment: datetime) -> datetime:
    """A timestamp column's value as an aware UTC datetime: SQLite hands back naive values (they
    were stored in UTC), PostgreSQL aware ones."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment
