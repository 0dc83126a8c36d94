"""Owner-only files and directories: the data directory, the database and the key files.

Local users and (without bubblewrap) sandboxed handlers must not read the metadata database or a
key. Everything secret is therefore 0600 inside a 0700 data directory. The caches that sandboxes
read stay world-readable inside it: the executor binds them into the sandbox as root, so the
private parent does not stop them. Only as root without bubblewrap, where a handler runs as its
own uid against the real paths, must others be able to pass through the data directory (0711,
never list it) to reach the cache; the database, the keys and the blobs stay owner-only then too.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_DIR_MODE = 0o700
TRAVERSABLE_DIR_MODE = 0o711
PRIVATE_FILE_MODE = 0o600
# SQLite's companions of a database file: WAL, shared memory, rollback journal.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def private_dir(path: Path) -> Path:
    """Create `path` 0700, or tighten an existing one that group or others could enter.

    An existing data directory with looser modes is tightened rather than refused: it is ours,
    and every moment it stays open is a moment its database can be copied. The change is logged.
    """
    path = Path(path)
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    _tighten(path, PRIVATE_DIR_MODE)
    return path


def private_data_dir(
    path: Path, *, sandbox_traversal: bool | None = None, shared: tuple[str, ...] = ("cache",)
) -> Path:
    """The data directory made private: every file directly in it 0600 (the database, its
    journals, the key files), every subdirectory 0700 (the blobs) except the `shared` caches
    that sandboxes read, and itself 0700, or 0711 with `sandbox_traversal`.

    `sandbox_traversal` None (the CLI commands) keeps whatever search permission others have,
    which a running server chose; read and write permission for others always goes.
    """
    path = Path(path)
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    if sandbox_traversal is None:
        current = stat.S_IMODE(os.stat(path).st_mode)
        _set_mode(path, current & 0o700 | current & 0o011 | PRIVATE_DIR_MODE)
    else:
        _set_mode(path, TRAVERSABLE_DIR_MODE if sandbox_traversal else PRIVATE_DIR_MODE)
    for entry in os.scandir(path):
        if entry.is_file(follow_symlinks=False):
            private_file(Path(entry.path))
        elif entry.is_dir(follow_symlinks=False) and entry.name not in shared:
            private_dir(Path(entry.path))
    return path


def private_file(path: Path) -> None:
    """Tighten an existing file to 0600 (nothing happens for a missing one)."""
    _tighten(Path(path), PRIVATE_FILE_MODE)


def private_sqlite_file(path: Path) -> None:
    """Make the database file (created empty if missing) and its journals 0600.

    SQLite creates the -wal, -shm and -journal files with the database file's own mode, so a
    database file created 0600 before SQLite first opens it keeps all of them private.
    """
    path = Path(path)
    path.parent.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
    except FileExistsError:
        pass
    for suffix in ("", *SQLITE_COMPANIONS):
        private_file(path.with_name(path.name + suffix))


def key_file(path: Path, generate: Callable[[], str]) -> str:
    """The key kept in `path` (0600), generated on first use; stripped of whitespace.

    Creation is race-free between processes sharing the directory: the key is written in full
    to a private temporary file, then hard-linked into place, which fails if another process won.
    """
    path = Path(path)
    if not path.exists():
        candidate = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
        try:
            with os.fdopen(fd, "w") as out:
                out.write(generate())
                out.flush()
                os.fsync(out.fileno())
            os.link(candidate, path)
        except FileExistsError:
            pass
        finally:
            candidate.unlink(missing_ok=True)
    private_file(path)
    return path.read_text().strip()


def _tighten(path: Path, mode: int) -> None:
    try:
        current = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return
    if current & 0o077:
        _set_mode(path, mode)


def _set_mode(path: Path, mode: int) -> None:
    current = stat.S_IMODE(os.stat(path).st_mode)
    if current == mode:
        return
    os.chmod(path, mode)
    if current & ~mode:
        log.warning(
            "%s was mode %o; tightened to %o so that others cannot read it", path, current, mode
        )
