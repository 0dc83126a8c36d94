"""What an invocation came to, in Lambda's words: the error documents, the log lines, the result.

Every text here is what Lambda writes (error types, messages, START/END/REPORT lines), so callers
and parity tests can match them.
"""

from __future__ import annotations

import json
import signal
from datetime import datetime, timezone

from registry.executor.report import InvocationResult, Report
from registry.executor.spec import FunctionSpec


def invalid_entrypoint(request_id: str, task_root: str, opt_root: str) -> dict:
    return {
        "errorType": "Runtime.InvalidEntrypoint",
        "errorMessage": f"RequestId: {request_id} Error: Couldn't find valid bootstrap(s): "
        f"[{task_root}/bootstrap {opt_root}/bootstrap]",
    }


def init_timed_out(request_id: str, seconds: float) -> dict:
    return {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {request_id} Error: Init phase timed out after "
        f"{seconds:.2f} seconds",
    }


def exit_error(request_id: str, code: int, oom: bool, bwrap: bool) -> dict:
    """The runtime's exit as Lambda reports it, from its exit status (or killing signal)."""
    if code < 0:
        name = "killed" if -code == signal.SIGKILL else signal.Signals(-code).name.lower()
        detail = f"signal: {name}"
    elif code > 128 and bwrap:
        # bwrap reports a child killed by signal N as exit status 128+N.
        detail = "signal: killed" if code - 128 == signal.SIGKILL else f"exit status {code}"
    else:
        detail = f"exit status {code}"
    return {
        "errorType": "Runtime.OutOfMemory" if oom else "Runtime.ExitError",
        "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: {detail}",
    }


def response_too_large(size: int) -> bytes:
    return dump(
        {
            "errorMessage": f"Response payload size ({size} bytes) "
            f"exceeded maximum allowed payload size (6291556 bytes).",
            "errorType": "Function.ResponseSizeTooLarge",
        }
    )


def tmp_exceeded(request_id: str, tmp_mb: int) -> str:
    return (
        f"RequestId: {request_id} Error: Runtime exited with error: /tmp grew past "
        f"its {tmp_mb} MB (environment stopped by the usage watchdog)"
    )


def timed_out(request_id: str, message: str) -> bytes:
    return dump(
        {
            "errorType": "Sandbox.Timedout",
            "errorMessage": f"RequestId: {request_id} Error: {message}",
        }
    )


def invocation_logs(
    request_id: str, version: str, report: Report, before: str = "", during: str = ""
) -> str:
    """The invocation's log: what came before it, START, what it printed, END and REPORT."""
    return (
        f"{before}START RequestId: {request_id} Version: {version}\n"
        f"{during}END RequestId: {request_id}\n{report.line()}\n"
    )


def failure(
    spec: FunctionSpec,
    request_id: str,
    outcome: str,
    document: dict,
    early_logs: str,
    mechanisms: dict[str, str],
) -> InvocationResult:
    """The result of an invocation that never reached the handler (init failed or timed out)."""
    report = Report(
        request_id=request_id,
        duration_ms=0.0,
        memory_size_mb=spec.memory_mb,
        max_memory_used_mb=None,
        init_duration_ms=None,
    )
    return InvocationResult(
        request_id=request_id,
        payload=dump(document),
        function_error="Unhandled",
        outcome=outcome,
        logs=invocation_logs(request_id, spec.function_version, report, before=early_logs),
        report=report,
        mechanisms=dict(mechanisms),
    )


def error_type(body: bytes) -> str | None:
    try:
        return json.loads(body).get("errorType")
    except (ValueError, AttributeError):
        return None


def json_or_wrap(body: bytes) -> dict:
    try:
        document = json.loads(body)
        if isinstance(document, dict):
            return document
    except ValueError:
        pass
    return {"errorType": "Runtime.Unknown", "errorMessage": body.decode("utf-8", "replace")}


def dump(document: dict) -> bytes:
    return json.dumps(document).encode()


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
