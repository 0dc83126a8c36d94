"""Response bodies a slow reader cannot hold a request thread with.

A request thread writes a file body (a blob download) only as far as the socket takes it at
once; the rest, and the reading of the file, is left to the event loop, which sends it as the
client makes room. Other bodies are small and written directly, under the socket's timeout.
"""

from __future__ import annotations

import socket


class OutgoingSocket:
    """The socket a response is written through. Once `hold_back()` is called, what the socket
    cannot take at once is kept in `backlog` instead of waited for."""

    def __init__(self, sock: socket.socket):
        self._sock = sock
        self._holding = False
        self.backlog = bytearray()
        self.sent = 0  # bytes the socket has taken, so a caller can tell progress from a stall

    def hold_back(self) -> None:
        self._holding = True
        self._sock.setblocking(False)

    def sendall(self, data) -> None:
        if not self._holding:
            self._sock.sendall(data)
            return
        if not self.backlog:
            try:
                sent = self._sock.send(data)
            except BlockingIOError:
                sent = 0
            self.sent += sent
            data = memoryview(data)[sent:]
        self.backlog += data

    def flush(self) -> bool:
        """Sends what the socket takes now (raises OSError when the peer is gone); True once
        nothing is left."""
        while self.backlog:
            try:
                sent = self._sock.send(self.backlog)
            except BlockingIOError:
                return False
            self.sent += sent
            del self.backlog[:sent]
        return True

    def __getattr__(self, name):
        return getattr(self._sock, name)


class ResponseBody:
    """The rest of a response: the app's iterator, written through gunicorn's Response (which
    keeps Content-Length and chunking right) into an OutgoingSocket."""

    def __init__(self, response, iterable, out: OutgoingSocket):
        self.response = response
        self.out = out
        self._iterable = iterable
        self._items = iter(iterable)
        self._ended = False

    def advance(self) -> bool:
        """Writes until the socket is full or the body has ended; True once all is written
        (the backlog may still hold the end)."""
        while not self._ended:
            if self.out.backlog:
                return False
            item = next(self._items, None)
            if item is None:
                self.response.close()
                self._ended = True
            else:
                self.response.write(item)
        return True

    def close(self) -> None:
        close = getattr(self._iterable, "close", None)
        if close is not None:
            close()
