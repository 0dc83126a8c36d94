"""Invocation records as the invoker hands them to its observers, for accounts of their own."""

from __future__ import annotations

import itertools
import os
import time

from registry.executor.report import InvocationResult, Report
from registry.invocations.observers import Ran, Throttled

_accounts = itertools.count(int.from_bytes(os.urandom(3), "big") * 1000)


def new_account_id() -> str:
    return f"{next(_accounts) % 10**12:012d}"


def ran(
    account_id: str,
    function: str = "fn",
    *,
    duration_ms: float = 10.0,
    memory_mb: int = 128,
    outcome: str = "success",
    at: float | None = None,
) -> Ran:
    at = time.time() if at is None else at
    result = InvocationResult(
        request_id="r",
        payload=b"{}",
        function_error=None if outcome == "success" else "Unhandled",
        outcome=outcome,
        logs="",
        report=Report("r", duration_ms, memory_mb, 30),
    )
    return Ran(account_id, 1, function, "$LATEST", "RequestResponse", "env", at, at, result)


def throttled(account_id: str, function: str = "fn", at: float | None = None) -> Throttled:
    return Throttled(
        account_id,
        1,
        function,
        "$LATEST",
        "RequestResponse",
        "ReservedFunctionConcurrentInvocationLimitExceeded",
        time.time() if at is None else at,
    )
