"""`strata usage`: an account's figures per day match the requests and invocations made through
a real server, as Lambda bills them (1 ms rounding, GB-seconds), with its stored bytes."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.support.functions import create, handler_zip
from tests.support.zips import layer_zip

STRATA = str(Path(sys.executable).with_name("strata"))
SLEEPS = handler_zip(
    """
    import time

    def handler(event, context):
        time.sleep(event["ms"] / 1000)
        return event["ms"]
    """
)
LAYER = layer_zip("shared", "VALUE = 'x' * 500\n")


def strata_usage(server, *args: str) -> subprocess.CompletedProcess:
    """The command as an operator runs it beside the server: the same STRATA_* settings."""
    result = subprocess.run(
        [STRATA, "usage", *args],
        env={**os.environ, **server.env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result


def usage_json(server, account_id: str, *args: str) -> dict:
    (account,) = json.loads(strata_usage(server, "--account", account_id, "--json", *args).stdout)[
        "accounts"
    ]
    return account


def today(account: dict) -> dict:
    (day,) = account["days"]
    assert day["day"] == datetime.now(timezone.utc).date().isoformat()
    return day


@pytest.fixture
def metered(strata_server, account, lam):
    """A fresh account's requests (each HTTP attempt its client sent) and the REPORT figures of
    four invocations, once the server has written them."""
    sent = []
    lam.meta.events.register("before-send", lambda **_: sent.append(1))
    lam.publish_layer_version(LayerName="shared", Content={"ZipFile": LAYER})
    lam.publish_layer_version(LayerName="shared-again", Content={"ZipFile": LAYER})
    create(lam, "sleeper", SLEEPS, MemorySize=256)
    reports = []
    for ms in (1, 5, 20, 50):
        answer = lam.invoke(
            FunctionName="sleeper", Payload=json.dumps({"ms": ms}).encode(), LogType="Tail"
        )
        log = base64.b64decode(answer["LogResult"]).decode()
        reports.append(
            (
                int(re.search(r"Billed Duration: (\d+) ms", log)[1]),
                int(re.search(r"Memory Size: (\d+) MB", log)[1]),
            )
        )
    deadline = time.monotonic() + 15
    while True:
        figures = usage_json(strata_server, account.account_id)
        days = figures["days"]
        if days and days[0]["requests"] == len(sent) and days[0]["invocations"] == 4:
            break
        assert time.monotonic() < deadline, (figures, len(sent))
        time.sleep(0.2)
    return figures, reports, len(sent)


def test_usage__figures_match_the_invocations_and_requests_made(metered):
    figures, reports, requests = metered
    day = today(figures)
    assert day["invocations"] == 4 and day["errors"] == 0 and day["throttles"] == 0
    assert day["requests"] == requests
    assert day["billed_duration_ms"] == sum(billed for billed, _ in reports)
    assert all(memory == 256 for _, memory in reports)
    expected = sum(memory / 1024 * billed / 1000 for billed, memory in reports)
    assert day["gb_seconds"] == pytest.approx(expected, abs=1e-6)
    assert day["billed_duration_ms"] >= 1 + 5 + 20 + 50


def test_usage__stored_bytes_count_the_layer_blob_once_and_the_function_code(
    strata_server, account, metered
):
    figures, _, _ = metered
    code = strata_server.client(account).get_function(FunctionName="sleeper")
    stored = len(LAYER) + code["Configuration"]["CodeSize"]
    assert figures["stored_bytes"] == stored
    # The day's figure is sampled after the account's writes, each account at most every 5 s.
    deadline = time.monotonic() + 15
    while (day := today(usage_json(strata_server, account.account_id)))["stored_bytes"] != stored:
        assert time.monotonic() < deadline, day
        time.sleep(0.5)


def test_usage__since_leaves_earlier_days_out(strata_server, account, metered):
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).date().isoformat()
    later = usage_json(strata_server, account.account_id, "--since", tomorrow)
    assert later["days"] == [] and later["stored_bytes"] == metered[0]["stored_bytes"]


def test_usage__every_account_when_none_is_named(strata_server, account, metered):
    everyone = json.loads(strata_usage(strata_server, "--json").stdout)
    assert metered[0] in everyone["accounts"]
    assert everyone["since"] == (datetime.now(timezone.utc).date() - timedelta(days=30)).isoformat()


def test_usage__a_table_by_default(strata_server, account, metered):
    table = strata_usage(strata_server, "--account", account.account_id).stdout
    row = next(line for line in table.splitlines() if account.account_id in line)
    day = today(metered[0])
    assert day["day"] in row and f"{day['billed_duration_ms']:,}" in row
    assert f"{day['stored_bytes']:,}" in row
