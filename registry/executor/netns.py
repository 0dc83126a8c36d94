"""Opens the Runtime API's listening socket inside a sandbox's own network namespace.

A sandbox without network has only its private loopback, which the host cannot reach. Entering
that namespace from one thread just long enough to create the socket puts the listener where the
runtime expects it (127.0.0.1:9001, as on Lambda) while the executor keeps serving it from the
host; nothing else in the sandbox can reach the host, and nothing on the host can reach it.
"""

from __future__ import annotations

import ctypes
import os
import socket

from registry.executor.errors import SandboxError

CLONE_NEWNET = 0x40000000
RUNTIME_API_PORT = 9001

_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise SandboxError(f"cannot enter the sandbox network namespace: {os.strerror(err)}")


def listen_in_netns(pid: int) -> socket.socket:
    """A listening TCP socket on port 9001 inside the network namespace of `pid`."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        target = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        os.close(home)
        raise SandboxError(f"sandbox process {pid} is gone: {exc}") from None
    try:
        _setns(target)
        try:
            # INADDR_ANY: the namespace's loopback may not be up yet, and it is its only interface.
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("0.0.0.0", RUNTIME_API_PORT))
            listener.listen(8)
        finally:
            _setns(home)
    finally:
        os.close(target)
        os.close(home)
    return listener


def listen_on_host() -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    return listener
