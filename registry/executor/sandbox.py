"""Builds the launch command a Plan (plan.py) asks for.

The chain is launcher `sh` (joined the cgroups ahead of time and given its mounts, see
launchers.py) -> `setpriv` (drop to the environment's uid) -> `bwrap` -> [`prlimit`] -> runtime:
every step as root happens before the uid drop that would forbid it. Without bwrap the last step
before the runtime is ENVIRONMENT_STEP.

Every step outside the sandbox runs with Strata's fixed environment (PATH only): the function's
variables, which name libraries and interpreters to load (LD_PRELOAD, PYTHON*, ...), reach only
the sandboxed runtime, through bwrap's --clearenv/--setenv on a pipe, or ENVIRONMENT_STEP.
"""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path

from registry.executor.errors import SandboxError
from registry.executor.mountns import Bind, Mount, Overlay
from registry.executor.plan import PIDS_MAX, Plan
from registry.executor.spec import FunctionSpec


def reachable_by_others(path: Path) -> bool:
    """Whether an unrelated uid can reach `path` (every parent searchable, the path readable)."""
    path = Path(path)
    for parent in path.parents:
        if not os.stat(parent).st_mode & 0o001:
            return False
    mode = os.stat(path).st_mode
    return bool(mode & 0o004) and (not path.is_dir() or bool(mode & 0o001))


def bwrap_options(
    plan: Plan,
    spec: FunctionSpec,
    sources: dict[str, Path],
    tmp_is_volume: bool,
    info_fd: int | None,
    block_fd: int | None,
    seccomp_fd: int | None,
) -> list[str]:
    """The sandbox view, as bwrap options. They reach bwrap through `--args` on a pipe (see
    sandbox_argv), never its argv: the sandbox's pid 1 is a bwrap whose /proc/1/cmdline the
    function can read. `sources` maps task, opt, runtime, tmp and lang (the interpreter's
    installation) to host paths the sandbox uid can reach; `lang_at` says where lang is seen."""
    argv = ["--unshare-all", "--die-with-parent", "--new-session"]
    if spec.network or not plan.netns:
        argv.append("--share-net")
    if plan.syscall_filter:
        # Without a user namespace of its own nothing in the sandbox can regain capabilities.
        argv += ["--unshare-user", "--disable-userns"]
    argv += ["--ro-bind", "/usr", "/usr"]
    for link in ("bin", "sbin", "lib", "lib64", "lib32", "libx32"):
        target = Path("/", link)
        if target.is_symlink():
            argv += ["--symlink", os.readlink(target), f"/{link}"]
        elif target.is_dir():
            argv += ["--ro-bind", str(target), f"/{link}"]
    for name in (
        "resolv.conf",
        "hosts",
        "nsswitch.conf",
        "ssl",
        "ca-certificates",
        "ld.so.cache",
        "localtime",
        "alternatives",
    ):
        argv += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    argv += ["--proc", "/proc", "--dev", "/dev"]
    if tmp_is_volume:
        argv += ["--bind", str(sources["tmp"]), "/tmp"]
    else:
        argv += ["--size", str(spec.tmp_mb << 20), "--perms", "1777", "--tmpfs", "/tmp"]
    argv += ["--ro-bind", str(sources["task"]), "/var/task"]
    if "opt" in sources:
        argv += ["--ro-bind", str(sources["opt"]), "/opt"]
    else:
        argv += ["--dir", "/opt"]
    argv += ["--ro-bind", str(sources["runtime"]), "/var/runtime"]
    if "lang" in sources:
        argv += ["--ro-bind", str(sources["lang"]), str(sources["lang_at"])]
    argv += ["--remount-ro", "/", "--remount-ro", "/dev", "--chdir", "/var/task"]
    if info_fd is not None:
        argv += ["--info-fd", str(info_fd)]
    if block_fd is not None:
        argv += ["--block-fd", str(block_fd)]
    if seccomp_fd is not None:
        argv += ["--seccomp", str(seccomp_fd)]
    return argv


def environment_options(env: dict[str, str]) -> list[str]:
    """bwrap options that give the sandboxed runtime exactly `env` (and nothing of bwrap's)."""
    options = ["--clearenv"]
    for name, value in env.items():
        options += ["--setenv", name, value]
    return options


def sandbox_argv(bwrap: str, args_fd: int) -> list[str]:
    return [bwrap, "--args", str(args_fd), "--"]


def args_data(options: list[str]) -> bytes:
    """`--args` data: NUL-terminated arguments. A NUL inside one would split it into options
    of the caller's choosing, so it is refused (FunctionSpec refuses it in variables first)."""
    if any("\0" in option for option in options):
        raise SandboxError("a sandbox argument contains a NUL character")
    return b"".join(option.encode() + b"\0" for option in options)


# Without bubblewrap the function's variables are applied by this last step, which already runs
# with the environment's uid and limits: it reads `export` lines from stdin (a pipe), so nothing
# before it (the root launcher, setpriv, prlimit) ever runs with them.
ENVIRONMENT_STEP = [
    "/bin/sh",
    "-c",
    'eval "$(cat)" || exit 125; exec "$@" </dev/null',
    "strata-env",
]


def environment_exports(env: dict[str, str]) -> bytes:
    if any("\0" in value for value in env.values()):
        raise SandboxError("an environment variable contains a NUL character")
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in env.items()).encode()


def staging_mounts(
    views: dict[str, list[Path]], binds: dict[str, Path], stage: Path
) -> tuple[list[Mount], dict[str, Path]]:
    """The mounts for the launcher's private mount namespace (mountns.py), and the mountpoints
    they fill.

    Each of `views` becomes a read-only overlay of its directories (first to last, the last
    winning) at stage/<name>. A bind of a host directory would show that directory's path in the
    sandbox's /proc/self/mountinfo; an overlay shows "/" and its options, which name only
    /proc/self/fd/N. Overlayfs checks the underlying files with the mounter's credentials, so
    private directories need no reachable copy. Each of `binds` is a plain bind onto the
    reachable stage (when overlayfs is missing). The mountpoints may already exist: the
    launchers of a pool share them, each mounting in a namespace of its own."""
    mounts: list[Mount] = []
    mounted = {}
    empty = stage / ".empty"
    for name, dirs in views.items():
        lowers = list(reversed(dirs))  # overlayfs's leftmost lower layer is the top one
        if len(lowers) == 1:
            empty.mkdir(parents=True, mode=0o755, exist_ok=True)
            lowers.append(empty)  # without an upper layer overlayfs wants two lowers
        target = stage / name
        target.mkdir(parents=True, mode=0o755, exist_ok=True)
        mounts.append(Overlay(tuple(lowers), target))
        mounted[name] = target
    for name, source in binds.items():
        target = stage / name
        target.mkdir(parents=True, mode=0o755, exist_ok=True)
        mounts.append(Bind(source, target))
        mounted[name] = target
    if mounted:
        os.chmod(stage, 0o755)
    return mounts, mounted


def launcher_argv(uid: int | None) -> list[str]:
    """What the launcher (root, already in the environment's cgroups and with its mounts made)
    runs before the sandbox: `setpriv` drops to the environment's uid."""
    if uid is None:
        return []
    return [
        _which("setpriv"),
        f"--reuid={uid}",
        f"--regid={uid}",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--no-new-privs",
    ]


def rlimit_argv(spec: FunctionSpec, plan: Plan) -> list[str]:
    """`prlimit` as the innermost step, so limits never count the launcher or bwrap."""
    limits = []
    if plan.rlimit_memory:
        limits.append(f"--as={spec.memory_mb << 20}")
    if plan.rlimit_nproc:
        limits.append(f"--nproc={PIDS_MAX}")
    if not plan.bwrap and plan.isolation != "none":
        limits.append(f"--fsize={spec.tmp_mb << 20}")
    return [_which("prlimit"), *limits, "--"] if limits else []


def _which(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise SandboxError(f"{tool} (util-linux) is not installed")
    return path
