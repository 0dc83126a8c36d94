"""What the host allows: detected once per process, so every environment picks its mechanisms
without probing again. Tests (and operators) can switch mechanisms off with `without()`."""

from __future__ import annotations

import dataclasses
import functools
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass

from registry.executor.uids import reserve_uid

CGROUP_V1 = "/sys/fs/cgroup"
# Interpreters under /usr, so present in every sandbox, that can run the listener helper.
_SANDBOX_PYTHONS = ("/usr/bin/python3", "/usr/local/bin/python3")


@dataclass(frozen=True)
class HostCapabilities:
    root: bool
    bwrap: str | None  # absolute path of a bubblewrap that can build a sandbox here
    cgroup_memory: bool  # cgroup v1 memory controller we may create groups in
    cgroup_memsw: bool  # ... with swap accounting, so swap cannot escape the limit
    cgroup_pids: bool  # cgroup v1 pids controller
    loop_tmp: bool  # loop-mounted ext4 images can serve as /tmp
    enter_netns: bool  # we may enter a sandbox's network namespace to serve the Runtime API in it
    overlay: bool  # kernel overlayfs, to assemble /opt from layer extractions without copying
    # How an idle environment is frozen: "cgroup2" (cgroup.freeze, usable beside v1 controllers),
    # "cgroup1" (the v1 freezer), or None (the environment's processes get SIGSTOP instead).
    cgroup_freezer: str | None = None
    cgroup_cpu: bool = False  # cgroup v1 cpu controller: shares and a CFS quota per environment
    # An interpreter under /usr (so inside every sandbox) to run the Runtime API listener helper.
    sandbox_python: str | None = None

    @classmethod
    def detect(cls) -> HostCapabilities:
        return _detect()

    def without(self, *names: str) -> HostCapabilities:
        """A copy with the named mechanisms off: 'bwrap', 'cgroups', 'freezer', 'loop', 'netns',
        'overlay'."""
        off = {}
        for name in names:
            if name == "bwrap":
                off.update(bwrap=None, enter_netns=False)
            elif name == "cgroups":
                off.update(
                    cgroup_memory=False,
                    cgroup_memsw=False,
                    cgroup_pids=False,
                    cgroup_freezer=None,
                    cgroup_cpu=False,
                )
            elif name == "freezer":
                off.update(cgroup_freezer=None)
            elif name == "loop":
                off.update(loop_tmp=False)
            elif name == "netns":
                off.update(enter_netns=False)
            elif name == "overlay":
                off.update(overlay=False)
            else:
                raise ValueError(
                    f"unknown mechanism {name!r} (bwrap, cgroups, freezer, loop, netns, overlay)"
                )
        return dataclasses.replace(self, **off)

    @classmethod
    def from_env(cls, environ=None) -> HostCapabilities:
        """Detected capabilities minus those listed in STRATA_EXECUTOR_DISABLE (comma-separated)."""
        environ = os.environ if environ is None else environ
        names = [
            n.strip() for n in environ.get("STRATA_EXECUTOR_DISABLE", "").split(",") if n.strip()
        ]
        return cls.detect().without(*names)


@functools.lru_cache(maxsize=1)
def _detect() -> HostCapabilities:
    root = os.geteuid() == 0
    memory = root and os.access(f"{CGROUP_V1}/memory/cgroup.procs", os.W_OK)
    return HostCapabilities(
        root=root,
        bwrap=_working_bwrap(root),
        cgroup_memory=memory,
        cgroup_memsw=memory and os.path.exists(f"{CGROUP_V1}/memory/memory.memsw.limit_in_bytes"),
        cgroup_pids=root and os.access(f"{CGROUP_V1}/pids/cgroup.procs", os.W_OK),
        loop_tmp=root
        and os.path.exists("/dev/loop-control")
        and shutil.which("mkfs.ext4") is not None
        and shutil.which("mount") is not None,
        enter_netns=root,
        overlay=root and _has_filesystem("overlay"),
        cgroup_freezer=_freezer(root),
        sandbox_python=sandbox_python(),
        cgroup_cpu=root
        and os.access(f"{CGROUP_V1}/cpu/cgroup.procs", os.W_OK)
        and os.path.exists(f"{CGROUP_V1}/cpu/cpu.cfs_quota_us"),
    )


def _freezer(root: bool) -> str | None:
    if not root:
        return None
    # cgroup.freeze exists only in non-root cgroup2 groups, so probe with a throwaway one.
    unified = f"{CGROUP_V1}/unified"
    if os.access(f"{unified}/cgroup.procs", os.W_OK):
        probe = f"{unified}/strata-probe-{os.getpid()}"
        try:
            os.mkdir(probe)
            try:
                if os.path.exists(f"{probe}/cgroup.freeze"):
                    return "cgroup2"
            finally:
                os.rmdir(probe)
        except OSError:
            pass
    if os.access(f"{CGROUP_V1}/freezer/cgroup.procs", os.W_OK):
        return "cgroup1"
    return None


@functools.lru_cache(maxsize=1)
def sandbox_python() -> str | None:
    return next((path for path in _SANDBOX_PYTHONS if os.access(path, os.X_OK)), None)


def _has_filesystem(name: str) -> bool:
    try:
        with open("/proc/filesystems") as f:
            return any(line.split()[-1] == name for line in f if line.strip())
    except OSError:
        return False


def _working_bwrap(
    root: bool, command: tuple[str, ...] = ("/bin/true",), timeout_s: float = 10
) -> str | None:
    path = shutil.which("bwrap")
    if path is None:
        return None
    # The sandbox is started as an unprivileged uid, so probe it the same way: as a sandbox uid
    # of its own, whose processes the next start on this host reaps should any outlive the probe.
    user = reserve_uid() if root else None
    try:
        prefix = []
        if user is not None:
            prefix = ["setpriv", f"--reuid={user.uid}", f"--regid={user.uid}", "--clear-groups"]
        probe = [
            path,
            "--unshare-all",
            "--die-with-parent",
            "--ro-bind",
            "/usr",
            "/usr",
            "--symlink",
            "usr/bin",
            "/bin",
            "--symlink",
            "usr/lib",
            "/lib",
            "--symlink",
            "usr/lib64",
            "/lib64",
            *command,
        ]
        return path if _succeeds(prefix + probe, timeout_s) else None
    finally:
        if user is not None:
            user.release()


def _succeeds(argv: list[str], timeout_s: float) -> bool:
    """Whether `argv` exits 0 within `timeout_s`. On a timeout its whole process group is killed:
    killing bwrap alone left its pid 1 behind, waiting for ever."""
    try:
        proc = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
    except OSError:
        return False
    try:
        return proc.wait(timeout=timeout_s) == 0
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return False
