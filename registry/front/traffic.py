"""Which request threads serve a request, decided from its head: the control plane never waits
behind a function.

A synchronous invocation holds its thread until the function returns (up to its timeout, 15
minutes on Lambda). On the worker's few request threads, a handful of slow functions would leave
GetLayerVersion and every other registry request queued behind them. So invocations run on a
pool of their own, sized for waiting: its threads spend their time asleep on a sandbox's answer
or on a free environment, costing a thread's stack each, not CPU. The registry keeps the
worker's `threads` to itself. Past the invocation pool's bound the front answers 429
TooManyRequestsException at once, without a thread, rather than queueing: a queue there would
only move the wait into the client's timeout.
"""

from __future__ import annotations

import enum
import json
import os
import re
import uuid
from concurrent import futures

from registry.front import request_lines

# Threads one worker gives synchronous invocations; each waiting one costs a thread's stack.
DEFAULT_INVOCATION_THREADS = 256
INVOCATION_THREADS_VARIABLE = "STRATA_INVOCATION_THREADS"

# Invoke (2015-03-31) runs the function before it answers, unless the caller asks otherwise.
_INVOKE_PATH = re.compile(r"/2015-03-31/functions/[^/]+/invocations/?")
# A load balancer takes a node out when these do not answer in time, so they must not queue
# behind registry requests that wait on a slow database or storage server.
_PROBE_PATHS = {"/healthz", "/readyz"}
# Threads for probes: /readyz waits at most a second and joins a check already running, so a few
# serve any number of load balancers.
PROBE_THREADS = 2
# Event invocations are queued and DryRun only checks permission: both answer at once.
_ANSWERS_AT_ONCE = {"event", "dryrun"}
THROTTLED_BODY = json.dumps(
    {
        "__type": "TooManyRequestsException",
        "Type": "User",
        "message": "Rate Exceeded.",
        "Reason": "ConcurrentInvocationLimitExceeded",
    }
).encode()


class Traffic(enum.Enum):
    CONTROL = "the registry and function management"
    INVOCATION = "a synchronous invocation, waiting for its function"
    PROBE = "a load balancer's or orchestrator's health check"


def traffic_of(method: str, path: str, headers: list[tuple[str, str]]) -> Traffic:
    """`headers` as gunicorn parses them: (UPPERCASE-NAME, value) pairs."""
    if method == "GET" and path in _PROBE_PATHS:
        return Traffic.PROBE
    if method != "POST" or not _INVOKE_PATH.fullmatch(path):
        return Traffic.CONTROL
    for name, value in headers:
        if name == "X-AMZ-INVOCATION-TYPE" and value.strip().lower() in _ANSWERS_AT_ONCE:
            return Traffic.CONTROL
    return Traffic.INVOCATION


def invocation_threads(environ=os.environ) -> int:
    value = environ.get(INVOCATION_THREADS_VARIABLE) or ""
    if not value:
        return DEFAULT_INVOCATION_THREADS
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{INVOCATION_THREADS_VARIABLE} must be a positive integer, not {value!r}")
    return int(value)


def throttled_answer(*, keep_alive: bool, request_id: str | None = None) -> bytes:
    """Lambda's throttle, as botocore reads it: the error code from x-amzn-ErrorType, the
    message and Reason from the body."""
    head = [
        "HTTP/1.1 429 Too Many Requests",
        "Content-Type: application/json",
        f"Content-Length: {len(THROTTLED_BODY)}",
        "x-amzn-ErrorType: TooManyRequestsException",
        f"x-amzn-RequestId: {request_id or uuid.uuid4()}",
        "Retry-After: 1",
        "Connection: " + ("keep-alive" if keep_alive else "close"),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + THROTTLED_BODY


def throttled_invocation(request, *, keep_alive: bool, bytes_in: int, counted) -> bytes:
    """The throttle the loop answers itself, with its request log line and count."""
    request_id = str(uuid.uuid4())
    request_lines.answered(
        request,
        429,
        request_id=request_id,
        service="lambda",
        operation="Invoke",
        bytes_in=bytes_in,
        bytes_out=len(THROTTLED_BODY),
        counted=counted,
    )
    return throttled_answer(keep_alive=keep_alive, request_id=request_id)


class RequestThreads:
    """The worker's two pools. Called from the event loop only: the count of invocations held is
    the loop's, so taking and giving back need no lock."""

    def __init__(self, control: futures.ThreadPoolExecutor, invocation_threads: int):
        self.control = control
        self.invocation_bound = invocation_threads
        self._invocations = futures.ThreadPoolExecutor(
            max_workers=invocation_threads, thread_name_prefix="front-invocation"
        )
        self.invocations_held = 0
        self._probes = futures.ThreadPoolExecutor(
            max_workers=PROBE_THREADS, thread_name_prefix="front-probe"
        )

    def submit(self, traffic: Traffic, fn, *args) -> futures.Future | None:
        """The request's future, or None when the invocation pool is full."""
        if traffic is Traffic.CONTROL:
            return self.control.submit(fn, *args)
        if traffic is Traffic.PROBE:
            return self._probes.submit(fn, *args)
        if self.invocations_held >= self.invocation_bound:
            return None
        self.invocations_held += 1
        return self._invocations.submit(fn, *args)

    def done(self, traffic: Traffic) -> None:
        if traffic is Traffic.INVOCATION:
            self.invocations_held -= 1

    def shutdown(self) -> None:
        self._invocations.shutdown(wait=False)
        self._probes.shutdown(wait=False)
