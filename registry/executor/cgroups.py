"""cgroup groups for one environment: v1 memory, pids and cpu, and a freezer (cgroup2's
cgroup.freeze where the unified hierarchy offers it, else the v1 freezer).

The launcher attaches itself once per environment (moving a process between cgroups costs 5-17 ms
on kernels without CGROUP_FAVOR_DYNMODS, so never per invocation). Memory OOM in a cgroup is a
silent SIGKILL: it is detected through memory.oom_control, not memory.failcnt (which stays 0).

Between invocations an environment is frozen, so nothing it left running gets CPU. Freezing does
not wait for the kernel to report "frozen": the write costs ~0.1 ms, the kernel completes it in
the background, and a thaw may come at any time. cgroup2 lets SIGKILL through to frozen tasks;
the v1 freezer does not, so killing thaws after signalling.
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from registry.executor.host import CGROUP_V1
from registry.executor.owners import owner_of_name, owner_token
from registry.executor.processes import kill_until_gone

log = logging.getLogger(__name__)

PARENT = "strata-executor"
PIDS_MAX = 1024
# Lambda gives one vCPU per 1769 MB of memory.
MB_PER_VCPU = 1769
CFS_PERIOD_US = 100_000
_UNIFIED = "unified"  # the cgroup2 mount beside the v1 controllers


class EnvironmentCgroups:
    """Created without a memory limit (a launcher may join before its function is known);
    `limit_memory` sets it before the runtime starts."""

    def __init__(
        self,
        name: str,
        *,
        memory: bool,
        memsw: bool,
        pids: bool,
        freezer: str | None = None,
        cpu: bool = False,
    ):
        self.name = name
        self.dirs: list[Path] = []
        self.memory: Path | None = None
        self.pids: Path | None = None
        self.cpu: Path | None = None
        self.freezer: Path | None = None
        self._freezer_kind = freezer
        self._memsw = memsw
        # The files every invocation writes or reads, kept open: an open and a close cost more
        # than the write, and each system call hands the GIL to another thread.
        self._descriptors: dict[str, _Kept] = {}
        self._descriptors_lock = threading.Lock()
        try:
            if memory:
                self.memory = self._make("memory")
            if pids:
                self.pids = self._make("pids")
                _write(self.pids / "pids.max", str(PIDS_MAX))
            if cpu:
                self.cpu = self._make("cpu")
            if freezer == "cgroup2":
                self.freezer = self._make(_UNIFIED)
            elif freezer == "cgroup1":
                self.freezer = self._make("freezer")
            if self.freezer is not None:
                state = "cgroup.freeze" if freezer == "cgroup2" else "freezer.state"
                self._keep_open("freeze", self.freezer / state)
            if self.memory is not None:
                self._keep_open("peak", self.memory / "memory.max_usage_in_bytes")
        except BaseException:
            self.remove()
            raise

    def _make(self, controller: str) -> Path:
        parent = Path(CGROUP_V1, controller, PARENT)
        parent.mkdir(exist_ok=True)
        path = parent / _dir_name(self.name)
        path.mkdir()
        self.dirs.append(path)
        return path

    def _keep_open(self, key: str, path: Path) -> None:
        self._descriptors[key] = _Kept.open(path)

    def _kept(self, key: str, write: bytes | None = None) -> bytes:
        # Under the lock, so that no write lands on a number that remove() closed meanwhile and
        # another open reused.
        with self._descriptors_lock:
            kept = self._descriptors.get(key)
            if kept is None:
                raise FileNotFoundError(f"the environment's cgroups are removed ({key})")
            if not kept.still_ours():
                # Closed under us (someone else's descriptor closed twice): never write to
                # whatever file has the number now; open ours again.
                log.warning("the descriptor of %s was closed under the executor", kept.path)
                kept = self._descriptors[key] = _Kept.open(kept.path)
            fd = kept.fd
            if write is not None:
                os.pwrite(fd, write, 0)
                return b""
            return os.pread(fd, 64, 0)

    def limit_memory(self, mb: int) -> None:
        if self.memory is None:
            return
        limit = str(mb << 20)
        # memsw may never be below the memory limit; both start unlimited, so lower memory first.
        _write(self.memory / "memory.limit_in_bytes", limit)
        if self._memsw:
            _write(self.memory / "memory.memsw.limit_in_bytes", limit)

    def limit_cpu(self, memory_mb: int) -> None:
        """Lambda's rule: CPU in proportion to memory. The shares split a busy host by memory;
        the quota (at least one vCPU, so small functions are not slowed on an idle host) keeps
        one environment from taking every core."""
        if self.cpu is None:
            return
        shares, quota = cpu_limits(memory_mb)
        _write(self.cpu / "cpu.cfs_period_us", str(CFS_PERIOD_US))
        _write(self.cpu / "cpu.cfs_quota_us", str(quota))
        _write(self.cpu / "cpu.shares", str(shares))

    def freeze(self) -> None:
        if self.freezer is not None:
            self._set_frozen(True)

    def thaw(self) -> None:
        if self.freezer is not None:
            self._set_frozen(False)

    def _set_frozen(self, frozen: bool) -> None:
        if self._freezer_kind == "cgroup2":
            self._kept("freeze", b"1" if frozen else b"0")
        else:
            self._kept("freeze", b"FROZEN" if frozen else b"THAWED")

    def reset_peak(self) -> None:
        if self.memory is not None:
            self._kept("peak", b"0")

    def peak_mb(self) -> int | None:
        if self.memory is None:
            return None
        return -(-int(self._kept("peak")) // (1 << 20))

    def oom_kills(self) -> int:
        if self.memory is None:
            return 0
        for line in _read(self.memory / "memory.oom_control").splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def procs(self) -> set[int]:
        found: set[int] = set()
        for path in self.dirs:
            try:
                found.update(int(p) for p in _read(path / "cgroup.procs").split())
            except FileNotFoundError:
                pass
        return found

    def kill_all(self, deadline_s: float = 5.0) -> bool:
        """SIGKILL everything in the groups until they are empty (frozen or not). Whether they
        came to be empty."""
        if self.freezer is not None:
            # Signal first, then thaw: the tasks die on waking and run none of their code.
            for pid in self.procs():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                self.thaw()
            except FileNotFoundError:
                pass  # the freezer was never opened: made, then its creation failed
        return kill_until_gone(self.procs, deadline_s)

    def remove(self) -> bool:
        """Kills what is in the groups and removes them. Whether every process that ever joined
        them is gone: a process cannot leave its groups (their files are root's), so an empty
        group leaves none of its processes anywhere else."""
        emptied = self.kill_all() and bool(self.dirs)
        with self._descriptors_lock:
            for kept in self._descriptors.values():
                if kept.still_ours():
                    os.close(kept.fd)
            self._descriptors.clear()
        for path in reversed(self.dirs):
            _rmdir_retrying(path)
        self.dirs.clear()
        return emptied


@dataclass(frozen=True)
class _Kept:
    """An open cgroup file, and what identifies it."""

    fd: int
    path: Path
    identity: tuple[int, int]

    @classmethod
    def open(cls, path: Path) -> _Kept:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        found = os.fstat(fd)
        return cls(fd, path, (found.st_dev, found.st_ino))

    def still_ours(self) -> bool:
        try:
            found = os.fstat(self.fd)
        except OSError:
            return False
        return (found.st_dev, found.st_ino) == self.identity


def parents() -> list[Path]:
    """The directories holding every environment's groups, one per controller."""
    paths = [Path(CGROUP_V1, c, PARENT) for c in ("memory", "pids", "cpu", "freezer", _UNIFIED)]
    return [path for path in paths if path.is_dir()]


def remove_stale(path: Path) -> None:
    """Remove a group its dead owner left: kill what is inside, thaw it so SIGKILL lands."""
    try:
        members = _read(path / "cgroup.procs").split()
    except FileNotFoundError:
        return  # another reaper was first
    for pid in members:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass
    for thaw, value in (("cgroup.freeze", "0"), ("freezer.state", "THAWED")):
        if (path / thaw).exists():  # cgroupfs refuses to create a file with EACCES
            try:
                _write(path / thaw, value)
            except FileNotFoundError:
                pass
    # Briefly: a group that will not empty is tried again by the next start, not waited for.
    _rmdir_retrying(path, deadline_s=1.0)


def _dir_name(name: str) -> str:
    """`name` ("<pid>-...") with its owner token in front, so reapers can tell a dead owner's
    groups from a live one's even once the pid is reused."""
    owner = owner_of_name(name)
    if owner is not None and owner.start is not None:
        return name
    pid, _, rest = name.partition("-")
    if pid == str(os.getpid()) and rest:
        return f"{owner_token()}-{rest}"
    return f"{owner_token()}-{name}"


def cpu_limits(memory_mb: int) -> tuple[int, int]:
    """(cpu.shares, cpu.cfs_quota_us) for an environment of `memory_mb`: shares scale the
    default 1024 (one vCPU) by memory / 1769 MB; the quota is max(1, memory / 1769) vCPUs."""
    shares = max(2, memory_mb * 1024 // MB_PER_VCPU)
    quota = max(CFS_PERIOD_US, memory_mb * CFS_PERIOD_US // MB_PER_VCPU)
    return shares, quota


def _rmdir_retrying(path: Path, deadline_s: float = 5.0) -> None:
    # bwrap's namespace init leaves a moment after bwrap itself: EBUSY until it is gone.
    end = time.monotonic() + deadline_s
    while True:
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY or time.monotonic() > end:
                raise
            time.sleep(0.002)


def _write(path: Path, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _read(path: Path) -> str:
    with open(path) as f:
        return f.read()
