"""`strata run` through the real console script: output streams, exit codes, --json, --repeat."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.executor.conftest import strict_available
from tests.support import require_service

STRATA = str(Path(sys.executable).with_name("strata"))
APP = {
    "app.py": """
    import time
    calls = 0
    def handler(event, context):
        global calls
        calls += 1
        print("log line", calls)
        if event.get("fail"):
            raise RuntimeError("nope")
        time.sleep(event.get("sleep", 0))
        return {"calls": calls}
"""
}


@pytest.fixture(scope="module")
def app(bundles, host):
    require_service(strict_available(host), "strict isolation needs root, bubblewrap and cgroup v1")
    return bundles(task=APP)


@pytest.fixture(scope="module")
def outcomes_app(bundles, host):
    """Outcomes that any isolation reports alike (the default, best-effort, takes what it can)."""
    require_service(host.root, "running a sandbox as a fresh uid needs root")
    return bundles(task=OUTCOMES_APP)


OUTCOMES_APP = {
    "app.py": """
    import os
    def handler(event, context):
        if event.get("allocate_mb"):
            chunks = [bytearray(8 << 20) for _ in range(event["allocate_mb"] // 8)]
        if event.get("exit"):
            os._exit(3)
        return {}
""",
    "broken.py": "raise ImportError('broken at import')\n",
}


def strata_run(*args, event: str = "{}", disable: str = ""):
    env = {k: v for k, v in os.environ.items() if k != "STRATA_EXECUTOR_DISABLE"}
    if disable:
        env["STRATA_EXECUTOR_DISABLE"] = disable
    return subprocess.run(
        [STRATA, "run", *args, "--event", "-"],
        input=event.encode(),
        capture_output=True,
        timeout=60,
        env=env,
    )


def test_run__prints_the_response_on_stdout_and_logs_with_report_on_stderr(app):
    done = strata_run(
        str(app),
        "--handler",
        "app.handler",
        "--runtime",
        "python3.11",
        "--repeat",
        "2",
        "--isolation",
        "strict",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().splitlines() == ['{"calls": 1}', '{"calls": 2}']
    stderr = done.stderr.decode()
    assert stderr.count("REPORT RequestId: ") == 2 and stderr.count("Init Duration") == 1
    assert "log line 2" in stderr


@pytest.mark.parametrize(
    "event, extra, code, outcome",
    [
        ('{"fail": true}', [], 1, "function_error"),
        ('{"sleep": 5}', ["--timeout", "1"], 3, "timeout"),
    ],
)
def test_run__exit_status_and_json_say_what_happened(app, event, extra, code, outcome):
    done = strata_run(
        str(app),
        "--handler",
        "app.handler",
        "--runtime",
        "python3.11",
        "--json",
        *extra,
        event=event,
    )
    assert done.returncode == code, done.stderr
    document = json.loads(done.stdout)
    assert document["outcome"] == outcome and document["function_error"] == "Unhandled"
    assert document["mechanisms"]["memory"].startswith("cgroup-v1 memory")


def test_run__bundle_json_supplies_handler_and_runtime(app):
    (app / "bundle.json").write_text(
        json.dumps({"handler": "app.handler", "runtime": "python3.11"})
    )
    try:
        done = strata_run(str(app))
    finally:
        (app / "bundle.json").unlink()
    assert done.returncode == 0 and json.loads(done.stdout) == {"calls": 1}


def test_run__limits_outside_lambdas_ranges_are_usage_errors(app):
    done = strata_run(
        str(app), "--handler", "app.handler", "--runtime", "python3.11", "--memory", "64"
    )
    assert done.returncode == 2 and b"--memory" in done.stderr


@pytest.mark.parametrize(
    "handler, event, code, outcome",
    [
        ("app.handler", '{"allocate_mb": 512}', 4, "out_of_memory"),
        ("app.handler", '{"exit": true}', 5, "runtime_exit"),
        ("broken.handler", "{}", 5, "init_error"),
    ],
)
def test_run__out_of_memory_exits_4_and_a_runtime_crash_or_init_error_5(
    outcomes_app, handler, event, code, outcome
):
    done = strata_run(
        str(outcomes_app),
        "--handler",
        handler,
        "--runtime",
        "python3.11",
        "--memory",
        "128",
        "--json",
        event=event,
    )
    assert done.returncode == code, done.stderr
    assert json.loads(done.stdout)["outcome"] == outcome


def test_run__strict_isolation_the_host_cannot_give_exits_6(bundles):
    bundle = bundles(task=APP)
    done = strata_run(
        str(bundle),
        "--handler",
        "app.handler",
        "--runtime",
        "python3.11",
        "--isolation",
        "strict",
        disable="bwrap,cgroups",
    )
    assert done.returncode == 6, done.stderr
    assert done.stderr.decode().startswith("error: strict isolation is not available on this host")
    assert done.stdout == b""


@pytest.mark.parametrize(
    "runtime, message",
    [
        ("java21", b"runtime 'java21' is not supported by the executor"),
        ("python3.99", b"no python3.99 interpreter found on this host"),
    ],
)
def test_run__a_runtime_it_cannot_run_is_a_usage_error(bundles, runtime, message):
    bundle = bundles(task=APP)
    done = strata_run(str(bundle), "--handler", "app.handler", "--runtime", runtime)
    assert done.returncode == 2 and message in done.stderr, done.stderr
