"""Who made a name: every name an executor process gives something that may outlive it (cgroups,
work directories) starts with its owner token "<pid>.<start>", the start time in clock ticks since
boot (field 22 of /proc/<pid>/stat), so that a reused pid never passes for a dead owner."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

_TOKEN = re.compile(r"^(\d+)(?:\.(\d+))?-")


@dataclass(frozen=True)
class Owner:
    pid: int
    start: int | None  # clock ticks since boot; None in names made before tokens had it

    @property
    def token(self) -> str:
        return f"{self.pid}.{self.start}"

    def alive(self) -> bool:
        started = process_start(self.pid)
        return started is not None and self.start in (started, None)


def process_start(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat (None once the process is gone or a zombie)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            # The command name may hold spaces and parentheses; fields restart after its ')'.
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return None
    if not fields or fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


_mine: Owner | None = None


def owner_token() -> str:
    """This process's token (computed again after a fork, which changes the pid)."""
    global _mine
    if _mine is None or _mine.pid != os.getpid():
        pid = os.getpid()
        _mine = Owner(pid, process_start(pid) or 0)
    return _mine.token


def owner_of_name(name: str) -> Owner | None:
    """The owner encoded at the start of a cgroup's name: "<pid>.<start>-...", or "<pid>-..."
    as cgroups were named before (trusted as before: a reused pid keeps them)."""
    match = _TOKEN.match(name)
    if match is None:
        return None
    return Owner(int(match[1]), int(match[2]) if match[2] else None)
