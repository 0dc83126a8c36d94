"""What executor processes that died without cleaning up left on the host, and its removal.

A stop cleans up after itself; a crash (SIGKILL, OOM kill, power loss of a worker) leaves its
sandboxes' processes, cgroups, loop-mounted /tmp volumes with their loop devices and image files,
and its work directory behind for good. Every executor pool reaps such leftovers when it starts.

Several servers and test workers share one host, so a leftover is only ever reaped when its
owner is provably gone: the names of work directories and cgroups start with their owner's
token (owners.py), checked against the pid's start time. Work directories named before tokens
existed are never reaped: nothing tells whose they are. Sandbox processes are orphans when no
process holds their uid's reservation (see uids.py); the reaper takes the reservation itself
while it kills them, so no new environment can be handed the uid meanwhile. Reapers running at
once do the same idempotent steps and ignore what another one already removed.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from registry.executor import cgroups, processes, uids
from registry.executor.owners import Owner, owner_of_name

WORKDIR_PREFIX = "strata-executor-"
_WORKDIR = re.compile(rf"/{WORKDIR_PREFIX}(\d+)\.(\d+)-[^/]*(?:/|$)")
_MNT_DETACH = 2
_LOOP_CLR_FD = 0x4C01


@dataclass(frozen=True)
class Leftover:
    """One thing an executor process made: `kind` is mount, loop, cgroup, process or workdir;
    `what` the mount point, loop device, cgroup directory, pid or directory."""

    kind: str
    what: str
    owner: Owner | None  # None: made before owner tokens, or a process outside any cgroup


def owner_of_path(path: str) -> Owner | None:
    """The owner of the work directory a path lies in ("/strata-executor-<pid>.<start>-...")."""
    match = _WORKDIR.search(path)
    return Owner(int(match[1]), int(match[2])) if match else None


# ---- finding -----------------------------------------------------------------------------------


def find_leftovers(workdir_bases: list[Path] | None = None) -> list[Leftover]:
    """Everything executor processes made that exists now, live owners' included; work
    directories are looked for in the temporary directory and in `workdir_bases`."""
    return [
        *_mounts(),
        *_loop_devices(),
        *_cgroup_dirs(),
        *_sandbox_processes(),
        *_workdirs({Path(tempfile.gettempdir()), *(workdir_bases or [])}),
    ]


def _mounts() -> list[Leftover]:
    found = []
    try:
        with open("/proc/self/mountinfo") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    for line in lines:
        mountpoint = _unescape(line.split()[4])
        if f"/{WORKDIR_PREFIX}" in mountpoint:
            found.append(Leftover("mount", mountpoint, owner_of_path(mountpoint)))
    return found


def _loop_devices() -> list[Leftover]:
    found = []
    for backing in Path("/sys/block").glob("loop*/loop/backing_file"):
        device = f"/dev/{backing.parent.parent.name}"
        image = _backing_file(device)
        if image is not None and f"/{WORKDIR_PREFIX}" in image:
            found.append(Leftover("loop", device, owner_of_path(image)))
    return found


def _backing_file(device: str) -> str | None:
    try:
        with open(f"/sys/block/{device.removeprefix('/dev/')}/loop/backing_file") as f:
            return f.read().strip().removesuffix(" (deleted)")
    except OSError:
        return None  # detached meanwhile


def _cgroup_dirs() -> list[Leftover]:
    found = []
    for parent in cgroups.parents():
        try:
            children = [p for p in parent.iterdir() if p.is_dir()]
        except OSError:
            continue
        for path in children:
            found.append(Leftover("cgroup", str(path), owner_of_name(path.name)))
    return found


def _sandbox_processes() -> list[Leftover]:
    first, count = uids.uid_range()
    found = []
    for pid, uid in processes.uids_of_all():
        if first <= uid < first + count:
            found.append(Leftover("process", str(pid), _cgroup_owner(pid)))
    return found


def _cgroup_owner(pid: int) -> Owner | None:
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:
        _, _, path = line.split(":", 2)
        parent, _, name = path.strip("/").partition("/")
        if parent == cgroups.PARENT and owner_of_name(name):
            return owner_of_name(name)
    return None


def _workdirs(bases: set[Path]) -> list[Leftover]:
    found = []
    for base in bases:
        for path in base.glob(f"{WORKDIR_PREFIX}*"):
            found.append(Leftover("workdir", str(path), owner_of_path(f"{path}/")))
    return found


# ---- reaping -----------------------------------------------------------------------------------


def reap_stale(workdir_bases: list[Path] | None = None) -> list[Leftover]:
    """Remove what dead owners left; returns what was reaped. Processes die first (they hold
    mounts and cgroups), then cgroups, mounts, loop devices, and last the files."""
    reaped = []
    found = find_leftovers(workdir_bases)
    stale = [item for item in found if item.owner is not None and not item.owner.alive()]
    reaped += _reap_orphan_processes([i for i in found if i.kind == "process"])
    order = ("cgroup", "mount", "loop", "workdir")
    for kind in order:
        for item in stale:
            if item.kind == kind and _REAPERS[kind](item.what):
                reaped.append(item)
    return reaped


def _reap_orphan_processes(found: list[Leftover]) -> list[Leftover]:
    """Kill the processes of every sandbox uid nobody holds, holding it meanwhile."""
    by_uid: dict[int, list[Leftover]] = {}
    for item in found:
        uid = processes.uid_of(int(item.what))
        if uid is not None:
            by_uid.setdefault(uid, []).append(item)
    reaped = []
    for uid, items in by_uid.items():
        user = uids.try_reserve(uid)
        if user is None:
            continue  # a live environment's
        try:
            processes.kill_uid(uid)
        except PermissionError:
            continue  # not root: nothing of ours could run as a sandbox uid
        finally:
            user.release()
        reaped += items
    return reaped


def _reap_cgroup(path: str) -> bool:
    try:
        cgroups.remove_stale(Path(path))
    except OSError:
        return False
    return True


def _reap_mount(mountpoint: str) -> bool:
    # Lazy: a process still inside keeps the filesystem until it lets go, yet the name is gone.
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.umount2(os.fsencode(mountpoint), _MNT_DETACH) != 0:
        return ctypes.get_errno() in (errno.EINVAL, errno.ENOENT)  # already unmounted
    return True


def _reap_loop(device: str) -> bool:
    # While the device is still in use the kernel only marks it to go with the last user.
    try:
        fd = os.open(device, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        # Devices are reused: since it was listed, it may have been freed and bound for a live
        # owner. Held open it cannot be freed, so what it is bound to now is what gets detached.
        owner = owner_of_path(_backing_file(device) or "")
        if owner is None or owner.alive():
            return False
        fcntl.ioctl(fd, _LOOP_CLR_FD)
    except OSError as exc:
        return exc.errno == errno.ENXIO  # already detached
    finally:
        os.close(fd)
    return True


def _reap_workdir(path: str) -> bool:
    shutil.rmtree(path, ignore_errors=True)
    return not os.path.exists(path)


_REAPERS = {
    "cgroup": _reap_cgroup,
    "mount": _reap_mount,
    "loop": _reap_loop,
    "workdir": _reap_workdir,
}


def _unescape(field: str) -> str:
    # mountinfo writes space, tab, newline and backslash as octal escapes.
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), field)
