"""What a test run left on the host: the suite fails when any of its processes, whether a pytest
worker or a server it started, ended without removing its mounts, loop devices, cgroups, work
directories or sandbox processes.

Other runs (and live servers) share the host, so only what this run made is counted: things
whose owner (named in the thing, registry/executor/owners.py) started after the run began and
is gone now, or is the process asking. A sandbox process counts when it started after the run
began and no live owner holds its uid. What crashed processes of another run that started later
left meanwhile would be counted too; any executor starting on the host reaps that at once.
"""

from __future__ import annotations

import os
import time

from registry.executor import processes, reaping, uids
from registry.executor.owners import Owner, process_start


def boot_ticks_now() -> int:
    """Now, in the clock of /proc/<pid>/stat's start times (ticks since boot)."""
    with open("/proc/uptime") as f:
        return int(float(f.read().split()[0]) * os.sysconf("SC_CLK_TCK"))


def left_since(since_ticks: int, grace_s: float = 5.0) -> list[reaping.Leftover]:
    """What this run left, waited for a moment: the kernel lets go of a lazily unmounted
    volume's loop device only after the last process using it has died."""
    deadline = time.monotonic() + grace_s
    while True:
        found = [item for item in reaping.find_leftovers() if _ours(item, since_ticks)]
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def _ours(item: reaping.Leftover, since_ticks: int) -> bool:
    if item.kind == "process":
        return _orphan_of_this_run(int(item.what), since_ticks)
    return item.owner is not None and _owned_by_this_run(item.owner, since_ticks)


def _owned_by_this_run(owner: Owner, since_ticks: int) -> bool:
    if owner.pid == os.getpid():
        return True
    return owner.start is not None and owner.start >= since_ticks and not owner.alive()


def _orphan_of_this_run(pid: int, since_ticks: int) -> bool:
    started, uid = process_start(pid), processes.uid_of(pid)
    if started is None or uid is None or started < since_ticks:
        return False
    user = uids.try_reserve(uid)
    if user is None:
        return False  # a live environment's
    user.release()
    return True


def describe(found: list[reaping.Leftover]) -> list[str]:
    return [f"{item.kind} {item.what}" for item in found]


def left_by(owners: set[int]) -> dict[str, list[str]]:
    """What the executors of these pids left, by kind ("process", "cgroup", "loop", ...)."""
    found: dict[str, list[str]] = {}
    for item in reaping.find_leftovers():
        if item.owner is not None and item.owner.pid in owners:
            found.setdefault(item.kind, []).append(item.what)
    return found


def wait_for(condition, timeout_s: float = 20.0):
    """Polls `condition` until it is truthy or the time is up; returns its last value."""
    deadline = time.monotonic() + timeout_s
    while not (found := condition()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found
