"""Runtimes other than the built-in python bootstrap, and layer-provided tools and libraries."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.executor.conftest import spec_for
from tests.support import require_service

BASH_RUNTIME = """\
#!/bin/bash
# A complete custom runtime in bash, as in Lambda's tutorial: curl against the Runtime API.
set -euo pipefail
echo "bash runtime starting for $_HANDLER"
while true; do
  HEADERS=$(mktemp)
  API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
  EVENT=$(curl -sS -LD "$HEADERS" "$API/invocation/next")
  REQUEST_ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  curl -sS -X POST "$API/invocation/$REQUEST_ID/response" \
       -d "{\\"echo\\": $EVENT, \\"handler\\": \\"$_HANDLER\\"}" >/dev/null
done
"""


def test_custom_runtime__a_bash_bootstrap_serves_invocations(pool, bundles):
    require_service(shutil.which("curl") is not None, "curl is needed by the bash runtime")
    bundle = bundles(task={"bootstrap": BASH_RUNTIME}, executables=("task/bootstrap",))
    spec = spec_for(bundle, handler="function.handler", runtime="provided.al2023")

    first = pool.invoke(spec, b'{"n": 1}')
    second = pool.invoke(spec, b'{"n": 2}')

    assert first.outcome == second.outcome == "success"
    assert json.loads(second.payload) == {"echo": {"n": 2}, "handler": "function.handler"}
    assert "bash runtime starting for function.handler" in first.logs
    assert second.report.init_duration_ms is None


def test_awslambdaric__runs_unchanged_from_a_bootstrap(pool, bundles):
    site = Path(__import__("awslambdaric").__file__).parent.parent
    bundle = bundles(
        task={
            "app.py": """
            def handler(event, context):
                return {"ric": True, "request": context.aws_request_id,
                        "remaining": context.get_remaining_time_in_millis() > 0, "event": event}
        """,
            "bootstrap": "#!/bin/sh\nexport PYTHONPATH=$LAMBDA_TASK_ROOT\n"
            'exec /usr/bin/python3.11 -m awslambdaric "$_HANDLER"\n',
        },
        executables=("task/bootstrap",),
    )
    target = bundle / "task"  # vendored into the function, as pip install -t . would do
    shutil.copytree(site / "awslambdaric", target / "awslambdaric")
    shutil.copytree(site / "simplejson", target / "simplejson")
    for name in ("snapshot_restore_py.py", "runtime_client.cpython-311-x86_64-linux-gnu.so"):
        shutil.copy(site / name, target / name)
    subprocess.run(["chmod", "-R", "a+rX", str(bundle)], check=True)
    spec = spec_for(bundle, runtime="provided.al2023")

    result = pool.invoke(spec, b'{"k": "v"}', request_id="ric-request-1")

    assert result.outcome == "success", result.logs
    assert json.loads(result.payload) == {
        "ric": True,
        "request": "ric-request-1",
        "remaining": True,
        "event": {"k": "v"},
    }
    failing = pool.invoke(spec_for(bundle, handler="app.missing", runtime="provided.al2023"), b"{}")
    assert json.loads(failing.payload)["errorType"] == "Runtime.HandlerNotFound"


def test_layer__bin_tool_and_lib_shared_library_are_found(pool, bundles, tmp_path):
    require_service(shutil.which("gcc") is not None, "gcc is needed to build the layer library")
    bundle = bundles(
        task={
            "app.py": """
            import ctypes, subprocess
            def handler(event, context):
                lib = ctypes.CDLL("libgreet.so")
                lib.greet.restype = ctypes.c_int
                tool = subprocess.run(["layer-tool"], capture_output=True, text=True).stdout
                return {"lib": lib.greet(), "tool": tool.strip()}
        """
        },
        opt={"bin/layer-tool": "#!/bin/sh\necho from-the-layer\n"},
        executables=("opt/bin/layer-tool",),
    )
    source = tmp_path / "greet.c"
    source.write_text("int greet(void) { return 42; }\n")
    (bundle / "opt" / "lib").mkdir()
    subprocess.run(
        ["gcc", "-shared", "-fPIC", "-o", str(bundle / "opt/lib/libgreet.so"), str(source)],
        check=True,
    )
    subprocess.run(["chmod", "-R", "a+rX", str(bundle)], check=True)

    result = pool.invoke(spec_for(bundle), b"{}")

    assert result.outcome == "success", result.logs
    assert json.loads(result.payload) == {"lib": 42, "tool": "from-the-layer"}
