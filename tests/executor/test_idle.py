"""Idle environments: frozen between invocations, CPU by memory, reclaimed when idle too long."""

from __future__ import annotations

import dataclasses
import json
import time

import pytest

from registry.executor import EnvironmentPool, processes
from registry.executor.cgroups import cpu_limits
from tests.executor.conftest import processes_of_uid, spec_for, strict_available
from tests.support import require_service
from tests.support.cpu import SPINNER_SOURCE, cpu_seconds_of_uid

SPINNER = {"app.py": SPINNER_SOURCE}


def _cpu_over(uid: int, seconds: float) -> float:
    before = cpu_seconds_of_uid(uid)
    time.sleep(seconds)
    return cpu_seconds_of_uid(uid) - before


def _freezers(host):
    """Every idle mechanism this host has: cgroup2 and v1 freezers, and SIGSTOP."""
    require_service(strict_available(host), "freezing needs root and cgroups")
    kinds = {
        "cgroup2": host,
        "cgroup1": dataclasses.replace(host, cgroup_freezer="cgroup1"),
        "sigstop": host.without("freezer"),
    }
    return kinds


@pytest.mark.parametrize("kind", ["cgroup2", "cgroup1", "sigstop", "sigstop-fallback"])
def test_idle__a_detached_busy_loop_gets_no_cpu_until_the_next_invocation(host, bundles, kind):
    if kind == "sigstop-fallback":
        require_service(host.root, "the fallback's uid drop needs root")
        chosen = host.without("bwrap", "cgroups", "loop")
    else:
        chosen = _freezers(host)[kind]
    # One vCPU's worth of memory, so the loop gets a fair share of a busy test machine.
    spec = spec_for(bundles(task=SPINNER), memory_mb=1769)
    with EnvironmentPool(host=chosen, idle_timeout_s=60) as pool:
        first = pool.invoke(spec, b'{"spin": true}')
        uid = json.loads(first.payload)["uid"]

        idle = _cpu_over(uid, 1.0)
        before = cpu_seconds_of_uid(uid)
        during = pool.invoke(spec, b'{"sleep": 0.6}')
        busy = cpu_seconds_of_uid(uid) - before
        idle_again = _cpu_over(uid, 0.5)

    assert first.outcome == during.outcome == "success"
    assert idle <= 0.02 and idle_again <= 0.02
    assert busy >= 0.05  # the loop still exists and runs while an invocation does
    expected = {"cgroup2": "cgroup2 freezer", "cgroup1": "cgroup-v1 freezer"}.get(kind, "SIGSTOP")
    assert first.mechanisms["idle"].startswith(expected)
    assert processes_of_uid(uid) == []


def test_idle__groups_without_a_freezer_name_the_processes_to_stop_without_a_host_sweep(
    host, bundles, monkeypatch
):
    spec = spec_for(bundles(task=SPINNER), memory_mb=1769)
    sweeps = []
    sweep = processes.uids_of_all
    with EnvironmentPool(host=_freezers(host)["sigstop"], idle_timeout_s=60) as pool:
        # From here on: a starting pool looks for what a crashed one left, once.
        monkeypatch.setattr(processes, "uids_of_all", lambda: sweeps.append(1) or sweep())
        first = pool.invoke(spec, b'{"spin": true}')
        uid = json.loads(first.payload)["uid"]
        idle = _cpu_over(uid, 0.5)
        second = pool.invoke(spec, b"{}")

    assert first.outcome == second.outcome == "success"
    assert first.mechanisms["idle"].startswith("SIGSTOP")
    assert idle <= 0.02
    assert sweeps == []
    assert processes_of_uid(uid) == []


def test_prewarm__a_provisioned_environment_waits_frozen(host, bundles):
    require_service(strict_available(host), "freezing needs root and cgroups")
    spec = spec_for(bundles(task=SPINNER))
    with EnvironmentPool(host=host) as pool:
        pool.prewarm(spec, 1)
        events = pool._specs[spec].idle[0]._cgroups.freezer / "cgroup.events"
        deadline = time.monotonic() + 2  # the kernel completes a freeze in the background
        while "frozen 1" not in events.read_text() and time.monotonic() < deadline:
            time.sleep(0.01)
        state = events.read_text()

        result = pool.invoke(spec, b"{}")

    assert "frozen 1" in state.split("\n")
    assert result.outcome == "success"


@pytest.mark.parametrize("kind", ["cgroup2", "cgroup1", "sigstop"])
def test_reaper__a_frozen_environment_with_a_busy_loop_is_destroyed(host, bundles, kind):
    chosen = _freezers(host)[kind]
    spec = spec_for(bundles(task=SPINNER))
    with EnvironmentPool(host=chosen, idle_timeout_s=0.3) as pool:
        uid = json.loads(pool.invoke(spec, b'{"spin": true}').payload)["uid"]
        deadline = time.monotonic() + 5
        while pool._specs[spec].idle and time.monotonic() < deadline:
            time.sleep(0.05)
        reaped = not pool._specs[spec].idle

    assert reaped
    assert processes_of_uid(uid) == []


def test_reaper__provisioned_environments_are_kept(host, bundles):
    require_service(strict_available(host), "strict isolation needs root, bubblewrap and cgroups")
    provisioned, on_demand = spec_for(bundles(task=SPINNER)), spec_for(bundles(task=SPINNER))
    with EnvironmentPool(host=host, idle_timeout_s=0.3) as pool:
        pool.prewarm(provisioned, 1)
        pool.invoke(provisioned, b"{}")
        pool.invoke(on_demand, b"{}")
        time.sleep(1.5)

        kept = len(pool._specs[provisioned].idle), len(pool._specs[on_demand].idle)

    assert kept == (1, 0)


def test_cpu_limits__shares_follow_memory_and_the_quota_is_at_least_one_vcpu():
    assert cpu_limits(1769) == (1024, 100_000)  # Lambda: 1769 MB is one vCPU
    assert cpu_limits(128) == (74, 100_000)
    assert cpu_limits(3538) == (2048, 200_000)
    assert cpu_limits(10240) == (5927, 578_858)
    assert cpu_limits(32)[0] == 18


def test_cpu_limits__an_environment_gets_its_shares_and_quota(host, bundles):
    require_service(strict_available(host) and host.cgroup_cpu, "needs the v1 cpu controller")
    spec = spec_for(bundles(task=SPINNER), memory_mb=3538)
    with EnvironmentPool(host=host) as pool:
        result = pool.invoke(spec, b"{}")
        group = pool._specs[spec].idle[0]._cgroups.cpu
        shares = int((group / "cpu.shares").read_text())
        quota = int((group / "cpu.cfs_quota_us").read_text())
        period = int((group / "cpu.cfs_period_us").read_text())

    assert (shares, quota, period) == (2048, 200_000, 100_000)
    assert result.mechanisms["cpu"] == "cgroup-v1 cpu.shares=2048, CFS quota 2.00 vCPU (hard)"
