"""The bound on live environments per account, across all of the account's functions."""

from __future__ import annotations

import threading
import time

import pytest

from registry.errors import ConcurrentInvocationLimitExceeded
from registry.executor import EnvironmentPool
from tests.executor.conftest import spec_for
from tests.support import require_service

HANDLER = {
    "app.py": """
    import os, time
    def handler(event, context):
        time.sleep(event.get("sleep", 0))
        return {"pid": os.getpid()}
"""
}


@pytest.fixture
def fallback(host):
    require_service(host.root, "the fallback's uid drop needs root")
    return host.without("bwrap", "cgroups", "loop")


def _spec(bundles, account: str, name: str):
    return spec_for(
        bundles(task=HANDLER),
        function_name=name,
        function_arn=f"arn:aws:lambda:us-east-1:{account}:function:{name}",
    )


def _live(pool, account):
    return sum(e.count for s, e in pool._specs.items() if s.account_id == account)


def test_account_limit__idle_environments_of_its_other_functions_make_room(fallback, bundles):
    a1, a2, a3 = (_spec(bundles, "111111111111", f"f{i}") for i in range(3))
    with EnvironmentPool(host=fallback, max_environments_per_account=2) as pool:
        pool.invoke(a1, b"{}")
        time.sleep(0.01)
        pool.invoke(a2, b"{}")

        result = pool.invoke(a3, b"{}")

        live = _live(pool, "111111111111")
        survivors = {s.function_name for s, e in pool._specs.items() if e.count}

    assert result.outcome == "success"
    assert live == 2
    assert survivors == {"f1", "f2"}  # the least recently used one went


def test_account_limit__with_every_environment_busy_the_next_is_refused(fallback, bundles):
    a1, a2, a3 = (_spec(bundles, "222222222222", f"g{i}") for i in range(3))
    other = _spec(bundles, "333333333333", "h0")
    with EnvironmentPool(host=fallback, max_environments_per_account=2) as pool:
        pool.invoke(a1, b"{}"), pool.invoke(a2, b"{}")  # cold starts out of the timed part
        busy = [threading.Thread(target=pool.invoke, args=(s, b'{"sleep": 1.5}')) for s in (a1, a2)]
        for thread in busy:
            thread.start()
        deadline = time.monotonic() + 5
        while sum(len(e.busy) for e in pool._specs.values()) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)

        with pytest.raises(ConcurrentInvocationLimitExceeded) as refused:
            pool.invoke(a3, b"{}")
        elsewhere = pool.invoke(other, b"{}")
        for thread in busy:
            thread.join()
        after = pool.invoke(a3, b"{}")  # once they are idle again, one is reclaimed

    assert refused.value.message == "Rate Exceeded."
    assert refused.value.reason == "ConcurrentInvocationLimitExceeded"
    assert elsewhere.outcome == "success" and after.outcome == "success"


def test_account_limit__provisioned_environments_are_never_reclaimed(fallback, bundles):
    provisioned, a2, a3 = (_spec(bundles, "444444444444", f"p{i}") for i in range(3))
    with EnvironmentPool(host=fallback, max_environments_per_account=2) as pool:
        pool.prewarm(provisioned, 1)
        pool.invoke(a2, b"{}")

        pool.invoke(a3, b"{}")
        kept = len(pool._specs[provisioned].idle), pool._specs[a2].count
        with pytest.raises(ConcurrentInvocationLimitExceeded) as refused:
            pool.prewarm(a2, 2)

    assert kept == (1, 0)
    assert "limit of 2 execution environments" in refused.value.message


def test_account_limit__unbounded_without_a_limit(fallback, bundles):
    specs = [_spec(bundles, "555555555555", f"u{i}") for i in range(3)]
    with EnvironmentPool(host=fallback) as pool:
        results = [pool.invoke(s, b"{}") for s in specs]
        live = _live(pool, "555555555555")

    assert [r.outcome for r in results] == ["success"] * 3 and live == 3


def test_account_limit__a_discarded_functions_busy_environment_still_counts(fallback, bundles):
    a1, a2 = (_spec(bundles, "666666666666", f"d{i}") for i in range(2))
    with EnvironmentPool(host=fallback, max_environments_per_account=1) as pool:
        pool.invoke(a1, b"{}")
        busy = threading.Thread(target=pool.invoke, args=(a1, b'{"sleep": 1.0}'))
        busy.start()
        deadline = time.monotonic() + 5
        while not pool._specs[a1].busy and time.monotonic() < deadline:
            time.sleep(0.01)
        pool.discard(a1)  # e.g. UpdateFunctionCode while the invocation runs

        with pytest.raises(ConcurrentInvocationLimitExceeded):
            pool.invoke(a2, b"{}")
        busy.join()
        after = pool.invoke(a2, b"{}")

    assert after.outcome == "success"
