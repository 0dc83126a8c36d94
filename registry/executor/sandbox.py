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

The chain is launcher `sh` (joined the cgroups ahead of time, see launchers.py) -> [`unshare -m`
+ `sh` staging mounts] -> `setpriv` (drop to the environment's uid) -> `bwrap` -> [`prlimit`] ->
runtime: every step as root happens before the uid drop that would forbid it.
"""

from __future__ import annotations

import os
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

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
        if self.overlay_opt:
            m["opt"] = f"overlayfs of {len(spec.opt_layers)} layer extractions (no copy)"
        m["filesystem"] = ("bwrap: read-only /var/task, /opt and /; writable /tmp only"
                           if self.bwrap else "none: host filesystem, real bundle paths")
        if spec.network:
            m["network"] = "host network (requested)"
        elif self.netns:
            m["network"] = "private network namespace (loopback only)"
        else:
            m["network"] = "host network (no network namespace available)"
        m["user"] = ("a fresh unprivileged uid, no capabilities" if self.drop_uid
                     else "the calling user")
        m["idle"] = self._idle_mechanism()
        if self.cgroup_cpu:
            shares, quota = cpu_limits(spec.memory_mb)
            m["cpu"] = (f"cgroup-v1 cpu.shares={shares}, CFS quota {quota / CFS_PERIOD_US:.2f} "
                        "vCPU (hard)")
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
        return ("SIGSTOP of the runtime's process tree between invocations (a process that "
                "leaves the tree keeps running)")


def plan(spec: FunctionSpec, host: HostCapabilities) -> Plan:
    """The mechanisms for `spec` on `host`; raises IsolationUnavailable for strict when any is soft."""
    if spec.isolation == "none":
        # No sandbox and no limits but the timeout; still never the caller's root.
        return Plan("none", None, False, False, False, False, False, host.root, False, False)
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
        overlay_opt=bool(spec.opt_layers),
        freezer=host.cgroup_freezer,
        cgroup_cpu=host.cgroup_cpu,
    )
    if spec.opt_layers and not (bwrap and host.overlay):
        raise SandboxError("assembling /opt from layer directories needs root, overlayfs and "
                           "bubblewrap; run a merged bundle instead")
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


def reachable_by_others(path: Path) -> bool:
    """Whether an unrelated uid can reach `path` (every parent searchable, the path readable)."""
    path = Path(path)
    for parent in path.parents:
        if not os.stat(parent).st_mode & 0o001:
            return False
    mode = os.stat(path).st_mode
    return bool(mode & 0o004) and (not path.is_dir() or bool(mode & 0o001))


def bwrap_argv(bwrap: str, plan: Plan, spec: FunctionSpec, sources: dict[str, Path],
               tmp_is_volume: bool, info_fd: int | None, block_fd: int | None) -> list[str]:
    """The sandbox view. `sources` maps task, opt, runtime, tmp and prefix (the interpreter's
    installation, bound at its own path) to host paths the sandbox uid can reach."""
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
                 "ld.so.cache", "localtime", "alternatives"):
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
    if "prefix" in sources:
        argv += ["--ro-bind", str(sources["prefix"]), str(sources["prefix_at"])]
    argv += ["--remount-ro", "/", "--remount-ro", "/dev", "--chdir", "/var/task"]
    if info_fd is not None:
        argv += ["--info-fd", str(info_fd)]
    if block_fd is not None:
        argv += ["--block-fd", str(block_fd)]
    return argv + ["--"]


def launcher_argv(binds: list[tuple[Path, Path]], overlays: list[tuple[list[Path], Path]],
                  uid: int | None) -> list[str]:
    """What the launcher (root, already in the environment's cgroups) runs before the sandbox:
    in a private mount namespace that vanishes with the environment, bind directories the
    sandbox uid cannot reach (a bundle under a private home, a pyenv interpreter) onto reachable
    staging paths and assemble overlays (`layers` first to last, the last wins); then `setpriv`
    drops to the environment's uid. A failing mount exits 125 before the sandbox starts."""
    argv = []
    steps = [f"mount --bind {shlex.quote(str(s))} {shlex.quote(str(t))}" for s, t in binds]
    for layers, target in overlays:
        lower = ":".join(str(layer) for layer in reversed(layers))  # leftmost is the top layer
        steps.append(f"mount -t overlay strata-opt -o {shlex.quote('ro,lowerdir=' + lower)} "
                     f"{shlex.quote(str(target))}")
    if steps:
        script = "".join(f"{step} || exit 125; " for step in steps) + 'exec "$@"'
        argv += [_which("unshare"), "--mount", "--propagation", "private", "--",
                 "/bin/sh", "-c", script, "strata-mounts"]
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
