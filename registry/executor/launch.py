"""The steps of starting one environment's runtime that need none of its state: the runtime dir's
files, the launcher's command, the sandbox listener's handoff, the sandbox's pid from bwrap.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import marshal
import os
import select
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from registry.executor import seccomp
from registry.executor.errors import SandboxError
from registry.executor.host import sandbox_python
from registry.executor.launchers import Launcher, Launchers
from registry.executor.logs import LogPipe
from registry.executor.mountns import Mount
from registry.executor.netns import RUNTIME_API_PORT, handoff_socket
from registry.executor.plan import Plan
from registry.executor.runtime_view import COMPILED_BOOTSTRAP, NODE_BOOTSTRAP, RuntimeView
from registry.executor.sandbox import (
    ENVIRONMENT_STEP,
    args_data,
    bwrap_options,
    environment_exports,
    environment_options,
    launcher_argv,
    rlimit_argv,
    sandbox_argv,
)

INIT_TIMEOUT_S = 10.0  # Lambda's limit for the init phase
_BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
_NODE_BOOTSTRAP = Path(__file__).with_name("bootstrap_node.cjs")
_LISTENER = Path(__file__).with_name("sandbox_listener.py")
HANDOFF = "api-handoff.sock"
_installing = threading.Lock()


def install_runtime(view: RuntimeView) -> None:
    """The runtime dir, world-readable, with the built-in bootstrap in it: as source, and
    compiled when the runtime's interpreter reads this interpreter's bytecode, which spares each
    cold start compiling it (1.5 ms of CPU). A Node.js runtime gets the JavaScript bootstrap.
    A runtime dir that environments share is written once, whole (built aside, then renamed)."""
    runtime_dir = view.runtime_dir
    with _installing:
        if runtime_dir.is_dir():
            return
        home = runtime_dir.parent
        home.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=".building-", dir=home.parent))
        try:
            _write_runtime(view, building / runtime_dir.name)
            os.chmod(building, 0o755)
            building.rename(home)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise


def _write_runtime(view: RuntimeView, runtime_dir: Path) -> None:
    runtime_dir.mkdir(mode=0o755)
    if view.spec.node_major:
        shutil.copyfile(_NODE_BOOTSTRAP, runtime_dir / NODE_BOOTSTRAP)
        os.chmod(runtime_dir / NODE_BOOTSTRAP, 0o644)
        return
    shutil.copyfile(_BOOTSTRAP, runtime_dir / "bootstrap.py")
    os.chmod(runtime_dir / "bootstrap.py", 0o644)
    if view.compiled_bootstrap:
        compiled = runtime_dir / COMPILED_BOOTSTRAP
        compiled.write_bytes(_compiled_bootstrap(f"{view.root('runtime')}/{COMPILED_BOOTSTRAP}"))
        os.chmod(compiled, 0o644)


@functools.lru_cache(maxsize=4)
def _compiled_bootstrap(seen_as: str) -> bytes:
    """bootstrap.py as a .pyc the interpreter runs directly, named as the runtime sees it (its
    frames are recognised by that name)."""
    source = _BOOTSTRAP.read_bytes()
    code = compile(source, seen_as, "exec", dont_inherit=True)
    header = importlib.util.MAGIC_NUMBER + bytes(4) + bytes(4) + len(source).to_bytes(4, "little")
    return header + marshal.dumps(code)


def runtime_api_address(plan: Plan, listener: socket.socket | None) -> str:
    """AWS_LAMBDA_RUNTIME_API: the fixed port in the sandbox's network, else the host listener's."""
    port = RUNTIME_API_PORT if plan.netns else listener.getsockname()[1]
    return f"127.0.0.1:{port}"


def listener_helper(view: RuntimeView, entry: list[str]):
    """The handoff socket and the entry that runs sandbox_listener.py before the runtime."""
    runtime_dir = view.runtime_dir
    shutil.copyfile(_LISTENER, runtime_dir / _LISTENER.name)
    os.chmod(runtime_dir / _LISTENER.name, 0o644)
    handoff = handoff_socket(runtime_dir, HANDOFF)
    runtime = view.root("runtime")
    return handoff, [
        sandbox_python(),
        "-S",
        "-I",
        f"{runtime}/{_LISTENER.name}",
        f"{runtime}/{HANDOFF}",
        *entry,
    ]


def hand_over(
    launchers: Launchers,
    launcher: Launcher,
    plan: Plan,
    view: RuntimeView,
    entry: list[str],
    env: dict[str, str],
    *,
    forked: bool,
    **where,
) -> None:
    """Make the launcher's mounts, then hand it what it runs: a builder's child its spec, else a
    shell its command."""
    if forked:
        # The same options bwrap would get; the entry is [interpreter, "-S", script, ...] and
        # the interpreter is the builder's own (forked_main.py).
        options, mounts = _sandbox_options(plan, view, launcher, env, **where)
        launchers.mount(launcher, mounts)
        program = seccomp.program() if plan.syscall_filter else b""
        launcher.launch_forked(
            {"options": options, "argv": entry[2:], "uid": where["uid"], "seccomp": program.hex()}
        )
        return
    argv, private, mounts = launch_command(plan, view, launcher, entry, env, **where)
    launchers.mount(launcher, mounts)
    launcher.launch(
        argv,
        cwd="/" if plan.bwrap else view.root("task"),
        private=private,
        private_on_stdin=not plan.bwrap,
        seccomp=seccomp.program() if plan.syscall_filter else b"",
    )


def launch_command(
    plan: Plan,
    view: RuntimeView,
    launcher: Launcher,
    entry: list[str],
    env: dict[str, str],
    *,
    tmp_path: Path,
    tmp_mount: Mount | None,
    uid: int | None,
    netns: bool,
) -> tuple[list[str], bytes, list[Mount]]:
    """The launcher's argv, the private data it hands on (bwrap's options, else `export`s), and
    the mounts to make in its mount namespace first (`tmp_mount`: a /tmp volume, tmpvolumes.py)."""
    spec = view.spec
    mounts: list[Mount] = []
    if plan.bwrap:
        options, mounts = _sandbox_options(
            plan, view, launcher, env, tmp_path=tmp_path, tmp_mount=tmp_mount, uid=uid, netns=netns
        )
        private = args_data(options)
        argv = launcher_argv(uid) + sandbox_argv(plan.bwrap, launcher.args_fd)
        argv += rlimit_argv(spec, plan) + entry
    else:
        if uid is not None:
            view.check_reachable()
        private = environment_exports(env)
        argv = launcher_argv(uid) + rlimit_argv(spec, plan) + ENVIRONMENT_STEP + entry
    return argv, private, mounts


def _sandbox_options(plan, view, launcher, env, *, tmp_path, tmp_mount, uid, netns):
    sources, mounts = view.sandbox_sources(tmp_path, uid is not None)
    mounts = ([tmp_mount] if tmp_mount else []) + mounts
    # bwrap reports the sandbox's pid once it is built: a sandbox that fails to
    # build is a SandboxError, not a runtime that died.
    options = bwrap_options(
        plan,
        view.spec,
        sources,
        tmp_mount is not None,
        launcher.info_fd,
        launcher.block_fd if netns else None,
        launcher.seccomp_fd if plan.syscall_filter else None,
    )
    return options + environment_options(env), mounts


def sandbox_pid(info_r: int, proc: subprocess.Popen, logs: LogPipe) -> int:
    """The sandbox's pid from bwrap's info; SandboxError if bwrap exits without one."""
    data = b""
    deadline = time.monotonic() + INIT_TIMEOUT_S
    while True:
        try:
            info = json.loads(data)
            break
        except ValueError:
            pass
        # poll, not select: a burst of environments takes descriptors past select's 1024.
        waiting = select.poll()
        waiting.register(info_r, select.POLLIN)
        ready = waiting.poll(max(0.0, deadline - time.monotonic()) * 1000)
        chunk = os.read(info_r, 4096) if ready else b""
        if not chunk:
            proc.wait(timeout=5)
            logs.drain()
            raise SandboxError(
                f"the sandbox failed to start (exit {proc.returncode}): "
                f"{logs.take().strip()[-2000:]}"
            )
        data += chunk
    return int(info["child-pid"])
