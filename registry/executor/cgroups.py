"""cgroup v1 memory and pids groups for one environment.

The launcher attaches itself once per environment (moving a process between cgroups costs 5-17 ms
on kernels without CGROUP_FAVOR_DYNMODS, so never per invocation). Memory OOM in a cgroup is a
silent SIGKILL: it is detected through memory.oom_control, not memory.failcnt (which stays 0).
"""

from __future__ import annotations

import errno
import os
import signal
import time
from pathlib import Path

from registry.executor.host import CGROUP_V1
from registry.executor.processes import kill_until_gone

PARENT = "strata-executor"
PIDS_MAX = 1024


class EnvironmentCgroups:
    """Created without a memory limit (a launcher may join before its function is known);
    `limit_memory` sets it before the runtime starts."""

    def __init__(self, name: str, *, memory: bool, memsw: bool, pids: bool):
        self.name = name
        self.dirs: list[Path] = []
        self.memory: Path | None = None
        self.pids: Path | None = None
        self._memsw = memsw
        try:
            if memory:
                self.memory = self._make("memory")
            if pids:
                self.pids = self._make("pids")
                _write(self.pids / "pids.max", str(PIDS_MAX))
        except BaseException:
            self.remove()
            raise

    def _make(self, controller: str) -> Path:
        parent = Path(CGROUP_V1, controller, PARENT)
        parent.mkdir(exist_ok=True)
        path = parent / self.name
        path.mkdir()
        self.dirs.append(path)
        return path

    def limit_memory(self, mb: int) -> None:
        if self.memory is None:
            return
        limit = str(mb << 20)
        # memsw may never be below the memory limit; both start unlimited, so lower memory first.
        _write(self.memory / "memory.limit_in_bytes", limit)
        if self._memsw:
            _write(self.memory / "memory.memsw.limit_in_bytes", limit)

    def reset_peak(self) -> None:
        if self.memory is not None:
            _write(self.memory / "memory.max_usage_in_bytes", "0")

    def peak_mb(self) -> int | None:
        if self.memory is None:
            return None
        return -(-int(_read(self.memory / "memory.max_usage_in_bytes")) // (1 << 20))

    def oom_kills(self) -> int:
        if self.memory is None:
            return 0
        for line in _read(self.memory / "memory.oom_control").splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def pids_limit_hit(self) -> bool:
        if self.pids is None:
            return False
        return _read(self.pids / "pids.events").split()[-1] != "0"

    def procs(self) -> set[int]:
        found: set[int] = set()
        for path in self.dirs:
            try:
                found.update(int(p) for p in _read(path / "cgroup.procs").split())
            except FileNotFoundError:
                pass
        return found

    def kill_all(self, deadline_s: float = 5.0) -> None:
        """SIGKILL everything in the groups until they are empty."""
        kill_until_gone(self.procs, deadline_s)

    def remove(self) -> None:
        self.kill_all()
        for path in reversed(self.dirs):
            _rmdir_retrying(path)
        self.dirs.clear()


def sweep_stale() -> None:
    """Remove groups left by executor processes that died without cleaning up."""
    for controller in ("memory", "pids"):
        parent = Path(CGROUP_V1, controller, PARENT)
        if not parent.is_dir():
            continue
        for path in parent.iterdir():
            owner = path.name.split("-", 1)[0]
            if path.is_dir() and owner.isdigit() and not _alive(int(owner)):
                for pid in _read(path / "cgroup.procs").split():
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                _rmdir_retrying(path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
