"""What the sandboxed handler can see and touch under strict isolation, and strict's refusals."""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import threading
import uuid
from pathlib import Path

import pytest

from registry.errors import InvalidParameterValue
from registry.executor import EnvironmentPool, IsolationUnavailable, SandboxError
from registry.executor.launchers import LAUNCH_ENV, Launcher
from registry.executor.mountns import MountNamespaces
from registry.executor.plan import plan
from registry.executor.sandbox import (
    ENVIRONMENT_STEP,
    args_data,
    environment_exports,
    staging_mounts,
)
from tests.executor.conftest import spec_for, strict_available
from tests.support import require_service

PROBE = {
    "app.py": """
    import errno, os, socket

    def attempt(action):
        try:
            action()
            return "ok"
        except OSError as exc:
            return errno.errorcode[exc.errno]

    def write(path):
        with open(path, "w") as f:
            f.write("x")

    def connect():
        with socket.create_connection(("1.1.1.1", 80), timeout=2):
            pass

    def handler(event, context):
        with open("/proc/self/status") as f:
            status = dict(line.split(":", 1) for line in f)
        return {
            "task": attempt(lambda: write("/var/task/owned")),
            "opt": attempt(lambda: write("/opt/owned")),
            "root": attempt(lambda: write("/owned")),
            "dev_shm": attempt(lambda: write("/dev/shm/owned")),
            "tmp": attempt(lambda: write("/tmp/" + event["marker"])),
            "network": attempt(connect),
            "uid": os.getuid(),
            "cap_eff": status["CapEff"].strip(),
            "env": sorted(os.environ),
            "cwd": os.getcwd(),
        }
"""
}


@pytest.fixture(scope="module")
def strict_pool(host):
    require_service(strict_available(host), "strict isolation needs root, bubblewrap and cgroup v1")
    with EnvironmentPool(host=host, max_environments_per_spec=1) as pool:
        yield pool


@pytest.fixture(scope="module")
def probe(strict_pool, bundles):
    bundle = bundles(task=PROBE, opt={"python/helper.py": ""})
    marker = f"strata-escape-{uuid.uuid4().hex}"
    result = strict_pool.invoke(
        spec_for(bundle, isolation="strict"), json.dumps({"marker": marker}).encode()
    )
    assert result.outcome == "success", result.payload
    return json.loads(result.payload), marker


def test_filesystem__task_opt_and_root_are_read_only(probe):
    seen, _ = probe
    assert (seen["task"], seen["opt"], seen["root"], seen["dev_shm"]) == ("EROFS",) * 4
    assert seen["cwd"] == "/var/task"


def test_filesystem__writes_to_tmp_stay_in_the_sandbox(probe):
    seen, marker = probe
    assert seen["tmp"] == "ok"
    assert not os.path.exists(f"/tmp/{marker}")


def test_network__is_unreachable_without_the_network_option(probe):
    assert probe[0]["network"] in ("ENETUNREACH", "EHOSTUNREACH")


def test_user__handler_never_runs_as_root_and_has_no_capabilities(probe):
    seen, _ = probe
    assert seen["uid"] != 0 and int(seen["cap_eff"], 16) == 0


def test_environment__is_lambdas_and_the_host_does_not_leak_in(probe, monkeypatch):
    names = set(probe[0]["env"])
    assert {
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
        "_HANDLER",
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "TZ",
        "LANG",
        "PATH",
        "LD_LIBRARY_PATH",
        "PYTHONPATH",
    } <= names
    assert not names & {"HOME", "USER", "VIRTUAL_ENV", "PYTEST_CURRENT_TEST", "CI"}


def test_environment__search_paths_follow_lambda(strict_pool, bundles):
    bundle = bundles(
        task={
            "app.py": """
        import os, sys
        def handler(event, context):
            return {k: os.environ[k] for k in ("PATH", "LD_LIBRARY_PATH", "PYTHONPATH")}
    """
        }
    )
    paths = json.loads(strict_pool.invoke(spec_for(bundle), b"{}").payload)
    assert paths["PYTHONPATH"] == ("/var/task:/opt/python/lib/python3.11/site-packages:/opt/python")
    assert paths["PATH"].split(":")[-1] == "/opt/bin"
    assert paths["LD_LIBRARY_PATH"].split(":")[-1] == "/opt/lib"


def test_strict__refuses_when_a_limit_cannot_be_enforced_hard(host, bundles):
    spec = spec_for(bundles(task={"app.py": ""}), isolation="strict")
    with pytest.raises(IsolationUnavailable) as refused:
        plan(spec, host.without("cgroups"))
    assert set(refused.value.missing) == {"memory", "pids", "cpu"}


def test_best_effort__runs_and_reports_the_weaker_mechanisms(host, bundles):
    spec = spec_for(bundles(task={"app.py": ""}))
    mechanisms = plan(spec, host.without("bwrap", "cgroups")).mechanisms(spec)
    assert "soft" in mechanisms["memory"] and mechanisms["filesystem"].startswith("none")


def test_private_bundle__strict_binds_it_in_for_the_sandbox_uid(strict_pool, tmp_path):
    # pytest's tmp_path sits below a 0700 directory the sandbox uid cannot traverse
    (tmp_path / "task").mkdir()
    (tmp_path / "task" / "app.py").write_text(
        "def handler(event, context):\n    return 'reached'\n"
    )

    result = strict_pool.invoke(spec_for(tmp_path), b"{}")

    assert result.payload == b'"reached"'


def test_private_bundle__fallback_refuses_with_a_sandbox_error(host, tmp_path):
    require_service(host.root, "the fallback's uid drop needs root")
    (tmp_path / "task").mkdir()
    (tmp_path / "task" / "app.py").write_text("def handler(event, context):\n    return 1\n")
    with EnvironmentPool(host=host.without("bwrap", "cgroups", "loop")) as pool:
        with pytest.raises(SandboxError, match="not readable by the sandbox's unprivileged uid"):
            pool.invoke(spec_for(tmp_path), b"{}")
        workdir = pool._workdir
        assert [p.name for p in workdir.iterdir() if p.name.startswith("env-")] == []


def test_isolation_none__no_sandbox_but_still_not_root(host, bundles):
    require_service(host.root, "the uid drop needs root")
    bundle = bundles(
        task={
            "app.py": """
        import os
        def handler(event, context):
            return {"uid": os.getuid(), "task": os.environ["LAMBDA_TASK_ROOT"]}
    """
        }
    )
    with EnvironmentPool(host=host) as pool:
        result = pool.invoke(spec_for(bundle, isolation="none"), b"{}")
    answer = json.loads(result.payload)
    assert answer["uid"] != 0 and answer["task"] == str(bundle / "task")
    assert result.mechanisms["memory"] == "none" and result.mechanisms["filesystem"].startswith(
        "none"
    )


TAMPER = {
    "app.py": """
    import os
    def handler(event, context):
        runtime = os.environ["LAMBDA_RUNTIME_DIR"]
        tried = {}
        for name in ("bootstrap.py", "planted.py"):
            try:
                with open(os.path.join(runtime, name), "w") as f:
                    f.write("raise SystemExit('planted')")
                tried[name] = "written"
            except OSError as exc:
                tried[name] = exc.errno
        return {"runtime": runtime, "tried": tried, "files": sorted(os.listdir(runtime))}
"""
}


def test_runtime_dir__written_once_for_a_pools_environments_and_no_function_can_change_it(
    pool, bundles
):
    """Every environment of a runtime shows the same runtime dir, written once per pool; a
    function that tries to replace the bootstrap or plant a file beside it changes nothing for
    the next environment, another account's function included."""
    tamper = spec_for(bundles(task=TAMPER))
    other = spec_for(bundles(task={"app.py": "def handler(event, context):\n    return 'ok'\n"}))

    first = json.loads(pool.invoke(tamper, b"{}").payload)
    pool.discard(tamper)
    again = json.loads(pool.invoke(tamper, b"{}").payload)
    served = pool.invoke(other, b"{}")

    assert set(first["tried"].values()) <= {errno.EACCES, errno.EROFS, errno.EPERM}, first
    assert again["files"] == first["files"] and "planted.py" not in first["files"]
    assert served.outcome == "success" and json.loads(served.payload) == "ok"
    runtimes = list(pool._workdir.glob("**/bootstrap.py"))
    assert len(runtimes) == 1, runtimes


# ---- the function's environment, host paths and the syscall filter -----------------------------


def test_launcher__runs_every_step_outside_the_sandbox_with_stratas_environment_only(tmp_path):
    seen = tmp_path / "environ"
    launcher = Launcher(memory=False, memsw=False, pids=False)
    try:
        launcher.launch(
            ["/bin/sh", "-c", f"cat /proc/self/environ > {seen}; cat"],
            cwd="/",
            private=b"export LD_PRELOAD=/x.so\n",
            private_on_stdin=True,
        )
        launcher.proc.wait(timeout=10)
    finally:
        launcher.discard()
    env = dict(item.split(b"=", 1) for item in seen.read_bytes().split(b"\0") if item)
    # The shell's own PWD and OLDPWD (the launcher's cd), and nothing from the private pipe.
    assert (
        env.keys() <= {b"PATH", b"PWD", b"OLDPWD"} and env[b"PATH"] == LAUNCH_ENV["PATH"].encode()
    )


def test_function_variables__reach_the_runtime_intact_in_every_tier(pool, bundles):
    tricky = {
        "QUOTES": "a'b\"c",
        "SUBST": "$(echo no) `echo no` $HOME",
        "LINES": "one\ntwo\n",
        "SPACES": "  padded  ",
        "EMPTY": "",
        "LD_LIBRARY_PATH": "/custom/lib",
    }
    bundle = bundles(
        task={
            "app.py": """
        import os
        def handler(event, context):
            return {name: os.environ.get(name) for name in event}
    """
        }
    )
    result = pool.invoke(spec_for(bundle, env=tricky), json.dumps(list(tricky)).encode())
    assert json.loads(result.payload) == tricky


def test_environment_step__evaluates_nothing_of_the_values(tmp_path):
    planted = tmp_path / "planted"
    env = {"A": f"$(touch {planted})", "B": f"`touch {planted}`; touch {planted}"}
    done = subprocess.run(
        [*ENVIRONMENT_STEP, "/usr/bin/env"],
        input=environment_exports(env),
        capture_output=True,
        env={"PATH": "/usr/bin:/bin"},
        timeout=10,
    )
    assert done.returncode == 0 and not planted.exists()
    lines = done.stdout.decode().splitlines()
    assert f"A=$(touch {planted})" in lines and f"B=`touch {planted}`; touch {planted}" in lines


def test_sandbox_arguments__a_nul_cannot_split_them():
    with pytest.raises(SandboxError):
        args_data(["--setenv", "A", "x\0--bind\0/\0/host"])
    with pytest.raises(InvalidParameterValue):
        spec_for(Path(__file__).parent, env={"A": "x\0y"})


def test_staging_mounts__overlays_name_no_host_path_and_the_last_layer_wins(host, tmp_path):
    require_service(host.root and host.overlay, "overlay mounts need root and overlayfs")
    private = tmp_path / "private dir"
    for layer, text in (("one", "first"), ("two", "second")):
        (private / layer).mkdir(parents=True)
        (private / layer / "file").write_text(text + "\n")
    mounts, mounted = staging_mounts(
        {"opt": [private / "one", private / "two"], "task": [private / "one"]},
        {},
        tmp_path / "stage",
    )
    assert mounted == {"opt": tmp_path / "stage" / "opt", "task": tmp_path / "stage" / "task"}
    lines = _run_with_mounts(
        mounts,
        f'cat {mounted["opt"]}/file {mounted["task"]}/file; grep " {tmp_path}/" '
        "/proc/self/mountinfo",
    )
    assert lines[:2] == ["second", "first"]
    # Each overlay's root is "/" and its options name fds, never the directories behind them.
    found = [line.split() for line in lines[2:]]
    assert [fields[3] for fields in found] == ["/", "/"]
    options = [line.split(" - ")[1] for line in lines[2:]]
    assert len(options) == 2 and all(
        re.match(r"overlay strata ro,lowerdir=/proc/self/fd/\d+:/proc/self/fd/\d+", o)
        for o in options
    )
    # Made in the process's own namespace: the host's never shows them.
    assert str(tmp_path) not in Path("/proc/self/mountinfo").read_text()


def test_staging_mounts__a_mount_that_fails_is_a_sandbox_error(host, tmp_path):
    require_service(host.root and host.overlay, "overlay mounts need root and overlayfs")
    mounts, _ = staging_mounts({"opt": [tmp_path / "missing"]}, {}, tmp_path / "stage")
    with pytest.raises(SandboxError):
        _run_with_mounts(mounts, "true")


def _run_with_mounts(mounts, script: str) -> list[str]:
    """Output of `script`, run by a process whose private mount namespace got `mounts` before
    the script reached it (as an environment's launcher gets them)."""
    namespaces = MountNamespaces()
    spawned = {}

    def spawn():  # on a thread of its own, as the launchers' spawner threads are
        spawned["proc"] = namespaces.in_new_namespace(
            lambda: subprocess.Popen(
                ["/bin/sh", "-c", 'read go && eval "$go"'],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )

    thread = threading.Thread(target=spawn)
    thread.start()
    thread.join()
    proc = spawned["proc"]
    try:
        namespaces.mount_in(proc.pid, mounts)
        out, err = proc.communicate(script + "\n", timeout=10)
    finally:
        proc.kill()
        proc.wait()
        namespaces.close()
    assert proc.returncode == 0, err
    return out.splitlines()


def test_strict__refuses_without_neutral_paths(host, bundles):
    require_service(strict_available(host), "strict isolation needs root, bubblewrap and cgroup v1")
    spec = spec_for(bundles(task={"app.py": ""}), isolation="strict")
    with pytest.raises(IsolationUnavailable) as refused:
        plan(spec, host.without("overlay"))
    assert "paths" in refused.value.missing


def test_strict__reports_neutral_paths_and_the_syscall_filter(probe, strict_pool, bundles):
    spec = spec_for(bundles(task={"app.py": ""}), isolation="strict")
    mechanisms = plan(spec, strict_pool.host).mechanisms(spec)
    assert mechanisms["paths"].startswith("neutral")
    assert (
        mechanisms["syscalls"].startswith("seccomp")
        and "--disable-userns" in mechanisms["syscalls"]
    )
    fallback = plan(spec_for(spec.bundle_dir), strict_pool.host.without("bwrap"))
    assert fallback.mechanisms(spec)["paths"].startswith("host paths visible")
    assert fallback.mechanisms(spec)["syscalls"].startswith("no seccomp")


def test_launcher__arguments_larger_than_a_pipe_reach_the_chain_whole(tmp_path):
    seen = tmp_path / "received"
    private = b"x" * (300 * 1024)
    launcher = Launcher(memory=False, memsw=False, pids=False)
    try:
        launcher.launch(
            ["/bin/sh", "-c", f"cat > {seen}"], cwd="/", private=private, private_on_stdin=True
        )
        launcher.proc.wait(timeout=10)
    finally:
        launcher.discard()
    assert seen.read_bytes() == private
