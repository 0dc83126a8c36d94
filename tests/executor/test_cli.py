"""`strata run`: output streams, exit codes, --json and --repeat, through the real console script."""

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


def strata_run(*args, event: str = "{}"):
    env = {k: v for k, v in os.environ.items() if k != "STRATA_EXECUTOR_DISABLE"}
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
