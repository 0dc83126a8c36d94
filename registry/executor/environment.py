"""One execution environment: a sandboxed runtime that stays initialised between invocations.

Lifecycle as on Lambda: the first invocation (or a prewarm) starts the runtime and waits until it
asks for work (that is the Init Duration); invocations then run one at a time; a timeout, an OOM
kill, a crash or an init failure destroys the environment, and the pool builds a new one.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from registry.executor import processes, runtime_access, seccomp
from registry.executor.cgroups import EnvironmentCgroups
from registry.executor.errors import SandboxError
from registry.executor.host import sandbox_python
from registry.executor.interpreters import find_python
from registry.executor.launchers import Launchers
from registry.executor.logs import LogPipe
from registry.executor.netns import (
    RUNTIME_API_PORT,
    handoff_socket,
    listen_in_netns,
    listen_on_host,
    receive_listener,
)
from registry.executor.peers import only_uid
from registry.executor.report import InvocationResult, Report
from registry.executor.runtime_api import RuntimeApiServer
from registry.executor.runtime_channel import Invocation, RuntimeChannel
from registry.executor.sandbox import (
    ENVIRONMENT_STEP,
    Plan,
    args_data,
    bwrap_options,
    environment_exports,
    environment_options,
    launcher_argv,
    reachable_by_others,
    rlimit_argv,
    sandbox_argv,
    staging_mounts,
)
from registry.executor.spec import FunctionSpec
from registry.executor.tmpvolumes import TmpVolume, TmpVolumes
from registry.executor.uids import SandboxUser, reserve_uid

INIT_TIMEOUT_S = 10.0  # Lambda's limit for the init phase
_BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
_LISTENER = Path(__file__).with_name("sandbox_listener.py")
_HANDOFF = "api-handoff.sock"
_SANDBOX_ROOTS = {"task": "/var/task", "opt": "/opt", "runtime": "/var/runtime"}
_LANG = "/var/lang"  # where Lambda keeps its interpreter; a private one is shown there


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
        self._provisioned = provisioned
        self._lock = threading.Lock()  # one invocation at a time
        self._destroy_lock = threading.Lock()
        self.dead = False
        self.started = False
        self.last_used = time.monotonic()
        self._init_duration_ms: float | None = None
        self._tmp_exceeded = False
        self._init_reported = provisioned  # provisioned environments report no Init Duration
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
            failure = self._failure(request_id, "init_error", _json_or_wrap(body))
        elif not ready:
            failure = self._failure(
                request_id,
                "timeout",
                {
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"RequestId: {request_id} Error: Init phase timed out after "
                    f"{INIT_TIMEOUT_S:.2f} seconds",
                },
            )
        else:
            failure = self._failure(request_id, "init_error", self._exit_error(request_id))
        self.destroy()
        return failure

    def _entrypoint(self) -> list[str] | InvocationResult:
        if self.spec.python_version:
            interpreter = find_python(self.spec.python_version)
            self._interpreter = interpreter
            return [self._python(), "-S", f"{self._root('runtime')}/bootstrap.py"]
        self._interpreter = None
        for where in ("task", "opt"):
            candidate = self.spec.bundle_dir / where / "bootstrap"
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return [f"{self._root(where)}/bootstrap"]
        request_id = str(uuid.uuid4())
        self.dead = True
        return self._failure(
            request_id,
            "init_error",
            {
                "errorType": "Runtime.InvalidEntrypoint",
                "errorMessage": f"RequestId: {request_id} Error: Couldn't find valid bootstrap(s): "
                f"[{self._root('task')}/bootstrap {self._root('opt')}/bootstrap]",
            },
        )

    def _root(self, name: str) -> str:
        """Where the runtime sees task/, opt/ or the runtime dir."""
        if self.plan.bwrap:
            return _SANDBOX_ROOTS[name]
        if name == "runtime":
            return str(self._runtime_dir)
        return str(self.spec.bundle_dir / name)

    def _lang_prefix(self) -> Path | None:
        """The interpreter's installation when the sandbox must be shown it (not under /usr)."""
        if self._interpreter is None or not self.plan.bwrap:
            return None
        prefix = self._interpreter.prefix
        if prefix == Path("/usr") or Path("/usr") in prefix.parents:
            return None  # already in the sandbox with /usr
        return prefix

    def _python(self) -> str:
        """The interpreter as the runtime sees it: at /var/lang when host paths are hidden."""
        prefix = self._lang_prefix()
        if prefix is not None and self.plan.neutral_paths:
            return f"{_LANG}/{self._interpreter.path.relative_to(prefix)}"
        return str(self._interpreter.path)

    def _spawn(self, entry: list[str]) -> None:
        plan, spec = self.plan, self.spec
        self._workdir.mkdir(mode=0o711)
        runtime_dir = self._runtime_dir
        runtime_dir.mkdir(mode=0o755, parents=True)
        os.chmod(runtime_dir.parent, 0o755)
        shutil.copyfile(_BOOTSTRAP, runtime_dir / "bootstrap.py")
        os.chmod(runtime_dir / "bootstrap.py", 0o644)
        if plan.drop_uid:
            self._user = reserve_uid()
        uid = self._user.uid if self._user else None
        launcher = self._launchers.take(
            memory=plan.cgroup_memory,
            memsw=plan.memsw,
            pids=plan.cgroup_pids,
            freezer=plan.freezer,
            cpu=plan.cgroup_cpu,
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
                handoff, entry = self._listener_helper(runtime_dir, entry)
            listener = None if plan.netns else listen_on_host()
            api = (
                f"127.0.0.1:{RUNTIME_API_PORT}"
                if plan.netns
                else "127.0.0.1:%d" % listener.getsockname()[1]
            )
            env = self._environment(api, tmp_path)
            if plan.bwrap:
                sources, mounts = self._sandbox_sources(runtime_dir, tmp_path, uid is not None)
                # bwrap reports the sandbox's pid once it is built: a sandbox that fails to
                # build is a SandboxError, not a runtime that died.
                options = bwrap_options(
                    plan,
                    spec,
                    sources,
                    self._volume is not None,
                    launcher.info_fd,
                    launcher.block_fd if netns else None,
                    launcher.seccomp_fd if plan.syscall_filter else None,
                )
                private = args_data(options + environment_options(env))
                argv = launcher_argv(mounts, uid) + sandbox_argv(plan.bwrap, launcher.args_fd)
                argv += rlimit_argv(spec, plan) + entry
            else:
                if uid is not None:
                    self._check_reachable()
                private = environment_exports(env)
                argv = launcher_argv([], uid) + rlimit_argv(spec, plan) + ENVIRONMENT_STEP + entry
            launcher.launch(
                argv,
                cwd="/" if plan.bwrap else self._root("task"),
                private=private,
                private_on_stdin=not plan.bwrap,
                seccomp=seccomp.program() if plan.syscall_filter else b"",
            )
            threading.Thread(target=self._watch, name="strata-env-watch", daemon=True).start()
            if plan.bwrap:
                sandbox_pid = self._sandbox_pid(launcher.info_r)
                if netns:
                    listener = listen_in_netns(sandbox_pid)
                elif handoff is not None:
                    listener = receive_listener(
                        handoff,
                        sandbox_pid,
                        INIT_TIMEOUT_S,
                        alive=lambda: self._proc.poll() is None,
                    )
        finally:
            launcher.close_info()
            launcher.release_block()
            if handoff is not None:
                handoff.close()
                (runtime_dir / _HANDOFF).unlink(missing_ok=True)
        # On the host's loopback every local process could connect: only the environment's uid may.
        admit = only_uid(uid) if plan.runtime_api == runtime_access.PEER_UID else None
        self._server = RuntimeApiServer(listener, self._channel, admit=admit)
        self._server.start()

    def _listener_helper(self, runtime_dir: Path, entry: list[str]):
        """The handoff socket and the entry that runs sandbox_listener.py before the runtime."""
        shutil.copyfile(_LISTENER, runtime_dir / _LISTENER.name)
        os.chmod(runtime_dir / _LISTENER.name, 0o644)
        handoff = handoff_socket(runtime_dir, _HANDOFF)
        runtime = self._root("runtime")
        return handoff, [
            sandbox_python(),
            "-S",
            "-I",
            f"{runtime}/{_LISTENER.name}",
            f"{runtime}/{_HANDOFF}",
            *entry,
        ]

    @property
    def _runtime_dir(self) -> Path:
        # Alone in its parent, so that the parent can be a layer of the sandbox's view.
        return self._workdir / "src" / "runtime"

    def _sandbox_sources(self, runtime_dir: Path, tmp_path: Path, other_uid: bool):
        """Host paths for the sandbox's mounts, and the launcher's staging mounts. Where the plan
        hides host paths, one overlay of the bundle and the runtime dir's parent shows task/,
        opt/ and runtime/ (bwrap binds its subdirectories), with one more for the interpreter
        or the layers; else binds make private directories reachable."""
        bundle = self.spec.bundle_dir
        prefix = self._lang_prefix()
        stage = self._workdir / "mnt"
        sources: dict[str, Path] = {"tmp": tmp_path}
        if self.plan.neutral_paths:
            views = {"view": [bundle, runtime_dir.parent]}  # Strata's runtime/ wins any clash
            if self.plan.overlay_opt:
                views["opt"] = list(self.spec.opt_layers)
            if prefix is not None:
                views["lang"] = [prefix]
            mounts, mounted = staging_mounts(views, {}, stage)
            view = mounted.pop("view")
            sources.update(task=view / "task", runtime=view / "runtime", **mounted)
            if not self.plan.overlay_opt and (bundle / "opt").is_dir():
                sources["opt"] = view / "opt"
        else:
            wanted = {"task": bundle / "task", "runtime": runtime_dir}
            if (bundle / "opt").is_dir():
                wanted["opt"] = bundle / "opt"
            if prefix is not None:
                wanted["lang"] = prefix
            private = {
                name: path
                for name, path in wanted.items()
                if other_uid and not reachable_by_others(path)
            }
            mounts, mounted = staging_mounts({}, private, stage)
            sources.update(wanted)
            sources.update(mounted)
        if prefix is not None:
            sources["lang_at"] = Path(_LANG if self.plan.neutral_paths else prefix)
        return sources, mounts

    def _check_reachable(self) -> None:
        """Without bubblewrap the runtime reads the real paths as the environment's uid."""
        paths = [self.spec.bundle_dir / "task"]
        if self._interpreter is not None:
            paths.append(self._interpreter.path)
        for path in paths:
            if not reachable_by_others(path):
                raise SandboxError(
                    f"{path} is not readable by the sandbox's unprivileged uid (a parent "
                    "directory is private); move it, make it world-readable, or use bubblewrap"
                )

    def _sandbox_pid(self, info_r: int) -> int:
        """The sandbox's pid from bwrap's info; SandboxError if bwrap exits without one."""
        data = b""
        deadline = time.monotonic() + INIT_TIMEOUT_S
        while True:
            try:
                info = json.loads(data)
                break
            except ValueError:
                pass
            ready, _, _ = select.select([info_r], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(info_r, 4096) if ready else b""
            if not chunk:
                self._proc.wait(timeout=5)
                self._logs.drain()
                raise SandboxError(
                    f"the sandbox failed to start (exit {self._proc.returncode}): "
                    f"{self._logs.take().strip()[-2000:]}"
                )
            data += chunk
        return int(info["child-pid"])

    def _tmp_dir(self, uid: int | None) -> Path:
        if self.plan.bwrap and self.plan.loop_tmp and self._volumes is not None:
            self._volume = self._volumes.take(self.spec.tmp_mb)
            self._volume.give_to(uid if uid is not None else os.geteuid())
            return self._volume.mountpoint
        path = self._workdir / "tmp"
        path.mkdir(mode=0o700)
        if uid is not None:
            os.chown(path, uid, uid)
        return path

    def _environment(self, api: str, tmp: Path) -> dict[str, str]:
        spec = self.spec
        task, opt, runtime = self._root("task"), self._root("opt"), self._root("runtime")
        # A shared-library interpreter shown at /var/lang finds its libpython there, as on Lambda.
        lang = f"{_LANG}/lib:" if self.plan.neutral_paths and self._lang_prefix() else ""
        env = {
            "PATH": f"/usr/local/bin:/usr/bin/:/bin:{opt}/bin",
            "LD_LIBRARY_PATH": f"{lang}/lib64:/usr/lib64:{runtime}:{runtime}/lib:{task}:{task}/lib:{opt}/lib",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "PWD": task,  # the launcher shell would otherwise export its own working directory
            "LAMBDA_TASK_ROOT": task,
            "LAMBDA_RUNTIME_DIR": runtime,
            "_HANDLER": spec.handler,
            "AWS_LAMBDA_RUNTIME_API": api,
            "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": spec.function_version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": self._log_stream,
            "AWS_LAMBDA_INITIALIZATION_TYPE": (
                "provisioned-concurrency" if self._provisioned else "on-demand"
            ),
            "AWS_REGION": spec.region,
            "AWS_DEFAULT_REGION": spec.region,
        }
        if spec.python_version:
            env["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{spec.runtime}"
            env["PYTHONPATH"] = (
                f"{task}:{opt}/python/lib/python{spec.python_version}/site-packages:{opt}/python"
            )
        if not self.plan.bwrap:
            env["TMPDIR"] = str(tmp)
        if self.plan.rlimit_memory:
            # Under RLIMIT_AS every thread's malloc arena and OpenBLAS's per-core threads eat
            # address space; these keep ordinary code (threads, numpy) working under the cap.
            env.update(MALLOC_ARENA_MAX="2", OPENBLAS_NUM_THREADS="1")
        env.update(spec.env)
        return env

    def _watch(self) -> None:
        self._proc.wait()
        self._channel.mark_exited()

    # ---- invoke ------------------------------------------------------------------------------

    def invoke(
        self, payload: bytes, request_id: str | None = None, client_context: str | None = None
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
                return self._invoke(payload, request_id or str(uuid.uuid4()), client_context)
            finally:
                self.last_used = time.monotonic()

    def _invoke(
        self, payload: bytes, request_id: str, client_context: str | None
    ) -> InvocationResult:
        spec = self.spec
        self._reset_peak()
        init_logs = self._logs.take()
        begin = time.monotonic()
        deadline = begin + spec.timeout_s
        invocation = Invocation(
            request_id=request_id,
            payload=payload,
            deadline_ms=int((time.time() + spec.timeout_s) * 1000),
            function_arn=spec.arn,
            trace_id=f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
            client_context=client_context,
        )
        self._thaw()
        self._channel.submit(invocation)
        answered = self._wait(invocation, deadline)
        if answered:
            # As on Lambda, nothing the function left running gets CPU until the next invocation.
            self._freeze()
        duration_ms = min((time.monotonic() - begin) * 1000, spec.timeout_s * 1000)
        peak = self._peak()
        self._logs.drain()
        extra_log = ""
        if answered and invocation.response is not None:
            outcome, body, function_error = "success", invocation.response, None
        elif answered and invocation.oversized is not None:
            outcome, function_error = "function_error", "Unhandled"
            body = _dump(
                {
                    "errorMessage": f"Response payload size ({invocation.oversized} bytes) "
                    f"exceeded maximum allowed payload size (6291556 bytes).",
                    "errorType": "Function.ResponseSizeTooLarge",
                }
            )
        elif answered:
            outcome, function_error = "function_error", "Unhandled"
            body = invocation.error or b""
            if self.plan.rlimit_memory and _error_type(body) == "MemoryError":
                # Under an rlimit the allocation fails inside the handler instead of a kill.
                outcome = "out_of_memory"
                self.destroy()
        elif self._tmp_exceeded:
            outcome, function_error = "runtime_exit", "Unhandled"
            message = (
                f"RequestId: {request_id} Error: Runtime exited with error: /tmp grew past "
                f"its {spec.tmp_mb} MB (environment stopped by the usage watchdog)"
            )
            body = _dump({"errorType": "Runtime.ExitError", "errorMessage": message})
            extra_log = message + "\n"
            self.destroy()
        elif not self._channel.exited and time.monotonic() >= deadline:
            outcome, function_error = "timeout", "Unhandled"
            message = f"Task timed out after {spec.timeout_s:.2f} seconds"
            body = _dump(
                {
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"RequestId: {request_id} Error: {message}",
                }
            )
            extra_log = f"{_now()} {request_id} {message}\n"
            self.destroy()
        else:
            document = self._exit_error(request_id)
            outcome = (
                "out_of_memory"
                if document["errorType"] == "Runtime.OutOfMemory"
                else "runtime_exit"
            )
            function_error, body = "Unhandled", _dump(document)
            extra_log = f"{document['errorMessage']}\n{document['errorType']}\n"
            self.destroy()
        report = Report(
            request_id=request_id,
            duration_ms=duration_ms,
            memory_size_mb=spec.memory_mb,
            max_memory_used_mb=peak,
            init_duration_ms=self._take_init_duration(),
        )
        logs = (
            f"{init_logs}START RequestId: {request_id} Version: {spec.function_version}\n"
            f"{self._logs.take()}{extra_log}END RequestId: {request_id}\n{report.line()}\n"
        )
        return InvocationResult(
            request_id=request_id,
            payload=body,
            function_error=function_error,
            outcome=outcome,
            logs=logs,
            report=report,
            mechanisms=dict(self.mechanisms),
        )

    def _wait(self, invocation: Invocation, deadline: float) -> bool:
        watch_tmp = not self.plan.bwrap and self.plan.isolation != "none"
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return invocation.answered
            step = min(remaining, 0.25) if watch_tmp else remaining
            if self._channel.wait_answer(invocation, step):
                return invocation.answered
            if watch_tmp and _usage_bytes(self._workdir / "tmp") > self.spec.tmp_mb << 20:
                # Without a sized filesystem the cap is a watchdog: over it, the environment goes.
                self._tmp_exceeded = True
                return False

    def _exit_error(self, request_id: str) -> dict:
        self._proc.wait()
        code = self._proc.returncode
        oom = self._cgroups is not None and self._cgroups.oom_kills() > 0
        if code < 0:
            name = "killed" if -code == signal.SIGKILL else signal.Signals(-code).name.lower()
            detail = f"signal: {name}"
        elif code > 128 and self.plan.bwrap:
            # bwrap reports a child killed by signal N as exit status 128+N.
            detail = "signal: killed" if code - 128 == signal.SIGKILL else f"exit status {code}"
        else:
            detail = f"exit status {code}"
        return {
            "errorType": "Runtime.OutOfMemory" if oom else "Runtime.ExitError",
            "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: {detail}",
        }

    def _failure(self, request_id: str, outcome: str, document: dict) -> InvocationResult:
        early_logs = ""
        if self._logs is not None:
            self._logs.drain()
            early_logs = self._logs.take()
        report = Report(
            request_id=request_id,
            duration_ms=0.0,
            memory_size_mb=self.spec.memory_mb,
            max_memory_used_mb=None,
            init_duration_ms=None,
        )
        logs = (
            f"{early_logs}START RequestId: {request_id} Version: "
            f"{self.spec.function_version}\nEND RequestId: {request_id}\n{report.line()}\n"
        )
        return InvocationResult(
            request_id=request_id,
            payload=_dump(document),
            function_error="Unhandled",
            outcome=outcome,
            logs=logs,
            report=report,
            mechanisms=dict(self.mechanisms),
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
        """The environment's processes when no freezer cgroup holds them: its uid's, else the
        launcher's tree (complete under bwrap, whose pid namespace adopts every orphan)."""
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
            if self._cgroups is not None:
                self._cgroups.remove()
            if self._user is not None:
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


def _usage_bytes(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except OSError:
                pass
    return total


def _error_type(body: bytes) -> str | None:
    try:
        return json.loads(body).get("errorType")
    except (ValueError, AttributeError):
        return None


def _json_or_wrap(body: bytes) -> dict:
    try:
        document = json.loads(body)
        if isinstance(document, dict):
            return document
    except ValueError:
        pass
    return {"errorType": "Runtime.Unknown", "errorMessage": body.decode("utf-8", "replace")}


def _dump(document: dict) -> bytes:
    return json.dumps(document).encode()


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
