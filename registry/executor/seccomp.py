"""The seccomp filter bubblewrap installs in front of every sandboxed runtime.

It refuses what Lambda's sandbox refuses and what no function needs: new user namespaces (the way
to regain capabilities inside the sandbox), kernel modules, the keyring, bpf, ptrace, mounting,
kexec, reboot, swap, and the host clock. Everything else is allowed, so ordinary code (threads,
subprocesses, sockets) works. A refused call fails with EPERM; clone3 fails with ENOSYS, because its
flags live in memory a filter cannot read and libc falls back to clone, whose flags it can.
Calls of another architecture (i386 or x32 on x86_64) kill the calling thread (libseccomp's
default for a foreign architecture): the filter only knows the native numbers.

The program is compiled once per process with libseccomp (which every Debian and Ubuntu system
has, since apt depends on it) and handed to bwrap as classic BPF bytes on a pipe.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import os
import tempfile

CLONE_NEWUSER = 0x10000000
_REFUSED = (
    # namespaces other than through clone/unshare with CLONE_NEWUSER (below)
    "setns",
    # kernel modules
    "init_module",
    "finit_module",
    "delete_module",
    "create_module",
    "query_module",
    "get_kernel_syms",
    # keyring
    "add_key",
    "request_key",
    "keyctl",
    # bpf, tracing and reading other processes
    "bpf",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "perf_event_open",
    # mounting, old and new API
    "mount",
    "umount",
    "umount2",
    "pivot_root",
    "chroot",
    "fsopen",
    "fsconfig",
    "fsmount",
    "move_mount",
    "open_tree",
    "fspick",
    "mount_setattr",
    # the machine itself
    "kexec_load",
    "kexec_file_load",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "quotactl",
    "quotactl_fd",
    "syslog",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "iopl",
    "ioperm",
    "uselib",
    "userfaultfd",
    "vhangup",
    "lookup_dcookie",
    "nfsservctl",
    "_sysctl",
    "open_by_handle_at",
    "fanotify_init",
)
_NAMESPACE_ARG0 = ("unshare", "clone")  # flags are the first argument on x86_64 and aarch64
_ENOSYS = ("clone3",)

_SCMP_ACT_ALLOW = 0x7FFF0000
_SCMP_CMP_MASKED_EQ = 7


def _act_errno(code: int) -> int:
    return 0x00050000 | (code & 0x0000FFFF)


class _ArgCmp(ctypes.Structure):
    _fields_ = [
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("datum_a", ctypes.c_uint64),
        ("datum_b", ctypes.c_uint64),
    ]


def refused_syscalls() -> tuple[str, ...]:
    """Every syscall name the filter refuses outright or for some arguments (for reports)."""
    return _REFUSED + _NAMESPACE_ARG0 + _ENOSYS


@functools.lru_cache(maxsize=1)
def program() -> bytes | None:
    """The compiled filter (classic BPF for the native architecture), or None when libseccomp is
    missing or refuses to build it."""
    try:
        return _compile()
    except (OSError, AttributeError, RuntimeError):
        return None


def summary() -> str:
    return (
        "seccomp: EPERM for new user namespaces, kernel modules, keyring, bpf, ptrace, "
        "mount and the new mount API, kexec, reboot, swap and clock setting"
    )


def _compile() -> bytes:
    try:
        lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    except OSError:  # find_library runs ldconfig: only when the usual soname is absent
        lib = ctypes.CDLL(ctypes.util.find_library("seccomp") or "libseccomp.so", use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [
        ctypes.c_void_p,
        ctypes.c_uint32,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.POINTER(_ArgCmp),
    ]
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    ctx = lib.seccomp_init(_SCMP_ACT_ALLOW)
    if not ctx:
        raise RuntimeError("seccomp_init failed")
    try:

        def add(syscall: str, action: int, *cmps: _ArgCmp) -> None:
            number = lib.seccomp_syscall_resolve_name(syscall.encode())
            if number < 0:
                return  # not a syscall of this architecture
            array = (_ArgCmp * len(cmps))(*cmps) if cmps else None
            rc = lib.seccomp_rule_add_array(ctx, action, number, len(cmps), array)
            if rc < 0:
                raise RuntimeError(f"seccomp_rule_add {syscall}: {os.strerror(-rc)}")

        for syscall in _REFUSED:
            add(syscall, _act_errno(errno.EPERM))
        for syscall in _NAMESPACE_ARG0:
            add(
                syscall,
                _act_errno(errno.EPERM),
                _ArgCmp(0, _SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER),
            )
        for syscall in _ENOSYS:
            add(syscall, _act_errno(errno.ENOSYS))
        with tempfile.TemporaryFile() as out:
            rc = lib.seccomp_export_bpf(ctx, out.fileno())
            if rc < 0:
                raise RuntimeError(f"seccomp_export_bpf: {os.strerror(-rc)}")
            out.seek(0)
            compiled = out.read()
    finally:
        lib.seccomp_release(ctx)
    if not compiled or len(compiled) % 8:
        raise RuntimeError("libseccomp exported no program")
    return compiled
