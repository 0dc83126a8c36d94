"""Extraction of archives into the cache, several archives at once.

Extracting is checking: every entry of every archive is decompressed and verified (as
`check_zip` does), the winners of duplicate names are written, and the rest only verified. Files
of all archives are written by a pool of threads, largest first, because decompression, hashing
and file writes release the GIL and one big shared library must not hold up the rest.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from registry.archive.entries import DIR, FILE, SYMLINK, ZipEntry
from registry.archive.reader import Archive, Layout
from registry.merge.cache import CachedArchive, CachedNode, ExtractionCache
from registry.parallel import default_workers, run_parallel

_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
OPEN_DIRECTORY = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)


def process_umask() -> int | None:
    """The umask, read without changing it (os.umask would race with other threads); None if
    unknown. Files and directories whose modes it leaves intact need no chmod afterwards."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return None


@dataclass
class _Job:
    archive: Archive
    sha256: str
    layout: Layout
    staged: Path
    tree: int  # descriptor of staged/tree: entries are opened relative to it, not by full path
    digests: dict[str, str]
    umask: int | None


def extract_all(
    archives: list[tuple[Archive, str]], cache: ExtractionCache, *, workers: int | None = None
) -> list[CachedArchive]:
    """Extract each (open archive, sha256) into the cache; return their cache entries in order.

    On any error nothing is published and every temporary directory is removed.
    """
    jobs: list[_Job] = []
    umask = process_umask()
    try:
        for archive, sha256 in archives:
            layout = archive.layout()
            staged = cache.staging(sha256)
            tree = os.open(staged / "tree", OPEN_DIRECTORY)
            jobs.append(_Job(archive, sha256, layout, staged, tree, {}, umask))
            _make_directories(layout, tree, umask)
        tasks = [(job, entry) for job in jobs for entry in job.archive.entries]
        tasks.sort(key=lambda task: -task[1].compressed_size)
        run_parallel(tasks, _extract_entry, workers or default_workers())
        summaries = []
        for job in jobs:
            _make_symlinks(job.layout, job.tree)
            summaries.append(job.archive.summary(job.layout))
        return [
            cache.publish(job.staged, job.sha256, summary, _nodes(job))
            for job, summary in zip(jobs, summaries, strict=True)
        ]
    except BaseException:
        for job in jobs:
            cache.abandon(job.staged)
        raise
    finally:
        for job in jobs:
            os.close(job.tree)


def _make_directories(layout: Layout, tree: int, umask: int | None) -> None:
    for path, node in layout.tree.nodes.items():  # parents first
        if node.kind == DIR:
            os.mkdir(path, 0o755, dir_fd=tree)
            if umask is None or umask & 0o755:
                os.chmod(path, 0o755, dir_fd=tree)


def _make_symlinks(layout: Layout, tree: int) -> None:
    for path, node in layout.tree.nodes.items():
        if node.kind == SYMLINK:
            os.symlink(node.data, path, dir_fd=tree)


def _extract_entry(task: tuple[_Job, ZipEntry]) -> None:
    job, entry = task
    node = job.layout.tree.nodes.get(entry.path)
    wins = node is not None and node.source == entry.index and entry.kind == FILE
    if not wins:
        for _ in job.archive.iter_data(entry):
            pass  # verified, not written: a later entry of the same name replaces it
        return
    digest = hashlib.sha256()
    fd = os.open(entry.path, _CREATE, entry.mode, dir_fd=job.tree)
    try:
        for chunk in job.archive.iter_data(entry):
            digest.update(chunk)
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view) :]
        if job.umask is None or entry.mode & job.umask:
            os.fchmod(fd, entry.mode)
    finally:
        os.close(fd)
    job.digests[entry.path] = digest.hexdigest()


def _nodes(job: _Job) -> list[CachedNode]:
    nodes = []
    for path, node in sorted(job.layout.tree.nodes.items()):
        if node.kind == FILE:
            entry: ZipEntry = node.data
            nodes.append(CachedNode(path, FILE, entry.mode, entry.size, job.digests[path], True))
        elif node.kind == SYMLINK:
            nodes.append(CachedNode(path, SYMLINK, 0o777, len(node.data.encode()), node.data, True))
        else:
            nodes.append(CachedNode(path, DIR, 0o755, 0, "", node.explicit))
    return nodes
