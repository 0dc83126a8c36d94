"""Running a function version: its bundle (merge engine) in the executor's warm pool.

One Invoker per app process. The executor spec of a version is cached by (function, version,
revision), so a warm invocation costs one small database read plus the pool's round trip.
"""

from __future__ import annotations

import base64
import threading
import time
import uuid
from contextlib import nullcontext
from dataclasses import dataclass

from registry.accounts import Caller
from registry.errors import InvalidParameterValue, RequestTooLarge, TooManyRequests
from registry.executor import EnvironmentPool, FunctionSpec, InvocationResult
from registry.executor.spec import NODEJS_MIN_MAJOR, runnable
from registry.functions.names import FunctionRef, function_arn
from registry.functions.policy import INVOKE
from registry.functions.service import FunctionService
from registry.functions.states import require_invocable
from registry.functions.views import FunctionView
from registry.invocations.bundles import BundleCache
from registry.invocations.concurrency import ConcurrencyGate
from registry.invocations.observers import InvocationObservers, Ran, Throttled
from registry.limits import DEFAULT_ISOLATION, SYNC_PAYLOAD_BYTES
from registry.messages import payload_too_large

LOG_TAIL_BYTES = 4 * 1024


@dataclass(frozen=True)
class Invocation:
    executed_version: str
    result: InvocationResult

    @property
    def log_tail(self) -> str:
        """Base64 of the last 4 KB of the log, REPORT line included (X-Amz-Log-Result)."""
        return base64.b64encode(self.result.logs.encode()[-LOG_TAIL_BYTES:]).decode()


class Invoker:
    def __init__(
        self,
        functions: FunctionService,
        bundles: BundleCache,
        pool: EnvironmentPool,
        *,
        region: str,
        isolation: str = DEFAULT_ISOLATION,
        gate: ConcurrencyGate | None = None,
        observers: InvocationObservers | None = None,
    ):
        self._functions = functions
        self.gate = gate
        self.observers = observers or InvocationObservers()
        self._bundles = bundles
        self.pool = pool
        self._region = region
        self._isolation = isolation
        # (function id, version) -> (revision id, spec): a new revision of $LATEST replaces the
        # spec, and the old one's warm environments (running the old code) are let go.
        self._specs: dict[tuple, tuple[str, FunctionSpec]] = {}
        self._lock = threading.Lock()

    @property
    def region(self) -> str:
        return self._region

    def resolve(self, caller: Caller, ref: FunctionRef) -> FunctionView:
        """The version a qualifier names (DryRun's permission check, and every invocation's),
        once it is Active. Through a weighted alias, the version drawn for this invocation."""
        view = self._functions.get_granted(caller, ref, INVOKE, route=True)
        require_invocable(view.state)
        return view

    def invoke(
        self,
        caller: Caller,
        ref: FunctionRef,
        payload: bytes,
        *,
        client_context: str | None = None,
        request_id: str | None = None,
        invocation_type: str = "RequestResponse",
    ) -> Invocation:
        """Runs the version `ref` names; the function's context carries the ARN as the caller
        wrote it (unqualified, or with the version or alias it named)."""
        if len(payload) > SYNC_PAYLOAD_BYTES:
            raise RequestTooLarge(payload_too_large(SYNC_PAYLOAD_BYTES, "InvokeFunction"))
        view = self.resolve(caller, ref)
        return self.run(
            view,
            payload,
            client_context=client_context,
            request_id=request_id,
            invoked_arn=function_arn(self._region, view.account_id, ref.name, ref.qualifier),
            invocation_type=invocation_type,
        )

    def run(
        self,
        view: FunctionView,
        payload: bytes,
        *,
        client_context: str | None = None,
        request_id: str | None = None,
        invoked_arn: str | None = None,
        invocation_type: str = "RequestResponse",
    ) -> Invocation:
        spec = self.spec(view)
        try:
            with self._concurrency(view):
                started_at = time.time()
                result = self.pool.invoke(
                    spec,
                    bytes(payload),
                    request_id=request_id or str(uuid.uuid4()),
                    client_context=client_context,
                    invoked_arn=invoked_arn,
                )
        except TooManyRequests as throttle:
            self.observers.throttled(
                Throttled(
                    view.account_id,
                    view.function_id,
                    view.name,
                    view.version,
                    invocation_type,
                    throttle.reason or "",
                )
            )
            raise
        self.observers.ran(
            Ran(
                view.account_id,
                view.function_id,
                view.name,
                view.version,
                invocation_type,
                result.environment_id,
                started_at,
                time.time(),
                result,
            )
        )
        return Invocation(view.version, result)

    def _concurrency(self, view: FunctionView):
        if self.gate is None:
            return nullcontext()
        return self.gate.execution(view.function_id, view.account_id, view.reserved_concurrency)

    def prewarm(self, view: FunctionView, count: int) -> None:
        self.pool.prewarm(self.spec(view), count)

    def forget(self, views: list[FunctionView]) -> None:
        """Let warm environments of deleted versions go."""
        for view in views:
            with self._lock:
                known = self._specs.pop((view.function_id, view.version), None)
            if known is not None:
                self.pool.discard(known[1])

    def spec(self, view: FunctionView) -> FunctionSpec:
        key = (view.function_id, view.version)
        known = self._specs.get(key)
        if known is not None and known[0] == view.revision_id:
            return known[1]
        config = view.config
        runtime = config["runtime"]
        if not runnable(runtime):
            raise InvalidParameterValue(
                f"The runtime {runtime} of {view.arn} cannot be invoked on this server: it runs "
                f"python3.N, nodejs{NODEJS_MIN_MAJOR}.x and newer, and the custom runtimes "
                "provided, provided.al2 and provided.al2023."
            )
        bundle = self._bundles.bundle(view.code_digest, view.layers, runtime=runtime)
        spec = FunctionSpec(
            bundle_dir=bundle,
            handler=config["handler"],
            runtime=runtime,
            memory_mb=config["memory_size"],
            tmp_mb=config["ephemeral_storage"],
            timeout_s=float(config["timeout"]),
            env=config["environment"] or {},
            function_name=view.name,
            function_version=view.version,
            function_arn=view.qualified_arn,
            region=self._region,
            isolation=self._isolation,
        )
        with self._lock:
            stale = self._specs.get(key)
            self._specs[key] = (view.revision_id, spec)
        if stale is not None and stale[1] != spec:
            self.pool.discard(stale[1])
        return spec

    def close(self) -> None:
        self.pool.close()
