"""Response bodies written only as fast as the client reads them."""

from __future__ import annotations

import socket

from registry.front.responses import OutgoingSocket, ResponseBody


class _Response:
    """The part of gunicorn's Response that ResponseBody drives."""

    def __init__(self, out):
        self.out, self.closed = out, False

    def write(self, data):
        self.out.sendall(data)

    def close(self):
        self.out.sendall(b"END")
        self.closed = True


def _pair(buffer: int = 4096):
    server, client = socket.socketpair()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, buffer)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, buffer)
    return server, client


def _drain(sock: socket.socket) -> bytes:
    sock.setblocking(False)
    data = b""
    while True:
        try:
            chunk = sock.recv(1 << 20)
        except BlockingIOError:
            return data
        if not chunk:
            return data
        data += chunk


def test_held_back_writes__never_block_and_keep_what_the_socket_cannot_take():
    server, client = _pair()
    with server, client:
        out = OutgoingSocket(server)
        out.hold_back()
        payload = bytes(range(256)) * 4096  # 1 MB, far over both socket buffers
        out.sendall(payload)  # returns at once
        assert 0 < len(out.backlog) < len(payload)
        received = b""
        for _ in range(10_000):
            received += _drain(client)
            if out.flush():
                break
        received += _drain(client)
        assert received == payload
        assert out.sent == len(payload)


def test_response_body__stops_at_a_full_socket_and_resumes_where_it_stopped():
    server, client = _pair()
    with server, client:
        out = OutgoingSocket(server)
        out.hold_back()
        items = [bytes([i]) * 65536 for i in range(8)]
        body = ResponseBody(_Response(out), items, out)
        assert body.advance() is False  # the socket filled before the end
        received = b""
        for _ in range(10_000):
            received += _drain(client)
            if out.flush() and body.advance() and out.flush():
                break
        received += _drain(client)
        assert received == b"".join(items) + b"END"
        assert body.response.closed


def test_without_hold_back__writes_go_straight_out():
    server, client = _pair()
    with server, client:
        out = OutgoingSocket(server)
        out.sendall(b"small answer")
        assert out.backlog == b""
        assert client.recv(100) == b"small answer"
