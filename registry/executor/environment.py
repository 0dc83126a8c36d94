"""One execution environment: a sandboxed runtime that stays initialised between invocations.

Lifecycle as on Lambda: the first invocation (or a prewarm) starts the runtime and waits until it
asks for work (that is the Init Duration); invocations then run one at a time; a timeout, an OOM
kill, a crash or an init failure destroys the environment, and the pool builds a new one.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from registry.executor import outcomes, processes, runtime_access
from registry.executor.cgroups import EnvironmentCgroups
from registry.executor.errors import RuntimeEnded, SandboxError
from registry.executor.launch import (
    HANDOFF,
    INIT_TIMEOUT_S,
    hand_over,
    install_runtime,
    listener_helper,
    runtime_api_address,
    sandbox_pid,
)
from registry.executor.launchers import Launchers
from registry.executor.logs import LogPipe
from registry.executor.netns import (
    listen_in_netns,
    listen_on_host,
    receive_listener,
)
from registry.executor.peers import only_uid
from registry.executor.plan import Plan
from registry.executor.report import InvocationResult, Report
from registry.executor.runtime_api import RuntimeApiServer
from registry.executor.runtime_channel import Invocation, RuntimeChannel
from registry.executor.runtime_view import RuntimeView
from registry.executor.sandbox import rlimit_argv
from registry.executor.spec import FunctionSpec
from registry.executor.tmpvolumes import TmpVolume, TmpVolumes, usage_bytes
from registry.executor.uids import SandboxUser, reserve_uid


class Environment:
    def __init__(
        self,
        spec: FunctionSpec,
        plan: Plan,
        workdir: Path,
        volumes: TmpVolumes | None,
        launchers: Launchers,
        *,
        provisioned: bool = False,
    ):
        self.spec = spec
        self.plan = plan
        self.id = f"{os.getpid()}-{uuid.uuid4().hex[:10]}"
        self._workdir = workdir / f"env-{self.id}"
        self._volumes = volumes
        self._launchers = launchers
        self._view = RuntimeView(spec, plan, self._workdir, workdir)
        self._provisioned = provisioned
        self._lock = threading.Lock()  # one invocation at a time
        self._destroy_lock = threading.Lock()
        self.dead = False
        self.started = False
        self.last_used = time.monotonic()
        self._init_duration_ms: float | None = None
        self._tmp_exceeded = False
        self._init_reported = provisioned  # provisioned environments report no Init Duration
        self._answered = 0  # invocations the runtime answered
        self._proc: subprocess.Popen | None = None
        self._user: SandboxUser | None = None
        self._cgroups: EnvironmentCgroups | None = None
        self._stopped: set[int] = set()  # what SIGSTOP froze, without a freezer cgroup
        self._volume: TmpVolume | None = None
        self._server: RuntimeApiServer | None = None
        self._channel = RuntimeChannel()
        self._logs: LogPipe | None = None  # the launcher's, once spawned
        self._log_stream = (
            f"{datetime.now(timezone.utc):%Y/%m/%d}/[{spec.function_version}]{uuid.uuid4().hex}"
        )
        self.mechanisms = plan.mechanisms(spec)
        self.mechanisms["max_memory"] = (
            "cgroup memory.max_usage_in_bytes"
            if plan.cgroup_memory
            else "VmHWM of the runtime's process tree"
        )

    # ---- start -------------------------------------------------------------------------------

    def start(self) -> InvocationResult | None:
        """Start the runtime and wait for its init; an init failure comes back as a result."""
        self.started = True
        begin = time.monotonic()
        try:
            entry = self._entrypoint()
            if isinstance(entry, InvocationResult):
                return entry
            self._spawn(entry)
        except BaseException:
            self.destroy()
            raise
        ready = self._channel.wait_ready(INIT_TIMEOUT_S)
        if self._channel.ready_at is not None:
            self._init_duration_ms = (self._channel.ready_at - begin) * 1000
            self._freeze()  # a prewarmed environment waits frozen, like any idle one
            return None
        request_id = str(uuid.uuid4())
        if self._channel.init_error is not None:
            body, _ = self._channel.init_error
            failure = self._failure(request_id, "init_error", outcomes.json_or_wrap(body))
        elif not ready:
            document = outcomes.init_timed_out(request_id, INIT_TIMEOUT_S)
            failure = self._failure(request_id, "timeout", document)
        else:
            failure = self._failure(request_id, "init_error", self._exit_error(request_id))
        self.destroy()
        return failure

    def _entrypoint(self) -> list[str] | InvocationResult:
        entry = self._view.entrypoint()
        if entry is not None:
            return entry
        request_id = str(uuid.uuid4())
        self.dead = True
        document = outcomes.invalid_entrypoint(
            request_id, self._view.root("task"), self._view.root("opt")
        )
        return self._failure(request_id, "init_error", document)

    def _spawn(self, entry: list[str]) -> None:
        plan, spec, view = self.plan, self.spec, self._view
        self._workdir.mkdir(mode=0o711)
        install_runtime(view)
        if plan.drop_uid:
            self._user = reserve_uid()
        uid = self._user.uid if self._user else None
        forked = view.forked_by(rlimit_argv(spec, plan))
        launcher = self._launchers.take(
            memory=plan.cgroup_memory,
            memsw=plan.memsw,
            pids=plan.cgroup_pids,
            freezer=plan.freezer,
            cpu=plan.cgroup_cpu,
            forked=forked,
        )
        self._proc, self._logs = launcher.proc, launcher.logs
        handoff = None
        self._cgroups = launcher.cgroups if launcher.cgroups.dirs else None
        try:
            launcher.cgroups.limit_memory(spec.memory_mb)
            launcher.cgroups.limit_cpu(spec.memory_mb)
            tmp_path = self._tmp_dir(uid)
            netns = plan.bwrap is not None and plan.runtime_api == runtime_access.NETNS
            if plan.bwrap is not None and plan.runtime_api == runtime_access.SANDBOX_LISTENER:
                handoff, entry = listener_helper(view, entry)
            listener = None if plan.netns else listen_on_host()
            api = runtime_api_address(plan, listener)
            env = view.variables(api, tmp_path, self._log_stream, self._provisioned)
            where = {
                "tmp_path": tmp_path,
                "tmp_mount": self._volume.mount() if self._volume else None,
                "uid": uid,
                "netns": netns,
            }
            hand_over(self._launchers, launcher, plan, view, entry, env, forked=forked, **where)
            threading.Thread(target=self._watch, name="strata-env-watch", daemon=True).start()
            if plan.bwrap:
                listener = self._listener_in_sandbox(launcher, netns, handoff) or listener
        finally:
            launcher.close_info()
            launcher.release_block()
            if handoff is not None:
                handoff.close()
                (view.runtime_dir / HANDOFF).unlink(missing_ok=True)
        # On the host's loopback every local process could connect: only the environment's uid may.
        admit = only_uid(uid) if plan.runtime_api == runtime_access.PEER_UID else None
        self._server = RuntimeApiServer(listener, self._channel, admit=admit)
        self._server.start()

    def _listener_in_sandbox(self, launcher, netns: bool, handoff):
        """The Runtime API's socket made inside the built sandbox (its network namespace, or
        handed over by sandbox_listener.py); None when the sandbox uses the host's."""
        pid = sandbox_pid(launcher.info_r, self._proc, self._logs)
        if netns:
            return listen_in_netns(pid)
        if handoff is not None:
            return receive_listener(
                handoff, pid, INIT_TIMEOUT_S, alive=lambda: self._proc.poll() is None
            )
        return None

    def _tmp_dir(self, uid: int | None) -> Path:
        if self.plan.bwrap and self.plan.loop_tmp and self._volumes is not None:
            self._volume = self._volumes.take(self.spec.tmp_mb)
            return self._volume.mountpoint
        path = self._workdir / "tmp"
        path.mkdir(mode=0o700)
        if uid is not None:
            os.chown(path, uid, uid)
        return path

    def _watch(self) -> None:
        self._proc.wait()
        self._channel.mark_exited()

    # ---- invoke ------------------------------------------------------------------------------

    def invoke(
        self,
        payload: bytes,
        request_id: str | None = None,
        client_context: str | None = None,
        invoked_arn: str | None = None,
    ) -> InvocationResult:
        with self._lock:
            self.last_used = time.monotonic()
            if not self.started:
                failure = self.start()
                if failure is not None:
                    return failure
            if self.dead:
                raise SandboxError("environment is no longer running")
            try:
                return self._invoke(payload, request_id, client_context, invoked_arn)
            finally:
                self.last_used = time.monotonic()

    def _invoke(
        self, payload: bytes, request_id: str | None, client_context: str | None, invoked_arn
    ) -> InvocationResult:
        spec, request_id = self.spec, request_id or str(uuid.uuid4())
        self._reset_peak()
        init_logs = self._logs.take()
        begin = time.monotonic()
        deadline = begin + spec.timeout_s
        invocation = Invocation(
            request_id=request_id,
            payload=payload,
            deadline_ms=int((time.time() + spec.timeout_s) * 1000),
            function_arn=invoked_arn or spec.arn,
            trace_id=f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
            client_context=client_context,
        )
        self._thaw()
        self._channel.submit(invocation)
        answered = self._wait(invocation, deadline)
        if not answered and self._answered and self._channel.exited and not invocation.taken:
            self.destroy()
            raise RuntimeEnded("the runtime exited after its previous invocation")
        if answered:
            self._answered += 1
            # As on Lambda, nothing the function left running gets CPU until the next invocation.
            self._freeze()
        duration_ms = min((time.monotonic() - begin) * 1000, spec.timeout_s * 1000)
        peak = self._peak()
        self._logs.drain()
        outcome, body, function_error, extra_log = self._outcome(invocation, answered, deadline)
        report = Report(
            request_id=request_id,
            duration_ms=duration_ms,
            memory_size_mb=spec.memory_mb,
            max_memory_used_mb=peak,
            init_duration_ms=self._take_init_duration(),
        )
        during = f"{self._logs.take()}{extra_log}"
        return InvocationResult(
            request_id=request_id,
            payload=body,
            function_error=function_error,
            outcome=outcome,
            logs=outcomes.invocation_logs(
                request_id, spec.function_version, report, before=init_logs, during=during
            ),
            report=report,
            mechanisms=dict(self.mechanisms),
        )

    def _outcome(
        self, invocation: Invocation, answered: bool, deadline: float
    ) -> tuple[str, bytes, str | None, str]:
        """Outcome, payload, function error and the log lines the executor adds; an outcome
        that leaves the runtime unusable destroys the environment."""
        request_id, spec = invocation.request_id, self.spec
        if answered and invocation.response is not None:
            return "success", invocation.response, None, ""
        if answered and invocation.oversized is not None:
            return (
                "function_error",
                outcomes.response_too_large(invocation.oversized),
                "Unhandled",
                "",
            )
        if answered:
            body = invocation.error or b""
            if self.plan.rlimit_memory and outcomes.error_type(body) == "MemoryError":
                # Under an rlimit the allocation fails inside the handler instead of a kill.
                self.destroy()
                return "out_of_memory", body, "Unhandled", ""
            return "function_error", body, "Unhandled", ""
        if self._tmp_exceeded:
            message = outcomes.tmp_exceeded(request_id, spec.tmp_mb)
            body = outcomes.dump({"errorType": "Runtime.ExitError", "errorMessage": message})
            self.destroy()
            return "runtime_exit", body, "Unhandled", message + "\n"
        if not self._channel.exited and time.monotonic() >= deadline:
            message = f"Task timed out after {spec.timeout_s:.2f} seconds"
            body = outcomes.timed_out(request_id, message)
            extra_log = f"{outcomes.now()} {request_id} {message}\n"
            self.destroy()
            return "timeout", body, "Unhandled", extra_log
        document = self._exit_error(request_id)
        outcome = (
            "out_of_memory" if document["errorType"] == "Runtime.OutOfMemory" else "runtime_exit"
        )
        self.destroy()
        extra_log = f"{document['errorMessage']}\n{document['errorType']}\n"
        return outcome, outcomes.dump(document), "Unhandled", extra_log

    def _wait(self, invocation: Invocation, deadline: float) -> bool:
        watch_tmp = not self.plan.bwrap and self.plan.isolation != "none"
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return invocation.answered
            step = min(remaining, 0.25) if watch_tmp else remaining
            if self._channel.wait_answer(invocation, step):
                return invocation.answered
            if watch_tmp and usage_bytes(self._workdir / "tmp") > self.spec.tmp_mb << 20:
                # Without a sized filesystem the cap is a watchdog: over it, the environment goes.
                self._tmp_exceeded = True
                return False

    def _exit_error(self, request_id: str) -> dict:
        self._proc.wait()
        oom = self._cgroups is not None and self._cgroups.oom_kills() > 0
        return outcomes.exit_error(request_id, self._proc.returncode, oom, bool(self.plan.bwrap))

    def _failure(self, request_id: str, outcome: str, document: dict) -> InvocationResult:
        early_logs = ""
        if self._logs is not None:
            self._logs.drain()
            early_logs = self._logs.take()
        return outcomes.failure(
            self.spec, request_id, outcome, document, early_logs, self.mechanisms
        )

    # ---- idle: frozen between invocations -----------------------------------------------------

    def _freeze(self) -> None:
        if self._cgroups is not None and self._cgroups.freezer is not None:
            self._cgroups.freeze()
        elif self._proc is not None:
            self._stopped = processes.stop_all(self._members)

    def _thaw(self) -> None:
        if self._cgroups is not None and self._cgroups.freezer is not None:
            self._cgroups.thaw()
        else:
            processes.continue_all(self._stopped)
            self._stopped = set()

    def _members(self) -> list[int]:
        """The environment's processes when no freezer cgroup holds them: those of its other
        groups, else its uid's (a sweep of every process on the host, at every invocation's end),
        else the launcher's tree (complete under bwrap, whose pid namespace adopts every
        orphan)."""
        if self._cgroups is not None and self._cgroups.dirs:
            return sorted(self._cgroups.procs())
        if self._user is not None:
            return processes.pids_of_uid(self._user.uid)
        return processes.descendants(self._proc.pid)

    def _take_init_duration(self) -> float | None:
        if self._init_reported:
            return None
        self._init_reported = True
        return self._init_duration_ms

    def _reset_peak(self) -> None:
        if self._cgroups is not None and self._cgroups.memory is not None:
            self._cgroups.reset_peak()
        elif self._proc is not None:
            processes.reset_peak(self._proc.pid)

    def _peak(self) -> int | None:
        try:
            if self._cgroups is not None and self._cgroups.memory is not None:
                return self._cgroups.peak_mb()
            if self._proc is None or self._proc.poll() is not None:
                return None
            return processes.peak_mb(self._proc.pid)
        except OSError:  # the environment was torn down by the /tmp watchdog
            return None

    # ---- teardown ----------------------------------------------------------------------------

    def destroy(self) -> None:
        """Kill the whole tree and remove every trace: cgroups, /tmp, uid, work dir."""
        with self._destroy_lock:
            if self.dead and self._proc is None and not self._workdir.exists():
                return
            self.dead = True
            if self._server is not None:
                self._server.close()
            self._channel.close()
            if self._proc is not None:
                if self._proc.poll() is None:
                    try:
                        os.killpg(self._proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    if self._cgroups is not None:
                        self._cgroups.thaw()  # the v1 freezer holds SIGKILL until a thaw
                self._proc.wait()
                if self._proc.stdin is not None:
                    self._proc.stdin.close()
            # Without groups that held every process, a sweep of every process on the host finds
            # the uid's: costly with hundreds of environments, and a burst's evictions run it once
            # per environment.
            contained = self._cgroups is not None and self._cgroups.remove()
            if self._user is not None and not contained:
                processes.kill_uid(self._user.uid)
            if self._logs is not None:
                self._logs.wait_eof(1.0)
                self._logs.close()
            if self._volume is not None:
                self._volume.destroy()
                self._volume = None
            if self._user is not None:
                self._user.release()
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._proc = None
