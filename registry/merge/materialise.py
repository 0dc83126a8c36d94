"""Writing a bundle directory from the cache, all or nothing.

The tree is built in a temporary sibling of the output and renamed into place at the end, so on
any error the output is absent (or, with `allow_overwrite`, still the previous bundle). Paths are
resolved against open directory descriptors: thousands of links cost little more than the
system calls themselves.
"""

from __future__ import annotations

import errno
import os
import shutil
import uuid
from pathlib import Path

from registry.archive.entries import DIR, FILE
from registry.errors import InvalidParameterValue
from registry.merge.extract import OPEN_DIRECTORY, process_umask
from registry.merge.manifest import BUNDLE_FILE
from registry.merge.overlay import Overlay
from registry.parallel import default_workers, run_parallel

# Linking fails across filesystems (EXDEV), where links are not allowed (EPERM), or past the link
# count limit (EMLINK); a copy works in all three.
_LINK_FALLBACK = {errno.EXDEV, errno.EPERM, errno.EMLINK}


class OutputExists(InvalidParameterValue):
    """The output directory exists and overwriting was not allowed."""


def check_output(out_dir: Path, allow_overwrite: bool) -> None:
    if os.path.lexists(out_dir) and not allow_overwrite:
        raise OutputExists(f"{out_dir} already exists (allow overwriting to replace it)")


def write_bundle(
    out_dir: Path,
    roots: dict[str, tuple[Overlay, list[Path]]],
    bundle_json: str,
    *,
    copy: bool,
    allow_overwrite: bool,
) -> None:
    """Materialise `roots` ({"opt": (overlay, cache tree of each input index)}) and
    `bundle_json` at `out_dir`."""
    out_dir = Path(out_dir)
    check_output(out_dir, allow_overwrite)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staged = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    descriptors: list[int] = []

    def opened(path: Path) -> int:
        descriptors.append(os.open(path, OPEN_DIRECTORY))
        return descriptors[-1]

    try:
        os.mkdir(staged, 0o755)
        umask = process_umask()
        linker = _Linker(copy)
        copies: list[tuple[int, int, str, int]] = []
        for root, (result, trees) in roots.items():
            os.mkdir(staged / root, 0o755)
            target = opened(staged / root)
            sources: dict[int, int] = {}
            for path, node in result.nodes.items():  # parents first
                if node.kind == DIR:
                    os.mkdir(path, 0o755, dir_fd=target)
                    if umask is None or umask & 0o755:
                        os.chmod(path, 0o755, dir_fd=target)
                elif node.kind == FILE:
                    if node.source not in sources:
                        sources[node.source] = opened(trees[node.source])
                    if not linker.link(sources[node.source], target, path):
                        copies.append((sources[node.source], target, path, node.data.mode))
                else:
                    os.symlink(node.data, path, dir_fd=target)
        if copies:
            run_parallel(copies, _copy, default_workers())
        (staged / BUNDLE_FILE).write_text(bundle_json, encoding="utf-8", errors="surrogateescape")
        for directory in (staged, *(staged / root for root in roots)):
            os.chmod(directory, 0o755)  # exact, whatever the umask
        _swap_into_place(staged, out_dir, allow_overwrite)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    finally:
        for descriptor in descriptors:
            os.close(descriptor)


def _swap_into_place(staged: Path, out_dir: Path, allow_overwrite: bool) -> None:
    if not os.path.lexists(out_dir):
        try:
            os.rename(staged, out_dir)
            return
        except OSError as exc:
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY) or not allow_overwrite:
                raise OutputExists(f"{out_dir} appeared while merging") from None
    old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    os.rename(out_dir, old)
    os.rename(staged, out_dir)
    if old.is_dir() and not old.is_symlink():
        shutil.rmtree(old, ignore_errors=True)
    else:
        old.unlink()


class _Linker:
    """Hard-links cached files into place (in this thread: the kernel serialises links, and
    threads only add switching), until links turn out impossible or unwanted."""

    def __init__(self, copy: bool):
        self.copy = copy

    def link(self, source: int, target: int, path: str) -> bool:
        """Whether the file was linked; if not, it must be copied."""
        if self.copy:
            return False
        try:
            os.link(path, path, src_dir_fd=source, dst_dir_fd=target, follow_symlinks=False)
            return True
        except OSError as exc:
            if exc.errno not in _LINK_FALLBACK:
                raise
            self.copy = True
            return False


def _copy(item: tuple[int, int, str, int]) -> None:
    source, target, path, mode = item
    src = os.open(path, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=source)
    try:
        dst = os.open(
            path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode, dir_fd=target
        )
        try:
            try:
                # Shares extents (a reflink) where the filesystem can, else copies in the kernel.
                while os.copy_file_range(src, dst, 1 << 30):
                    pass
            except OSError:
                while chunk := os.read(src, 1 << 20):
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(dst, view) :]
            os.fchmod(dst, mode)
        finally:
            os.close(dst)
    finally:
        os.close(src)
