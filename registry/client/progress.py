"""Download progress: a rich bar per download on a terminal, plain lines otherwise (CI logs)."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from typing import TextIO


class PlainProgress:
    """One line when a download starts and one when it ends; nothing per chunk."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self._lock = threading.Lock()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    @contextmanager
    def task(self, label: str, total: int | None) -> Callable[[int], None]:
        started = time.monotonic()
        self._say(f"Downloading {label} ({_size(total)})")
        yield lambda n: None
        self._say(f"Downloaded {label} in {time.monotonic() - started:.2f}s")

    def _say(self, line: str) -> None:
        with self._lock:
            print(line, file=self.stream, flush=True)


class RichProgress:
    def __init__(self, stream: TextIO):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(file=stream),
            transient=False,
        )

    def __enter__(self):
        self._progress.__enter__()
        return self

    def __exit__(self, *exc):
        return self._progress.__exit__(*exc)

    @contextmanager
    def task(self, label: str, total: int | None) -> Callable[[int], None]:
        task_id = self._progress.add_task(label, total=total)
        yield lambda n: self._progress.advance(task_id, n)


def progress_for(stream: TextIO | None = None, quiet: bool = False):
    stream = stream or sys.stderr
    if quiet:
        return PlainProgress(_Null())
    if stream.isatty():
        return RichProgress(stream)
    return PlainProgress(stream)


class _Null:
    def write(self, _text):
        return 0

    def flush(self):
        pass


def _size(n: int | None) -> str:
    if n is None or n < 0:
        return "unknown size"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"
