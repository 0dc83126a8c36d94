"""Chooses, per limit, the strongest mechanism the host allows, and builds the launch command.

| limit      | strongest (root)                              | fallback                            |
|------------|-----------------------------------------------|-------------------------------------|
| memory     | cgroup v1 memory (+memsw), OOM = SIGKILL      | RLIMIT_AS, MALLOC_ARENA_MAX=2       |
| tmp        | loop-mounted ext4 at /tmp (bwrap)             | bwrap tmpfs; else private TMPDIR    |
| timeout    | PID namespace + cgroup sweep                  | kill every process of the env uid   |
| pids       | cgroup v1 pids.max                            | RLIMIT_NPROC on the env uid         |
| filesystem | bwrap: ro /var/task, /opt and /; rw /tmp only | none (real paths)                   |
| network    | private network namespace                     | host network                        |
| user       | a fresh host uid per environment, no caps     | the same as root; else the caller   |
| paths      | overlays with neutral options (no host path)  | host paths visible                  |
| syscalls   | seccomp filter, bwrap --disable-userns        | none                                |
| idle       | cgroup2 cgroup.freeze (else the v1 freezer)   | SIGSTOP of the env uid's processes  |
| cpu        | cgroup v1 cpu.shares + CFS quota by memory    | none                                |

The chain is launcher `sh` (joined the cgroups ahead of time, see launchers.py) -> [`unshare -m`
+ `sh` staging mounts] -> `setpriv` (drop to the environment's uid) -> `bwrap` -> [`prlimit`] ->
runtime: every step as root happens before the uid drop that would forbid it. Without bwrap the
last step before the runtime is ENVIRONMENT_STEP.

Every step outside the sandbox runs with Strata's fixed environment (PATH only): the function's
variables, which name libraries and interpreters to load (LD_PRELOAD, PYTHON*, ...), reach only
the sandboxed runtime, through bwrap's --clearenv/--setenv on a pipe, or ENVIRONMENT_STEP.
"""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from registry.executor import runtime_access, seccomp
from registry.executor.cgroups import CFS_PERIOD_US, cpu_limits
from registry.executor.errors import IsolationUnavailable, SandboxError
from registry.executor.host import HostCapabilities
from registry.executor.spec import FunctionSpec

PIDS_MAX = 1024


@dataclass(frozen=True)
class Plan:
    isolation: str
    bwrap: str | None
    cgroup_memory: bool
    memsw: bool
    cgroup_pids: bool
    loop_tmp: bool
    netns: bool  # runtime API served inside the sandbox's private network namespace
    drop_uid: bool  # run as a fresh unprivileged host uid
    rlimit_memory: bool
    rlimit_nproc: bool
    overlay_opt: bool = False  # /opt is an overlay of spec.opt_layers
    freezer: str | None = None  # "cgroup2" or "cgroup1" freezes idle environments; else SIGSTOP
    cgroup_cpu: bool = False  # cgroup v1 cpu.shares and CFS quota by memory
    # Who can reach the environment's Runtime API: a tier of runtime_access.py.
    runtime_api: str = runtime_access.SHARED_LOOPBACK
    # The sandbox shows bundles, runtime and interpreter through overlays with neutral options,
    # so no host path appears in /proc/self/mountinfo.
    neutral_paths: bool = False
    syscall_filter: bool = False  # bwrap --disable-userns and the seccomp filter

    @property
    def uses_cgroups(self) -> bool:
        return self.cgroup_memory or self.cgroup_pids

    def mechanisms(self, spec: FunctionSpec) -> dict[str, str]:
        m = {}
        if self.cgroup_memory:
            m["memory"] = (
                f"cgroup-v1 memory{'+memsw' if self.memsw else ''} limit {spec.memory_mb} MB (hard)"
            )
        elif self.rlimit_memory:
            m["memory"] = f"RLIMIT_AS {spec.memory_mb} MB per process (soft)"
        else:
            m["memory"] = "none"
        if self.bwrap and self.loop_tmp:
            m["tmp"] = f"loop-mounted ext4 {spec.tmp_mb} MB at /tmp (hard, not charged to memory)"
        elif self.bwrap:
            m["tmp"] = f"bwrap tmpfs {spec.tmp_mb} MB at /tmp (hard, charged to memory)"
        elif self.isolation == "none":
            m["tmp"] = "private TMPDIR (no limit)"
        else:
            m["tmp"] = f"private TMPDIR, RLIMIT_FSIZE and usage watchdog {spec.tmp_mb} MB (soft)"
        if self.bwrap:
            m["timeout"] = "pid-namespace kill" + (" + cgroup sweep" if self.uses_cgroups else "")
        elif self.drop_uid:
            m["timeout"] = "kill every process of the environment uid"
        else:
            m["timeout"] = "process-group kill (a setsid() descendant may escape)"
        if self.cgroup_pids:
            m["pids"] = f"cgroup-v1 pids.max={PIDS_MAX} (hard)"
        elif self.rlimit_nproc:
            m["pids"] = f"RLIMIT_NPROC={PIDS_MAX} on the environment uid"
        else:
            m["pids"] = "none"
        if self.overlay_opt:
            m["opt"] = f"overlayfs of {len(spec.opt_layers)} layer extractions (no copy)"
        m["filesystem"] = (
            "bwrap: read-only /var/task, /opt and /; writable /tmp only"
            if self.bwrap
            else "none: host filesystem, real bundle paths"
        )
        if self.neutral_paths:
            m["paths"] = (
                "neutral: /var/task, /opt, /var/runtime and /var/lang are overlays "
                "naming no host path; bwrap's options come on a pipe, not its argv"
            )
        elif self.bwrap:
            m["paths"] = (
                "host paths visible in /proc/self/mountinfo (hiding them needs root and overlayfs)"
            )
        else:
            m["paths"] = "host paths visible: the runtime runs at the bundle's real path"
        if self.syscall_filter:
            m["syscalls"] = seccomp.summary() + "; bwrap --disable-userns"
        elif self.bwrap:
            m["syscalls"] = "no seccomp filter (libseccomp or bwrap --disable-userns missing)"
        else:
            m["syscalls"] = "no seccomp filter (needs bubblewrap)"
        if spec.network:
            m["network"] = "host network (requested)"
        elif self.netns:
            m["network"] = "private network namespace (loopback only)"
        else:
            m["network"] = "host network (no network namespace available)"
        m["user"] = (
            "a fresh unprivileged uid, no capabilities" if self.drop_uid else "the calling user"
        )
        m["runtime_api"] = runtime_access.DESCRIPTIONS[self.runtime_api]
        m["idle"] = self._idle_mechanism()
        if self.cgroup_cpu:
            shares, quota = cpu_limits(spec.memory_mb)
            m["cpu"] = (
                f"cgroup-v1 cpu.shares={shares}, CFS quota {quota / CFS_PERIOD_US:.2f} vCPU (hard)"
            )
        else:
            m["cpu"] = "none: the host scheduler shares CPU per process"
        return m

    def _idle_mechanism(self) -> str:
        if self.freezer == "cgroup2":
            return "cgroup2 freezer (cgroup.freeze) between invocations"
        if self.freezer == "cgroup1":
            return "cgroup-v1 freezer between invocations"
        if self.drop_uid:
            return "SIGSTOP of every process of the environment uid between invocations"
        if self.bwrap:
            return "SIGSTOP of the sandbox's pid namespace between invocations"
        return (
            "SIGSTOP of the runtime's process tree between invocations (a process that "
            "leaves the tree keeps running)"
        )


def plan(spec: FunctionSpec, host: HostCapabilities) -> Plan:
    """The mechanisms for `spec` on `host`; raises IsolationUnavailable for strict when any is soft."""
    if spec.isolation == "none":
        # No sandbox and no limits but the timeout; still never the caller's root.
        return Plan(
            "none",
            None,
            False,
            False,
            False,
            False,
            False,
            host.root,
            False,
            False,
            runtime_api=runtime_access.PEER_UID if host.root else runtime_access.SHARED_LOOPBACK,
        )
    bwrap = host.bwrap
    runtime_api = runtime_access.choose(
        bwrap=bool(bwrap),
        enter_netns=host.enter_netns,
        drop_uid=host.root,
        network=spec.network,
        sandbox_python=host.sandbox_python is not None,
    )
    chosen = Plan(
        isolation=spec.isolation,
        bwrap=bwrap,
        cgroup_memory=host.cgroup_memory,
        memsw=host.cgroup_memsw,
        cgroup_pids=host.cgroup_pids,
        loop_tmp=bool(bwrap) and host.loop_tmp,
        netns=runtime_api in (runtime_access.NETNS, runtime_access.SANDBOX_LISTENER),
        drop_uid=host.root,
        rlimit_memory=not host.cgroup_memory,
        rlimit_nproc=not host.cgroup_pids and host.root,
        overlay_opt=bool(spec.opt_layers),
        neutral_paths=bool(bwrap) and host.root and host.overlay,
        syscall_filter=bool(bwrap)
        and seccomp.program() is not None
        and _bwrap_supports(bwrap, "--disable-userns"),
        freezer=host.cgroup_freezer,
        cgroup_cpu=host.cgroup_cpu,
        runtime_api=runtime_api,
    )
    if spec.opt_layers and not (bwrap and host.overlay):
        raise SandboxError(
            "assembling /opt from layer directories needs root, overlayfs and "
            "bubblewrap; run a merged bundle instead"
        )
    if spec.isolation == "strict":
        missing = {}
        if not chosen.cgroup_memory:
            missing["memory"] = "no writable cgroup v1 memory controller (needs root)"
        if not bwrap:
            missing["tmp"] = missing["filesystem"] = (
                "bubblewrap is missing or cannot create namespaces"
            )
        if not chosen.cgroup_pids:
            missing["pids"] = "no writable cgroup v1 pids controller (needs root)"
        if not chosen.cgroup_cpu:
            missing["cpu"] = "no writable cgroup v1 cpu controller (needs root)"
        if not chosen.drop_uid:
            missing["user"] = "dropping to a fresh uid needs root"
        if not spec.network and not chosen.netns:
            missing["network"] = "serving the Runtime API in a private network namespace needs root"
        if bwrap and not chosen.neutral_paths:
            missing["paths"] = "hiding host paths needs root and overlayfs"
        if chosen.runtime_api not in runtime_access.SEPARATED:
            missing["runtime_api"] = runtime_access.DESCRIPTIONS[chosen.runtime_api]
        if bwrap and not chosen.syscall_filter:
            missing["syscalls"] = "a seccomp filter needs libseccomp and bubblewrap 0.8 or later"
        if missing:
            raise IsolationUnavailable(missing)
    return chosen


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
) -> tuple[list[str], dict[str, Path]]:
    """Shell commands for the launcher's private mount namespace, and the mountpoints they fill.

    Each of `views` becomes a read-only overlay of its directories (first to last, the last
    winning) at stage/<name>. A bind of a host directory would show that directory's path in the
    sandbox's /proc/self/mountinfo; an overlay shows "/" and its options, which here name only
    /proc/self/fd/N: the directories are opened on those fds just for the mount. Overlayfs checks
    the underlying files with the mounter's credentials, so private directories need no reachable
    copy. Each of `binds` is a plain bind onto the reachable stage (when overlayfs is missing)."""
    commands, mounted = [], {}
    empty = stage / ".empty"
    for name, dirs in views.items():
        lowers = list(reversed(dirs))  # overlayfs's leftmost lower layer is the top one
        if len(lowers) == 1:
            empty.mkdir(parents=True, mode=0o755, exist_ok=True)
            lowers.append(empty)  # without an upper layer overlayfs wants two lowers
        if len(lowers) > 7:
            raise SandboxError("an overlay of more than 7 directories")  # fds 3 to 9 (sh)
        opens = " ".join(f"{3 + i}<{shlex.quote(str(d))}" for i, d in enumerate(lowers))
        option = "ro,lowerdir=" + ":".join(f"/proc/self/fd/{3 + i}" for i in range(len(lowers)))
        target = stage / name
        target.mkdir(parents=True, mode=0o755)
        commands.append(
            f"(exec {opens} && exec mount -t overlay -o {option} strata {shlex.quote(str(target))})"
        )
        mounted[name] = target
    for name, source in binds.items():
        target = stage / name
        target.mkdir(parents=True, mode=0o755)
        commands.append(f"mount --bind {shlex.quote(str(source))} {shlex.quote(str(target))}")
        mounted[name] = target
    if mounted:
        os.chmod(stage, 0o755)
    return commands, mounted


def launcher_argv(mounts: list[str], uid: int | None) -> list[str]:
    """What the launcher (root, already in the environment's cgroups) runs before the sandbox:
    in a private mount namespace that vanishes with the environment, the `mounts` (see
    staging_mounts); then `setpriv` drops to the environment's uid. A failing mount exits 125
    before the sandbox starts."""
    argv = []
    if mounts:
        script = "".join(f"{command} || exit 125; " for command in mounts) + 'exec "$@"'
        argv += [
            _which("unshare"),
            "--mount",
            "--propagation",
            "private",
            "--",
            "/bin/sh",
            "-c",
            script,
            "strata-mounts",
        ]
    if uid is not None:
        argv += [
            _which("setpriv"),
            f"--reuid={uid}",
            f"--regid={uid}",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--no-new-privs",
        ]
    return argv


@functools.lru_cache(maxsize=8)
def _bwrap_supports(bwrap: str, option: str) -> bool:
    try:
        usage = subprocess.run(
            [bwrap, "--help"], capture_output=True, timeout=10, env={"PATH": os.defpath}
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return option.encode() in usage


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
