"""One client connection of the front worker and where its current request stands."""

from __future__ import annotations

import enum
import socket

from gunicorn.http.message import Request

from registry.front.body import ChunkedBody, LengthBody
from registry.front.responses import ResponseBody


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
        self.watched = False
        self.requests = 0
        self.request: Request | None = None
        self.body: LengthBody | ChunkedBody | None = None
        self.sending: ResponseBody | None = None
        self.reserved = 0  # of the worker's body budget, while this request holds a body
