"""The mounts an environment needs, made by the executor itself inside its launcher's private
mount namespace.

Each launcher is spawned into a mount namespace of its own (a private copy of the host's), and
the sandbox's /tmp volume and overlays are mounted there with the syscalls themselves. Running
`unshare`, a shell and two `mount`s per cold start instead cost about 11 ms of CPU (util-linux
loading its libraries and reading the mount table); the syscalls cost about 2 ms. Nothing is
ever mounted in the host's namespace: the mounts, and with them the loop devices (autoclear),
go when the environment's last process does.

A thread may enter another mount namespace only with a root and working directory of its own
(CLONE_FS), so this work runs on threads that unshared theirs once; after each job they return
to the host's namespace and to the process's working directory.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import struct
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from registry.executor.errors import SandboxError

CLONE_FS = 0x200
CLONE_NEWNS = 0x20000
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
_LOOP_CTL_GET_FREE = 0x4C82
_LOOP_CONFIGURE = 0x4C0A
_LO_FLAGS_AUTOCLEAR = 4
_LOOP_INFO64_SIZE = 232
_LO_FLAGS_OFFSET = 52  # of lo_flags in struct loop_info64

_libc = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True)
class Overlay:
    """A read-only overlay of `lowers` (first is the top layer) at `target`. The directories
    are opened and named to overlayfs as /proc/self/fd/N, so the mount's options show no host
    path."""

    lowers: tuple[Path, ...]
    target: Path


@dataclass(frozen=True)
class Bind:
    source: Path
    target: Path


@dataclass(frozen=True)
class LoopExt4:
    """An ext4 image on a fresh loop device, mounted nosuid,nodev at `target`."""

    image: Path
    target: Path


Mount = Overlay | Bind | LoopExt4


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise SandboxError(f"{what}: {os.strerror(err)}")


def _mount(source: str, target: Path, fstype: str | None, flags: int, data: str | None) -> None:
    _check(
        _libc.mount(
            source.encode(),
            str(target).encode(),
            fstype.encode() if fstype else None,
            flags,
            data.encode() if data else None,
        ),
        f"cannot mount {fstype or 'a bind'} at {target.name}",
    )


def _mount_overlay(overlay: Overlay) -> None:
    fds = []
    try:
        for directory in overlay.lowers:
            fds.append(os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC))
        lowers = ":".join(f"/proc/self/fd/{fd}" for fd in fds)
        _mount("strata", overlay.target, "overlay", MS_RDONLY, f"lowerdir={lowers}")
    finally:
        for fd in fds:
            os.close(fd)


def _attach_loop(image: Path) -> tuple[str, int]:
    """A free loop device configured on `image` with autoclear: (its path, an open fd)."""
    control = os.open("/dev/loop-control", os.O_RDWR | os.O_CLOEXEC)
    backing = os.open(image, os.O_RDWR | os.O_CLOEXEC)
    try:
        info = bytearray(_LOOP_INFO64_SIZE)
        struct.pack_into("=I", info, _LO_FLAGS_OFFSET, _LO_FLAGS_AUTOCLEAR)
        config = struct.pack("=II", backing, 0) + bytes(info) + bytes(64)
        for _attempt in range(64):  # another process may take the free device first
            number = fcntl.ioctl(control, _LOOP_CTL_GET_FREE)
            device = f"/dev/loop{number}"
            fd = os.open(device, os.O_RDWR | os.O_CLOEXEC)
            try:
                fcntl.ioctl(fd, _LOOP_CONFIGURE, config)
                return device, fd
            except OSError as exc:
                os.close(fd)
                if exc.errno != errno.EBUSY:
                    raise SandboxError(f"cannot set up a loop device: {exc.strerror}") from None
        raise SandboxError("cannot set up a loop device: every free one was taken first")
    finally:
        os.close(backing)
        os.close(control)


def _mount_loop(volume: LoopExt4) -> None:
    device, fd = _attach_loop(volume.image)
    try:
        # The mount holds the device from here; autoclear detaches it when the mount goes.
        _mount(device, volume.target, "ext4", MS_NOSUID | MS_NODEV, None)
    finally:
        os.close(fd)


def make(mounts: list[Mount]) -> None:
    for mount in mounts:
        try:
            if isinstance(mount, Overlay):
                _mount_overlay(mount)
            elif isinstance(mount, Bind):
                _mount(str(mount.source), mount.target, None, MS_BIND, None)
            else:
                _mount_loop(mount)
        except OSError as exc:  # a directory or image that is gone
            raise SandboxError(f"cannot mount at {mount.target.name}: {exc.strerror}") from None


class MountNamespaces:
    """Threads that may enter other mount namespaces (see the module's docstring)."""

    def __init__(self, threads: int = 2):
        self._home = os.open("/proc/self/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
        self._cwd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self._own_fs = threading.local()
        self._mounters = ThreadPoolExecutor(threads, thread_name_prefix="strata-mount")

    def in_new_namespace(self, start: Callable):
        """Run `start` (which spawns a process) in a fresh private mount namespace, which the
        process keeps. Must be called on a thread of its own the caller keeps (see launchers)."""
        self._unshare_fs()
        _check(_libc.unshare(CLONE_NEWNS), "cannot make a mount namespace")
        try:
            # Nothing mounted in the copy may reach the host's namespace.
            _check(_libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "private /")
            return start()
        finally:
            self._go_home()

    def mount_in(self, pid: int, mounts: list[Mount]) -> None:
        """Make `mounts` in the mount namespace of process `pid` (one spawned by
        in_new_namespace: never the host's)."""
        if mounts:
            self._mounters.submit(self._mount_in, pid, mounts).result()

    def close(self) -> None:
        self._mounters.shutdown()
        os.close(self._home)
        os.close(self._cwd)

    def _mount_in(self, pid: int, mounts: list[Mount]) -> None:
        self._unshare_fs()
        try:
            target = os.open(f"/proc/{pid}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise SandboxError(f"the launcher {pid} is gone: {exc.strerror}") from None
        try:
            if os.fstat(target).st_ino == os.fstat(self._home).st_ino:
                raise SandboxError(f"the launcher {pid} has no mount namespace of its own")
            _check(_libc.setns(target, CLONE_NEWNS), "cannot enter the launcher's namespace")
            try:
                make(mounts)
            finally:
                self._go_home()
        finally:
            os.close(target)

    def _unshare_fs(self) -> None:
        if not getattr(self._own_fs, "done", False):
            _check(_libc.unshare(CLONE_FS), "cannot unshare the thread's filesystem context")
            self._own_fs.done = True

    def _go_home(self) -> None:
        # setns and unshare leave the thread's root and cwd at the namespace's root.
        if _libc.setns(self._home, CLONE_NEWNS) != 0:
            # A thread stuck in a sandbox's namespace must never run anything else.
            os.abort()
        os.fchdir(self._cwd)
