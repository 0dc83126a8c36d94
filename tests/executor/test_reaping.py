"""Reaping what crashed executors left: sandboxes, cgroups, sandbox-uid processes, loop-mounted
/tmp volumes with their loop devices and images, and work directories; never a live one's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from registry.executor import EnvironmentPool, reaping
from registry.executor.owners import Owner, owner_of_name, owner_token, process_start
from registry.executor.processes import pids_of_uid
from tests.executor.conftest import spec_for, strict_available
from tests.support import require_service
from tests.support.functions import create, handler_zip, invoke
from tests.support.leftovers import left_by, wait_for

SLEEPER = """
import time

def handler(event, context):
    time.sleep(60)
"""
ECHO = """
def handler(event, context):
    return event
"""

DETACHES = """
import os, subprocess

def handler(event, context):
    subprocess.Popen(["sleep", "300"], start_new_session=True)
    return os.getuid()
"""
FALLBACK_POOL_THEN_WAIT = """
import sys, time
from pathlib import Path
from registry.executor import EnvironmentPool, FunctionSpec, HostCapabilities

spec = FunctionSpec(bundle_dir=Path(sys.argv[1]), handler="app.handler", runtime="python3.11",
                    isolation="best-effort")
pool = EnvironmentPool(host=HostCapabilities.detect().without("bwrap", "cgroups", "loop"))
print(pool.invoke(spec, b"{}").payload.decode(), flush=True)
time.sleep(600)
"""

POOL_THEN_WAIT = """
import sys, threading, time
from pathlib import Path
from registry.executor import EnvironmentPool, FunctionSpec

def spec(bundle):
    return FunctionSpec(bundle_dir=Path(bundle), handler="app.handler", runtime="python3.11",
                        isolation="best-effort", timeout_s=120)

pool = EnvironmentPool()
pool.invoke(spec(sys.argv[1]), b"{}")  # warm: idle, frozen
threading.Thread(target=pool.invoke, args=(spec(sys.argv[2]), b"{}"), daemon=True).start()
time.sleep(1)  # busy: the sleeper runs
print("ready", flush=True)
time.sleep(600)
"""


def _descendants(pid: int) -> set[int]:
    from registry.executor.processes import descendants

    return set(descendants(pid))


def test_owner__a_reused_pid_does_not_pass_for_the_dead_owner():
    mine = owner_of_name(f"{owner_token()}-x")

    assert mine == Owner(os.getpid(), process_start(os.getpid()))
    assert mine.alive()
    assert not Owner(os.getpid(), mine.start + 1).alive()


def test_reap_stale__a_killed_pool_is_reaped_and_a_live_one_left_alone(host, bundles):
    require_service(strict_available(host) and host.loop_tmp, "needs root, bwrap, cgroups, loop")
    echo, sleeper = bundles(task={"app.py": ECHO}), bundles(task={"app.py": SLEEPER})
    with EnvironmentPool(host=host) as live:
        live.invoke(spec_for(echo), b"{}")
        killed = subprocess.Popen(
            [sys.executable, "-c", POOL_THEN_WAIT, str(echo), str(sleeper)],
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        assert killed.stdout.readline() == b"ready\n"
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait()
        left = left_by({killed.pid})
        # Its /tmp volumes were mounted in its sandboxes' namespaces only, so they went with
        # them; their loop devices may still be letting go. Any executor starting on the host
        # meanwhile (another test's) may already have reaped some of the rest.
        assert left.keys() <= {"cgroup", "workdir", "loop", "process"}, left

        reaping.reap_stale()

        assert wait_for(lambda: not left_by({killed.pid})), left_by({killed.pid})
        assert {"loop", "cgroup", "workdir"} <= left_by({os.getpid()}).keys()
        assert live.invoke(spec_for(echo), b'{"still": "warm"}').payload == b'{"still": "warm"}'


def test_reap_stale__processes_of_a_sandbox_uid_nobody_holds_are_killed(host, bundles):
    require_service(host.root, "the uid drop needs root")
    killed = subprocess.Popen(
        [sys.executable, "-c", FALLBACK_POOL_THEN_WAIT, str(bundles(task={"app.py": DETACHES}))],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    uid = int(killed.stdout.readline())
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    assert pids_of_uid(uid), "the detached sleep outlived its pool"

    reaping.reap_stale()

    assert wait_for(lambda: not pids_of_uid(uid), timeout_s=5)


@pytest.mark.parametrize("kind", ["cgroup2", "cgroup1"])
def test_reap_stale__frozen_groups_of_a_dead_executor_are_emptied_and_removed(host, kind):
    from pathlib import Path

    from registry.executor import cgroups

    require_service(strict_available(host), "needs root and cgroups")
    dead = subprocess.Popen(["/bin/true"])
    dead.wait()  # a pid no executor has any more
    group = cgroups.EnvironmentCgroups(
        f"{Owner(dead.pid, 1).token}-stale", memory=False, memsw=False, pids=False, freezer=kind
    )
    sleeper = subprocess.Popen(
        ["/bin/sh", "-c", f"echo $$ > {group.freezer}/cgroup.procs; exec sleep 60"]
    )
    deadline = time.monotonic() + 5
    while not group.procs() and time.monotonic() < deadline:
        time.sleep(0.01)
    group.freeze()

    reaping.reap_stale()
    sleeper.wait(timeout=5)

    assert not Path(group.freezer).exists()
    assert sleeper.returncode == -9


def test_a_killed_server__leaves_its_sandboxes_and_the_next_start_reaps_them(
    host, tmp_path, request
):
    from tests.support.server import StrataServer, backend_env

    require_service(strict_available(host) and host.loop_tmp, "needs root, bwrap, cgroups, loop")
    server = StrataServer(data_dir=tmp_path, env=backend_env("sqlite-fs", tmp_path, request))
    server.start()
    try:
        lam = server.client()
        create(lam, "echo", code=handler_zip(ECHO))
        create(lam, "sleeper", code=handler_zip(SLEEPER), Timeout=120)
        invoke(lam, "echo", {"warm": True})
        lam.invoke(FunctionName="sleeper", InvocationType="Event", Payload=b"{}")
        workers = _descendants(server.process.pid)
        assert wait_for(lambda: len(left_by(workers).get("process", [])) >= 2)

        os.killpg(server.process.pid, signal.SIGKILL)  # master, workers, and no cleanup
        server.process.wait()
        assert wait_for(lambda: not any(process_start(pid) for pid in workers))
        left = left_by(workers)  # partly reaped already, maybe, by another executor's start
        assert left.keys() <= {"cgroup", "workdir", "loop", "process"}, left

        server.start()

        assert wait_for(lambda: not left_by(workers)), left_by(workers)
        assert invoke(server.client(), "echo", {"again": 1})[1] == {"again": 1}
    finally:
        server.stop()
