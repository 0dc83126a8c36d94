"""Helpers shared by the test suite."""

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def require_service(ok: bool, reason: str) -> None:
    """Skip a test whose service is missing on a developer machine; fail it under CI=true."""
    if ok:
        return
    if in_ci():
        pytest.fail(f"{reason} (required under CI=true)", pytrace=False)
    pytest.skip(reason)
