"""Memory admission: the environments of every process sharing a ledger never hold more memory
than its budget; past it idle environments go first, then an invocation waits briefly, then it is
throttled."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from registry.errors import ConcurrentInvocationLimitExceeded
from registry.executor import EnvironmentPool, SandboxError
from registry.executor.memory import MemoryLedger, footprint_mb
from registry.executor.plan import Plan
from tests.executor.conftest import spec_for, strict_available
from tests.support import require_service

MB = 128
HANDLER = {
    "app.py": """
    import os, time
    def handler(event, context):
        time.sleep(event.get("sleep", 0))
        return {"pid": os.getpid(), "uid": os.getuid()}
"""
}


@pytest.fixture(scope="module")
def chosen(host):
    """Strict isolation where the host allows it (the sandboxes the server runs), else the
    fallback's uid drop."""
    require_service(host.root, "the executor's uid drop needs root")
    return host if strict_available(host) else host.without("bwrap", "cgroups", "loop")


def _spec(bundles, name: str, **kw):
    return spec_for(bundles(task=HANDLER), function_name=name, memory_mb=MB, **kw)


def _live(pool) -> set[str]:
    return {s.function_name for s, e in pool._specs.items() if e.count}


def _wait_busy(pool, count: int) -> None:
    deadline = time.monotonic() + 10
    while sum(len(e.busy) for e in pool._specs.values()) < count:
        assert time.monotonic() < deadline, "the invocations never started"
        time.sleep(0.01)


def _in_background(pool, spec, event: dict) -> threading.Thread:
    thread = threading.Thread(target=pool.invoke, args=(spec, json.dumps(event).encode()))
    thread.start()
    return thread


def test_pool__past_the_memory_budget_idle_environments_go_first_least_recently_used(
    chosen, bundles, tmp_path
):
    f0, f1, f2, f3 = (_spec(bundles, f"f{i}") for i in range(4))
    with EnvironmentPool(host=chosen, memory_budget_mb=3 * MB) as pool:
        for spec in (f0, f1, f2):
            pool.invoke(spec, b"{}")
        pool.invoke(f0, b"{}")  # now f1 is the least recently used

        result = pool.invoke(f3, b"{}")
        live, used = _live(pool), pool.memory_used_mb()

    assert result.outcome == "success"
    assert live == {"f0", "f2", "f3"}
    assert used == 3 * MB


def test_pool__with_every_environment_busy_an_invocation_waits_then_is_throttled(chosen, bundles):
    holders, late = [_spec(bundles, f"h{i}") for i in range(2)], _spec(bundles, "late")
    with EnvironmentPool(host=chosen, memory_budget_mb=2 * MB, memory_wait_s=0.4) as pool:
        threads = [_in_background(pool, spec, {"sleep": 1.5}) for spec in holders]
        _wait_busy(pool, 2)

        started = time.monotonic()
        with pytest.raises(ConcurrentInvocationLimitExceeded) as refused:
            pool.invoke(late, b"{}")
        waited = time.monotonic() - started
        for thread in threads:
            thread.join()
        after = pool.invoke(late, b"{}")  # once they are idle, one of them makes room

    assert refused.value.reason == "ConcurrentInvocationLimitExceeded"
    assert "memory" in refused.value.message and f"{2 * MB} MB" in refused.value.message
    assert 0.35 <= waited < 2.0
    assert after.outcome == "success"


def test_pool__past_the_budget_an_invocation_takes_its_functions_environment_freed_in_the_wait(
    chosen, bundles
):
    spec = _spec(bundles, "one")
    with EnvironmentPool(host=chosen, memory_budget_mb=MB, memory_wait_s=3.0) as pool:
        first = json.loads(pool.invoke(spec, b"{}").payload)
        holder = _in_background(pool, spec, {"sleep": 0.5})
        _wait_busy(pool, 1)

        second = json.loads(pool.invoke(spec, b"{}").payload)
        holder.join()

    assert second["pid"] == first["pid"]  # the same warm environment, not a throttle


def test_pool__provisioned_environments_are_never_reclaimed_for_memory(chosen, bundles):
    provisioned, other, third = (_spec(bundles, f"p{i}") for i in range(3))
    with EnvironmentPool(host=chosen, memory_budget_mb=2 * MB, memory_wait_s=0.2) as pool:
        pool.prewarm(provisioned, 1)
        pool.invoke(other, b"{}")

        pool.invoke(third, b"{}")
        live = _live(pool)
        with pytest.raises(ConcurrentInvocationLimitExceeded) as refused:
            pool.prewarm(other, 2)

    assert live == {"p0", "p2"}
    assert "provisioned concurrency of 2" in refused.value.message


def test_pool__environments_that_fail_to_start_give_their_memory_back(chosen, bundles):
    broken = spec_for(
        bundles(task={"app.py": "raise RuntimeError('init fails')\n"}),
        function_name="broken",
        memory_mb=MB,
    )
    healthy = _spec(bundles, "healthy")
    with EnvironmentPool(host=chosen, memory_budget_mb=3 * MB) as pool:
        pool.invoke(healthy, b"{}")  # holds its share, idle
        with pytest.raises(SandboxError):
            pool.prewarm(broken, 2)
        failed = pool.invoke(broken, b"{}")
        deadline = time.monotonic() + 5
        while pool.memory_used_mb() != MB and time.monotonic() < deadline:
            time.sleep(0.02)
        used = pool.memory_used_mb()

    assert failed.outcome == "init_error"
    assert used == MB  # the healthy one's share only: nothing leaked, nothing given back twice


def test_pool__a_function_larger_than_the_whole_budget_is_refused_at_once(chosen, bundles):
    big = spec_for(bundles(task=HANDLER), function_name="big", memory_mb=4 * MB)
    with EnvironmentPool(host=chosen, memory_budget_mb=3 * MB, memory_wait_s=5.0) as pool:
        started = time.monotonic()
        with pytest.raises(ConcurrentInvocationLimitExceeded):
            pool.invoke(big, b"{}")

    assert time.monotonic() - started < 1.0


def test_pool__concurrent_invocations_of_one_version_are_not_capped(chosen, bundles):
    spec = _spec(bundles, "wide")
    with EnvironmentPool(host=chosen, memory_budget_mb=12 * MB) as pool:
        answers = []
        threads = [
            threading.Thread(target=lambda: answers.append(pool.invoke(spec, b'{"sleep": 1}')))
            for _ in range(12)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        environments = pool._specs[spec].count

    assert [a.outcome for a in answers] == ["success"] * 12
    assert environments == 12


# ---- the ledger across processes ------------------------------------------------------------

OTHER_PROCESS = """
import json, sys
from pathlib import Path
from registry.executor import EnvironmentPool, FunctionSpec, HostCapabilities
host = HostCapabilities.detect()
if not (host.bwrap and host.cgroup_memory and host.cgroup_pids):
    host = host.without("bwrap", "cgroups", "loop")
bundle, ledger, budget = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
spec = FunctionSpec(bundle, "app.handler", "python3.11", function_name="theirs", memory_mb=128)
with EnvironmentPool(host=host, memory_budget_mb=budget, memory_ledger=ledger) as pool:
    pool.invoke(spec, b"{}")
    print("idle", flush=True)
    sys.stdin.readline()
    print(json.dumps({"idle": len(pool._specs[spec].idle)}), flush=True)
"""


def test_ledger__two_pools_in_two_processes_share_one_budget(chosen, bundles, tmp_path):
    ledger = tmp_path / "memory.json"
    bundle = bundles(task=HANDLER)
    other = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(OTHER_PROCESS), str(bundle), str(ledger), "256"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    try:
        assert other.stdout.readline().strip() == "idle"
        mine, busy_one = _spec(bundles, "mine"), _spec(bundles, "busy")
        with EnvironmentPool(
            host=chosen, memory_budget_mb=2 * MB, memory_ledger=ledger, memory_wait_s=3.0
        ) as pool:
            holder = _in_background(pool, busy_one, {"sleep": 2})
            _wait_busy(pool, 1)
            shared_before = pool.memory_used_mb()

            started = time.monotonic()
            result = pool.invoke(mine, b"{}")  # only the other process has an idle environment
            waited = time.monotonic() - started
            shared_after = pool.memory_used_mb()
            holder.join()
        other.stdin.write("\n")
        other.stdin.flush()
        theirs = json.loads(other.stdout.readline())
    finally:
        other.stdin.close()
        other.wait(timeout=30)

    assert shared_before == 2 * MB  # one environment in each process
    assert result.outcome == "success" and waited < 1.5
    assert theirs == {"idle": 0}  # its reaper gave its idle environment up for us
    assert shared_after == 2 * MB
    assert other.returncode == 0


def test_ledger__entries_of_dead_processes_are_ignored(tmp_path):
    path = tmp_path / "memory.json"
    dead = _dead_token()
    path.write_text(json.dumps({dead: {"reserved": 1000, "freeing": 0, "wanted": 0}}))
    ledger = MemoryLedger(path, 300)

    missing = ledger.reserve(200)
    used = ledger.used_mb()
    ledger.close()

    assert missing == 0 and used == 200


def _dead_token() -> str:
    child = subprocess.Popen(["true"])
    child.wait()
    return f"{child.pid}.1"


@pytest.mark.parametrize(
    "bwrap, loop_tmp, cgroup_memory, tmp_in_memory, expected",
    [
        ("/usr/bin/bwrap", True, True, False, MB),  # loop image on disk
        ("/usr/bin/bwrap", True, True, True, MB + 512),  # loop image on a tmpfs
        ("/usr/bin/bwrap", False, True, False, MB),  # bwrap's tmpfs, charged to the cgroup
        ("/usr/bin/bwrap", False, False, False, MB + 512),  # bwrap's tmpfs, no memory cgroup
        (None, False, False, False, MB),  # private TMPDIR on disk
        (None, False, False, True, MB + 512),  # private TMPDIR on a tmpfs
    ],
)
def test_footprint__counts_tmp_only_where_it_is_memory_outside_the_limit(
    bundles, bwrap, loop_tmp, cgroup_memory, tmp_in_memory, expected
):
    spec = spec_for(bundles(task=HANDLER), memory_mb=MB, tmp_mb=512)
    plan = Plan(
        "best-effort", bwrap, cgroup_memory, False, False, loop_tmp, False, False, False, False
    )

    assert footprint_mb(spec, plan, tmp_in_memory) == expected
