"""EnvironmentPool: warm environments per function spec, the executor's Python API.

Thread-safe. Each environment serves one invocation at a time; an invocation that finds no idle
environment of its spec starts one (`max_environments_per_spec`, when set, caps them and makes
the rest wait). Idle environments are torn down after `idle_timeout_s`, except the `prewarm`ed
("provisioned") ones. Sandbox failures raise `SandboxError` (a `ServiceUnavailable`); everything
the function does, including timeouts and OOM kills, comes back as an `InvocationResult`.

Memory admission (memory.py): the environments of every process sharing the pool's ledger never
hold more memory than its budget. Past it, idle environments go first, least recently used, of
any spec (not provisioned ones), here and, through the ledger, in the other processes; then an
invocation waits up to `memory_wait_s` for memory or for an idle environment of its spec, and
is then refused with `ConcurrentInvocationLimitExceeded`. Only starting and tearing down an
environment touches the ledger, never a warm invocation.

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
from registry.executor.census import PoolCensus
from registry.executor.environment import Environment
from registry.executor.errors import InitFailed, RuntimeEnded, SandboxError
from registry.executor.host import HostCapabilities
from registry.executor.launchers import Launchers
from registry.executor.memory import (
    DEFAULT_FRACTION,
    LEDGER_NAME,
    MemoryLedger,
    default_budget,
    footprint_mb,
    memory_backed,
)
from registry.executor.owners import owner_token
from registry.executor.plan import plan
from registry.executor.report import InvocationResult
from registry.executor.spec import FunctionSpec
from registry.executor.spec_environments import SpecEnvironments
from registry.executor.tmpvolumes import TmpVolumes

# How often a waiting invocation looks at the ledger again, and the reaper at other processes'
# requests for memory.
_POLL_S = 0.05
_REAPER_TICK_S = 0.1


class EnvironmentPool:
    def __init__(
        self,
        *,
        max_environments_per_spec: int | None = None,
        idle_timeout_s: float = 300.0,
        host: HostCapabilities | None = None,
        workdir: Path | None = None,
        max_environments_per_account: int | None = None,
        memory_budget_mb: int | None = None,
        memory_fraction: float = DEFAULT_FRACTION,
        memory_ledger: Path | None = None,
        memory_wait_s: float = 1.0,
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
        budget, source = default_budget(memory_fraction, memory_budget_mb)
        # Without a ledger shared with other processes, the pool has the budget to itself.
        self._ledger = MemoryLedger(memory_ledger or self._workdir / LEDGER_NAME, budget, source)
        self._memory_wait = memory_wait_s
        self._tmp_in_memory = memory_backed(self._workdir)
        self._charged: dict[Environment, int] = {}  # the MB each live environment holds
        self._wanted: dict[int, int] = {}  # waiting thread -> MB it waits for
        self._specs: dict[FunctionSpec, SpecEnvironments] = {}
        # Discarded specs whose environments are still starting or busy: until those end, they
        # count against their account's bound (else discarding would be a way around it).
        self._retired: list[tuple[FunctionSpec, SpecEnvironments]] = []
        self._cond = threading.Condition()
        self._closed = False
        self._closing = threading.Event()
        self._reaper = threading.Thread(target=self._reap, name="strata-pool-reaper", daemon=True)
        self._reaper.start()

    def invoke(
        self,
        spec: FunctionSpec,
        payload: bytes,
        *,
        request_id: str | None = None,
        client_context: str | None = None,
        invoked_arn: str | None = None,
    ) -> InvocationResult:
        """`invoked_arn` is the ARN as the caller wrote it (an alias's, a version's or the
        unqualified one), which the runtime is given; by default the version's own."""
        while True:
            env = self._acquire(spec)
            try:
                result = env.invoke(payload, request_id, client_context, invoked_arn)
            except RuntimeEnded:
                continue  # it never saw the invocation: another environment runs it
            finally:
                self._release(spec, env)
            result.environment_id = env.id
            return result

    def prewarm(self, spec: FunctionSpec, count: int) -> None:
        """Keep `count` initialised environments for `spec` (provisioned concurrency)."""
        chosen = plan(spec, self.host)
        footprint = footprint_mb(spec, chosen, self._tmp_in_memory)
        wanted = count if self._max is None else min(count, self._max)
        purpose = f"provisioned concurrency of {count}"
        with self._cond:
            envs = self._specs.setdefault(spec, SpecEnvironments())
            missing = max(0, wanted - envs.count)
            victims = self._make_room(spec, missing, purpose)
            envs.starting += missing
        self._destroy_all(victims)
        try:
            if missing:
                self._admit(footprint * missing, purpose)
        except BaseException:
            with self._cond:
                envs.starting -= missing
                self._cond.notify_all()
            raise
        with self._cond:
            envs.provisioned = count
        started = []
        try:
            for _ in range(missing):
                env = Environment(
                    spec, chosen, self._workdir, self._volumes, self._launchers, provisioned=True
                )
                self._charge(env, footprint)  # from here on, _destroy gives its share back
                started.append(env)
                failure = env.start()
                if failure is not None:
                    raise InitFailed(f"prewarm failed: {failure.payload.decode()}")
        finally:
            unused = footprint * (missing - len(started))
            if unused:
                self._ledger.release(unused)
            with self._cond:
                envs.starting -= missing
                envs.idle.extend(e for e in started if not e.dead)
                self._cond.notify_all()
            self._destroy_all(e for e in started if e.dead)

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
        self._destroy_all(idle)

    def memory_used_mb(self) -> int:
        """What the environments of every process sharing the ledger hold."""
        return self._ledger.used_mb()

    def census(self) -> PoolCensus:
        with self._cond:
            return PoolCensus.of((*self._specs.items(), *self._retired), self._charged)

    def close(self) -> None:
        with self._cond:
            if self._closed:  # closing twice would close descriptors others have since
                return
            self._closed = True
            everything = [e for envs in self._specs.values() for e in (*envs.idle, *envs.busy)]
            self._specs.clear()
            self._cond.notify_all()
        self._closing.set()
        self._destroy_all(everything)
        self._reaper.join()
        self._launchers.close()
        if self._volumes is not None:
            self._volumes.close()
        self._ledger.forget()
        self._ledger.close()
        shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- internals ---------------------------------------------------------------------------

    def _acquire(self, spec: FunctionSpec) -> Environment:
        while True:
            with self._cond:
                if self._closed:
                    raise SandboxError("the executor pool is closed")
                envs = self._specs.setdefault(spec, SpecEnvironments())
                env = envs.take_idle()
                if env is not None:
                    return env
                if self._max is not None and envs.count >= self._max:
                    self._cond.wait()
                    continue
                victims = self._make_room(spec, 1)
                envs.starting += 1
            self._destroy_all(victims)
            try:
                chosen = plan(spec, self.host)
                footprint = footprint_mb(spec, chosen, self._tmp_in_memory)
                # Give up the start when an environment of the spec falls idle meanwhile.
                admitted = self._admit(footprint, idle_of=envs)
            except BaseException:
                with self._cond:
                    envs.starting -= 1
                    self._cond.notify_all()
                raise
            if admitted:
                break
            with self._cond:
                envs.starting -= 1
        try:
            env = Environment(spec, chosen, self._workdir, self._volumes, self._launchers)
        except BaseException:
            self._ledger.release(footprint)
            with self._cond:
                envs.starting -= 1
                self._cond.notify_all()
            raise
        self._charge(env, footprint)
        with self._cond:
            envs.starting -= 1
            envs.busy.add(env)
        return env

    def _admit(
        self, mb: int, purpose: str | None = None, idle_of: SpecEnvironments | None = None
    ) -> bool:
        """Reserve `mb` of the node's memory: at once, else once idle environments (here, then
        in the other processes) are reclaimed or memory frees within the wait. False when
        `idle_of` gets an idle environment first; past the wait, a 429."""
        missing = self._ledger.reserve(mb)
        if not missing:
            return True
        if mb > self._ledger.budget_mb:
            raise ConcurrentInvocationLimitExceeded(self._refusal(mb, purpose))
        deadline = time.monotonic() + self._memory_wait
        me = threading.get_ident()
        try:
            while True:
                if not self._reclaim_idle(missing):
                    with self._cond:
                        self._wanted[me] = mb
                        wanted = sum(self._wanted.values())
                    self._ledger.want(wanted)  # renewed each round: the others' reapers poll
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise ConcurrentInvocationLimitExceeded(self._refusal(mb, purpose))
                    with self._cond:
                        if idle_of is not None and (idle_of.idle or self._closed):
                            return False
                        self._cond.wait(min(_POLL_S, remaining))
                        if idle_of is not None and (idle_of.idle or self._closed):
                            return False
                missing = self._ledger.reserve(mb)
                if not missing:
                    return True
        finally:
            with self._cond:
                had = self._wanted.pop(me, None)
                wanted = sum(self._wanted.values())
            if had is not None:
                self._ledger.want(wanted)

    def _refusal(self, mb: int, purpose: str | None) -> str:
        what = purpose or "an execution environment"
        return (
            f"Rate Exceeded: this node's memory for execution environments is in use "
            f"({self._ledger.used_mb()} MB of its budget of {self._ledger.source}); "
            f"{what} needs {mb} MB more."
        )

    def _reclaim_idle(self, mb: int) -> int:
        """Tear down idle environments until they held `mb`; the MB reclaimed."""
        victims, total = self._choose_idle(mb)
        self._destroy_all(victims)
        return total

    def _choose_idle(self, mb: int) -> tuple[list[Environment], int]:
        """Idle environments, least recently used first, of any spec (never provisioned ones)
        that together held `mb`, taken out of the pool."""
        with self._cond:
            candidates = sorted(
                (
                    (env, envs)
                    for envs in self._specs.values()
                    for env in envs.reclaimable()
                    if env in self._charged
                ),
                key=lambda pair: pair[0].last_used,
            )
            victims, total = [], 0
            for env, envs in candidates:
                if total >= mb:
                    break
                envs.idle.remove(env)
                victims.append(env)
                total += self._charged[env]
        return victims, total

    def _free_for_others(self) -> None:
        victims = []

        def pick(mb: int) -> int:
            chosen, total = self._choose_idle(mb)
            victims.extend(chosen)
            return total

        self._ledger.free_for_others(pick)
        self._destroy_all(victims, freeing=True)

    def _charge(self, env: Environment, mb: int) -> None:
        with self._cond:
            self._charged[env] = mb

    def _destroy(self, env: Environment, *, freeing: bool = False) -> None:
        env.destroy()
        with self._cond:
            mb = self._charged.pop(env, 0)
            self._cond.notify_all()
        if mb and not self._closed:  # a closed pool's share left the ledger with it
            self._ledger.release(mb, freeing=freeing)

    def _destroy_all(self, envs, *, freeing: bool = False) -> None:
        for env in envs:
            self._destroy(env, freeing=freeing)

    def _make_room(
        self, spec: FunctionSpec, needed: int, purpose: str | None = None
    ) -> list[Environment]:
        """Called with the lock held before `needed` new environments of `spec` start: the
        idle environments of the account's other specs to destroy so that they fit, taken out
        of the pool here. Raises ConcurrentInvocationLimitExceeded when they cannot fit."""
        if self._max_per_account is None or needed <= 0:
            return []
        account = spec.account_id
        mine = [
            (s, e) for s, e in (*self._specs.items(), *self._retired) if s.account_id == account
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
            self._destroy(env)

    def _reap(self) -> None:
        """Idle timeouts, and the other processes' requests for memory (within a tick)."""
        next_expiry = time.monotonic()
        while not self._closing.wait(_REAPER_TICK_S):
            self._free_for_others()
            now = time.monotonic()
            if now < next_expiry:
                continue
            next_expiry = now + min(1.0, self._idle_timeout)
            expired = []
            with self._cond:
                for envs in self._specs.values():
                    keep = envs.provisioned
                    for env in sorted(envs.idle, key=lambda e: e.last_used, reverse=True):
                        if keep > 0 and not env.dead:
                            keep -= 1
                        elif env.dead or now - env.last_used > self._idle_timeout:
                            envs.idle.remove(env)
                            expired.append(env)
            self._destroy_all(expired)
