"""Reads at offsets from bytes, a path or a binary file, so that entries can be read at once."""

from __future__ import annotations

import io
import os
import stat
import threading
from typing import BinaryIO


class PositionalReader:
    """Reads at offsets from bytes, a path or a binary file; safe to share between threads."""

    def __init__(self, source: bytes | str | os.PathLike | BinaryIO):
        self._fd: int | None = None
        self._stream: BinaryIO | None = None
        self._owns_fd = False
        self._lock = threading.Lock()
        self._bytes: bytes | None = None
        if isinstance(source, bytes):
            self._bytes = source
        elif isinstance(source, (str, os.PathLike)):
            self._fd = os.open(source, os.O_RDONLY | getattr(os, "O_BINARY", 0))
            self._owns_fd = True
        else:
            try:
                fd = source.fileno()
            except (AttributeError, OSError, io.UnsupportedOperation):
                fd = None
            if fd is not None and stat.S_ISREG(os.fstat(fd).st_mode):
                if hasattr(source, "flush"):
                    source.flush()
                self._fd = fd
            else:
                self._stream = source
        if self._bytes is not None:
            self.size = len(self._bytes)
        elif self._fd is not None:
            self.size = os.fstat(self._fd).st_size
        else:
            self.size = self._stream.seek(0, io.SEEK_END)

    def read_at(self, offset: int, length: int) -> bytes:
        if self._bytes is not None:
            return self._bytes[offset : offset + length]
        if self._fd is not None:
            return os.pread(self._fd, length, offset)
        with self._lock:
            self._stream.seek(offset)
            return self._stream.read(length)

    def close(self) -> None:
        if self._owns_fd and self._fd is not None:
            os.close(self._fd)
            self._fd = None
