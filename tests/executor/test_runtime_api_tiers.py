"""Lambda's runtime clients (the built-in bootstrap, curl, awslambdaric) reach their Runtime API
in the tiers without a namespace the executor enters: root with netns disabled (peer-uid) and
bubblewrap without root (sandbox-listener, simulated by a host that reports no root)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from registry.executor import EnvironmentPool
from tests.executor import test_runtimes as runtimes
from tests.executor.conftest import assert_nothing_left, snapshot, spec_for
from tests.support import require_service


@pytest.fixture(scope="module", params=["peer-uid", "sandbox-listener"])
def tier_pool(request, host):
    require_service(
        host.root and host.bwrap is not None, "these tiers are simulated as root with bubblewrap"
    )
    if request.param == "peer-uid":
        chosen = host.without("netns")
    else:
        chosen = dataclasses.replace(
            host.without("cgroups", "loop", "netns", "overlay"), root=False
        )
    before = snapshot()
    pool = EnvironmentPool(host=chosen, max_environments_per_spec=2, idle_timeout_s=60)
    pool.tier = request.param
    yield pool
    pool.close()
    assert_nothing_left(before, pool)


def test_builtin_bootstrap__reaches_its_api_and_reports_the_tier(tier_pool, bundles):
    bundle = bundles(
        task={
            "app.py": """
        import os
        def handler(event, context):
            return {"api": os.environ["AWS_LAMBDA_RUNTIME_API"], "event": event}
    """
        }
    )

    result = tier_pool.invoke(spec_for(bundle), b'{"n": 1}')

    assert result.outcome == "success", result.logs
    payload = json.loads(result.payload)
    assert payload["event"] == {"n": 1}
    if tier_pool.tier == "sandbox-listener":
        assert payload["api"] == "127.0.0.1:9001"
    assert "only this environment can reach it" in result.mechanisms["runtime_api"]


def test_bash_runtime_with_curl__serves_invocations(tier_pool, bundles):
    runtimes.test_custom_runtime__a_bash_bootstrap_serves_invocations(tier_pool, bundles)


def test_awslambdaric__runs_unchanged(tier_pool, bundles):
    runtimes.test_awslambdaric__runs_unchanged_from_a_bootstrap(tier_pool, bundles)
