"""The `strata` command.

Subcommands live beside the code they drive and are imported only when used, so that client
commands start fast and never pull in server modules. Errors are mapped to exit codes here, once
for every subcommand: each error class carries its own `exit_code` (see `registry.exits`).
"""

from __future__ import annotations

import importlib

import click

from registry.exits import ERROR, CommandError

_SERVER_PACKAGES = {
    *("flask", "werkzeug", "sqlalchemy", "alembic", "minio", "gunicorn", "psycopg"),
    *("pybase64", "cryptography", "cbor2"),
}

# name -> "module:attribute" of a click command or group
_COMMANDS = {
    # server side
    "serve": "registry.commands.server:serve",
    "db": "registry.commands.server:db",
    "accounts": "registry.commands.server:accounts",
    "gc": "registry.commands.server:gc",
    "usage": "registry.commands.usage:usage",
    # merge engine and executor (no server needed)
    "merge": "registry.merge.cli:merge",
    "run": "registry.executor.cli:run",
    # pip-style client (speaks only the Lambda API)
    "install": "registry.client.cli:install",
    "download": "registry.client.cli:download",
    "lock": "registry.client.cli:lock",
    "publish": "registry.client.cli:publish",
    "layers": "registry.client.cli_layers:layers",
    "cache": "registry.client.cli:cache",
}


class _StrataGroup(click.Group):
    """Loads a subcommand's module when it runs, and ends with the exit code of its error."""

    def list_commands(self, ctx):
        return sorted(_COMMANDS)

    def get_command(self, ctx, name):
        target = _COMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                raise click.UsageError(f"'{name}' is not available in this build") from None
            raise
        return getattr(module, attr)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CommandError as exc:
            click.echo(f"error: {exc.message}", err=True)
            ctx.exit(exc.exit_code)
        except ModuleNotFoundError as exc:
            # `pip install .` is the client alone; the server commands need the server extra.
            if (exc.name or "").split(".")[0] not in _SERVER_PACKAGES:
                raise
            click.echo(
                f"error: `strata {ctx.invoked_subcommand}` needs the server's packages "
                f"({exc.name} is missing): pip install 'strata[server]'",
                err=True,
            )
            ctx.exit(ERROR)


@click.group(cls=_StrataGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="strata")
def main():
    """Strata: a registry for AWS Lambda layers and function artifacts."""


if __name__ == "__main__":
    main()
