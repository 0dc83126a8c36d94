"""Launchers: an environment's first process, started before its function is known.

Moving a process into a cgroup costs 5-17 ms when it happens rarely (cgroup migration waits for
an RCU grace period), which would be a third of a cold start. So a launcher is a shell that joins
fresh cgroups ahead of time and then waits on stdin for the rest of its launch script: mounts,
the uid drop and the sandbox. The pool keeps one spare launcher per cgroup shape ready;
a cold start takes it and only writes the script. Without preexec_fn, spawning is safe from any
thread.

Every launcher is spawned by one of the pool's own long-lived threads: bwrap's --die-with-parent
(PR_SET_PDEATHSIG) fires when the *thread* that forked it ends, so a sandbox spawned from a
request's thread would be killed, idle and warm, as soon as that thread went away.

As root, each launcher gets a private mount namespace of its own, in which the executor makes the
environment's mounts before handing over the script (mountns.py).

A Python runtime that may be forked (forked.py) has no shell: its launcher is a child of the
runtime builder, which joins the groups itself, and is handed a spec instead of a script.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import shlex
import subprocess
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from registry.executor.cgroups import EnvironmentCgroups
from registry.executor.errors import SandboxError
from registry.executor.forked import Builder
from registry.executor.logs import LogPipe
from registry.executor.mountns import Mount, MountNamespaces

# The whole environment of every step outside the sandbox: nothing of the function's, whose
# variables could name a library or interpreter for a root process to load.
LAUNCH_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
# Builders beyond this many are stopped once they have no environment left, least recent first.
MAX_IDLE_BUILDERS = 8
READY_TIMEOUT_S = 10.0
_F_SETPIPE_SZ = 1031
_F_GETPIPE_SZ = 1032


class Launcher:
    def __init__(
        self,
        *,
        memory: bool,
        memsw: bool,
        pids: bool,
        freezer: str | None = None,
        cpu: bool = False,
        spawn: Callable = lambda start: start(),
        group: str = "",
        builder: Builder | None = None,
    ):
        # `group` names the pool the launcher serves, inside its cgroups' names.
        self.name = f"{os.getpid()}-{group}{uuid.uuid4().hex[:10]}"
        self.cgroups = EnvironmentCgroups(
            self.name, memory=memory, memsw=memsw, pids=pids, freezer=freezer, cpu=cpu
        )
        self.logs = LogPipe()
        # bwrap waits for a byte on block_fd and reports the sandbox pid on info_fd: the fds
        # have the same numbers in the launcher, so they can be named in its script later.
        # What must not show in any argv (bwrap's options, the function's variables) comes on
        # args_fd, and bwrap's seccomp program on seccomp_fd; both are written at launch.
        # In this order, each passed end lies beside one of the worker's own ends, never beside
        # another passed one: subprocess closes the gaps between passed descriptors with
        # close_range, which two adjacent ones make fail, and it then lists /proc/self/fd and
        # closes each of the worker's descriptors in turn (hundreds, in a burst) per launcher.
        self.block_fd, self.block_w = os.pipe2(os.O_CLOEXEC)
        self.args_fd, self.args_w = os.pipe2(os.O_CLOEXEC)
        self.seccomp_fd, self.seccomp_w = os.pipe2(os.O_CLOEXEC)
        self.info_r, self.info_fd = os.pipe2(os.O_CLOEXEC)
        self.ready = -1
        if builder is not None:
            self._fork(builder)
            return
        # The shell reads its script from stdin as it comes: the joins now, the rest at launch.
        joins = "".join(
            f"echo $$ > {shlex.quote(str(d))}/cgroup.procs || exit 125\n" for d in self.cgroups.dirs
        )
        try:
            self.proc = spawn(
                lambda: subprocess.Popen(
                    ["/bin/sh", "-s"],
                    stdin=subprocess.PIPE,
                    stdout=self.logs.write_fd,
                    stderr=self.logs.write_fd,
                    env=LAUNCH_ENV,
                    cwd="/",
                    start_new_session=True,
                    pass_fds=[self.info_fd, self.block_fd, self.args_fd, self.seccomp_fd],
                )
            )
        except OSError as exc:
            self.discard()
            raise SandboxError(f"cannot start a launcher shell: {exc}") from None
        finally:
            for fd in (self.info_fd, self.block_fd, self.args_fd, self.seccomp_fd):
                os.close(fd)
        if joins:
            try:
                self.proc.stdin.write(joins.encode())
                self.proc.stdin.flush()
            except BrokenPipeError:
                pass  # the shell died; the sandbox start reports it
        self.logs.start()

    def _fork(self, builder: Builder) -> None:
        """The builder's child in place of a shell: it joins the cgroups itself and waits for
        its spec on args_fd. It says on `ready` when it has its own mount namespace."""
        self.ready, ready_w = os.pipe2(os.O_CLOEXEC)
        passed = (self.logs.write_fd, self.info_fd, self.block_fd, self.args_fd, ready_w)
        try:
            self.proc = builder.spawn(self.cgroups.dirs, list(passed))
        except SandboxError:
            self.discard()
            raise
        finally:
            for fd in (self.info_fd, self.block_fd, self.args_fd, self.seccomp_fd, ready_w):
                os.close(fd)
        self.logs.start()

    def wait_ready(self, timeout_s: float) -> None:
        """Until a forked launcher has a mount namespace of its own (mounts go there next)."""
        if self.ready < 0:
            return
        waiting = select.poll()
        waiting.register(self.ready, select.POLLIN)
        got = os.read(self.ready, 1) if waiting.poll(timeout_s * 1000) else b""
        os.close(self.ready)
        self.ready = -1
        if not got:
            raise SandboxError("the runtime builder's child ended before it was ready")

    def launch_forked(self, spec: dict) -> None:
        """Hand the builder's child its spec (forked_main.py)."""
        self._send_private(json.dumps(spec).encode(), b"")

    def launch(
        self,
        argv: list[str],
        cwd: str,
        *,
        private: bytes = b"",
        private_on_stdin: bool = False,
        seccomp: bytes = b"",
    ) -> None:
        """Hand the launcher its script: it enters `cwd` and execs `argv` with LAUNCH_ENV.
        `private` goes on args_fd (for bwrap's --args), or with `private_on_stdin` becomes the
        chain's stdin (root reopens the pipe there; the unprivileged end of the chain could not);
        `seccomp` goes on seccomp_fd."""
        self._send_private(private, seccomp)
        stdin = f"/dev/fd/{self.args_fd}" if private_on_stdin else "/dev/null"
        lines = [
            f"cd {shlex.quote(cwd)} || exit 125",
            "exec " + " ".join(map(shlex.quote, argv)) + f" <{stdin}",
        ]
        try:
            self.proc.stdin.write(("\n".join(lines) + "\n").encode())
            self.proc.stdin.close()
        except BrokenPipeError:
            pass  # the launcher died (cgroup join failed); the sandbox start reports it

    def _send_private(self, private: bytes, seccomp: bytes) -> None:
        args_w, seccomp_w, self.args_w, self.seccomp_w = self.args_w, self.seccomp_w, -1, -1
        try:
            _send(args_w, private)
        finally:
            _send(seccomp_w, seccomp)

    def release_block(self) -> None:
        """Let a sandbox waiting on block_fd start its runtime (or drop the unused pipe)."""
        if self.block_w >= 0:
            try:
                os.write(self.block_w, b"x")
            except BrokenPipeError:
                pass
            os.close(self.block_w)
            self.block_w = -1

    def close_info(self) -> None:
        if self.info_r >= 0:
            os.close(self.info_r)
            self.info_r = -1
        if self.ready >= 0:
            os.close(self.ready)
            self.ready = -1

    def discard(self) -> None:
        """For a launcher that was never handed to an environment."""
        proc = getattr(self, "proc", None)
        if proc is not None:
            proc.kill()
            proc.wait()
            if proc.stdin:
                proc.stdin.close()
        self.release_block()
        self.close_info()
        self._send_private(b"", b"")
        self.cgroups.remove()
        self.logs.close()


def _send(fd: int, data: bytes) -> None:
    """Write all of `data` into the fresh pipe `fd` and close it. Its reader starts only after
    the launch script, so the pipe must hold all of it: it is grown when needed (a user past the
    kernel's pipe-user-pages-soft gets one-page pipes), and a pipe that cannot grow is an error
    rather than a write that blocks for ever."""
    if fd < 0:
        return
    try:
        if len(data) > fcntl.fcntl(fd, _F_GETPIPE_SZ):
            try:
                fcntl.fcntl(fd, _F_SETPIPE_SZ, len(data))
            except OSError:
                raise SandboxError(
                    f"the sandbox's arguments ({len(data)} bytes) do not fit in a pipe"
                ) from None
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except BrokenPipeError:
        pass  # the launcher died (cgroup join failed); the sandbox start reports it
    finally:
        os.close(fd)


class Launchers:
    """One spare launcher per cgroup shape, replaced in the background whenever one is taken."""

    def __init__(self, spawners: int = 2, *, private_mounts: bool | None = None):
        # Idle threads of an executor live until its shutdown (see the module's docstring).
        self._spawner = ThreadPoolExecutor(spawners, thread_name_prefix="strata-spawn")
        if private_mounts is None:
            private_mounts = os.geteuid() == 0
        self._namespaces = MountNamespaces() if private_mounts else None
        self._spares: dict[tuple, Launcher] = {}
        self._builders: dict[tuple[str, str], Builder] = {}
        self.group = uuid.uuid4().hex[:6]
        self._preparing: set[tuple] = set()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False

    def take(
        self,
        *,
        memory: bool,
        memsw: bool,
        pids: bool,
        freezer: str | None = None,
        cpu: bool = False,
        forked: tuple[str, str] | None = None,
    ) -> Launcher:
        """`forked` names the interpreter and account whose builder forks the launcher
        (forked.py)."""
        shape = (memory, memsw, pids, freezer, cpu, forked)
        with self._lock:
            spare = self._spares.pop(shape, None)
        if spare is not None and spare.proc.poll() is not None:
            spare.discard()  # ended while it waited (with its builder, say)
            spare = None
        launcher = spare or self._new(shape)
        if memory or pids or freezer or cpu:  # without cgroups nothing is won ahead of time
            self._prepare(shape)
        return launcher

    def _prepare(self, shape) -> None:
        with self._lock:
            if self._closed or shape in self._spares or shape in self._preparing:
                return
            self._preparing.add(shape)
            thread = threading.Thread(
                target=self._make, args=(shape,), name="strata-launcher", daemon=True
            )
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _new(self, shape) -> Launcher:
        memory, memsw, pids, freezer, cpu, forked = shape
        builder = self._builder(forked) if forked else None
        try:
            return Launcher(
                memory=memory,
                memsw=memsw,
                pids=pids,
                freezer=freezer,
                cpu=cpu,
                spawn=self._spawn,
                group=self.group,
                builder=builder,
            )
        finally:
            if builder is not None:
                with self._lock:
                    builder.reserved -= 1

    def _builder(self, key: tuple[str, str]) -> Builder:
        """The builder of an interpreter for one account: forks of one builder share its hash
        seed, which must not reach another tenant's runtime."""
        idle, spares = [], []
        with self._lock:
            builder = self._builders.pop(key, None)
            if builder is not None and not builder.alive:
                idle.append(builder)
                builder = None
            if builder is None:
                builder = Builder(key[0], self._spawn_plain)
            builder.reserved += 1  # not to be stopped before its launcher is made (_new)
            self._builders[key] = builder  # the most recently used last
            for other, old in list(self._builders.items()):
                if len(self._builders) <= MAX_IDLE_BUILDERS:
                    break
                # A spare launcher of an account is no reason to keep its builder.
                own = [shape for shape in self._spares if shape[-1] == other]
                if old.reserved == 0 and old.children <= len(own):
                    idle.append(self._builders.pop(other))
                    spares += [self._spares.pop(shape) for shape in own]
        for launcher in spares:
            launcher.discard()
        for old in idle:
            old.close()
        return builder

    def _make(self, shape) -> None:
        try:
            launcher = self._new(shape)
        except (SandboxError, OSError):
            launcher = None
        with self._lock:
            self._preparing.discard(shape)
            if launcher is not None and not self._closed:
                self._spares[shape] = launcher
                launcher = None
        if launcher is not None:
            launcher.discard()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        for thread in threads:
            thread.join()
        with self._lock:
            spares, self._spares = list(self._spares.values()), {}
        for launcher in spares:
            launcher.discard()
        with self._lock:
            builders, self._builders = list(self._builders.values()), {}
        for builder in builders:
            builder.close()
        self._spawner.shutdown()
        if self._namespaces is not None:
            self._namespaces.close()

    def mount(self, launcher: Launcher, mounts: list[Mount]) -> None:
        """Make `mounts` in the launcher's own mount namespace, before its script runs."""
        if not mounts:
            return
        if self._namespaces is None:
            raise SandboxError("mounts for a sandbox need root")
        launcher.wait_ready(READY_TIMEOUT_S)
        self._namespaces.mount_in(launcher.proc.pid, mounts)

    def _spawn_plain(self, start: Callable[[], subprocess.Popen]) -> subprocess.Popen:
        """On a spawner thread, in the host's mount namespace."""
        return self._spawner.submit(start).result()

    def _spawn(self, start: Callable[[], subprocess.Popen]) -> subprocess.Popen:
        if self._namespaces is not None:
            namespaces = self._namespaces
            return self._spawner.submit(namespaces.in_new_namespace, start).result()
        return self._spawn_plain(start)
