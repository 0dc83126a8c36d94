"""The official Node.js runtime interface client (npm's aws-lambda-ric, its native part built on
this machine) run unchanged as a custom runtime's bootstrap.

Under strict isolation only: node reserves gigabytes of address space as it starts, which the
fallback tier's RLIMIT_AS forbids (the built-in Node.js runtime caps V8's heap there instead; a
custom runtime's node is not Strata's to start)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from registry.executor import EnvironmentPool
from tests.executor.conftest import spec_for, strict_available
from tests.support import require_service


@pytest.fixture(scope="module")
def strict_pool(host):
    require_service(strict_available(host), "strict isolation needs root, bubblewrap and cgroup v1")
    with EnvironmentPool(host=host, max_environments_per_spec=1) as pool:
        yield pool


def test_aws_lambda_ric__runs_unchanged_as_a_provided_al2023_bootstrap(strict_pool, bundles):
    """npm's aws-lambda-ric, its native part built on this machine (scripts/test builds it once
    and names it by STRATA_AWS_LAMBDA_RIC), as a provided.al2023 function's bootstrap."""
    ric = Path(os.environ.get("STRATA_AWS_LAMBDA_RIC", "/nonexistent"))
    require_service(
        (ric / "dist" / "rapid-client.node").is_file(),
        "aws-lambda-ric is not built (scripts/test builds it into .cache/aws-lambda-ric)",
    )
    node = shutil.which("node")
    require_service(node is not None, "the host's node runs aws-lambda-ric")
    bundle = bundles(
        task={
            "index.mjs": """
            export const handler = async (event, context) => ({
              ric: true, request: context.awsRequestId, event,
              remaining: context.getRemainingTimeInMillis() > 0,
            });
            export const fails = async () => { throw new RangeError('from ric'); };
        """,
            "bootstrap": "#!/bin/sh\n"
            f"exec {node} $LAMBDA_TASK_ROOT/node_modules/aws-lambda-ric/bin/index.mjs"
            ' "$_HANDLER"\n',
        },
        executables=("task/bootstrap",),
    )
    target = bundle / "task" / "node_modules" / "aws-lambda-ric"  # as `npm install` leaves it
    for part in ("bin", "dist"):
        shutil.copytree(ric / part, target / part)
    shutil.copy(ric / "package.json", target / "package.json")
    subprocess.run(["chmod", "-R", "a+rX", str(bundle)], check=True)
    spec = spec_for(bundle, handler="index.handler", runtime="provided.al2023")

    result = strict_pool.invoke(spec, b'{"k": "v"}', request_id="ric-node-1")

    assert result.outcome == "success", result.logs
    assert json.loads(result.payload) == {
        "ric": True,
        "request": "ric-node-1",
        "event": {"k": "v"},
        "remaining": True,
    }
    assert "Executing 'index.handler' in function directory '" in result.logs
    for handler, error_type in (
        ("index.fails", "RangeError"),
        ("index.absent", "Runtime.HandlerNotFound"),
    ):
        other_spec = spec_for(bundle, handler=handler, runtime="provided.al2023")
        other = strict_pool.invoke(other_spec, b"{}")
        assert json.loads(other.payload)["errorType"] == error_type, other.logs
