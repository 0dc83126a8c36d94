"""Request bodies collected as their bytes arrive, hashed on the way (SigV4 signs the sha256).

Nothing is allocated ahead of the bytes: a client that declares 60 MB and sends one byte costs
one byte.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

# Large bodies are hashed on this thread while the loop receives their next bytes (hashlib
# releases the GIL); one thread, so each body's chunks are hashed in the order they arrived.
_HASHER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="front-sha256")
_HASH_ASIDE_FROM = 1024 * 1024


class BodyError(ValueError):
    """The body's framing is malformed (a bad chunk size, a missing CRLF)."""


class _Collector:
    def __init__(self, *, hash_aside: bool = False):
        self.data = bytearray()
        self.complete = False
        self._digest = hashlib.sha256()
        self._hash_aside = hash_aside
        self._hashed: Future | None = None

    def _take(self, data) -> None:
        self.data += data
        if self._hash_aside:
            self._hashed = _HASHER.submit(self._digest.update, bytes(data))
        else:
            self._digest.update(data)

    def sha256(self) -> str:
        """The body's hex sha256; waits for hashing still under way."""
        if self._hashed is not None:
            self._hashed.result()
        return self._digest.hexdigest()


class LengthBody(_Collector):
    """A body of a declared Content-Length."""

    def __init__(self, length: int):
        super().__init__(hash_aside=length >= _HASH_ASIDE_FROM)
        self._remaining = length
        self.complete = length == 0

    def wanted(self) -> int:
        return self._remaining

    def feed(self, chunk: bytes) -> bytes:
        """Takes what belongs to the body; returns the bytes past its end."""
        taken = chunk[: self._remaining]
        self._take(taken)
        self._remaining -= len(taken)
        self.complete = self._remaining == 0
        return chunk[len(taken) :]


_SIZE, _DATA, _DATA_END, _TRAILER = range(4)
_MAX_LINE = 4096


class ChunkedBody(_Collector):
    """A `Transfer-Encoding: chunked` body, decoded incrementally; at most `limit` bytes."""

    def __init__(self, limit: int):
        super().__init__()
        self._limit = limit
        self._state = _SIZE
        self._remaining = 0
        self._pending = bytearray()  # an unfinished framing line

    def wanted(self) -> int:
        return max(self._remaining, 64 * 1024)

    def feed(self, chunk: bytes) -> bytes:
        view = memoryview(chunk)
        while view and not self.complete:
            if self._state == _DATA:
                taken = view[: self._remaining]
                self._take(taken)
                self._remaining -= len(taken)
                view = view[len(taken) :]
                if self._remaining == 0:
                    self._state = _DATA_END
                continue
            if self._state == _DATA_END:
                # Exactly CRLF, checked byte by byte: anything else is refused at once.
                piece = bytes(view[: 2 - len(self._pending)])
                self._pending += piece
                view = view[len(piece) :]
                if not b"\r\n".startswith(self._pending):
                    raise BodyError("chunk data not followed by CRLF")
                if len(self._pending) == 2:
                    self._pending, self._state = bytearray(), _SIZE
                continue
            line, view = self._line(view)
            if line is None:
                break
            self._on_line(line)
        return bytes(view)

    def _line(self, view: memoryview):
        end = bytes(view[: _MAX_LINE + 2]).find(b"\n")
        if end < 0:
            self._pending += view
            if len(self._pending) > _MAX_LINE:
                raise BodyError("chunk framing line too long")
            return None, view[len(view) :]
        self._pending += view[: end + 1]
        line, self._pending = bytes(self._pending), bytearray()
        if len(line) > _MAX_LINE + 2 or not line.endswith(b"\r\n"):
            raise BodyError("chunk framing line not ended by CRLF")
        return line[:-2], view[end + 1 :]

    def _on_line(self, line: bytes) -> None:
        if self._state == _SIZE:
            size_text = line.split(b";", 1)[0].strip(b" \t")
            if not size_text or any(c not in b"0123456789abcdefABCDEF" for c in size_text):
                raise BodyError("invalid chunk size")
            size = int(size_text, 16)
            if len(self.data) + size > self._limit:
                raise BodyError("chunked body larger than allowed")
            if size == 0:
                self._state = _TRAILER
            else:
                self._state, self._remaining = _DATA, size
        elif not line:  # _TRAILER: an empty line ends the message
            self.complete = True


class PrefetchedBody(io.RawIOBase):
    """The WSGI input of a request whose body the front has already read. `data` and `sha256` let
    the application take the body without copying or hashing it again. A withheld body was never
    read (the application refused the request from its head, or, when `throttled`, the worker
    already held as many bodies as it may): it reads as empty. `sha256` may be
    given as a function, called once when the application first asks (off the event loop)."""

    def __init__(
        self,
        data: bytearray | bytes = b"",
        sha256: str | Callable[[], str] | None = None,
        *,
        withheld: bool = False,
        throttled: bool = False,
    ):
        super().__init__()
        self.data = data
        self._sha256 = sha256
        self.withheld = withheld or throttled
        self.throttled = throttled
        self._view: memoryview | None = None
        self._position = 0

    @property
    def sha256(self) -> str:
        if self._sha256 is None:
            self._sha256 = hashlib.sha256(self.data).hexdigest()
        elif callable(self._sha256):
            self._sha256 = self._sha256()
        return self._sha256

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._view is None:
            self._view = memoryview(self.data)
        piece = self._view[self._position : self._position + len(buffer)]
        buffer[: len(piece)] = piece
        self._position += len(piece)
        return len(piece)

    def close(self) -> None:
        # The application may still hold `data`; only this reader's view is released.
        if self._view is not None:
            self._view.release()
        super().close()
