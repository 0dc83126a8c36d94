"""Python runtimes forked from a builder of their interpreter: the sandbox bubblewrap would build,
seen the same from inside; bubblewrap wherever a fork could differ; nothing of the builder within
reach of a function."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from registry.executor import EnvironmentPool
from tests.executor.conftest import assert_nothing_left, snapshot, spec_for, strict_available
from tests.support import require_service

PROBE = """
import json, os, sys

def _mounts():
    found = []
    for line in open("/proc/self/mountinfo"):
        fields = line.split()
        options = fields[5].split(",")
        found.append([fields[4], "ro" in options, "nosuid" in options, "nodev" in options])
    return found

def handler(event, context):
    status = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return {
        "uid": os.getuid(),
        "gid": os.getgid(),
        "groups": os.getgroups(),
        "caps": [status[k].strip() for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")],
        "no_new_privs": status["NoNewPrivs"].strip(),
        "seccomp": status["Seccomp"].strip(),
        "pid": os.getpid(),
        "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
        "pid1": open("/proc/1/cmdline", "rb").read().split(b"\\0")[0].decode(),
        "root": sorted(os.listdir("/")),
        "dev": sorted(os.listdir("/dev")),
        "mounts": _mounts(),
        "cgroup": open("/proc/self/cgroup").read(),
        "fds": sorted(os.listdir("/proc/self/fd")),
        "env": dict(os.environ),
        "path": sys.path,
        "argv": sys.argv,
        "flags": str(sys.flags),
        "main": sorted(k for k in vars(sys.modules["__main__"]) if not k.startswith("__")),
        "cwd": os.getcwd(),
        "tmp_writable": os.access("/tmp", os.W_OK),
        "hostname": os.uname().nodename,
    }
"""


@pytest.fixture(scope="module")
def strict_pool(host):
    require_service(strict_available(host), "strict isolation needs root, bubblewrap and cgroup v1")
    before = snapshot()
    pool = EnvironmentPool(host=host, max_environments_per_spec=4, idle_timeout_s=60)
    yield pool
    pool.close()
    assert_nothing_left(before, pool)


def _probe(pool, bundles, **kw) -> dict:
    result = pool.invoke(spec_for(bundles(task={"app.py": PROBE}), isolation="strict", **kw), b"{}")
    assert result.outcome == "success", result.payload
    return json.loads(result.payload)


def test_forked__a_python_function_runs_in_a_fork_of_the_builder(strict_pool, bundles):
    seen = _probe(strict_pool, bundles)
    assert seen["pid1"].endswith("python3.11")  # the builder's fork, not bubblewrap


def test_forked__sees_the_sandbox_bubblewrap_builds(strict_pool, bundles, monkeypatch):
    forked = _probe(strict_pool, bundles)
    monkeypatch.setenv("STRATA_FORKED_RUNTIMES", "0")
    built = _probe(strict_pool, bundles)
    assert built["pid1"].endswith("bwrap")

    for seen in (forked, built):
        assert seen["uid"] == seen["gid"] and seen["uid"] not in (0, os.getuid())
        assert seen["groups"] == []
        assert seen["caps"] == ["0000000000000000"] * 5
        assert (seen["no_new_privs"], seen["seccomp"]) == ("1", "2")
        assert seen["pids"] == [1, seen["pid"]] and seen["pid"] == 2
        assert seen["tmp_writable"]
    different = {"uid", "gid", "pid1", "env"}
    assert {k: v for k, v in forked.items() if k not in different} == {
        k: v for k, v in built.items() if k not in different
    }
    assert forked["env"].keys() == built["env"].keys()
    for name in ("PATH", "LD_LIBRARY_PATH", "PYTHONPATH", "LANG", "TZ", "_HANDLER"):
        assert forked["env"][name] == built["env"][name]


def test_forked__variables_read_at_an_interpreters_start_keep_bubblewrap(strict_pool, bundles):
    for name, value in (
        ("PYTHONDONTWRITEBYTECODE", "1"),
        ("LD_PRELOAD", ""),
        ("LC_ALL", "C.UTF-8"),
        ("TZ", "Europe/Paris"),
    ):
        seen = _probe(strict_pool, bundles, env={name: value})
        assert seen["pid1"].endswith("bwrap"), name
        assert seen["env"][name] == value


def test_forked__shared_libraries_where_the_loader_looks_keep_bubblewrap(strict_pool, bundles):
    for task, opt in (
        ({"libgreet.so": ""}, {}),
        ({"lib/libgreet.so.1": ""}, {}),
        ({}, {"lib/libgreet.so": ""}),
    ):
        bundle = bundles(task={"app.py": PROBE, **task}, opt=opt)
        result = strict_pool.invoke(spec_for(bundle, isolation="strict"), b"{}")
        assert result.outcome == "success", result.payload
        assert json.loads(result.payload)["pid1"].endswith("bwrap"), (task, opt)


def test_forked__orphans_of_the_handler_are_reaped_inside(strict_pool, bundles):
    spawner = """
import os, time

def handler(event, context):
    for _ in range(20):
        if os.fork() == 0:
            if os.fork() == 0:
                os._exit(0)  # an orphan: its parent has gone
            os._exit(0)
    time.sleep(0.3)
    zombies = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
            if state == "Z":
                zombies.append(int(pid))
    for _ in range(20):
        try:
            os.wait()
        except ChildProcessError:
            break
    return {"zombies": zombies}
"""
    result = strict_pool.invoke(
        spec_for(bundles(task={"app.py": spawner}), isolation="strict"), b"{}"
    )
    assert result.outcome == "success", result.payload
    # The handler's own children wait for it; only they may be zombies.
    assert len(json.loads(result.payload)["zombies"]) <= 20


def test_forked__a_killed_builder_takes_its_environments_and_a_new_one_follows(host, bundles):
    require_service(strict_available(host), "strict isolation needs root, bubblewrap and cgroup v1")
    before = snapshot()
    pool = EnvironmentPool(host=host, max_environments_per_spec=2, idle_timeout_s=60)
    try:
        spec = spec_for(bundles(task={"app.py": PROBE}), isolation="strict")
        first = json.loads(pool.invoke(spec, b"{}").payload)
        builders = list(pool._launchers._builders.values())
        assert len(builders) == 1
        os.kill(builders[0]._proc.pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while builders[0].alive and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not builders[0].alive

        result = pool.invoke(spec, b"{}")
        assert result.outcome == "success", result.payload
        second = json.loads(result.payload)
        assert second["uid"] != first["uid"]  # a new environment: the old one went with it
    finally:
        pool.close()
    assert_nothing_left(before, pool)


def test_forked__another_accounts_runtime_never_shares_the_hash_seed(strict_pool, bundles):
    """Forks of one builder hash strings alike; one account could otherwise find keys that
    collide in another's dicts (its JSON payloads) by trying them in its own runtime."""
    hasher = """
def handler(event, context):
    return hash("strata-hash-seed")
"""
    bundle = bundles(task={"app.py": hasher})

    def seed_seen(account: str, name: str) -> int:
        arn = f"arn:aws:lambda:us-east-1:{account}:function:{name}"
        spec = spec_for(bundle, isolation="strict", function_name=name, function_arn=arn)
        result = strict_pool.invoke(spec, b"{}")
        assert result.outcome == "success", result.payload
        return int(result.payload)

    one = seed_seen("111111111111", "first")
    assert seed_seen("111111111111", "second") == one  # the same builder: the saving
    assert seed_seen("222222222222", "first") != one


def test_forked__builders_past_the_idle_limit_stop_when_their_accounts_have_no_environment(
    host, bundles, monkeypatch
):
    require_service(strict_available(host), "strict isolation needs root, bubblewrap and cgroup v1")
    monkeypatch.setattr("registry.executor.launchers.MAX_IDLE_BUILDERS", 1)
    before = snapshot()
    pool = EnvironmentPool(host=host, max_environments_per_spec=1, idle_timeout_s=60)
    try:
        bundle = bundles(task={"app.py": PROBE})
        specs = [
            spec_for(
                bundle,
                isolation="strict",
                function_arn=f"arn:aws:lambda:us-east-1:{account}:function:f",
            )
            for account in ("111111111111", "222222222222", "333333333333")
        ]
        for spec in specs[:2]:
            assert pool.invoke(spec, b"{}").outcome == "success"
        builders = dict(pool._launchers._builders)
        assert len(builders) == 2  # the first account's environment keeps its builder

        pool.discard(specs[0])
        assert pool.invoke(specs[2], b"{}").outcome == "success"
        kept = pool._launchers._builders
        first = next(b for key, b in builders.items() if key[1] == "111111111111")
        assert first not in kept.values() and first._proc.poll() is not None
        assert len(kept) == 2  # the second's environment still lives
    finally:
        pool.close()
    assert_nothing_left(before, pool)
