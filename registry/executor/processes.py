"""Process-tree helpers over /proc: memory high-water marks and sweeping a uid."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterable


def descendants(pid: int) -> list[int]:
    """`pid` and all its descendants (via /proc/PID/task/TID/children)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{current}/task/{tid}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
            except OSError:
                pass
    return found


def reset_peak(pid: int) -> None:
    # "5" resets VmHWM; works on our own children without any privilege.
    for member in descendants(pid):
        try:
            with open(f"/proc/{member}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass


def peak_mb(pid: int) -> int | None:
    """Sum of VmHWM over the tree: an upper bound when processes share pages."""
    total = 0
    for member in descendants(pid):
        try:
            with open(f"/proc/{member}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return -(-total // 1024) if total else None


def pids_of_uid(uid: int) -> list[int]:
    return [pid for pid, owner in uids_of_all() if owner == uid]


def uids_of_all() -> list[tuple[int, int]]:
    """(pid, uid) of every live process, counting a process under its real and its effective
    uid when they differ; zombies are left out (already dead, waiting to be reaped)."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            found.extend((int(name), uid) for uid in _uids(name))
    return found


def uid_of(pid: int) -> int | None:
    """The effective uid of a live process."""
    owned = _uids(str(pid))
    return owned[-1] if owned else None


def _uids(pid: str) -> list[int]:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("State:") and line.split()[1] in ("Z", "X"):
                    return []
                if line.startswith("Uid:"):
                    real, effective = int(line.split()[1]), int(line.split()[2])
                    return [real] if real == effective else [real, effective]
    except OSError:
        pass
    return []


def kill_uid(uid: int, deadline_s: float = 5.0) -> None:
    """SIGKILL every process of `uid` until none is left."""
    kill_until_gone(lambda: pids_of_uid(uid), deadline_s)


def kill_until_gone(pids: Callable[[], list[int]], deadline_s: float = 5.0) -> bool:
    """SIGKILL whatever `pids()` lists until it lists nothing (new forks are caught by the next
    round) or the deadline passes. Whether it came to list nothing."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        found = pids()
        if not found:
            return True
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.002)
    return False


def stop_all(pids: Callable[[], list[int]], deadline_s: float = 0.5) -> set[int]:
    """SIGSTOP whatever `pids()` lists until every listed process is stopped (a fork racing the
    sweep is caught by the next round) or the deadline passes. Returns every pid it saw, for
    `continue_all` (a stopped process cannot fork, so no other needs waking)."""
    end = time.monotonic() + deadline_s
    seen: set[int] = set()
    while True:
        listed = pids()
        seen.update(listed)
        running = [pid for pid in listed if _state(pid) not in ("T", "t", "Z", "X", None)]
        if not running or time.monotonic() > end:
            return seen
        for pid in running:
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                pass
        time.sleep(0.0005)


def continue_all(pids: Iterable[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass


def _state(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            # The command name may hold spaces and parentheses; the state follows its last ')'.
            return f.read().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return None
