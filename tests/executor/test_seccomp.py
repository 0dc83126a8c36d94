"""The seccomp program handed to bwrap."""

from __future__ import annotations

from registry.executor import seccomp
from tests.support import require_service


def test_program__is_classic_bpf_compiled_once():
    program = seccomp.program()
    require_service(program is not None, "libseccomp is not installed")
    # struct sock_filter is 8 bytes; the filter checks the architecture, then each syscall.
    assert len(program) % 8 == 0 and len(program) // 8 > len(seccomp.refused_syscalls())
    assert seccomp.program() is program


def test_refused_syscalls__cover_what_lambdas_sandbox_refuses():
    refused = set(seccomp.refused_syscalls())
    assert {
        "unshare",
        "clone",
        "clone3",
        "setns",
        "init_module",
        "finit_module",
        "delete_module",
        "add_key",
        "request_key",
        "keyctl",
        "bpf",
        "ptrace",
        "mount",
        "umount2",
        "pivot_root",
        "fsopen",
        "fsconfig",
        "fsmount",
        "move_mount",
        "open_tree",
        "fspick",
        "mount_setattr",
        "kexec_load",
        "kexec_file_load",
        "reboot",
        "swapon",
        "swapoff",
    } <= refused
    # What ordinary code needs stays allowed.
    assert not refused & {"fork", "vfork", "execve", "socket", "mmap", "futex", "prctl"}
