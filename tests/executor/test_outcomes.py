"""Each outcome Lambda reports, under strict isolation (root + bubblewrap + cgroups) and under the
fallback (no bubblewrap, no cgroups: rlimits, a private TMPDIR and the environment's own uid)."""

from __future__ import annotations

import json

import pytest

from registry.executor import EnvironmentPool, processes
from tests.executor.conftest import processes_of_uid, spec_for
from tests.support import require_service

APP = {
    "app.py": """
    import errno, os, subprocess, tempfile, time
    calls = 0

    def handler(event, context):
        global calls
        calls += 1
        action = event.get("action")
        print(f"action={action} calls={calls} uid={os.getuid()}", flush=True)
        if action == "fail":
            raise ValueError("boom")
        if action == "sleep":
            time.sleep(event["seconds"])
        if action == "allocate":
            chunks = []
            for _ in range(event["mb"] // 8):
                chunks.append(bytearray(8 << 20))
        if action == "fill_tmp":
            written = 0
            try:
                with open(os.path.join(tempfile.gettempdir(), "fill"), "wb") as f:
                    while written < event["mb"] << 20:
                        f.write(b"x" * (1 << 20))
                        written += 1 << 20
                    f.flush()
                    os.fsync(f.fileno())
            except OSError as exc:
                return {"errno": errno.errorcode[exc.errno], "written_mb": written >> 20}
            finally:
                try:
                    os.unlink(os.path.join(tempfile.gettempdir(), "fill"))
                except OSError:
                    pass
            return {"errno": None, "written_mb": written >> 20}
        if action == "exit":
            os._exit(3)
        if action == "orphan":
            # A grandchild that leaves the process group and session, then outlives us.
            subprocess.Popen(["/bin/sh", "-c", "sleep 300 & sleep 300"], start_new_session=True)
            time.sleep(60)
        return {"calls": calls, "uid": os.getuid()}
"""
}


@pytest.fixture(scope="module")
def app(bundles):
    return bundles(task=APP)


def invoke(pool, spec, event):
    return pool.invoke(spec, json.dumps(event).encode())


def test_success__returns_the_handler_result_and_a_report(pool, app):
    result = invoke(pool, spec_for(app), {})

    assert result.outcome == "success" and result.function_error is None
    assert json.loads(result.payload)["calls"] >= 1
    assert json.loads(result.payload)["uid"] != 0
    assert result.report.max_memory_used_mb and result.report.max_memory_used_mb > 0
    assert f"REPORT RequestId: {result.request_id}\tDuration: " in result.logs
    assert "action=None" in result.logs


def test_function_error__is_unhandled_with_lambdas_error_object(pool, app):
    result = invoke(pool, spec_for(app), {"action": "fail"})

    assert (result.outcome, result.function_error) == ("function_error", "Unhandled")
    error = json.loads(result.payload)
    assert error["errorType"] == "ValueError" and error["errorMessage"] == "boom"
    assert error["requestId"] == result.request_id
    assert any("raise ValueError" in line for line in error["stackTrace"])
    assert "[ERROR] ValueError: boom" in result.logs
    # the environment survives a handled error
    assert invoke(pool, spec_for(app), {}).outcome == "success"


def test_timeout__kills_the_environment_and_the_next_invocation_starts_fresh(pool, app):
    spec = spec_for(app, timeout_s=0.5)
    warm = invoke(pool, spec, {})

    result = invoke(pool, spec, {"action": "sleep", "seconds": 30})

    assert (result.outcome, result.function_error) == ("timeout", "Unhandled")
    assert json.loads(result.payload)["errorMessage"].endswith("Task timed out after 0.50 seconds")
    assert result.report.duration_ms == pytest.approx(500, abs=1)
    assert "Task timed out after 0.50 seconds" in result.logs
    again = invoke(pool, spec, {})
    assert again.outcome == "success" and again.report.init_duration_ms is not None
    assert json.loads(again.payload)["uid"] != json.loads(warm.payload)["uid"]


def test_timeout__kills_a_setsid_grandchild_too(pool, app):
    result = invoke(pool, spec_for(app, timeout_s=1.0), {"action": "orphan"})

    assert result.outcome == "timeout"
    uid = int(result.logs.split("uid=")[1].split()[0])
    assert processes_of_uid(uid) == []


def test_teardown__groups_that_held_the_environment_spare_a_sweep_of_every_host_process(
    pool, app, monkeypatch
):
    """Reading every process's status costs a burst that evicts hundreds of environments
    seconds of CPU; an emptied cgroup already proves the uid has nothing left."""
    sweeps = []
    sweep = processes.uids_of_all
    monkeypatch.setattr(processes, "uids_of_all", lambda: sweeps.append(1) or sweep())

    result = invoke(pool, spec_for(app, timeout_s=1.0), {"action": "orphan"})

    assert result.outcome == "timeout"
    assert processes_of_uid(int(result.logs.split("uid=")[1].split()[0])) == []
    in_groups = "cgroup" in result.mechanisms["memory"]
    assert (sweeps == []) is in_groups


def test_memory__allocation_past_limit_is_out_of_memory(pool, app):
    spec = spec_for(app, memory_mb=64)

    result = invoke(pool, spec, {"action": "allocate", "mb": 256})

    assert (result.outcome, result.function_error) == ("out_of_memory", "Unhandled")
    error = json.loads(result.payload)
    if "cgroup" in result.mechanisms["memory"]:
        assert error["errorType"] == "Runtime.OutOfMemory"
        assert "Runtime exited with error: signal: killed" in error["errorMessage"]
    else:
        assert error["errorType"] == "MemoryError"
    assert invoke(pool, spec, {"action": "allocate", "mb": 16}).outcome == "success"


def test_tmp__filling_past_its_size_is_enospc_and_leaves_the_host_alone(pool, app):
    spec = spec_for(app, tmp_mb=16, memory_mb=64)

    result = invoke(pool, spec, {"action": "fill_tmp", "mb": 64})

    assert result.outcome == "success", result.payload
    answer = json.loads(result.payload)
    assert answer["written_mb"] <= 16
    # a sized filesystem says ENOSPC; the fallback's RLIMIT_FSIZE stops one file with EFBIG
    assert answer["errno"] == ("ENOSPC" if "bwrap" in result.mechanisms["filesystem"] else "EFBIG")


def test_runtime_exit__is_runtime_exit_error_and_the_environment_is_rebuilt(pool, app):
    spec = spec_for(app)

    result = invoke(pool, spec, {"action": "exit"})

    assert (result.outcome, result.function_error) == ("runtime_exit", "Unhandled")
    error = json.loads(result.payload)
    assert error["errorType"] == "Runtime.ExitError"
    assert error["errorMessage"].endswith("Runtime exited with error: exit status 3")
    assert invoke(pool, spec, {}).outcome == "success"


@pytest.mark.parametrize(
    "files, handler, error_type, message",
    [
        (
            {"app.py": "import not_installed_anywhere\n"},
            "app.handler",
            "Runtime.ImportModuleError",
            "Unable to import module 'app': No module named 'not_installed_anywhere'",
        ),
        (
            {"app.py": "def handler(:\n"},
            "app.handler",
            "Runtime.UserCodeSyntaxError",
            "Syntax error in module 'app'",
        ),
        (
            {"app.py": "x = 1\n"},
            "app.handler",
            "Runtime.HandlerNotFound",
            "Handler 'handler' missing on module 'app'",
        ),
    ],
)
def test_init_error__is_reported_like_lambda(pool, bundles, files, handler, error_type, message):
    result = pool.invoke(spec_for(bundles(task=files), handler=handler), b"{}")

    assert (result.outcome, result.function_error) == ("init_error", "Unhandled")
    error = json.loads(result.payload)
    assert error["errorType"] == error_type
    assert error["errorMessage"].startswith(message)


def test_init_error__bad_bootstrap_of_a_custom_runtime(pool, bundles):
    bundle = bundles(
        task={"bootstrap": "#!/bin/sh\necho starting; exit 7\n"}, executables=("task/bootstrap",)
    )

    result = pool.invoke(spec_for(bundle, runtime="provided.al2023"), b"{}")

    assert result.outcome == "init_error"
    assert json.loads(result.payload)["errorMessage"].endswith("exit status 7")
    assert "starting" in result.logs


def test_init_error__missing_bootstrap_is_an_invalid_entrypoint(pool, bundles):
    result = pool.invoke(spec_for(bundles(task={"x.txt": ""}), runtime="provided.al2023"), b"{}")

    assert json.loads(result.payload)["errorType"] == "Runtime.InvalidEntrypoint"


def test_output__oversized_response_and_chatty_logs_are_capped(pool, bundles):
    bundle = bundles(
        task={
            "app.py": """
        import sys
        def handler(event, context):
            if event.get("chatty"):
                for _ in range(3000):
                    sys.stdout.write("y" * 1023 + "\\n")
                return "done"
            return "x" * (7 * 1024 * 1024)
    """
        }
    )
    spec = spec_for(bundle, memory_mb=256)

    big = pool.invoke(spec, b"{}")
    chatty = pool.invoke(spec, b'{"chatty": true}')

    assert (big.outcome, big.function_error) == ("function_error", "Unhandled")
    assert json.loads(big.payload)["errorType"] == "Function.ResponseSizeTooLarge"
    assert chatty.outcome == "success"
    assert (
        len(chatty.logs) < 1.1 * (1 << 20) and "bytes of earlier log output dropped" in chatty.logs
    )
    assert chatty.logs.rstrip().splitlines()[-1].startswith("REPORT RequestId:")


def test_pids__a_fork_bomb_stops_at_the_process_cap(pool, bundles):
    bundle = bundles(
        task={
            "app.py": """
        import errno, os, signal
        def handler(event, context):
            children = []
            try:
                while len(children) < 5000:
                    pid = os.fork()
                    if pid == 0:
                        signal.pause()
                        os._exit(0)
                    children.append(pid)
                stopped_by = None
            except OSError as exc:
                stopped_by = errno.errorcode[exc.errno]
            for pid in children:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            return {"forked": len(children), "stopped_by": stopped_by}
    """
        }
    )

    # enough memory that the process cap, not the OOM killer, stops the bomb
    result = pool.invoke(spec_for(bundle, memory_mb=2048, timeout_s=60), b"{}")

    assert result.outcome == "success", result.payload
    answer = json.loads(result.payload)
    assert answer["stopped_by"] == "EAGAIN" and 900 < answer["forked"] < 1024


def test_tmp__fallback_watchdog_stops_an_environment_whose_tmp_outgrows_its_size(host, bundles):
    require_service(host.root, "the fallback's uid drop needs root")
    bundle = bundles(
        task={
            "app.py": """
        import os, tempfile, time
        def handler(event, context):
            for i in range(4):  # each file stays under RLIMIT_FSIZE, together they do not
                with open(os.path.join(tempfile.gettempdir(), f"part{i}"), "wb") as f:
                    f.write(b"x" * (6 << 20))
            time.sleep(30)
    """
        }
    )
    with EnvironmentPool(host=host.without("bwrap", "cgroups", "loop")) as pool:
        result = pool.invoke(spec_for(bundle, tmp_mb=16, timeout_s=10), b"{}")

    assert (result.outcome, result.function_error) == ("runtime_exit", "Unhandled")
    assert "/tmp grew past its 16 MB" in json.loads(result.payload)["errorMessage"]
    assert result.report.duration_ms < 5000
