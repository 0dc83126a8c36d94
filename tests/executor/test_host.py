"""Detecting what the host allows must leave nothing running, whatever its probes do."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from registry.executor import host as host_module
from tests.support import require_service

# A sleep no other process on the host runs, so its processes can be told apart.
MARKER = "3141.5926"


def processes_running(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker.encode() in argv:
            found.append(int(entry.name))
    return found


def test_bwrap_probe__one_that_hangs_is_killed_with_everything_it_started():
    require_service(
        os.geteuid() == 0 and shutil.which("bwrap") is not None,
        "the probe drops to a sandbox uid, which needs root and bubblewrap",
    )

    found = host_module._working_bwrap(True, command=("/bin/sleep", MARKER), timeout_s=1)

    assert found is None
    # Killing only the probe's own process left bubblewrap's pid 1 and the command behind.
    deadline = time.monotonic() + 5
    while processes_running(MARKER) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_running(MARKER) == []


def test_bwrap_probe__finds_a_working_bubblewrap():
    require_service(shutil.which("bwrap") is not None, "bubblewrap is not installed")

    assert host_module._working_bwrap(os.geteuid() == 0) == shutil.which("bwrap")
