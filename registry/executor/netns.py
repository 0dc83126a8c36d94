"""Opens the Runtime API's listening socket inside a sandbox's own network namespace.

A sandbox without network has only its private loopback, which the host cannot reach. Entering
that namespace from one thread just long enough to create the socket puts the listener where the
runtime expects it (127.0.0.1:9001, as on Lambda) while the executor keeps serving it from the
host; nothing else in the sandbox can reach the host, and nothing on the host can reach it.

Without root the executor may not enter that namespace, so a helper inside the sandbox makes the
listener and hands it over a unix socket only that sandbox sees (sandbox_listener.py).
"""

from __future__ import annotations

import ctypes
import os
import socket
import struct
import time
from collections.abc import Callable
from pathlib import Path

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


def handoff_socket(directory: Path, name: str) -> socket.socket:
    """Where a sandbox's listener helper (sandbox_listener.py) hands over its listening socket."""
    handoff = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    # Through the directory's fd, so that a deep work directory never passes sun_path's 108 bytes.
    fd = os.open(directory, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        handoff.bind(f"/proc/self/fd/{fd}/{name}")
    except OSError:
        handoff.close()
        raise
    finally:
        os.close(fd)
    handoff.listen(1)
    return handoff


def receive_listener(
    handoff: socket.socket, sandbox_pid: int, timeout: float, alive: Callable[[], bool]
) -> socket.socket:
    """The listening socket the helper made in the sandbox of `sandbox_pid`. Only a process in
    that sandbox's network namespace may hand it over, and it must be a listening TCP socket."""
    deadline = time.monotonic() + timeout
    handoff.settimeout(0.05)
    while True:
        try:
            conn, _ = handoff.accept()
            break
        except TimeoutError:
            if not alive() or time.monotonic() > deadline:
                raise SandboxError(
                    "the sandbox did not hand over its Runtime API listener "
                    "(did its interpreter start?)"
                ) from None
    with conn:
        pid, _uid, _gid = struct.unpack(
            "=iII", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("=iII"))
        )
        if not _same_netns(pid, sandbox_pid):
            raise SandboxError("a process outside the sandbox offered a Runtime API listener")
        conn.settimeout(max(0.1, deadline - time.monotonic()))
        _msg, fds, _flags, _addr = socket.recv_fds(conn, 16, 1, socket.MSG_CMSG_CLOEXEC)
    if len(fds) != 1:
        for fd in fds:
            os.close(fd)
        raise SandboxError("the sandbox handed over no Runtime API listener")
    listener = socket.socket(fileno=fds[0])
    if listener.type != socket.SOCK_STREAM or not listener.getsockopt(
        socket.SOL_SOCKET, socket.SO_ACCEPTCONN
    ):
        listener.close()
        raise SandboxError("the sandbox handed over something other than a listening socket")
    return listener


def _same_netns(pid: int, other: int) -> bool:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(f"/proc/{other}/ns/net").st_ino
    except OSError:
        return False
