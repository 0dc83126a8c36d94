"""A real `strata serve` subprocess on loopback, on either backend pair.

One server runs per backend pair and pytest worker; tests isolate themselves by creating fresh
accounts (an account is a namespace of its own), which is much faster than a server per test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from botocore.config import Config

from registry.accounts import Credentials, create_account
from registry.config import DEV_ACCESS_KEY_ID, DEV_ACCOUNT_ID, DEV_SECRET_ACCESS_KEY
from registry.db import Database
from registry.executor.processes import descendants
from tests.support.processes import die_with_parent, free_loopback_port

STRATA = str(Path(sys.executable).with_name("strata"))
REGION = "us-east-1"


@dataclass
class StrataServer:
    data_dir: Path
    env: dict[str, str]
    port: int = 0
    # A node behind a load balancer comes back on the port the balancer knows.
    fixed_port: int | None = None
    # Without the dev account, as in production (accounts are then created with new_account).
    dev: bool = True
    process: subprocess.Popen | None = None
    log_path: Path | None = None
    _db: Database | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def region(self) -> str:
        return REGION

    @property
    def database_url(self) -> str:
        return (
            self.env.get("STRATA_DATABASE_URL")
            or f"sqlite:///{(self.data_dir / 'strata.db').resolve()}"
        )

    @property
    def dev_credentials(self) -> tuple[str, str]:
        return DEV_ACCESS_KEY_ID, DEV_SECRET_ACCESS_KEY

    @property
    def dev_account_id(self) -> str:
        return DEV_ACCOUNT_ID

    def start(self, *extra_args: str) -> None:
        # The port is free when picked, but another test's process may bind it before this server
        # does (migrating a PostgreSQL database first takes a second or two): then try another.
        for _ in range(3):
            if self._start_once(extra_args):
                return
        raise RuntimeError(f"strata serve found no free port:\n{self.log()}")

    def _start_once(self, extra_args: tuple[str, ...]) -> bool:
        self.port = self.fixed_port or free_loopback_port()
        self.log_path = self.data_dir / f"server-{self.port}.log"
        dev = ["--dev"] if self.dev else []
        command = [STRATA, "serve", *dev, "--migrate", "--port", str(self.port)]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [*command, "--workers", "2", *extra_args],
                # A node alone needs no time for a balancer to take it out of rotation; the
                # cluster tests give theirs the default.
                env={**os.environ, "STRATA_DRAIN_ACCEPT_SECONDS": "0", **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
                # Its own process group, so a test can kill the master and its workers at once.
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"strata serve exited early:\n{self.log()}")
            if "Connection in use" in self.log():
                self.stop()
                return False
            # Whoever answers on the port is this server only once it says it listens there.
            if f"Listening at: {self.url}" in self.log():
                try:
                    with urllib.request.urlopen(f"{self.url}/readyz", timeout=1) as response:
                        if response.status == 200:
                            return True
                except OSError:
                    pass
            time.sleep(0.1)
        raise RuntimeError(f"strata serve did not become ready:\n{self.log()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is not None:
            # Shown with a failing test's output: why the server was gone before its test ended.
            print(f"strata serve had exited ({self.process.returncode}):\n{self.log()[-4000:]}")
        if self.process and self.process.poll() is None:
            members = descendants(self.process.pid)
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            if sig == signal.SIGKILL:
                _reap_after(members)
        if self._db:
            self._db.dispose()
            self._db = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        return (
            self.log_path.read_text(errors="replace")
            if self.log_path and self.log_path.exists()
            else ""
        )

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = Database(self.database_url)
        return self._db

    def store(self):
        """The server's blob store, opened from the same settings."""
        from registry.blobs import open_store
        from registry.config import Settings

        return open_store(Settings.from_env({**os.environ, **self.env}))

    def s3_client(self):
        return boto3.client(
            "s3",
            endpoint_url=f"http://{self.env['STRATA_S3_ENDPOINT']}",
            region_name=REGION,
            aws_access_key_id=self.env["STRATA_S3_ACCESS_KEY"],
            aws_secret_access_key=self.env["STRATA_S3_SECRET_KEY"],
        )

    @property
    def secret_box(self):
        """The key the server seals access keys' secrets with (its data dir's, or the env's)."""
        from registry.config import Settings
        from registry.secret_box import SecretBox

        return SecretBox.from_settings(Settings.from_env({**os.environ, **self.env}))

    def new_account(self, org: str | None = None) -> Credentials:
        return create_account(self.db, box=self.secret_box, organization_id=org)

    def client(
        self,
        credentials: Credentials | tuple[str, str] | None = None,
        service: str = "lambda",
        **config,
    ):
        if credentials is None:
            key, secret = self.dev_credentials
        elif isinstance(credentials, Credentials):
            key, secret = credentials.access_key_id, credentials.secret_access_key
        else:
            key, secret = credentials
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            config=Config(retries={"max_attempts": 1}, **config),
        )


def _reap_after(members: list[int], timeout_s: float = 5.0) -> None:
    """Reap what the killed server's sandboxes left, as its next start on this host would, once
    its workers are gone (only a dead owner's leftovers are reaped)."""
    from registry.executor.owners import process_start
    from registry.executor.reaping import reap_stale

    deadline = time.monotonic() + timeout_s
    while any(process_start(pid) for pid in members) and time.monotonic() < deadline:
        time.sleep(0.01)
    reap_stale()


def backend_env(kind: str, data_dir: Path, request) -> dict[str, str]:
    """STRATA_* settings for a backend pair: "sqlite-fs" (embedded) or "pg-s3" (production
    shaped)."""
    env = {"STRATA_DATA_DIR": str(data_dir), "STRATA_STORAGE": "filesystem"}
    for name in ("STRATA_DATABASE_URL", "STRATA_S3_ENDPOINT", "STRATA_DEV"):
        env[name] = ""
    if kind == "pg-s3":
        cluster = request.getfixturevalue("postgres_cluster")
        s3 = request.getfixturevalue("s3_server")
        name = f"strata_server_{uuid.uuid4().hex[:12]}"
        with cluster.connect_admin() as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        env.update(
            STRATA_DATABASE_URL=f"postgresql+psycopg://{cluster.user}@{cluster.host}:{cluster.port}/{name}",
            STRATA_STORAGE="s3",
            STRATA_S3_ENDPOINT=s3.endpoint,
            STRATA_S3_ACCESS_KEY=s3.access_key,
            STRATA_S3_SECRET_KEY=s3.secret_key,
            STRATA_S3_BUCKET=s3.new_bucket(),
            STRATA_S3_SECURE="false",
        )
    return env
