"""Python runtimes forked from a builder process of their interpreter (forked_main.py) rather than
started as a new interpreter by bubblewrap.

setpriv, bubblewrap's processes and a fresh interpreter cost a cold start 7-9 ms of CPU more than
a fork of a builder that started once (26 against 33-35 ms of host CPU per cold invocation). The
builder runs as root; its child builds the sandbox bubblewrap would, from the same options
(sandbox.bwrap_options), then drops to the environment's uid, with an empty bounding set,
no_new_privs and the same seccomp filter, before the bootstrap runs (forked_main.py).

Only where nothing differs from an interpreter started for the function: the host's root and
x86_64, bubblewrap's plan with a uid of its own and the filter, the Runtime API in the sandbox's
network namespace, an interpreter under /usr, no prlimit step, none of the function's own
variables read by an interpreter or the dynamic loader at start-up (PYTHON*, LD_*, ...), and no
shared library where the runtime's LD_LIBRARY_PATH points. Every other case keeps bubblewrap.

Environments forked from one builder share its hash seed (which strings collide in a dict), so
a builder serves one account: per pool, interpreter and account.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import queue
import signal
import socket
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

from registry.executor import runtime_access
from registry.executor.errors import SandboxError
from registry.executor.plan import Plan
from registry.executor.spec import FunctionSpec

_MAIN = Path(__file__).with_name("forked_main.py")
# Read by the interpreter, the C library or the dynamic loader when a process starts: a forked
# runtime started before the function's variables were known would not see them.
_START_UP_PREFIXES = ("PYTHON", "LD_", "MALLOC_", "GLIBC_", "LC_")
_START_UP_NAMES = frozenset({"LANG", "LANGUAGE", "TZ", "AWS_LAMBDA_EXEC_WRAPPER"})
# The builder's environment: what every runtime's would be at its start (runtime_view.variables).
BUILDER_ENV = {"PATH": "/usr/local/bin:/usr/bin/:/bin", "LANG": "en_US.UTF-8", "TZ": ":UTC"}


def eligible(plan: Plan, spec: FunctionSpec, lang_prefix, rlimits: list[str]) -> bool:
    return bool(
        os.environ.get("STRATA_FORKED_RUNTIMES", "1") != "0"
        and os.geteuid() == 0
        and platform.machine() == "x86_64"
        and plan.bwrap
        and plan.drop_uid
        and plan.syscall_filter
        and plan.runtime_api == runtime_access.NETNS
        and spec.python_version
        and lang_prefix is None
        and not rlimits
        and not any(
            name.startswith(_START_UP_PREFIXES) or name in _START_UP_NAMES for name in spec.env
        )
        and not _ships_libraries(spec.bundle_dir, spec.opt_layers)
    )


@functools.lru_cache(maxsize=1024)
def _ships_libraries(bundle: Path, layers: tuple[Path, ...]) -> bool:
    """Whether the function brings shared libraries where its LD_LIBRARY_PATH points: the loader
    reads that variable once, when a process starts, so a fork would not search there. Bundles
    and layers do not change once prepared, so each is looked at once, not per cold start."""
    places = [bundle / "task", bundle / "task" / "lib", bundle / "opt" / "lib"]
    places += [layer / "lib" for layer in layers]
    for place in places:
        try:
            with os.scandir(place) as entries:
                if any(".so" in entry.name for entry in entries):
                    return True
        except OSError:
            continue  # not there
    return False


class ForkedProcess:
    """The Popen calls the executor makes on a launcher, for a process the builder forked: its
    exit status comes from the builder, signals go through a pidfd (never a reused pid)."""

    stdin = None

    def __init__(self, pid: int, pidfd: int):
        self.pid = pid
        self.returncode: int | None = None
        self._ended = threading.Event()
        self._lock = threading.Lock()  # a pidfd closed meanwhile could be another's number
        self._pidfd = pidfd  # the builder's, made before the child could be reaped

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._ended.wait(timeout):
            raise subprocess.TimeoutExpired(f"forked runtime {self.pid}", timeout)
        return self.returncode

    def kill(self) -> None:
        with self._lock:
            if self._pidfd >= 0:
                try:
                    signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def ended(self, status: int) -> None:
        with self._lock:
            self.returncode = os.waitstatus_to_exitcode(status)
            if self._pidfd >= 0:
                os.close(self._pidfd)
                self._pidfd = -1
        self._ended.set()


class Builder:
    """One builder process of an interpreter, started on a thread that lives as long as the pool
    (its parent-death signal follows the thread that spawned it)."""

    def __init__(self, interpreter: str, spawn: Callable):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            # The program comes on stdin: as every sandbox's pid 1, its command line is what
            # the function reads in /proc/1/cmdline, and it names no host path.
            self._proc = spawn(
                lambda: subprocess.Popen(
                    # -S as the runtime's own start, and no -I or -E: sys.flags is what a
                    # handler's child interpreters (multiprocessing) are started with.
                    [interpreter, "-S", "-", str(theirs.fileno())],
                    pass_fds=[theirs.fileno()],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    env={**BUILDER_ENV, "STRATA_BUILDER_DIR": str(_MAIN.parent)},
                    cwd="/",
                    start_new_session=True,
                )
            )
            self._proc.stdin.write(_MAIN.read_bytes())
            self._proc.stdin.close()
        except OSError as exc:
            ours.close()
            raise SandboxError(f"cannot start the runtime builder: {exc}") from None
        finally:
            theirs.close()
        self._sock = ours
        self._lock = threading.Lock()  # one spawn request at a time
        self._replies: queue.SimpleQueue = queue.SimpleQueue()
        self._children: dict[int, ForkedProcess] = {}
        self.reserved = 0  # launchers being made with it (Launchers): not to be stopped
        self.alive = True
        threading.Thread(target=self._read, name="strata-builder", daemon=True).start()

    def spawn(self, cgroups: list[Path], fds: list[int]) -> ForkedProcess:
        """A child in `cgroups` and a mount namespace of its own, waiting for its spec; `fds` are
        its log, info, block and spec descriptors (the caller keeps and closes its own)."""
        request = json.dumps({"op": "spawn", "cgroups": [str(d) for d in cgroups]}).encode()
        with self._lock:
            if not self.alive:
                raise SandboxError("the runtime builder has ended")
            try:
                socket.send_fds(self._sock, [request], fds)
            except OSError as exc:
                raise SandboxError(f"the runtime builder is gone: {exc}") from None
            reply = self._replies.get()
        if reply is None:
            raise SandboxError("the runtime builder ended while forking")
        if "pid" not in reply:
            raise SandboxError(f"the runtime builder refused: {reply.get('error')}")
        return reply["pid"]

    @property
    def children(self) -> int:
        """How many of its children live (closing the builder would end them)."""
        return len(self._children)

    def _read(self) -> None:
        try:
            while True:
                data, fds, _flags, _address = socket.recv_fds(self._sock, 1 << 16, 1)
                if not data:
                    break
                message = json.loads(data)
                if "exit" in message:
                    child = self._children.pop(message["exit"], None)
                    if child is not None:
                        child.ended(message["status"])
                elif "pid" in message:
                    if len(fds) == 1:
                        # Registered before the next message is read: its exit may be that one.
                        child = ForkedProcess(message["pid"], fds.pop())
                        self._children[message["pid"]] = child
                        self._replies.put({"pid": child})
                    else:
                        self._replies.put({"error": "no pidfd came with the child"})
                else:
                    self._replies.put(message)
                for fd in fds:
                    os.close(fd)
        except OSError:
            pass
        finally:
            self.alive = False
            self._replies.put(None)
            for child in list(self._children.values()):
                child.ended(signal.SIGKILL)  # the builder's end took its children
            self._children.clear()

    def close(self) -> None:
        self.alive = False
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        self._proc.wait()
