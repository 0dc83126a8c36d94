"""Execution environments and running invocations, as gauges every worker keeps for itself."""

from __future__ import annotations

import threading

from tests.metrics.scrape import scrape_until
from tests.metrics.test_invocations import SLEEPER
from tests.support.functions import create


def test_concurrent_executions__count_the_invocations_running_now(strata_server, lam, account):
    create(lam, "sleepy", SLEEPER, Timeout=10)
    me = account.account_id
    running = threading.Thread(
        target=lam.invoke, kwargs={"FunctionName": "sleepy", "Payload": b'{"sleep": 8}'}
    )
    running.start()
    try:
        during = scrape_until(
            strata_server.url,
            lambda s: s.value("strata_concurrent_executions", account=me, function="sleepy") == 1,
            timeout=7.5,
        )
        assert during.value("strata_concurrent_executions", account=me, function="sleepy") == 1
        assert during.value("strata_environments", state="busy") >= 1
        # At least the 128 MB this function's environment is sized for.
        assert during.value("strata_environments_memory_bytes") >= 128 * 1024 * 1024
    finally:
        running.join(10)

    after = scrape_until(
        strata_server.url,
        lambda s: s.value("strata_concurrent_executions", account=me, function="sleepy") == 0,
    )
    assert after.value("strata_concurrent_executions", account=me, function="sleepy") == 0
    assert after.value("strata_environments", state="idle") >= 1  # kept warm
