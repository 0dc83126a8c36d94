"""Node.js functions under the same limits as Python ones: timeout, memory, /tmp, warm reuse,
provisioned environments and the REPORT line, in the strict tier and in the fallback."""

from __future__ import annotations

import json

import pytest

from tests.executor.conftest import spec_for
from tests.support.nodejs import node_runtime_params, require_node

APP = {
    "limits.js": """
        const fs = require('node:fs');
        let calls = 0;
        exports.handler = async (event) => {
          calls += 1;
          if (event.action === 'spin') { for (;;) {} }
          if (event.action === 'sleep') await new Promise((r) => setTimeout(r, 60000));
          if (event.action === 'allocate') {
            const kept = [];
            for (let i = 0; i < event.mb; i++) kept.push(Buffer.alloc(1 << 20, 1));
            return { allocated: kept.length };
          }
          if (event.action === 'fill_tmp') {
            const chunk = Buffer.alloc(1 << 20, 7);
            let written = 0;
            try {
              for (let i = 0; i < event.mb; i++) {
                fs.appendFileSync('/tmp/fill', chunk);
                written += 1;
              }
            } catch (error) {
              return { written_mb: written, code: error.code };
            } finally {
              fs.rmSync('/tmp/fill', { force: true });
            }
            return { written_mb: written, code: null };
          }
          return { calls, uid: process.getuid() };
        };
    """,
}


@pytest.fixture(scope="module", params=node_runtime_params())
def runtime(request):
    return require_node(request.param)


@pytest.fixture(scope="module")
def app(bundles):
    return bundles(task=APP)


def invoke(pool, spec, event):
    return pool.invoke(spec, json.dumps(event).encode())


def test_success__reports_like_python_and_reuses_the_warm_environment(pool, app, runtime):
    spec = spec_for(app, handler="limits.handler", runtime=runtime, tmp_mb=16)
    first, second = invoke(pool, spec, {}), invoke(pool, spec, {})
    assert first.outcome == second.outcome == "success"
    assert json.loads(second.payload)["calls"] == json.loads(first.payload)["calls"] + 1
    assert json.loads(first.payload)["uid"] != 0
    assert first.report.init_duration_ms is not None and second.report.init_duration_ms is None
    assert f"REPORT RequestId: {second.request_id}\tDuration: " in second.logs
    assert second.report.max_memory_used_mb and second.report.max_memory_used_mb > 0


@pytest.mark.parametrize("action", ["spin", "sleep"])
def test_timeout__kills_the_environment_and_the_next_invocation_starts_fresh(
    pool, app, runtime, action
):
    spec = spec_for(app, handler="limits.handler", runtime=runtime, timeout_s=0.5, tmp_mb=16)
    warm = invoke(pool, spec, {})

    result = invoke(pool, spec, {"action": action})

    assert (result.outcome, result.function_error) == ("timeout", "Unhandled")
    assert json.loads(result.payload)["errorMessage"].endswith("Task timed out after 0.50 seconds")
    again = invoke(pool, spec, {})
    assert again.outcome == "success" and again.report.init_duration_ms is not None
    assert json.loads(again.payload)["uid"] != json.loads(warm.payload)["uid"]


def test_memory__allocation_past_the_limit_ends_the_environment(pool, app, runtime):
    spec = spec_for(app, handler="limits.handler", runtime=runtime, memory_mb=128, tmp_mb=16)

    result = invoke(pool, spec, {"action": "allocate", "mb": 512})

    if "cgroup" in result.mechanisms["memory"]:
        error = json.loads(result.payload)
        assert (result.outcome, result.function_error) == ("out_of_memory", "Unhandled")
        assert error["errorType"] == "Runtime.OutOfMemory"
        assert "Runtime exited with error: signal: killed" in error["errorMessage"]
    else:
        # The fallback caps V8's heap only; buffers live outside it, so the host's memory is
        # the limit there, and the allocation succeeds.
        assert "heap" in result.mechanisms["memory"]
        assert json.loads(result.payload) == {"allocated": 512}
    assert invoke(pool, spec, {"action": "allocate", "mb": 16}).outcome == "success"


def test_tmp__filling_past_its_size_is_enospc(pool, app, runtime):
    spec = spec_for(app, handler="limits.handler", runtime=runtime, tmp_mb=16, memory_mb=128)

    result = invoke(pool, spec, {"action": "fill_tmp", "mb": 64})

    assert result.outcome == "success", result.payload
    answer = json.loads(result.payload)
    assert answer["written_mb"] <= 16
    # a sized filesystem says ENOSPC; the fallback's RLIMIT_FSIZE stops one file with EFBIG
    assert answer["code"] == ("ENOSPC" if "bwrap" in result.mechanisms["filesystem"] else "EFBIG")


def test_provisioned__prewarmed_environments_report_no_init_duration(pool, app, runtime):
    spec = spec_for(app, handler="limits.handler", runtime=runtime, tmp_mb=16, memory_mb=256)
    pool.prewarm(spec, 1)

    result = invoke(pool, spec, {})

    assert result.outcome == "success"
    assert result.report.init_duration_ms is None
    assert "Init Duration" not in result.logs
