"""JSON documents computed once and kept as files in the cache directory (a layer version's
listing, a function's overlay), each carrying the format it was written in."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def read(path: Path, format: int) -> dict | None:
    """The document at `path`, or None when there is none, it cannot be read, or it is of
    another format (written by an older release: computed again)."""
    try:
        data = json.loads(path.read_text())
        if data.get("format") == format:
            return data
    except (OSError, ValueError, AttributeError):
        pass
    return None


def keep(path: Path, data: dict) -> None:
    """Written whole to a temporary name beside `path`, then renamed: a reader sees all of it or
    none. A failure to write leaves nothing behind; the document is computed again later."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-")
    try:
        with os.fdopen(fd, "w") as out:
            # dumps, not dump: only a whole-document encode uses the C encoder.
            out.write(json.dumps(data, separators=(",", ":")))
        os.replace(temporary, path)
    except OSError:
        Path(temporary).unlink(missing_ok=True)
