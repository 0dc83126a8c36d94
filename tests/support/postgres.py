"""A throwaway PostgreSQL cluster for the tests, listening on 127.0.0.1 only.

The cluster lives in its own temporary directory (data, unix socket, log) and is removed when it
stops. It trades durability for speed (no fsync, no full-page writes), which is fine for data that
is thrown away after the run. As root, the server runs as the `postgres` system user, because
PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.support.processes import die_with_parent, free_loopback_port

SERVER_USER = "postgres"
# 20 concurrent publishers, each app process's pool, and the per-test admin connections.
MAX_CONNECTIONS = 200
START_TIMEOUT_S = 30.0


class PostgresUnavailable(RuntimeError):
    """PostgreSQL is not installed here, or the cluster did not start."""


def find_bin_dir() -> Path | None:
    """The newest installed PostgreSQL's bin directory (Debian layout), or None."""
    candidates = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    candidates.sort(key=lambda b: int(b.parent.name) if b.parent.name.isdigit() else 0)
    if candidates:
        return candidates[-1]
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


@dataclass
class PostgresCluster:
    root: Path
    port: int
    process: subprocess.Popen
    user: str = SERVER_USER

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def admin_url(self) -> str:
        """SQLAlchemy URL of the maintenance database, as the superuser."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/postgres"

    def connect_admin(self) -> psycopg.Connection:
        """An autocommit connection to the maintenance database (CREATE/DROP DATABASE need it)."""
        return psycopg.connect(
            host=self.host, port=self.port, user=self.user, dbname="postgres", autocommit=True
        )

    def allow_connections(self, database: str, allowed: bool) -> None:
        """A database down (its connections cut, new ones refused), or back."""
        with self.connect_admin() as admin:
            admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allowed).lower()}')
            if not allowed:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    f"WHERE datname = '{database}'"
                )

    def stop(self) -> None:
        """Fast shutdown (disconnects clients), then remove every file of the cluster."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def _as_server_user() -> dict:
    """Popen arguments that drop root to the postgres user; nothing when not root."""
    if os.geteuid() != 0:
        return {}
    entry = pwd.getpwnam(SERVER_USER)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _initdb(bin_dir: Path, data_dir: Path, user: str, run_as: dict) -> None:
    result = subprocess.run(
        [
            str(bin_dir / "initdb"),
            "--pgdata",
            str(data_dir),
            "--username",
            user,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--no-locale",
            "--no-sync",
            "--no-instructions",
        ],
        capture_output=True,
        text=True,
        cwd=data_dir.parent,  # the server user may not be allowed into the caller's directory
        **run_as,
    )
    if result.returncode != 0:
        output = result.stderr.strip() or result.stdout.strip()
        raise PostgresUnavailable(f"initdb failed: {output}")


def _wait_until_accepting(cluster: PostgresCluster, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if cluster.process.poll() is not None:
            raise PostgresUnavailable(
                f"postgres exited with {cluster.process.returncode}: "
                + log_path.read_text(errors="replace")[-2000:]
            )
        try:
            cluster.connect_admin().close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise PostgresUnavailable(
                    f"postgres did not accept connections in {START_TIMEOUT_S}s"
                ) from None
            time.sleep(0.05)


def start_cluster(attempts: int = 3) -> PostgresCluster:
    """initdb a new cluster in a temporary directory and start it on a free loopback port.

    Raises PostgresUnavailable when PostgreSQL is not installed or does not come up.
    """
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise PostgresUnavailable("PostgreSQL is not installed (no initdb found)")
    run_as = _as_server_user()
    user = SERVER_USER if run_as else pwd.getpwuid(os.geteuid()).pw_name

    # Not tmp_path: pytest's base temp dir is private to root, and the server user must reach it.
    root = Path(tempfile.mkdtemp(prefix="strata-pg-"))
    data_dir = root / "data"
    if run_as:
        os.chown(root, run_as["user"], run_as["group"])
    try:
        _initdb(bin_dir, data_dir, user, run_as)
        for _ in range(attempts):
            port = free_loopback_port()
            log_path = root / f"postgres-{port}.log"
            with open(log_path, "wb") as log:
                process = subprocess.Popen(
                    [
                        str(bin_dir / "postgres"),
                        "-D",
                        str(data_dir),
                        "-p",
                        str(port),
                        "-k",
                        str(root),
                        "-c",
                        "listen_addresses=127.0.0.1",
                        "-c",
                        f"max_connections={MAX_CONNECTIONS}",
                        "-c",
                        "shared_buffers=32MB",
                        "-c",
                        "fsync=off",
                        "-c",
                        "synchronous_commit=off",
                        "-c",
                        "full_page_writes=off",
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=root,
                    preexec_fn=die_with_parent,
                    **run_as,
                )
            cluster = PostgresCluster(root=root, port=port, process=process, user=user)
            try:
                _wait_until_accepting(cluster, log_path)
                return cluster
            except PostgresUnavailable:
                if process.poll() is None:
                    process.kill()
                    process.wait()
                if "could not bind" not in log_path.read_text(errors="replace"):
                    raise
        raise PostgresUnavailable(f"no free port after {attempts} attempts")
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
