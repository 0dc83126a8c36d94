"""Asynchronous invocations (InvocationType Event): accepted durably, run in the background.

An accepted event is a row in function_events before the 202 goes out, so a restart loses none.
Worker threads in every app process claim due events by setting a lease, renew it while the
function runs, and record the outcome; a process that dies leaves a lease that expires, and the
event is claimed again. As on Lambda, a function error is retried twice more, with growing delays,
unless the asynchronous invocation setting of the qualifier it was invoked with
(registry/functions/event_invoke_config.py) allows fewer retries; an event older than the
setting's maximum age is dropped instead of run. Once an event succeeds or fails for good, its
invocation record goes to the setting's destination function as an event of its own.

One account's backlog must not hold up everyone else's events: workers take turns across
accounts (the one served least recently first), then across that account's functions, and one
account never occupies all of a process's workers, so another account's event always finds a free
one within a poll. Each account may have a bounded number of events waiting; past it, Invoke with
InvocationType Event is throttled (TooManyRequestsException).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, bindparam, delete, func, literal, or_, select, update

from registry.accounts import Caller
from registry.db import Database, stored_utc
from registry.errors import (
    InvalidParameterValue,
    RequestTooLarge,
    ResourceNotFound,
    StrataError,
    TooManyRequests,
)
from registry.functions.event_invoke_config import RetryPolicy, retry_policy
from registry.functions.names import LATEST, FunctionRef, function_arn
from registry.invocations.destinations import Finished, deliver
from registry.invocations.invoke import Invoker
from registry.limits import ASYNC_PAYLOAD_BYTES
from registry.messages import payload_too_large
from registry.models import Account, Function, FunctionEvent
from registry.outages import Outage

log = logging.getLogger(__name__)

LEASE_SECONDS = 10.0
RENEW_SECONDS = 3.0
POLL_SECONDS = 0.5
KEEP_FINISHED = timedelta(days=1)
# Lambda waits about a minute, then two; a self-hosted registry is used interactively, so the
# default is shorter. Retry n waits RETRY_BASE_SECONDS * 2**(n-1).
DEFAULT_RETRY_BASE_SECONDS = 1.0
# Pending events (waiting, or between retries) one account may have; at 256 KB each, 25 MB.
DEFAULT_MAX_PENDING_PER_ACCOUNT = 100
# A throttled event (its account holds all the environments it may) is tried again after this
# without spending one of its attempts, for as long as its maximum age allows.
THROTTLED = "throttled"
EXPIRED = "expired"  # older than its maximum age: dropped without a run
THROTTLE_RETRY_SECONDS = 1.0


@dataclass(frozen=True)
class QueueLag:
    waiting: int  # events due to run that no worker has taken yet
    oldest_wait_s: float  # how long the longest waiting of them has been due


@dataclass(frozen=True)
class _Outcome:
    error: str | None  # None: the function succeeded
    retry: bool | str  # whether a retry may help, or THROTTLED or EXPIRED
    policy: RetryPolicy
    arn: str = ""  # the function, qualified as invoked
    executed_version: str | None = None  # None: it did not run
    response: bytes = b""
    function_error: str | None = None


class EventQueue:
    def __init__(
        self,
        db: Database,
        invoker: Invoker,
        *,
        workers: int = 3,
        max_pending_per_account: int = DEFAULT_MAX_PENDING_PER_ACCOUNT,
        retry_base_seconds: float = DEFAULT_RETRY_BASE_SECONDS,
    ):
        self._db = db
        self._invoker = invoker
        self._workers = workers
        self._max_pending = max_pending_per_account
        self._retry_base = retry_base_seconds
        # All but one worker: the last is always there for the other accounts.
        self._per_account = max(1, workers - 1)
        self._running: Counter[str] = Counter()  # account id -> events this process runs now
        # When this process last claimed for an account, or (account, function): a claim counter.
        self._turns: dict = {}
        self._turn = 0
        self._claim_lock = threading.Lock()
        self._owner = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._runner = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="strata-event-run"
        )
        self._last_prune = 0.0
        # Shared by the workers: an outage is logged once, not once per worker.
        self._outage = Outage("event workers", log)

    # -- accepting ---------------------------------------------------------------------------

    def accept(
        self,
        caller: Caller,
        ref: FunctionRef,
        payload: bytes,
        *,
        client_context: str | None = None,
        request_id: str | None = None,
    ) -> str:
        """Store the event; returns the version it will run (X-Amz-Executed-Version)."""
        if len(payload) > ASYNC_PAYLOAD_BYTES:
            raise RequestTooLarge(payload_too_large(ASYNC_PAYLOAD_BYTES, "InvokeAsync"))
        view = self._invoker.resolve(caller, ref)
        with self._db.write() as session:
            self._check_room(session, view.account_id)
            session.add(
                FunctionEvent(
                    function_id=view.function_id,
                    # As invoked: an alias is followed when the event runs, and its setting applies.
                    qualifier=ref.qualifier or LATEST,
                    request_id=request_id or str(uuid.uuid4()),
                    payload=bytes(payload),
                    client_context=client_context,
                    status="pending",
                    attempts=0,
                    not_before=time.time(),
                    created_at=datetime.now(timezone.utc),
                )
            )
        self._wake.set()
        return view.version

    def _check_room(self, session, account_id: str) -> None:
        if not self._db.is_sqlite:
            # Accepts of one account queue here, so concurrent ones cannot both take the last
            # place (SQLite's write transactions are serial already).
            session.execute(select(Account.id).where(Account.id == account_id).with_for_update())
        pending = session.scalar(
            select(func.count())
            .select_from(FunctionEvent)
            .join(Function, Function.id == FunctionEvent.function_id)
            .where(Function.account_id == account_id, FunctionEvent.status == "pending")
        )
        if pending >= self._max_pending:
            raise TooManyRequests(
                f"Rate Exceeded. Account {account_id} already has {pending} asynchronous "
                f"invocations waiting to run, the most it may have ({self._max_pending}); "
                "retry once some have run."
            )

    def lag(self) -> QueueLag:
        """How far behind the workers of every process are: events due and not taken. Events
        waiting for their retry time are not late, so they do not count."""
        now = time.time()
        with self._db.connect() as connection:
            waiting, oldest = connection.execute(
                select(func.count(), func.min(FunctionEvent.not_before)).where(self._due(now))
            ).one()
        return QueueLag(waiting, round(max(0.0, now - oldest), 3) if oldest is not None else 0.0)

    # -- running -----------------------------------------------------------------------------

    def start(self) -> None:
        for index in range(self._workers):
            thread = threading.Thread(target=self._loop, name=f"strata-events-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._runner.shutdown(wait=False, cancel_futures=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                claimed = self._claim()
                if claimed is None:
                    self._prune()
                else:
                    self._process(*claimed)
            except Exception as error:  # the database is down, most likely: try again shortly
                self._outage.failed(error)
                self._stop.wait(POLL_SECONDS)
                continue
            self._outage.recovered()
            if claimed is None:
                self._wake.wait(POLL_SECONDS)
                self._wake.clear()

    @staticmethod
    def _due(now: float):
        return and_(
            FunctionEvent.status == "pending",
            FunctionEvent.not_before <= now,
            or_(FunctionEvent.lease_until.is_(None), FunctionEvent.lease_until < now),
        )

    def _claim(self) -> tuple[str, FunctionEvent] | None:
        """The next event by turns, leased to this process, with its account; None if none is
        due for an account with a worker to spare."""
        now = time.time()
        with self._claim_lock:
            # A plain read first: idle workers then never take the (SQLite: database-wide) write
            # lock. The oldest due event of each (account, function) is a candidate.
            with self._db.connect() as connection:
                if connection.execute(_ANY_DUE, {"now": now}).first() is None:
                    return None
                heads = connection.execute(
                    select(
                        Function.account_id, FunctionEvent.function_id, func.min(FunctionEvent.id)
                    )
                    .join(Function, Function.id == FunctionEvent.function_id)
                    .where(self._due(now))
                    .group_by(Function.account_id, FunctionEvent.function_id)
                ).all()
            for account_id, function_id, event_id in self._in_turn(heads):
                event = self._lease(event_id, now)
                if event is not None:
                    self._turn += 1
                    if len(self._turns) > 10_000:
                        self._turns.clear()
                    self._turns[account_id] = self._turns[(account_id, function_id)] = self._turn
                    self._running[account_id] += 1
                    return account_id, event
        return None

    def _in_turn(self, heads) -> list[tuple[str, int, int]]:
        """Candidates of accounts below their share of workers: the account served least
        recently first, then its least recently served function, then the oldest event."""
        open_heads = [head for head in heads if self._running[head[0]] < self._per_account]
        return sorted(
            open_heads,
            key=lambda head: (
                self._turns.get(head[0], 0),
                self._turns.get((head[0], head[1]), 0),
                head[2],
            ),
        )

    def _lease(self, event_id: int, now: float) -> FunctionEvent | None:
        with self._db.write() as session:
            # The condition repeats the due check, so of two claimants (threads or app nodes)
            # only one updates the row; on PostgreSQL the second re-reads it after the first
            # commits and finds the lease taken.
            claimed = session.execute(
                update(FunctionEvent)
                .where(FunctionEvent.id == event_id, self._due(now))
                .values(lease_owner=self._owner, lease_until=now + LEASE_SECONDS)
            ).rowcount
            if not claimed:
                return None
            return session.get(FunctionEvent, event_id)

    def _process(self, account_id: str, event: FunctionEvent) -> None:
        try:
            self._run_leased(event)
        finally:
            with self._claim_lock:
                self._running[account_id] -= 1
                if self._running[account_id] <= 0:
                    del self._running[account_id]

    def _run_leased(self, event: FunctionEvent) -> None:
        future = self._runner.submit(self._run, event)
        while True:
            try:
                outcome = future.result(timeout=RENEW_SECONDS)
                break
            except FutureTimeout:
                self._renew(event.id)
        error = outcome.error
        with self._db.write() as session:
            row = session.get(FunctionEvent, event.id)
            if row is None or row.lease_owner != self._owner:
                return  # deleted with its function, or lost to another process after a stall
            retry = outcome.retry
            row.attempts += 0 if retry in (THROTTLED, EXPIRED) else 1
            row.lease_owner = None
            row.lease_until = None
            row.last_error = error
            age = _age(row.created_at).total_seconds()
            if error is None:
                row.status = "succeeded"
            elif retry == THROTTLED and age < outcome.policy.max_age_seconds:
                row.not_before = time.time() + THROTTLE_RETRY_SECONDS
            elif retry is True and row.attempts < outcome.policy.max_attempts:
                row.not_before = time.time() + self._retry_base * 2 ** (row.attempts - 1)
            else:
                row.status = "failed"
            if row.status != "pending":
                self._deliver(session, row, outcome)
        if error is not None:
            log.info(
                "event %s of function %s: attempt failed: %s",
                event.request_id,
                event.function_id,
                error,
            )

    def _run(self, event: FunctionEvent) -> _Outcome:
        with self._db.read() as session:
            function = session.get(Function, event.function_id)
            policy = retry_policy(session, event.function_id, event.qualifier)
        if function is None:
            return _Outcome("the function was deleted", False, policy)
        arn = function_arn(
            self._invoker.region, function.account_id, function.name, event.qualifier
        )
        if _age(event.created_at).total_seconds() > policy.max_age_seconds:
            return _Outcome(
                f"the event is older than its maximum age ({policy.max_age_seconds} s)",
                EXPIRED,
                policy,
                arn,
            )
        ref = FunctionRef(function.name, function.account_id, event.qualifier)
        try:
            invocation = self._invoker.invoke(
                Caller(function.account_id),
                ref,
                event.payload,
                client_context=event.client_context,
                request_id=event.request_id,
                invocation_type="Event",
            )
        except (ResourceNotFound, InvalidParameterValue) as error:
            return _Outcome(str(error), False, policy, arn)
        except TooManyRequests as error:
            return _Outcome(str(error), THROTTLED, policy, arn)
        except StrataError as error:  # a sandbox or storage failure: Lambda retries those too
            return _Outcome(str(error), True, policy, arn)
        result = invocation.result
        error = result.payload.decode("utf-8", "replace") if result.function_error else None
        return _Outcome(
            error,
            error is not None,
            policy,
            arn,
            invocation.executed_version,
            bytes(result.payload),
            result.function_error,
        )

    def _deliver(self, session, row: FunctionEvent, outcome: _Outcome) -> None:
        if row.status == "succeeded":
            condition = "Success"
        elif outcome.retry in (EXPIRED, THROTTLED):  # throttled until it grew too old
            condition = "EventAgeExceeded"
        else:
            condition = "RetriesExhausted"
        finished = Finished(
            row,
            condition,
            outcome.arn,
            outcome.executed_version,
            outcome.response,
            outcome.function_error,
        )
        if deliver(session, outcome.policy.destinations, finished):
            self._wake.set()

    def _renew(self, event_id: int) -> None:
        with self._db.write() as session:
            session.execute(
                update(FunctionEvent)
                .where(FunctionEvent.id == event_id, FunctionEvent.lease_owner == self._owner)
                .values(lease_until=time.time() + LEASE_SECONDS)
            )

    def _prune(self) -> None:
        if time.monotonic() - self._last_prune < 60:
            return
        self._last_prune = time.monotonic()
        cutoff = datetime.now(timezone.utc) - KEEP_FINISHED
        with self._db.write() as session:
            session.execute(
                delete(FunctionEvent).where(
                    FunctionEvent.status != "pending", FunctionEvent.created_at < cutoff
                )
            )


# What an idle worker asks twice a second, built once: building and compiling the statement that
# finds the candidates cost each poll a few milliseconds of CPU, a steady share of a core.
_ANY_DUE = (
    select(literal(1))
    .where(
        FunctionEvent.status == "pending",
        FunctionEvent.not_before <= bindparam("now"),
        or_(FunctionEvent.lease_until.is_(None), FunctionEvent.lease_until < bindparam("now")),
    )
    .limit(1)
)


def _age(created_at: datetime) -> timedelta:
    return datetime.now(timezone.utc) - stored_utc(created_at)
