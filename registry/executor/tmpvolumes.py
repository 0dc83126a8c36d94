"""Size-capped /tmp filesystems backed by loop-mounted ext4 images (root only).

Unlike a tmpfs, pages written here are page cache of a block device: reclaimable, so a full /tmp
is ENOSPC for the handler and never an OOM kill of its memory cgroup (Lambda keeps /tmp and memory
apart too). An image is a sparse copy of a template made once per size (root directory 1777, no
lost+found); one spare per size is copied in the background for the next cold start.

The image is mounted in the environment's launcher's private mount namespace (`mount`,
mountns.py), never in the host's: a burst of environments would otherwise grow the host's
mount table, which every later mount, unmount and bubblewrap reads in full (each bind it makes),
so each start would cost more than the one before. The mount goes with the namespace, and the
loop device (autoclear) with the mount.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path

from registry.executor.errors import SandboxError
from registry.executor.mountns import LoopExt4


class TmpVolume:
    def __init__(self, workdir: Path, template: Path, size_mb: int):
        self.size_mb = size_mb
        name = uuid.uuid4().hex[:12]
        self.image = workdir / f"tmp-{name}.img"
        self.mountpoint = workdir / f"tmp-{name}"
        self.mountpoint.mkdir()
        try:
            _sparse_copy(template, self.image)
        except BaseException:
            self.image.unlink(missing_ok=True)
            self.mountpoint.rmdir()
            raise

    def mount(self) -> LoopExt4:
        """For the launcher's private mount namespace (see the module's docstring)."""
        return LoopExt4(self.image, self.mountpoint)

    def destroy(self) -> None:
        # The mount went with the environment's namespace; the loop device holds the image open
        # until the kernel lets it go.
        self.image.unlink(missing_ok=True)
        try:
            self.mountpoint.rmdir()
        except OSError:
            pass


class TmpVolumes:
    """Hands out fresh volumes, keeping one spare of each size requested so far."""

    def __init__(self, workdir: Path):
        self._workdir = workdir
        self._templates: dict[int, Path] = {}
        self._spares: dict[int, TmpVolume] = {}
        self._preparing: dict[int, threading.Thread] = {}
        self._lock = threading.Lock()
        self._closed = False

    def take(self, size_mb: int) -> TmpVolume:
        with self._lock:
            spare = self._spares.pop(size_mb, None)
        volume = spare or TmpVolume(self._workdir, self._template(size_mb), size_mb)
        self._prepare_spare(size_mb)
        return volume

    def _template(self, size_mb: int) -> Path:
        with self._lock:
            template = self._templates.get(size_mb)
            if template is not None:
                return template
            template = self._workdir / f"template-{size_mb}.img"
            with open(template, "wb") as f:
                f.truncate(size_mb << 20)
            # No journal and no reserved blocks: the handler gets the full size, as on Lambda.
            _run(
                [
                    "mkfs.ext4",
                    "-q",
                    "-F",
                    "-m",
                    "0",
                    "-O",
                    "^has_journal",
                    "-E",
                    "nodiscard,lazy_itable_init=1",
                    str(template),
                ]
            )
            _prepare_root(template)
            self._templates[size_mb] = template
            return template

    def _prepare_spare(self, size_mb: int) -> None:
        with self._lock:
            if self._closed or size_mb in self._spares or size_mb in self._preparing:
                return
            thread = threading.Thread(
                target=self._make_spare, args=(size_mb,), name="strata-tmp-spare", daemon=True
            )
            self._preparing[size_mb] = thread
        thread.start()

    def _make_spare(self, size_mb: int) -> None:
        try:
            volume = TmpVolume(self._workdir, self._template(size_mb), size_mb)
        except SandboxError:
            volume = None
        with self._lock:
            self._preparing.pop(size_mb, None)
            if volume is not None and not self._closed:
                self._spares[size_mb] = volume
                volume = None
        if volume is not None:
            volume.destroy()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            preparing = list(self._preparing.values())
        for thread in preparing:
            thread.join()
        with self._lock:
            spares, self._spares = list(self._spares.values()), {}
            templates, self._templates = list(self._templates.values()), {}
        for volume in spares:
            volume.destroy()
        for template in templates:
            template.unlink(missing_ok=True)


def _prepare_root(template: Path) -> None:
    """Every copy's root: writable by any uid with the sticky bit, like a host's /tmp (each
    environment has a uid of its own), and without lost+found. Mounted once, in a private mount
    namespace of its own, so the host's table never shows it."""
    with tempfile.TemporaryDirectory(dir=template.parent) as mountpoint:
        target, image = shlex.quote(mountpoint), shlex.quote(str(template))
        script = (
            f"mount -t ext4 -o loop {image} {target} && rmdir {target}/lost+found && "
            f"chmod 1777 {target} && umount {target}"
        )
        _run(["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", script])


def _sparse_copy(source: Path, target: Path) -> None:
    """Copy the data extents of `source` only (an image is mostly holes): cp --sparse without
    a process of its own."""
    with open(source, "rb") as src, open(target, "xb") as dst:
        size = os.fstat(src.fileno()).st_size
        offset = 0
        while offset < size:
            try:
                start = os.lseek(src.fileno(), offset, os.SEEK_DATA)
            except OSError:  # ENXIO: only a hole is left
                break
            end = os.lseek(src.fileno(), start, os.SEEK_HOLE)
            while start < end:
                copied = os.copy_file_range(src.fileno(), dst.fileno(), end - start, start, start)
                if not copied:
                    break
                start += copied
            offset = end
        dst.truncate(size)


def _run(argv: list[str]) -> None:
    if shutil.which(argv[0]) is None:
        raise SandboxError(f"{argv[0]} is not installed")
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise SandboxError(f"{' '.join(argv[:2])} failed: {done.stderr.strip()}")


def usage_bytes(path: Path) -> int:
    """The disk a /tmp without a volume of its own uses (the fallback tier's watchdog)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except OSError:
                pass
    return total
