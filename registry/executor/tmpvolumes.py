"""Size-capped /tmp filesystems backed by loop-mounted ext4 images (root only).

Unlike a tmpfs, pages written here are page cache of a block device: reclaimable, so a full /tmp
is ENOSPC for the handler and never an OOM kill of its memory cgroup (Lambda keeps /tmp and memory
apart too). Making and mounting an image takes tens of milliseconds, so one spare volume per size
is prepared in the background and the next cold start takes it ready-made.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import uuid
from pathlib import Path

from registry.executor.errors import SandboxError


class TmpVolume:
    def __init__(self, workdir: Path, template: Path, size_mb: int):
        self.size_mb = size_mb
        name = uuid.uuid4().hex[:12]
        self.image = workdir / f"tmp-{name}.img"
        self.mountpoint = workdir / f"tmp-{name}"
        self.mountpoint.mkdir()
        try:
            _run(["cp", "--sparse=always", str(template), str(self.image)])
            _run(
                [
                    "mount",
                    "-t",
                    "ext4",
                    "-o",
                    "loop,nosuid,nodev",
                    str(self.image),
                    str(self.mountpoint),
                ]
            )
        except BaseException:
            self.image.unlink(missing_ok=True)
            self.mountpoint.rmdir()
            raise
        (self.mountpoint / "lost+found").rmdir()

    def give_to(self, uid: int) -> None:
        os.chown(self.mountpoint, uid, uid)
        os.chmod(self.mountpoint, 0o1777)

    def destroy(self) -> None:
        # Lazy unmount returns at once; the loop device (autoclear) goes with the last reference.
        subprocess.run(["umount", "-l", str(self.mountpoint)], capture_output=True)
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


def _run(argv: list[str]) -> None:
    if shutil.which(argv[0]) is None:
        raise SandboxError(f"{argv[0]} is not installed")
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise SandboxError(f"{' '.join(argv[:2])} failed: {done.stderr.strip()}")
