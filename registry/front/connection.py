"""One client connection of the front worker and where its current request stands."""

from __future__ import annotations

import enum
import resource
import socket

from gunicorn.http.errors import LimitRequestHeaders, LimitRequestLine
from gunicorn.http.message import Request

from registry.front.body import ChunkedBody, LengthBody
from registry.front.responses import ResponseBody

# Descriptors kept for what is not a client connection: database, blob files, sandboxes, logs.
_RESERVED_DESCRIPTORS = 256


class Stage(enum.Enum):
    HEAD = "reading the request line and headers"
    ADMISSION = "waiting for the application to admit the body"
    BODY = "reading the body"
    APP = "with a request thread"
    SENDING = "sending the rest of a response as the client reads it"
    LINGER = "draining before close"
    CLOSED = "closed"


class Connection:
    """One client connection and where its current request stands."""

    def __init__(self, sock: socket.socket, client, server, deadline: float):
        self.sock = sock
        self.client = client
        self.server = server
        self.stage = Stage.HEAD
        self.deadline = deadline
        self.buffer = bytearray()  # received, not yet part of a request
        self.idle = False  # kept alive, with no byte of a next request yet
        self.idle_since = 0.0
        self.watched = False
        self.requests = 0
        self.request: Request | None = None
        self.body: LengthBody | ChunkedBody | None = None
        self.sending: ResponseBody | None = None
        self.reserved = 0  # of the worker's body budget, while this request holds a body


def connections_fitting_descriptors(wanted: int) -> int:
    """Idle connections are cheap to the front, so many are worth holding; but an accept()
    failing for want of a descriptor would stop the worker, so it stops accepting first: the
    descriptor limit is raised as far as allowed, and the connections held kept within it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = wanted + _RESERVED_DESCRIPTORS
    if soft != resource.RLIM_INFINITY and soft < needed:
        raised = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(min(wanted, soft - _RESERVED_DESCRIPTORS), 16)


def head_too_large(buffer: bytearray, max_head_bytes: int) -> Exception:
    """A request line that alone passes the limit is a URI too long (414), as gunicorn answers
    it; otherwise the headers are too large (431)."""
    if buffer.find(b"\r\n", 0, max_head_bytes) < 0:
        return LimitRequestLine(len(buffer), max_head_bytes)
    return LimitRequestHeaders("request line and headers too large")
