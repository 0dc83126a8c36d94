"""EnvironmentPool: warm environments per function spec, the executor's Python API.

Thread-safe. Each environment serves one invocation at a time; concurrent invocations of a spec
use up to `max_environments_per_spec` environments and otherwise wait for one to become free.
Idle environments are torn down after `idle_timeout_s`, except the `prewarm`ed ("provisioned")
ones. Sandbox failures raise `SandboxError` (a `ServiceUnavailable`); everything the function
does, including timeouts and OOM kills, comes back as an `InvocationResult`.

An account (the account id in a spec's ARN) holds at most `max_environments_per_account` live
environments across all its functions (`_make_room` is the one place that enforces it): past
it, idle environments of the account's other specs are reclaimed, and when none is idle the
invocation is refused with `ConcurrentInvocationLimitExceeded` (Lambda's 429), never queued.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

from registry.errors import ConcurrentInvocationLimitExceeded
from registry.executor import reaping
from registry.executor.environment import Environment
from registry.executor.errors import SandboxError
from registry.executor.host import HostCapabilities
from registry.executor.launchers import Launchers
from registry.executor.owners import owner_token
from registry.executor.plan import plan
from registry.executor.report import InvocationResult
from registry.executor.spec import FunctionSpec
from registry.executor.tmpvolumes import TmpVolumes


class _SpecEnvironments:
    def __init__(self):
        self.idle: list[Environment] = []
        self.busy: set[Environment] = set()
        self.starting = 0
        self.provisioned = 0

    @property
    def count(self) -> int:
        return len(self.idle) + len(self.busy) + self.starting

    def reclaimable(self) -> list[Environment]:
        """Idle environments beyond the provisioned ones, least recently used first."""
        surplus = max(0, self.count - self.provisioned)
        return sorted(self.idle, key=lambda e: e.last_used)[:surplus]


class EnvironmentPool:
    def __init__(
        self,
        *,
        max_environments_per_spec: int = 4,
        idle_timeout_s: float = 300.0,
        host: HostCapabilities | None = None,
        workdir: Path | None = None,
        max_environments_per_account: int | None = None,
    ):
        self.host = host if host is not None else HostCapabilities.from_env()
        self._max = max_environments_per_spec
        self._max_per_account = max_environments_per_account
        self._idle_timeout = idle_timeout_s
        base = Path(workdir) if workdir else Path(tempfile.gettempdir())
        reaping.reap_stale([base])
        # Named after its owner, so that whoever starts after a crash can tell it is stale.
        prefix = f"{reaping.WORKDIR_PREFIX}{owner_token()}-"
        self._workdir = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
        # The sandbox uids must reach their own directories below this one.
        os.chmod(self._workdir, 0o711)
        self._volumes = TmpVolumes(self._workdir) if self.host.loop_tmp else None
        self._launchers = Launchers()
        self._specs: dict[FunctionSpec, _SpecEnvironments] = {}
        # Discarded specs whose environments are still starting or busy: until those end, they
        # count against their account's bound (else discarding would be a way around it).
        self._retired: list[tuple[FunctionSpec, _SpecEnvironments]] = []
        self._cond = threading.Condition()
        self._closed = False
        self._reaper = threading.Thread(target=self._reap, name="strata-pool-reaper", daemon=True)
        self._reaper.start()

    def invoke(
        self,
        spec: FunctionSpec,
        payload: bytes,
        *,
        request_id: str | None = None,
        client_context: str | None = None,
    ) -> InvocationResult:
        env = self._acquire(spec)
        try:
            return env.invoke(payload, request_id, client_context)
        finally:
            self._release(spec, env)

    def prewarm(self, spec: FunctionSpec, count: int) -> None:
        """Keep `count` initialised environments for `spec` (provisioned concurrency)."""
        chosen = plan(spec, self.host)
        with self._cond:
            envs = self._specs.setdefault(spec, _SpecEnvironments())
            missing = max(0, min(count, self._max) - envs.count)
            victims = self._make_room(spec, missing, f"provisioned concurrency of {count}")
            envs.provisioned = count
            envs.starting += missing
        for victim in victims:
            victim.destroy()
        started = []
        try:
            for _ in range(missing):
                env = Environment(
                    spec, chosen, self._workdir, self._volumes, self._launchers, provisioned=True
                )
                started.append(env)
                failure = env.start()
                if failure is not None:
                    started.remove(env)
                    raise SandboxError(f"prewarm failed: {failure.payload.decode()}")
        finally:
            with self._cond:
                envs.starting -= missing
                envs.idle.extend(e for e in started if not e.dead)
                self._cond.notify_all()

    def discard(self, spec: FunctionSpec) -> None:
        """Tear down every idle environment of `spec`; busy ones go when their invocation ends."""
        with self._cond:
            envs = self._specs.pop(spec, None)
            idle = envs.idle if envs else []
            if envs:
                envs.idle = []
                for env in envs.busy:
                    env.dead = True  # released, then destroyed by _release
                if envs.busy or envs.starting:
                    self._retired.append((spec, envs))
        for env in idle:
            env.destroy()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            everything = [e for envs in self._specs.values() for e in (*envs.idle, *envs.busy)]
            self._specs.clear()
            self._cond.notify_all()
        for env in everything:
            env.destroy()
        self._reaper.join()
        self._launchers.close()
        if self._volumes is not None:
            self._volumes.close()
        shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- internals ---------------------------------------------------------------------------

    def _acquire(self, spec: FunctionSpec) -> Environment:
        with self._cond:
            while True:
                if self._closed:
                    raise SandboxError("the executor pool is closed")
                envs = self._specs.setdefault(spec, _SpecEnvironments())
                while envs.idle:
                    env = envs.idle.pop()
                    if not env.dead:
                        envs.busy.add(env)
                        return env
                if envs.count < self._max:
                    victims = self._make_room(spec, 1)
                    envs.starting += 1
                    break
                self._cond.wait()
        for victim in victims:
            victim.destroy()
        try:
            chosen = plan(spec, self.host)
            env = Environment(spec, chosen, self._workdir, self._volumes, self._launchers)
        except BaseException:
            with self._cond:
                envs.starting -= 1
                self._cond.notify_all()
            raise
        with self._cond:
            envs.starting -= 1
            envs.busy.add(env)
        return env

    def _make_room(
        self, spec: FunctionSpec, needed: int, purpose: str | None = None
    ) -> list[Environment]:
        """Called with the lock held before `needed` new environments of `spec` start: the
        idle environments of the account's other specs to destroy so that they fit, taken out
        of the pool here. Raises ConcurrentInvocationLimitExceeded when they cannot fit."""
        if self._max_per_account is None or needed <= 0:
            return []
        account = account_of(spec)
        mine = [
            (s, e) for s, e in (*self._specs.items(), *self._retired) if account_of(s) == account
        ]
        over = sum(e.count for _, e in mine) + needed - self._max_per_account
        if over <= 0:
            return []
        candidates = sorted(
            ((env, e) for s, e in mine if s != spec for env in e.reclaimable()),
            key=lambda pair: pair[0].last_used,
        )
        if len(candidates) < over:
            if purpose is None:
                raise ConcurrentInvocationLimitExceeded()
            raise ConcurrentInvocationLimitExceeded(
                f"{purpose} would pass the account's limit of {self._max_per_account} execution "
                "environments"
            )
        victims = []
        for env, envs in candidates[:over]:
            envs.idle.remove(env)
            victims.append(env)
        self._cond.notify_all()  # waiters of those specs may start environments again
        return victims

    def _release(self, spec: FunctionSpec, env: Environment) -> None:
        with self._cond:
            envs = self._specs.get(spec)
            if envs is not None and env in envs.busy:
                envs.busy.discard(env)
                if not env.dead and not self._closed:
                    envs.idle.append(env)
                    env = None
            else:  # its spec was discarded meanwhile
                for _, retired in self._retired:
                    retired.busy.discard(env)
                self._retired = [(s, r) for s, r in self._retired if r.count]
            self._cond.notify_all()
        if env is not None:
            env.destroy()

    def _reap(self) -> None:
        while True:
            with self._cond:
                self._cond.wait(timeout=min(1.0, self._idle_timeout))
                if self._closed:
                    return
                now = time.monotonic()
                expired = []
                for envs in self._specs.values():
                    keep = envs.provisioned
                    for env in sorted(envs.idle, key=lambda e: e.last_used, reverse=True):
                        if keep > 0 and not env.dead:
                            keep -= 1
                        elif env.dead or now - env.last_used > self._idle_timeout:
                            envs.idle.remove(env)
                            expired.append(env)
            for env in expired:
                env.destroy()


def account_of(spec: FunctionSpec) -> str:
    """The account id in the spec's function ARN (arn:aws:lambda:region:account:function:...)."""
    parts = spec.arn.split(":")
    return parts[4] if len(parts) > 4 else ""
