"""What the client's commands share: the connection options, the Lambda client they build, the
exit-code epilog, and what Ctrl-C does."""

from __future__ import annotations

import functools
import sys

import click

ARCHITECTURES = ["x86_64", "arm64"]
EXIT_CODES = (
    "Exit codes: 0 ok, 1 other error, 2 bad usage or requirement, 3 not found, 4 access denied, "
    "5 hash mismatch, 6 network, 7 target or cache not writable."
)


def interrupt_leaves_target(fn):
    """Ctrl-C ends with 130, saying that the target is untouched (installs are built aside).

    Errors are not handled here: `registry.cli` maps them to exit codes for every command."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except KeyboardInterrupt:
            click.echo("interrupted; the target was left as it was", err=True)
            sys.exit(130)

    return wrapper


def connection_options(fn):
    fn = click.option("--profile", help="AWS profile to take credentials and settings from.")(fn)
    fn = click.option(
        "--region", help="AWS region (default: the AWS settings; us-east-1 with an endpoint)."
    )(fn)
    fn = click.option(
        "--endpoint-url",
        help="Lambda API endpoint (default: STRATA_ENDPOINT_URL, then the AWS settings).",
    )(fn)
    return fn


def client_for(endpoint_url, region, profile, jobs=4):
    from registry.client.connection import Connection, lambda_client

    return lambda_client(
        Connection(endpoint_url=endpoint_url, region=region, profile=profile, max_pool=jobs)
    )
