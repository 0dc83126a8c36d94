"""An environment's cgroups keep the files every invocation touches open while they exist, and
not one descriptor outlives them."""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest

from registry.executor.cgroups import EnvironmentCgroups
from registry.executor.owners import owner_token
from tests.executor.conftest import strict_available
from tests.support import require_service


def _descriptors() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("kind", ["cgroup2", "cgroup1"])
def test_cgroups__freeze_and_peak_through_kept_descriptors_that_close_with_the_groups(host, kind):
    require_service(strict_available(host), "needs root and cgroups")
    before = _descriptors()
    groups = EnvironmentCgroups(
        f"{owner_token()}-{uuid.uuid4().hex[:8]}",
        memory=True,
        memsw=False,
        pids=False,
        freezer=kind,
    )
    try:
        member = subprocess.Popen(
            [
                "/bin/sh",
                "-c",
                f"echo $$ > {groups.memory}/cgroup.procs && echo $$ > {groups.freezer}/cgroup.procs"
                " && exec python3 -c 'x = bytearray(40 << 20); del x; print(flush=True); input()'",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        member.stdout.readline()  # it held 40 MB, and has let them go
        assert groups.peak_mb() >= 40
        groups.reset_peak()
        assert groups.peak_mb() < 40
        groups.freeze()
        state = "cgroup.freeze" if kind == "cgroup2" else "freezer.state"
        assert (groups.freezer / state).read_text().strip() in ("1", "FREEZING", "FROZEN")
        groups.thaw()
        assert (groups.freezer / state).read_text().strip() in ("0", "THAWED")
    finally:
        groups.remove()
    member.wait(timeout=5)
    member.stdin.close()
    member.stdout.close()
    assert _descriptors() == before
    with pytest.raises(FileNotFoundError):
        groups.freeze()


def test_cgroups__a_kept_descriptor_closed_under_them_is_opened_again_and_no_other_file_written(
    host, tmp_path
):
    require_service(strict_available(host), "needs root and cgroups")
    groups = EnvironmentCgroups(
        f"{owner_token()}-{uuid.uuid4().hex[:8]}",
        memory=True,
        memsw=False,
        pids=False,
        freezer="cgroup2",
    )
    decoy = None
    try:
        os.close(groups._descriptors["freeze"].fd)  # a close of someone else's, twice
        decoy = os.open(tmp_path / "decoy", os.O_RDWR | os.O_CREAT)  # takes the lowest number
        groups.freeze()
        assert (groups.freezer / "cgroup.freeze").read_text().strip() == "1"
        assert (tmp_path / "decoy").read_bytes() == b""
    finally:
        groups.remove()
        if decoy is not None:
            os.close(decoy)
    assert not groups.freezer.exists()
