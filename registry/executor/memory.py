"""The node's memory budget for execution environments, shared by every executor process of one
server.

gunicorn runs several workers, each with a pool of its own, so no pool alone can tell what the
node holds. The ledger is a small JSON file (under the server's data directory; a private one
for a pool on its own) guarded by flock: each process records the memory limits of the
environments it has started and not yet torn down, and what its waiting invocations want.
Entries of dead processes are ignored, so a crashed worker never holds memory for ever. Only
starting and tearing down an environment touches it: a warm invocation never does.

An environment counts its memory size, plus its /tmp size where /tmp lives in memory and is not
already charged to the environment's memory cgroup (see `footprint_mb`).
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path

from registry.executor.owners import Owner, owner_token
from registry.executor.plan import Plan
from registry.executor.spec import FunctionSpec

DEFAULT_FRACTION = 0.75
LEDGER_NAME = "executor-memory.json"
_TMPFS_MAGIC = 0x01021994
_RAMFS_MAGIC = 0x858458F6
# How long a waiting process's request for memory stands if it stops renewing it.
_WANT_TTL_S = 5.0


def host_memory_mb() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    raise OSError("MemTotal missing from /proc/meminfo")


def memory_backed(path: Path) -> bool:
    """Whether files under `path` live in RAM (tmpfs, ramfs)."""
    libc = ctypes.CDLL(None, use_errno=True)
    buffer = ctypes.create_string_buffer(256)  # struct statfs; f_type comes first
    if libc.statfs(os.fsencode(str(path)), buffer) != 0:
        return False
    return struct.unpack_from("l", buffer)[0] in (_TMPFS_MAGIC, _RAMFS_MAGIC)


def footprint_mb(spec: FunctionSpec, plan: Plan, tmp_in_memory: bool) -> int:
    """What one environment of `spec` may take of the host's memory: its memory size, and its
    /tmp when that is RAM outside the memory cgroup's limit: bwrap's tmpfs without a memory
    cgroup (with one, tmpfs pages count against the limit), or a loop image or private TMPDIR
    in a work directory on tmpfs."""
    tmp_counts = not plan.cgroup_memory if plan.bwrap and not plan.loop_tmp else tmp_in_memory
    return spec.memory_mb + (spec.tmp_mb if tmp_counts else 0)


class MemoryLedger:
    """`budget_mb` shared through the file at `path` by every process that opens it."""

    def __init__(self, path: Path, budget_mb: int, source: str = ""):
        self.path = Path(path)
        self.budget_mb = budget_mb
        self.source = source or f"{budget_mb} MB"
        self._lock = threading.Lock()  # flock excludes processes; this, the threads of one
        self._fd = -1
        self._seen: int | None = None  # the file's mtime when others last wanted nothing

    # ---- this process's environments --------------------------------------------------------

    def reserve(self, mb: int) -> int:
        """Take `mb` of the budget: 0 when done, else how many MB are missing."""
        with self._state() as state:
            missing = _used(state) + mb - self.budget_mb
            if missing > 0:
                return missing
            _mine(state)["reserved"] += mb
            return 0

    def release(self, mb: int, *, freeing: bool = False) -> None:
        """Give back what a torn-down environment held (`freeing`: one reclaimed for others)."""
        with self._state() as state:
            mine = _mine(state)
            mine["reserved"] = max(0, mine["reserved"] - mb)
            if freeing:
                mine["freeing"] = max(0, mine["freeing"] - mb)

    def used_mb(self) -> int:
        with self._state(write=False) as state:
            return _used(state)

    def forget(self) -> None:
        """This process holds nothing any more (its pool closed)."""
        with self._state() as state:
            state.pop(owner_token(), None)

    # ---- reclaiming idle environments across processes --------------------------------------

    def want(self, mb: int) -> None:
        """Say that this process's invocations wait for `mb` (0: none), so that the other
        processes reclaim idle environments for them."""
        with self._state() as state:
            mine = _mine(state)
            mine["wanted"] = mb
            mine["until"] = time.time() + _WANT_TTL_S if mb else 0

    def free_for_others(self, pick: Callable[[int], int]) -> None:
        """When other processes wait for more memory than is free or being freed, `pick(mb)`
        chooses idle environments of this process to tear down (it returns the MB chosen,
        which count as being freed until released with `freeing=True`)."""
        with self._lock:
            fd = self._open()
            if self._seen is not None and os.fstat(fd).st_mtime_ns == self._seen:
                return  # unchanged since nobody wanted anything: the common case, no lock
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                state = _load(fd)
                me, now = owner_token(), time.time()
                wanted = sum(
                    entry["wanted"]
                    for token, entry in state.items()
                    if token != me and entry.get("until", 0) > now
                )
                freeing = sum(entry["freeing"] for entry in state.values())
                deficit = wanted - (self.budget_mb - _used(state)) - freeing
                chosen = pick(deficit) if deficit > 0 else 0
                if chosen:
                    _mine(state)["freeing"] += chosen
                    _save(fd, state)
                self._seen = None if wanted else os.fstat(fd).st_mtime_ns
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    # ---- the file -----------------------------------------------------------------------------

    def _open(self) -> int:
        if self._fd < 0:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        return self._fd

    def _state(self, write: bool = True):
        return _Locked(self, write)


class _Locked:
    def __init__(self, ledger: MemoryLedger, write: bool):
        self._ledger, self._write = ledger, write

    def __enter__(self) -> dict:
        self._ledger._lock.acquire()
        try:
            self._fd = self._ledger._open()
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            self._state = _load(self._fd)
        except BaseException:
            if self._ledger._fd >= 0:
                fcntl.flock(self._ledger._fd, fcntl.LOCK_UN)
            self._ledger._lock.release()
            raise
        return self._state

    def __exit__(self, kind, value, traceback) -> None:
        try:
            if self._write and kind is None:
                _save(self._fd, self._state)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            self._ledger._lock.release()


def _load(fd: int) -> dict:
    """Entries of live processes only: a dead one's environments died with it (or are reaped
    by the next executor start)."""
    size = os.fstat(fd).st_size
    try:
        state = json.loads(os.pread(fd, size, 0) or b"{}")
    except ValueError:
        state = {}  # torn by a crash mid-write: every live process re-registers as it goes
    if not isinstance(state, dict):
        state = {}
    live = {}
    for token, entry in state.items():
        pid, _, start = token.partition(".")
        if pid.isdigit() and start.isdigit() and Owner(int(pid), int(start)).alive():
            live[token] = entry
    return live


def _save(fd: int, state: dict) -> None:
    data = json.dumps(state, separators=(",", ":")).encode()
    os.pwrite(fd, data, 0)
    os.ftruncate(fd, len(data))


def _mine(state: dict) -> dict:
    entry = state.setdefault(owner_token(), {})
    for key in ("reserved", "freeing", "wanted"):
        entry.setdefault(key, 0)
    return entry


def _used(state: dict) -> int:
    return sum(entry.get("reserved", 0) for entry in state.values())


def default_budget(fraction: float = DEFAULT_FRACTION, budget_mb: int | None = None):
    """(budget in MB, how it was set), from an absolute figure or a fraction of the host's RAM."""
    if budget_mb is not None:
        return budget_mb, f"{budget_mb} MB (set)"
    total = host_memory_mb()
    return int(total * fraction), f"{fraction:.0%} of the host's {total} MB"
