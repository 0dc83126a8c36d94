"""Server-side commands: serve, db, accounts, gc."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import click

from registry.config import DEV_ACCESS_KEY_ID, DEV_ACCOUNT_ID, DEV_SECRET_ACCESS_KEY, Settings
from registry.limits import TIMEOUT_S


def _settings(data_dir: str | None, **overrides) -> Settings:
    settings = Settings.from_env(data_dir=Path(data_dir) if data_dir else None, **overrides)
    from registry.private_files import private_data_dir

    private_data_dir(settings.data_dir)
    return settings


def _secret_box(settings: Settings):
    from registry.secret_box import SecretBox

    try:
        return SecretBox.from_settings(settings)
    except ValueError as error:  # a STRATA_SECRET_KEY too short to be a key
        raise click.ClickException(f"STRATA_SECRET_KEY: {error}") from None


@contextmanager
def _database(settings: Settings):
    """The configured database, disposed of when the command is done with it."""
    from registry.db import Database

    database = Database(settings.resolved_database_url)
    try:
        yield database
    finally:
        database.dispose()


def _metrics_bind(value: str | None) -> str | None:
    try:
        return Settings.from_env({"STRATA_METRICS_BIND": value}).metrics_bind if value else None
    except ValueError as error:
        raise click.BadParameter(
            str(error).replace("STRATA_METRICS_BIND", "--metrics-bind")
        ) from None


_data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    help="Data directory (default: STRATA_DATA_DIR or ./.strata).",
)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@_data_dir_option
@click.option(
    "--dev",
    is_flag=True,
    help="Seed the dev account 000000000000 (key test/test). Same as STRATA_DEV=1.",
)
@click.option("--workers", default=2, show_default=True, type=int, help="Worker processes.")
@click.option(
    "--threads",
    default=4,
    show_default=True,
    type=int,
    help="Threads per worker for the registry: every request but synchronous invocations.",
)
@click.option(
    "--invocation-threads",
    type=click.IntRange(min=1),
    help="Synchronous invocations one worker runs or keeps waiting at once; past it they are "
    "answered 429 TooManyRequestsException (default: STRATA_INVOCATION_THREADS or 256).",
)
@click.option(
    "--memory-fraction",
    type=click.FloatRange(min=0, max=1, min_open=True),
    help="Fraction of the host's RAM that the execution environments of all workers may hold "
    "together (default: STRATA_MEMORY_FRACTION or 0.75).",
)
@click.option(
    "--memory-budget-mb",
    type=click.IntRange(min=1),
    help="The same as an absolute figure, which wins over the fraction "
    "(default: STRATA_MEMORY_BUDGET_MB).",
)
@click.option(
    "--migrate/--no-migrate", default=None, help="Run migrations first (default: only for SQLite)."
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    help="Log lines as text, or as one JSON object each (default: STRATA_LOG_FORMAT or text).",
)
@click.option(
    "--metrics-bind",
    metavar="HOST:PORT",
    callback=lambda ctx, param, value: _metrics_bind(value),
    help="Also listen at HOST:PORT, where only /metrics answers, and serve /metrics there alone "
    "(default: STRATA_METRICS_BIND). Else /metrics needs STRATA_METRICS_TOKEN, or --dev.",
)
def serve(
    host,
    port,
    data_dir,
    dev,
    workers,
    threads,
    invocation_threads,
    memory_fraction,
    memory_budget_mb,
    migrate,
    log_format,
    metrics_bind,
):
    """Run the registry (gunicorn) on HOST:PORT."""
    import logging
    import logging.config

    from registry import db
    from registry.accounts import seed_dev_account
    from registry.log_format import logging_config

    # From the first line on (preparing the data directory may warn), as gunicorn will log.
    logging.config.dictConfig(logging_config(log_format or Settings.from_env().log_format))
    log = logging.getLogger("strata.server")
    settings = _settings(
        data_dir, dev=dev or None, log_format=log_format, metrics_bind=metrics_bind
    )
    # Workers build their app from the environment, so hand the effective settings down.
    os.environ["STRATA_DATA_DIR"] = str(settings.data_dir)
    if settings.dev:
        os.environ["STRATA_DEV"] = "1"
    if invocation_threads is not None:
        os.environ["STRATA_INVOCATION_THREADS"] = str(invocation_threads)
    if memory_fraction is not None:
        os.environ["STRATA_MEMORY_FRACTION"] = str(memory_fraction)
    if memory_budget_mb is not None:
        os.environ["STRATA_MEMORY_BUDGET_MB"] = str(memory_budget_mb)
    os.environ["STRATA_LOG_FORMAT"] = settings.log_format
    url = settings.resolved_database_url
    box = _secret_box(settings)
    if migrate or (migrate is None and url.startswith("sqlite")):
        db.upgrade(url, secret_box=box)
    if settings.dev:
        with _database(settings) as database:
            seed_dev_account(database, box)
    log.info(
        "Strata serving the Lambda API on http://%s:%s (data: %s)", host, port, settings.data_dir
    )
    if settings.dev:
        # The well-known dev key, the same on every install, is no secret.
        log.info(
            "dev account %s: aws_access_key_id=%s aws_secret_access_key=%s region=%s",
            DEV_ACCOUNT_ID,
            DEV_ACCESS_KEY_ID,
            DEV_SECRET_ACCESS_KEY,
            settings.region,
        )
    binds = [f"{host}:{port}"] + ([settings.metrics_bind] if settings.metrics_bind else [])
    _Gunicorn(settings, bind=binds, workers=workers, threads=threads).run()


# On SIGTERM a node stops accepting and lets its synchronous invocations finish before it exits:
# one may have just started a function of Lambda's longest timeout, after merging its bundle and
# a cold start. A node with nothing in flight exits at once.
DRAIN_SECONDS = TIMEOUT_S[1] + 30
# How long a kept-alive connection may wait idle for its next request. Each worker process has
# warm environments of its own, and a client that reconnects may reach the other worker and start
# cold there: gunicorn's 2 s would close a burst's connections between two bursts. An idle
# connection costs the front a few KB and no thread; a crowded worker closes them sooner.
KEEPALIVE_SECONDS = 60


class _Gunicorn:
    def __init__(self, settings: Settings, **options):
        from gunicorn.app.base import BaseApplication

        class App(BaseApplication):
            def load_config(self):
                self.cfg.set("bind", options["bind"])
                self.cfg.set("workers", options["workers"])
                self.cfg.set("threads", options["threads"])
                # Reads whole requests on its event loop, so slow or stalled clients hold no thread.
                self.cfg.set("worker_class", "registry.front.worker.FrontWorker")
                # Waiting connections cost the front a few KB each and no thread: hold plenty, so
                # that a crowd of slow clients does not stop the worker from accepting.
                self.cfg.set("worker_connections", 4096)
                # Every line in one format; the request log stands in for gunicorn's access log.
                self.cfg.set("accesslog", None)
                self.cfg.set("logger_class", "registry.front.log.StrataLogger")
                self.cfg.set("timeout", 900)
                self.cfg.set("graceful_timeout", DRAIN_SECONDS)
                self.cfg.set("keepalive", KEEPALIVE_SECONDS)
                if "control_socket_disable" in self.cfg.settings:
                    # One fixed socket path per user would collide between servers on one host.
                    self.cfg.set("control_socket_disable", True)

            def load(self):
                from registry.api import create_app

                return create_app(settings)

        self._app = App()

    def run(self):
        self._app.run()


@click.group()
def db():
    """Database schema commands."""


@db.command()
@_data_dir_option
def upgrade(data_dir):
    """Apply all Alembic migrations to the configured database."""
    from registry import db as database

    settings = _settings(data_dir)
    database.upgrade(settings.resolved_database_url, secret_box=_secret_box(settings))
    click.echo("database is at the newest schema", err=True)


@click.group()
def accounts():
    """Manage accounts and their access keys."""


@accounts.command("create")
@click.option("--id", "account_id", help="12-digit account id (random when omitted).")
@click.option(
    "--org",
    "organization_id",
    help="Organization id, o- followed by 10-32 lowercase alphanumerics.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the credentials as JSON.")
@_data_dir_option
def create_account(account_id, organization_id, as_json, data_dir):
    """Create an account with one access key, and print its credentials."""
    from registry.accounts import create_account as create

    settings = _settings(data_dir)
    with _database(settings) as database:
        credentials = create(
            database,
            box=_secret_box(settings),
            account_id=account_id,
            organization_id=organization_id,
        )
    _print_credentials(credentials, as_json)


@accounts.command("rotate-key")
@click.option("--access-key-id", required=True, help="The key pair to replace.")
@click.option(
    "--keep-old",
    is_flag=True,
    help="Keep the old key working too; delete it later with `accounts delete-key`.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the new credentials as JSON.")
@_data_dir_option
def rotate_key(access_key_id, keep_old, as_json, data_dir):
    """Give the key's account a new key pair, print it, and delete the old key (unless --keep-old).

    Running servers refuse the old key within a few seconds."""
    from registry.accounts import rotate_access_key

    settings = _settings(data_dir)
    with _database(settings) as database:
        credentials = rotate_access_key(
            database, box=_secret_box(settings), access_key_id=access_key_id, keep_old=keep_old
        )
    _print_credentials(credentials, as_json)


@accounts.command("delete-key")
@click.option("--access-key-id", required=True, help="The key pair to delete.")
@_data_dir_option
def delete_key(access_key_id, data_dir):
    """Delete an access key; running servers refuse it within a few seconds."""
    from registry.accounts import delete_access_key

    with _database(_settings(data_dir)) as database:
        delete_access_key(database, access_key_id)
    click.echo(f"deleted access key {access_key_id}", err=True)


@accounts.command("set-concurrency-limit")
@click.argument("account_id")
@click.argument("limit", type=int)
@_data_dir_option
def set_concurrency_limit(account_id, limit, data_dir):
    """Let ACCOUNT_ID run LIMIT executions at once (at least 100; Lambda's default is 1000)."""
    from registry.account_settings import set_concurrency_limit as set_limit

    with _database(_settings(data_dir)) as database:
        set_limit(database, account_id, limit)
    click.echo(f"account {account_id} may run {limit} executions at once", err=True)


def _print_credentials(credentials, as_json: bool) -> None:
    if as_json:
        click.echo(
            json.dumps(
                {
                    "account_id": credentials.account_id,
                    "access_key_id": credentials.access_key_id,
                    "secret_access_key": credentials.secret_access_key,
                }
            )
        )
    else:
        click.echo(f"account_id          {credentials.account_id}")
        click.echo(f"access_key_id       {credentials.access_key_id}")
        click.echo(f"secret_access_key   {credentials.secret_access_key}")


@click.command()
@click.option("--dry-run", is_flag=True, help="List what would be deleted, delete nothing.")
@click.option(
    "--grace-minutes",
    default=60,
    show_default=True,
    type=int,
    help="Keep blobs younger than this, and cached copies unneeded for less than this.",
)
@_data_dir_option
def gc(dry_run, grace_minutes, data_dir):
    """Delete stored blobs that no layer or function version references, and this node's cached
    copies of them (which the server also sweeps on its own every 10 minutes)."""
    from registry.blobs import open_store
    from registry.cache_sweep import sweep
    from registry.gc import collect

    settings = _settings(data_dir)
    grace = timedelta(minutes=grace_minutes)
    with _database(settings) as database:
        report = collect(database, open_store(settings), grace=grace, dry_run=dry_run)
        swept = sweep(database, settings.cache_dir, grace=grace, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    for digest in report.deleted:
        click.echo(f"{verb} {digest}")
    click.echo(
        f"{verb} {len(report.deleted)} blobs ({report.bytes_freed} bytes); kept {report.kept}",
        err=True,
    )
    if swept is None:
        click.echo("cache: a server on this node is sweeping it right now", err=True)
        return
    for entry in swept.removed:
        click.echo(f"{verb} cache/{entry}")
    click.echo(
        f"cache: {verb} {len(swept.removed)} entries; {swept.waiting} unneeded within the grace "
        f"period; kept {swept.kept}",
        err=True,
    )
