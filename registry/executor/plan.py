"""Chooses, per limit, the strongest mechanism the host allows (the Plan), and says which.

| limit      | strongest (root)                              | fallback                            |
|------------|-----------------------------------------------|-------------------------------------|
| memory     | cgroup v1 memory (+memsw), OOM = SIGKILL      | RLIMIT_AS, MALLOC_ARENA_MAX=2;      |
|            |                                               | Node.js: V8 --max-old-space-size    |
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

sandbox.py builds the launch command a Plan asks for.
"""

from __future__ import annotations

import functools
import os
import subprocess
from dataclasses import dataclass

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
    # Node.js without a memory cgroup: V8 reserves gigabytes of address space at start, so
    # RLIMIT_AS cannot hold it; its heap is capped instead (--max-old-space-size).
    heap_cap: bool = False

    @property
    def uses_cgroups(self) -> bool:
        return self.cgroup_memory or self.cgroup_pids

    def mechanisms(self, spec: FunctionSpec) -> dict[str, str]:
        m = {
            "memory": self._memory_mechanism(spec),
            "tmp": self._tmp_mechanism(spec),
            "timeout": self._timeout_mechanism(),
            "pids": self._pids_mechanism(),
        }
        if self.overlay_opt:
            m["opt"] = f"overlayfs of {len(spec.opt_layers)} layer extractions (no copy)"
        m["filesystem"] = (
            "bwrap: read-only /var/task, /opt and /; writable /tmp only"
            if self.bwrap
            else "none: host filesystem, real bundle paths"
        )
        m["paths"] = self._paths_mechanism()
        m["syscalls"] = self._syscalls_mechanism()
        m["network"] = self._network_mechanism(spec)
        m["user"] = (
            "a fresh unprivileged uid, no capabilities" if self.drop_uid else "the calling user"
        )
        m["runtime_api"] = runtime_access.DESCRIPTIONS[self.runtime_api]
        m["idle"] = self._idle_mechanism()
        m["cpu"] = self._cpu_mechanism(spec)
        return m

    def _memory_mechanism(self, spec: FunctionSpec) -> str:
        if self.cgroup_memory:
            return (
                f"cgroup-v1 memory{'+memsw' if self.memsw else ''} limit {spec.memory_mb} MB (hard)"
            )
        if self.rlimit_memory:
            return f"RLIMIT_AS {spec.memory_mb} MB per process (soft)"
        if self.heap_cap:
            return (
                f"V8 heap cap --max-old-space-size={spec.memory_mb} MB "
                "(soft: buffers and native memory are not counted)"
            )
        return "none"

    def _tmp_mechanism(self, spec: FunctionSpec) -> str:
        if self.bwrap and self.loop_tmp:
            return f"loop-mounted ext4 {spec.tmp_mb} MB at /tmp (hard, not charged to memory)"
        if self.bwrap:
            return f"bwrap tmpfs {spec.tmp_mb} MB at /tmp (hard, charged to memory)"
        if self.isolation == "none":
            return "private TMPDIR (no limit)"
        return f"private TMPDIR, RLIMIT_FSIZE and usage watchdog {spec.tmp_mb} MB (soft)"

    def _timeout_mechanism(self) -> str:
        if self.bwrap:
            return "pid-namespace kill" + (" + cgroup sweep" if self.uses_cgroups else "")
        if self.drop_uid:
            return "kill every process of the environment uid"
        return "process-group kill (a setsid() descendant may escape)"

    def _pids_mechanism(self) -> str:
        if self.cgroup_pids:
            return f"cgroup-v1 pids.max={PIDS_MAX} (hard)"
        if self.rlimit_nproc:
            return f"RLIMIT_NPROC={PIDS_MAX} on the environment uid"
        return "none"

    def _paths_mechanism(self) -> str:
        if self.neutral_paths:
            return (
                "neutral: /var/task, /opt, /var/runtime and /var/lang are overlays "
                "naming no host path; bwrap's options come on a pipe, not its argv"
            )
        if self.bwrap:
            return (
                "host paths visible in /proc/self/mountinfo (hiding them needs root and overlayfs)"
            )
        return "host paths visible: the runtime runs at the bundle's real path"

    def _syscalls_mechanism(self) -> str:
        if self.syscall_filter:
            return seccomp.summary() + "; bwrap --disable-userns"
        if self.bwrap:
            return "no seccomp filter (libseccomp or bwrap --disable-userns missing)"
        return "no seccomp filter (needs bubblewrap)"

    def _network_mechanism(self, spec: FunctionSpec) -> str:
        if spec.network:
            return "host network (requested)"
        if self.netns:
            return "private network namespace (loopback only)"
        return "host network (no network namespace available)"

    def _cpu_mechanism(self, spec: FunctionSpec) -> str:
        if self.cgroup_cpu:
            shares, quota = cpu_limits(spec.memory_mb)
            return (
                f"cgroup-v1 cpu.shares={shares}, CFS quota {quota / CFS_PERIOD_US:.2f} vCPU (hard)"
            )
        return "none: the host scheduler shares CPU per process"

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
    """The mechanisms for `spec` on `host`; IsolationUnavailable for strict when any is soft."""
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
        rlimit_memory=not host.cgroup_memory and not spec.node_major,
        heap_cap=not host.cgroup_memory and bool(spec.node_major),
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
        missing = _strict_gaps(spec, chosen)
        if missing:
            raise IsolationUnavailable(missing)
    return chosen


def _strict_gaps(spec: FunctionSpec, chosen: Plan) -> dict[str, str]:
    """Each limit `chosen` can hold only softly, and why: strict isolation refuses them all."""
    missing = {}
    if not chosen.cgroup_memory:
        missing["memory"] = "no writable cgroup v1 memory controller (needs root)"
    if not chosen.bwrap:
        missing["tmp"] = missing["filesystem"] = "bubblewrap is missing or cannot create namespaces"
    if not chosen.cgroup_pids:
        missing["pids"] = "no writable cgroup v1 pids controller (needs root)"
    if not chosen.cgroup_cpu:
        missing["cpu"] = "no writable cgroup v1 cpu controller (needs root)"
    if not chosen.drop_uid:
        missing["user"] = "dropping to a fresh uid needs root"
    if not spec.network and not chosen.netns:
        missing["network"] = "serving the Runtime API in a private network namespace needs root"
    if chosen.bwrap and not chosen.neutral_paths:
        missing["paths"] = "hiding host paths needs root and overlayfs"
    if chosen.runtime_api not in runtime_access.SEPARATED:
        missing["runtime_api"] = runtime_access.DESCRIPTIONS[chosen.runtime_api]
    if chosen.bwrap and not chosen.syscall_filter:
        missing["syscalls"] = "a seccomp filter needs libseccomp and bubblewrap 0.8 or later"
    return missing


@functools.lru_cache(maxsize=8)
def _bwrap_supports(bwrap: str, option: str) -> bool:
    try:
        usage = subprocess.run(
            [bwrap, "--help"], capture_output=True, timeout=10, env={"PATH": os.defpath}
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return option.encode() in usage
