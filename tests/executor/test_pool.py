"""Warm environments: reuse, concurrency, provisioned concurrency, discard."""

from __future__ import annotations

import json
import threading
import time

import pytest

from registry.executor import EnvironmentPool, SandboxError
from tests.executor.conftest import processes_of_uid, spec_for, strict_available
from tests.support import require_service

COUNTER = {
    "app.py": """
    import os, time
    calls = 0
    def handler(event, context):
        global calls
        calls += 1
        time.sleep(event.get("sleep", 0))
        return {"calls": calls, "pid": os.getpid(), "uid": os.getuid(),
                "init": os.environ["AWS_LAMBDA_INITIALIZATION_TYPE"]}
"""
}


def test_warm__module_state_persists_between_invocations(pool, bundles):
    spec = spec_for(bundles(task=COUNTER))

    results = [pool.invoke(spec, b"{}") for _ in range(3)]

    assert [json.loads(r.payload)["calls"] for r in results] == [1, 2, 3]
    assert results[0].report.init_duration_ms > 0
    assert results[1].report.init_duration_ms is None and "Init Duration" not in results[1].logs


def test_concurrency__parallel_invocations_use_separate_environments(pool, bundles):
    spec = spec_for(bundles(task=COUNTER))
    answers = []

    def call():
        answers.append(json.loads(pool.invoke(spec, b'{"sleep": 0.3}').payload))

    threads = [threading.Thread(target=call) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len({a["uid"] for a in answers}) == 2  # two environments, one invocation each
    assert all(a["calls"] == 1 for a in answers)


def test_prewarm__provisioned_environments_skip_the_cold_start(host, bundles):
    require_service(strict_available(host), "strict isolation needs root, bubblewrap and cgroup v1")
    spec = spec_for(bundles(task=COUNTER))
    with EnvironmentPool(host=host, max_environments_per_spec=2) as pool:
        pool.prewarm(spec, 2)

        result = pool.invoke(spec, b"{}")

    assert result.outcome == "success" and result.report.init_duration_ms is None
    assert json.loads(result.payload)["init"] == "provisioned-concurrency"


def test_discard__the_next_invocation_starts_a_new_environment(pool, bundles):
    spec = spec_for(bundles(task=COUNTER))
    pool.invoke(spec, b"{}")

    pool.discard(spec)

    assert json.loads(pool.invoke(spec, b"{}").payload)["calls"] == 1


def test_closed_pool__refuses_invocations(host, bundles):
    pool = EnvironmentPool(host=host.without("bwrap", "cgroups", "loop"))
    pool.close()
    with pytest.raises(SandboxError):
        pool.invoke(spec_for(bundles(task=COUNTER)), b"{}")


def test_idle_timeout__idle_environments_are_torn_down(host, bundles):
    require_service(host.root, "the uid drop needs root")
    spec = spec_for(bundles(task=COUNTER))
    with EnvironmentPool(host=host.without("bwrap", "cgroups", "loop"), idle_timeout_s=0.2) as pool:
        first = json.loads(pool.invoke(spec, b"{}").payload)
        deadline = time.monotonic() + 5
        while pool._specs[spec].idle and time.monotonic() < deadline:
            time.sleep(0.05)

        again = json.loads(pool.invoke(spec, b"{}").payload)

    assert first["calls"] == again["calls"] == 1
    assert processes_of_uid(first["uid"]) == []


def test_warm__an_environment_started_on_a_thread_that_has_ended_stays_warm(pool, bundles):
    spec = spec_for(bundles(task=COUNTER))
    answers = []
    starter = threading.Thread(target=lambda: answers.append(pool.invoke(spec, b"{}")))
    starter.start()
    starter.join()
    time.sleep(0.2)

    again = pool.invoke(spec, b"{}")

    assert again.outcome == "success" and json.loads(again.payload)["calls"] == 2
