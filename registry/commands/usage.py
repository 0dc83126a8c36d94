"""`strata usage`: what accounts used per day, read from the database as the server wrote it."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import click

from registry.commands.server import _data_dir_option, _database, _settings

DEFAULT_DAYS = 30


@click.command()
@click.option("--account", "account_id", help="One account's usage (default: every account).")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help=f"First UTC day to show, YYYY-MM-DD (default: {DEFAULT_DAYS} days ago).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@_data_dir_option
def usage(account_id, since, as_json, data_dir):
    """Invocations, API requests, billed duration, GB-seconds and stored bytes per account and
    day (UTC). A day's stored bytes are the most the account stored that day, each distinct blob
    once, as sampled after its writes and hourly; the account's line without a day is now."""
    from registry.usage.report import usage as read_usage

    first = since.date() if since else _today() - timedelta(days=DEFAULT_DAYS)
    with _database(_settings(data_dir)) as database:
        accounts = read_usage(database, since=first, account_id=account_id)
    if as_json:
        click.echo(
            json.dumps(
                {"since": first.isoformat(), "accounts": [a.as_json() for a in accounts]},
                indent=2,
            )
        )
        return
    _print_table(accounts, first)


def _print_table(accounts, first: date) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Usage since {first.isoformat()} (UTC days)")
    headings = ("Account", "Day", "Invocations", "Errors", "Throttles", "Requests")
    for heading in (*headings, "Billed ms", "GB-seconds", "Stored bytes"):
        justify = "left" if heading in ("Account", "Day") else "right"
        table.add_column(heading, justify=justify, no_wrap=True)
    for account in accounts:
        if not account.days:
            table.add_row(
                account.account_id, "now", *["0"] * 6, "0.000", f"{account.stored_bytes:,}"
            )
        for day in account.days:
            table.add_row(
                account.account_id,
                day.day.isoformat(),
                f"{day.invocations:,}",
                f"{day.errors:,}",
                f"{day.throttles:,}",
                f"{day.requests:,}",
                f"{day.billed_duration_ms:,}",
                f"{day.gb_seconds:,.3f}",
                f"{day.stored_bytes:,}",
            )
    console = Console()
    if not console.is_terminal:  # piped or redirected: whole figures, never cut to 80 columns
        console = Console(width=200)
    console.print(table)


def _today() -> date:
    return datetime.now(timezone.utc).date()
