"""Starting an environment: a sandbox that cannot be built is a typed error, never a hang."""

from __future__ import annotations

import dataclasses

import pytest

from registry.executor import EnvironmentPool, SandboxError
from tests.executor.conftest import assert_nothing_left, snapshot, spec_for, strict_available
from tests.support import require_service


def test_sandbox_failure__is_a_sandbox_error_and_leaves_nothing(host, bundles):
    require_service(strict_available(host), "strict isolation needs root, bubblewrap and cgroup v1")
    broken = dataclasses.replace(host, bwrap="/bin/false")  # a bubblewrap that cannot start
    before = snapshot()
    pool = EnvironmentPool(host=broken)
    try:
        with pytest.raises(SandboxError, match="the sandbox failed to start"):
            pool.invoke(spec_for(bundles(task={"app.py": ""})), b"{}")
    finally:
        pool.close()
    assert_nothing_left(before, pool)
