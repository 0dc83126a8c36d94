"""The Runtime API's state machine: one invocation at a time, from the executor to the runtime.

The executor submits an invocation and waits; the runtime's `GET .../invocation/next` takes it,
and its response or error answers it; a runtime that cannot initialise fails the init instead.
The HTTP side that drives it is runtime_api.py.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from registry.limits import SYNC_PAYLOAD_BYTES

MAX_RESPONSE_BYTES = SYNC_PAYLOAD_BYTES + 100  # Lambda's limit for a synchronous response


@dataclass
class Invocation:
    request_id: str
    payload: bytes
    deadline_ms: int
    function_arn: str
    trace_id: str
    client_context: str | None = None
    # set by the runtime's answer
    response: bytes | None = None
    error: bytes | None = None
    error_type: str | None = None
    oversized: int | None = None  # size of a response that broke the limit
    answered: bool = False
    taken: bool = field(default=False)


class RuntimeChannel:
    """Invocation hand-off between the executor (submit/wait) and the runtime's HTTP requests."""

    def __init__(self):
        self._cond = threading.Condition()
        self._pending: Invocation | None = None
        self._current: Invocation | None = None
        self.ready_at: float | None = None  # monotonic time of the first /next: init finished
        self.init_error: tuple[bytes, str | None] | None = None
        self.exited = False
        self.closed = False

    # executor side
    def submit(self, invocation: Invocation) -> None:
        with self._cond:
            self._pending = invocation
            self._current = invocation
            self._cond.notify_all()

    def wait_ready(self, timeout: float) -> bool:
        """Wait until the runtime asks for work, fails its init, or exits."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self.ready_at is not None or self.init_error or self.exited, timeout
            )

    def wait_answer(self, invocation: Invocation, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(
                lambda: invocation.answered or self.init_error or self.exited, timeout
            )

    def mark_exited(self) -> None:
        with self._cond:
            self.exited = True
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    # runtime side
    def next_invocation(self) -> Invocation | None:
        with self._cond:
            if self.ready_at is None:
                self.ready_at = time.monotonic()
                self._cond.notify_all()
            self._cond.wait_for(lambda: self._pending is not None or self.closed)
            if self.closed:
                return None
            invocation, self._pending = self._pending, None
            invocation.taken = True
            return invocation

    def answer_refusal(self, request_id: str) -> tuple[int, dict] | None:
        """Why an answer for `request_id` would be refused now (checked before reading its body)."""
        with self._cond:
            return self._answer_refusal(request_id)

    def _answer_refusal(self, request_id: str) -> tuple[int, dict] | None:
        invocation = self._current
        if invocation is None or invocation.request_id != request_id or not invocation.taken:
            return 400, {"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"}
        if invocation.answered:
            return 400, {
                "errorMessage": "Invalid state transition: response already sent",
                "errorType": "InvalidStateTransition",
            }
        return None

    def answer(
        self,
        request_id: str,
        *,
        response: bytes | None = None,
        error: bytes | None = None,
        error_type: str | None = None,
        oversized: int | None = None,
    ) -> tuple[int, dict]:
        with self._cond:
            refusal = self._answer_refusal(request_id)
            if refusal is not None:
                return refusal
            invocation = self._current
            invocation.response, invocation.error = response, error
            invocation.error_type, invocation.oversized = error_type, oversized
            invocation.answered = True
            self._current = None
            self._cond.notify_all()
        if oversized is not None:
            return 413, {
                "errorMessage": f"Exceeded maximum allowed payload size "
                f"({MAX_RESPONSE_BYTES} bytes).",
                "errorType": "RequestEntityTooLarge",
            }
        return 202, {"status": "OK"}

    def init_error_refusal(self) -> tuple[int, dict] | None:
        with self._cond:
            if self.ready_at is not None:
                return 403, {
                    "errorMessage": "Init error after init",
                    "errorType": "InvalidStateTransition",
                }
            return None

    def fail_init(self, error: bytes, error_type: str | None) -> tuple[int, dict]:
        with self._cond:
            if self.ready_at is not None:
                return 403, {
                    "errorMessage": "Init error after init",
                    "errorType": "InvalidStateTransition",
                }
            self.init_error = (error, error_type)
            self._cond.notify_all()
        return 202, {"status": "OK"}
