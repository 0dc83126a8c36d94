"""Lambda's per-invocation REPORT line and the result the executor hands back."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Report:
    request_id: str
    duration_ms: float
    memory_size_mb: int
    max_memory_used_mb: int | None  # measured (see InvocationResult.mechanisms["max_memory"])
    init_duration_ms: float | None = None  # only on the invocation that paid the cold start

    @property
    def billed_duration_ms(self) -> int:
        return max(1, math.ceil(self.duration_ms))

    def line(self) -> str:
        used = "-" if self.max_memory_used_mb is None else str(self.max_memory_used_mb)
        text = (
            f"REPORT RequestId: {self.request_id}\tDuration: {self.duration_ms:.2f} ms\t"
            f"Billed Duration: {self.billed_duration_ms} ms\t"
            f"Memory Size: {self.memory_size_mb} MB\tMax Memory Used: {used} MB\t"
        )
        if self.init_duration_ms is not None:
            text += f"Init Duration: {self.init_duration_ms:.2f} ms\t"
        return text


@dataclass
class InvocationResult:
    request_id: str
    payload: bytes  # the response, or the error document Lambda would return
    # "Unhandled" whenever the payload is an error (X-Amz-Function-Error)
    function_error: str | None
    # success, function_error, timeout, out_of_memory, runtime_exit or init_error (sandbox
    # failures raise SandboxError instead)
    outcome: str
    logs: str  # the invocation's log text with START/END/REPORT lines (tail-capped)
    report: Report
    mechanisms: dict[str, str] = field(default_factory=dict)  # limit -> enforcing mechanism
    environment_id: str = ""  # the environment that ran it (its log stream's name)

    @property
    def ok(self) -> bool:
        return self.outcome == "success"
