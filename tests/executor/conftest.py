"""Fixtures for executor tests: bundles on disk, and pools under strict and fallback isolation.

Pools are module-scoped so warm environments are reused across assertions; every module's pools
are closed at its end and checked for leftovers (processes, cgroups, mounts, temp dirs).
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import textwrap
from pathlib import Path

import pytest

from registry.executor import EnvironmentPool, FunctionSpec, HostCapabilities
from registry.executor.owners import owner_token
from tests.support import require_service

PYTHON_RUNTIME = "python3.11"  # /usr/bin/python3.11 on the test machines (Debian 12)


def strict_available(host: HostCapabilities) -> bool:
    return bool(host.root and host.bwrap and host.cgroup_memory and host.cgroup_pids)


@pytest.fixture(scope="session")
def host() -> HostCapabilities:
    return HostCapabilities.detect()


@pytest.fixture(scope="module")
def bundles():
    """A factory for bundles in a world-traversable directory (the sandbox uid must reach them)."""
    root = Path(tempfile.mkdtemp(prefix="strata-test-bundles-"))
    os.chmod(root, 0o755)
    counter = iter(range(10**6))

    def make(
        task: dict[str, str] | None = None,
        opt: dict[str, str] | None = None,
        executables: tuple[str, ...] = (),
    ) -> Path:
        bundle = root / f"b{next(counter)}"
        for part, files in (("task", task or {}), ("opt", opt or {})):
            (bundle / part).mkdir(parents=True, exist_ok=True)
            for rel, text in files.items():
                path = bundle / part / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(textwrap.dedent(text))
        for rel in executables:
            path = bundle / rel
            path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        for path in [bundle, *bundle.rglob("*")]:
            path.chmod(path.stat().st_mode | stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0))
        return bundle

    yield make
    shutil.rmtree(root, ignore_errors=True)


def _isolation_host(name: str, host: HostCapabilities) -> HostCapabilities:
    if name == "strict":
        require_service(
            strict_available(host), "strict isolation needs root, bubblewrap and cgroup v1"
        )
        return host
    require_service(host.root, "the fallback tests run the sandbox uid drop, which needs root")
    return host.without("bwrap", "cgroups", "loop")


@pytest.fixture(scope="module", params=["strict", "fallback"])
def isolation(request, host):
    return request.param


@pytest.fixture(scope="module")
def pool(isolation, host):
    """A pool per isolation mode; checks that closing it leaves nothing behind."""
    chosen = _isolation_host(isolation, host)
    before = snapshot()
    pool = EnvironmentPool(host=chosen, max_environments_per_spec=2, idle_timeout_s=60)
    yield pool
    pool.close()
    assert_nothing_left(before, pool)


def spec_for(
    bundle: Path,
    handler: str = "app.handler",
    runtime: str = PYTHON_RUNTIME,
    isolation: str = "best-effort",
    **kw,
) -> FunctionSpec:
    return FunctionSpec(
        bundle_dir=bundle, handler=handler, runtime=runtime, isolation=isolation, **kw
    )


# ---- leftovers -----------------------------------------------------------------------------


def _executor_cgroups() -> set[str]:
    found = set()
    for controller in ("memory", "pids", "cpu", "freezer", "unified"):
        parent = Path("/sys/fs/cgroup", controller, "strata-executor")
        if parent.is_dir():
            found |= {f"{controller}/{p.name}" for p in parent.iterdir() if p.is_dir()}
    return {name for name in found if name.split("/", 1)[1].startswith(f"{owner_token()}-")}


def _mounts_under(path: Path) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(str(path))]


def _loop_backing_files() -> set[str]:
    found = set()
    for entry in Path("/sys/block").glob("loop*/loop/backing_file"):
        try:
            found.add(entry.read_text().strip())
        except OSError:
            pass
    return found


def _children() -> set[int]:
    me = os.getpid()
    found = set()
    for task in Path(f"/proc/{me}/task").iterdir():
        try:
            found |= {int(c) for c in (task / "children").read_text().split()}
        except OSError:
            pass
    return found


def snapshot() -> dict:
    return {"children": _children(), "cgroups": _executor_cgroups()}


def assert_nothing_left(before: dict, pool: EnvironmentPool) -> None:
    """Only the pool's own: a module's other pools, open meanwhile (xdist interleaves their
    tests), make launchers and groups of their own."""
    workdir = pool._workdir
    assert not workdir.exists(), f"work dir left behind: {workdir}"
    group = f"{owner_token()}-{pool._launchers.group}"
    assert {c for c in _executor_cgroups() - before["cgroups"] if f"/{group}" in c} == set()
    assert _mounts_under(workdir) == []
    assert not {f for f in _loop_backing_files() if f.startswith(str(workdir))}
    others = {c.split("/", 1)[1] for c in _executor_cgroups() if f"/{group}" not in c}
    assert {p for p in _children() - before["children"] if not _in_any(p, others)} == set()


def _in_any(pid: int, groups: set[str]) -> bool:
    """Whether process `pid` is in one of these groups (another pool's launcher)."""
    try:
        membership = Path(f"/proc/{pid}/cgroup").read_text()
    except OSError:
        return False
    return any(f"/{name}\n" in membership for name in groups)


def processes_of_uid(uid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if fields.get("State", "").split()[:1] != ["Z"] and int(fields["Uid"].split()[1]) == uid:
            found.append(int(status.parent.name))
    return found
