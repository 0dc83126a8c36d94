"""A host uid of its own for every environment.

Distinct uids keep environments from signalling or reading each other, make RLIMIT_NPROC count
one environment only, and let the fallback kill an environment by sweeping its uid. A uid is
reserved by binding an abstract unix socket named after it: the reservation is visible to every
process on the host and vanishes by itself if the owner dies, so no lock files are left behind.
"""

from __future__ import annotations

import os
import random
import socket
import threading
from dataclasses import dataclass, field

from registry.executor.errors import SandboxError

DEFAULT_BASE = 2_100_000_000
DEFAULT_COUNT = 100_000


@dataclass
class SandboxUser:
    uid: int
    _lock: socket.socket | None = field(default=None, repr=False)

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None


_lock = threading.Lock()


def uid_range(environ=None) -> tuple[int, int]:
    """(first uid, how many) that sandboxes run as."""
    environ = os.environ if environ is None else environ
    base = int(environ.get("STRATA_SANDBOX_UID_BASE", DEFAULT_BASE))
    count = int(environ.get("STRATA_SANDBOX_UID_COUNT", DEFAULT_COUNT))
    return base, count


def try_reserve(uid: int) -> SandboxUser | None:
    """The reservation of `uid`, or None while another process holds it."""
    lock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        lock.bind(f"\0strata-executor-uid-{uid}")
    except OSError:
        lock.close()
        return None
    return SandboxUser(uid, lock)


def reserve_uid(environ=None) -> SandboxUser:
    base, count = uid_range(environ)
    with _lock:
        for _ in range(64):
            user = try_reserve(base + random.randrange(count))
            if user is not None:
                return user
    raise SandboxError("could not reserve a free sandbox uid (range exhausted)")
