"""Chooses, per limit, the strongest mechanism the host allows, and builds the launch command.

| limit      | strongest (root)                         | fallback                              |
|------------|------------------------------------------|---------------------------------------|
| memory     | cgroup v1 memory (+memsw), OOM = SIGKILL | RLIMIT_AS with MALLOC_ARENA_MAX=2     |
| tmp        | loop-mounted ext4 at /tmp (bwrap)        | bwrap tmpfs; else private TMPDIR      |
| timeout    | PID namespace + cgroup sweep             | sweep of the environment's uid        |
| pids       | cgroup v1 pids.max                       | RLIMIT_NPROC on the environment's uid |
| filesystem | bwrap: ro /var/task, /opt, /; only /tmp rw | none (real paths)                   |
| network    | private network namespace                | host network                          |
| user       | a host uid per environment, no caps      | the same (as root); else the caller   |

The launcher is `sh` (join the cgroups, then exec) -> `setpriv` (drop to the environment's uid)
-> `bwrap` -> [`prlimit`] -> runtime: no preexec_fn, so launching is safe from any thread, and the
cgroup join happens before the uid drop that would forbid it.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

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

    @property
    def uses_cgroups(self) -> bool:
        return self.cgroup_memory or self.cgroup_pids

    def mechanisms(self, spec: FunctionSpec) -> dict[str, str]:
        m = {}
        if self.cgroup_memory:
            m["memory"] = f"cgroup-v1 memory{'+memsw' if self.memsw else ''} limit {spec.memory_mb} MB (hard)"
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
        m["filesystem"] = ("bwrap: read-only /var/task, /opt and /; writable /tmp only"
                           if self.bwrap else "none: host filesystem, real bundle paths")
        if spec.network:
            m["network"] = "host network (requested)"
        elif self.netns:
            m["network"] = "private network namespace (loopback only)"
        else:
            m["network"] = "host network (no network namespace available)"
        m["user"] = "a fresh unprivileged uid, no capabilities" if self.drop_uid else (
            "the calling user" if os.geteuid() != 0 else "root (isolation none)")
        return m


def plan(spec: FunctionSpec, host: HostCapabilities) -> Plan:
    """The mechanisms for `spec` on `host`; raises IsolationUnavailable for strict when any is soft."""
    if spec.isolation == "none":
        return Plan("none", None, False, False, False, False, False, False, False, False)
    bwrap = host.bwrap
    chosen = Plan(
        isolation=spec.isolation,
        bwrap=bwrap,
        cgroup_memory=host.cgroup_memory,
        memsw=host.cgroup_memsw,
        cgroup_pids=host.cgroup_pids,
        loop_tmp=bool(bwrap) and host.loop_tmp,
        netns=bool(bwrap) and host.enter_netns and not spec.network,
        drop_uid=host.root,
        rlimit_memory=not host.cgroup_memory,
        rlimit_nproc=not host.cgroup_pids and host.root,
    )
    if spec.isolation == "strict":
        missing = {}
        if not chosen.cgroup_memory:
            missing["memory"] = "no writable cgroup v1 memory controller (needs root)"
        if not bwrap:
            missing["tmp"] = missing["filesystem"] = "bubblewrap is missing or cannot create namespaces"
        if not chosen.cgroup_pids:
            missing["pids"] = "no writable cgroup v1 pids controller (needs root)"
        if not chosen.drop_uid:
            missing["user"] = "dropping to a fresh uid needs root"
        if not spec.network and not chosen.netns:
            missing["network"] = "serving the Runtime API in a private network namespace needs root"
        if missing:
            raise IsolationUnavailable(missing)
    return chosen


@dataclass
class Mounts:
    """Host-side paths, opened by the executor as fds so the sandbox uid needs no path access."""

    task: Path
    opt: Path | None
    runtime_dir: Path
    tmp: Path
    interpreter_prefix: Path | None  # bound at its own path when outside /usr


def bwrap_argv(bwrap: str, plan: Plan, spec: FunctionSpec, fds: dict[str, int],
               mounts: Mounts, tmp_is_volume: bool, info_fd: int | None,
               block_fd: int | None) -> list[str]:
    argv = [bwrap, "--unshare-all", "--die-with-parent", "--new-session"]
    if spec.network or not plan.netns:
        argv.append("--share-net")
    argv += ["--ro-bind", "/usr", "/usr"]
    for link in ("bin", "sbin", "lib", "lib64", "lib32", "libx32"):
        target = Path("/", link)
        if target.is_symlink():
            argv += ["--symlink", os.readlink(target), f"/{link}"]
        elif target.is_dir():
            argv += ["--ro-bind", str(target), f"/{link}"]
    for name in ("resolv.conf", "hosts", "nsswitch.conf", "ssl", "ca-certificates",
                 "ld.so.cache", "localtime", "passwd", "group", "alternatives"):
        argv += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    argv += ["--proc", "/proc", "--dev", "/dev"]
    if tmp_is_volume:
        argv += ["--bind-fd", str(fds["tmp"]), "/tmp"]
    else:
        argv += ["--size", str(spec.tmp_mb << 20), "--perms", "1777", "--tmpfs", "/tmp"]
    argv += ["--ro-bind-fd", str(fds["task"]), "/var/task"]
    if "opt" in fds:
        argv += ["--ro-bind-fd", str(fds["opt"]), "/opt"]
    else:
        argv += ["--dir", "/opt"]
    argv += ["--ro-bind-fd", str(fds["runtime"]), "/var/runtime"]
    if "prefix" in fds:
        argv += ["--ro-bind-fd", str(fds["prefix"]), str(mounts.interpreter_prefix)]
    argv += ["--remount-ro", "/", "--remount-ro", "/dev", "--chdir", "/var/task"]
    if info_fd is not None:
        argv += ["--info-fd", str(info_fd), "--block-fd", str(block_fd)]
    return argv + ["--"]


def launcher_argv(cgroup_dirs: list[Path], uid: int | None) -> list[str]:
    """`sh` joins the cgroups (exit 125 if it cannot), then `setpriv` drops root."""
    argv = []
    if cgroup_dirs:
        script = ('n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1/cgroup.procs" || exit 125; '
                  'shift; n=$((n-1)); done; exec "$@"')
        argv = ["/bin/sh", "-c", script, "strata-launcher", str(len(cgroup_dirs)),
                *map(str, cgroup_dirs)]
    if uid is not None:
        argv += [_which("setpriv"), f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                 "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
    return argv


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
