"""Which uid is on the other end of a loopback connection.

Without a private network namespace the Runtime API listens on the host's loopback, where every
local process can connect. When each environment runs as a uid of its own, the kernel still
knows which uid created the connecting socket. The sock_diag netlink interface looks that
socket up by its exact address pair (well under a millisecond; reading the whole TCP table from
/proc walks every hash bucket and costs several). So a listener can refuse, before reading a
byte, any connection another uid made.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable

_NETLINK_SOCK_DIAG = 4
_SOCK_DIAG_BY_FAMILY = 20
_NLM_F_REQUEST = 1
_NLMSG_ERROR = 2
_NO_COOKIE = 0xFFFFFFFF
_HEADER = struct.Struct("=IHHII")  # nlmsghdr
_DIAG_MSG = struct.Struct("=BBBB48sIIIII")  # inet_diag_msg: ..., id, expires, rq, wq, uid, inode


def loopback_peer_uid(conn: socket.socket) -> int | None:
    """The uid owning the client socket of `conn` (an accepted IPv4 connection), or None."""
    peer_ip, peer_port = conn.getpeername()[:2]
    our_ip, our_port = conn.getsockname()[:2]
    sockid = (
        struct.pack(">HH", peer_port, our_port)
        + socket.inet_aton(peer_ip)
        + bytes(12)
        + socket.inet_aton(our_ip)
        + bytes(12)
        + struct.pack("=III", 0, _NO_COOKIE, _NO_COOKIE)
    )
    request = struct.pack("=BBBBI", socket.AF_INET, socket.IPPROTO_TCP, 0, 0, 0xFFFFFFFF) + sockid
    message = (
        _HEADER.pack(_HEADER.size + len(request), _SOCK_DIAG_BY_FAMILY, _NLM_F_REQUEST, 1, 0)
        + request
    )
    # A netlink socket answers for the namespace of the thread that made it: the caller's own.
    with socket.socket(
        socket.AF_NETLINK, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC, _NETLINK_SOCK_DIAG
    ) as diag:
        diag.settimeout(1.0)
        diag.sendto(message, (0, 0))
        answer = diag.recv(8192)
    _length, kind, _flags, _seq, _pid = _HEADER.unpack_from(answer)
    if kind == _NLMSG_ERROR or len(answer) < _HEADER.size + _DIAG_MSG.size:
        return None
    family, *_rest, uid, _inode = _DIAG_MSG.unpack_from(answer, _HEADER.size)
    return uid if family == socket.AF_INET else None


def only_uid(uid: int) -> Callable[[socket.socket], bool]:
    """An admission check for RuntimeApiServer: connections from sockets `uid` created."""
    return lambda conn: loopback_peer_uid(conn) == uid
