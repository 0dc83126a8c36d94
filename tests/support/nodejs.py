"""The Node.js majors this machine can run (scripts/test fetches 18 and 22 beside the host's),
and a fixture parameter per major: tests run for every major present, and under CI=true fail
when there is none."""

from __future__ import annotations

import pytest

from registry.errors import StrataError
from registry.executor.interpreters import find_node
from tests.support import require_service

MAJORS_LAMBDA_LISTS = (18, 20, 22, 24)


def present_majors() -> list[int]:
    found = []
    for major in MAJORS_LAMBDA_LISTS:
        try:
            find_node(major)
        except StrataError:
            continue
        found.append(major)
    return found


PRESENT = present_majors()


def node_runtime_params():
    """pytest params: one runtime name per major present; a single failing one when none is."""
    if not PRESENT:
        return [pytest.param(None, id="no-nodejs")]
    return [pytest.param(f"nodejs{major}.x", id=f"nodejs{major}.x") for major in PRESENT]


def require_node(runtime: str | None) -> str:
    require_service(
        runtime is not None, "no Node.js interpreter is installed (scripts/test adds it)"
    )
    return runtime
