"""Collects a runtime's stdout and stderr (one pipe, as Lambda merges them into one log stream).

A thread keeps the pipe drained so a chatty handler never blocks, and only the tail is kept so it
cannot exhaust the executor. After an invocation's answer arrives, the executor drains once more
itself: text the handler wrote before answering is then in the result, not in the next one.
"""

from __future__ import annotations

import os
import select
import threading

DEFAULT_TAIL_BYTES = 1 << 20


class LogPipe:
    def __init__(self, tail_bytes: int = DEFAULT_TAIL_BYTES):
        self.read_fd, self.write_fd = os.pipe2(os.O_CLOEXEC)
        os.set_blocking(self.read_fd, False)
        self._tail = tail_bytes
        self._buf = bytearray()
        self._dropped = 0
        self._lock = threading.Lock()
        self._eof = False
        self._thread = threading.Thread(target=self._pump, name="strata-logs", daemon=True)

    def start(self) -> None:
        """Call after the runtime has been spawned: closes our copy of the write end."""
        os.close(self.write_fd)
        self.write_fd = -1
        self._thread.start()

    def _pump(self) -> None:
        poller = select.poll()
        poller.register(self.read_fd, select.POLLIN | select.POLLHUP)
        while not self._eof:
            poller.poll()
            self.drain()

    def drain(self) -> None:
        with self._lock:
            while not self._eof:
                try:
                    chunk = os.read(self.read_fd, 65536)
                except BlockingIOError:
                    return
                except OSError:
                    chunk = b""
                if not chunk:
                    self._eof = True
                    return
                self._buf += chunk
                excess = len(self._buf) - self._tail
                if excess > 0:
                    del self._buf[:excess]
                    self._dropped += excess

    def take(self) -> str:
        """Everything collected since the last take (its tail), as text."""
        with self._lock:
            data, dropped = bytes(self._buf), self._dropped
            self._buf.clear()
            self._dropped = 0
        text = data.decode("utf-8", "replace")
        if dropped:
            text = f"[{dropped} bytes of earlier log output dropped]\n" + text
        return text

    def wait_eof(self, timeout: float) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    def close(self) -> None:
        if self.write_fd >= 0:
            os.close(self.write_fd)
            self.write_fd = -1
        with self._lock:
            self._eof = True
            # Once: closed again, the number could belong to a file opened since.
            if self.read_fd >= 0:
                try:
                    os.close(self.read_fd)
                except OSError:
                    pass
                self.read_fd = -1
