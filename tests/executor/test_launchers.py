"""Launchers: the descriptors a launcher is handed."""

from __future__ import annotations

import os
from itertools import pairwise

import pytest

from registry.executor.launchers import Launcher


def _free_descriptors(count: int, *, every_other: bool) -> list[int]:
    """Open descriptors until the last `count` opened are a run above every hole, then free that
    run (or every other number of it); return what stays open, for the caller to close."""
    held: list[int] = []
    while len(held) < count or held[-1] - held[-count] != count - 1:
        assert len(held) < 4096
        held.append(os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC))
    for fd in held[-count:][:: 2 if every_other else 1]:
        os.close(fd)
        held.remove(fd)
    return held


@pytest.mark.parametrize("every_other", [False, True], ids=["contiguous", "fragmented"])
def test_launcher__passes_no_two_adjacent_descriptors(every_other):
    held = _free_descriptors(64, every_other=every_other)
    try:
        launcher = Launcher(memory=False, memsw=False, pids=False)
    finally:
        for fd in held:
            os.close(fd)
    try:
        passed = sorted(
            [launcher.info_fd, launcher.block_fd, launcher.args_fd, launcher.seccomp_fd]
        )
    finally:
        launcher.discard()
    assert all(b - a > 1 for a, b in pairwise(passed)), passed
