"""Lambda's concurrency limits, held across every app process and node through the database.

An execution needs a unit of its function's concurrency. Each app process ("holder") records in
`concurrency_holds` how many units it holds per function, and takes a new one in a transaction
that locks the account's row and checks the sums over all holders: a function with reserved
concurrency may hold at most its reservation; the others share what the account's limit leaves
unreserved, apart from what their provisioned concurrency sets aside for each of them. Past
either, the execution is throttled with the `Reason` Lambda gives.

Units of a function without a reservation stay with the process for a moment after their
execution ends (LINGER_SECONDS), so back-to-back warm invocations touch the database only to read
the function, as before; they linger only while the account uses less than half of what it may,
so they never throttle anyone. A reserved function's units go back at once, as one reserved
for serialising work (reservation 1) must be usable by the next caller on any node.

A holder renews its rows every RENEW_SECONDS; rows not renewed for STALE_SECONDS (a process that
was killed) stop counting and are deleted by whichever holder notices first.
"""

from __future__ import annotations

import copy
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select, update

from registry.db import Database
from registry.errors import (
    ConcurrentInvocationLimitExceeded,
    ReservedConcurrencyExceeded,
    StrataError,
)
from registry.functions.concurrency import account_limit, claims
from registry.models import ConcurrencyHold, Function, ProvisionedConcurrency
from registry.outages import Outage

log = logging.getLogger(__name__)

LINGER_SECONDS = 1.0
RENEW_SECONDS = 5.0
STALE_SECONDS = 30.0


class _Ticket:
    """One execution waiting for a unit; answered by whichever waiter grants for the batch."""

    __slots__ = ("error", "granted")

    def __init__(self):
        self.granted = False
        self.error: BaseException | None = None


@dataclass
class _Units:
    held: int = 0
    running: int = 0
    linger: bool = False  # may keep idle units (set from the last grant's view of the limits)
    idle_since: float = 0.0
    waiting: list[_Ticket] = field(default_factory=list)
    granting: bool = False


class ConcurrencyGate:
    """One per app process. `execution(...)` is the only entry point the invocation path needs."""

    def __init__(self, db: Database, *, holder: str | None = None):
        self._db = db
        self.holder = holder or new_holder_id()
        self._units: dict[int, _Units] = {}
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Renewing holds and giving units back, from the upkeep loop and from ending executions:
        # while the database is down, one story in the log rather than a line per attempt.
        self._outage = Outage("concurrency holds upkeep", log)

    @contextmanager
    def execution(self, function_id: int, account_id: str, reserved: int | None) -> Iterator[None]:
        """Holds one unit of the function's concurrency for the block; raises a TooManyRequests
        (with Lambda's Reason) when none is left."""
        self._acquire(function_id, account_id, reserved)
        try:
            yield
        finally:
            self._release(function_id)

    def running(self, function_id: int) -> int:
        with self._lock:
            units = self._units.get(function_id)
            return units.running if units else 0

    # -- background upkeep -------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="strata-concurrency", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Gives every unit back (a draining process's executions have ended by then)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            with self._db.write() as session:
                session.execute(
                    delete(ConcurrencyHold).where(ConcurrencyHold.holder == self.holder)
                )
        except StrataError:
            pass  # the rows go stale and stop counting on their own

    def _loop(self) -> None:
        last_renewal = time.monotonic()
        while not self._stop.wait(LINGER_SECONDS / 2):
            try:
                self._return_lingering()
                if time.monotonic() - last_renewal >= RENEW_SECONDS:
                    self._renew()
                    last_renewal = time.monotonic()
            except Exception as error:
                self._outage.failed(error)
            else:
                self._outage.recovered()

    def _return_lingering(self) -> None:
        now = time.monotonic()
        with self._lock:
            surplus = {
                function_id: units.held - units.running
                for function_id, units in self._units.items()
                if units.held > units.running and now - units.idle_since >= LINGER_SECONDS
            }
            for function_id, count in surplus.items():
                self._units[function_id].held -= count
            # Functions this process no longer runs are forgotten, so the map stays small.
            for function_id in [
                function_id
                for function_id, units in self._units.items()
                if not (units.held or units.running or units.waiting or units.granting)
            ]:
                del self._units[function_id]
        for function_id, count in surplus.items():
            self._give_back(function_id, count)

    def _renew(self) -> None:
        now = time.time()
        with self._db.write() as session:
            session.execute(
                update(ConcurrencyHold)
                .where(ConcurrencyHold.holder == self.holder)
                .values(renewed_at=now)
            )
            session.execute(
                delete(ConcurrencyHold).where(
                    (ConcurrencyHold.renewed_at < now - STALE_SECONDS)
                    | ((ConcurrencyHold.holder == self.holder) & (ConcurrencyHold.count <= 0))
                )
            )

    # -- taking and giving back units --------------------------------------------------------

    def _acquire(self, function_id: int, account_id: str, reserved: int | None) -> None:
        """Executions of one function arriving together are granted in one transaction: a burst
        of 100 cold invocations would otherwise queue 100 transactions on the account's lock."""
        with self._lock:
            units = self._units.get(function_id)
            if units is None:
                units = self._units[function_id] = _Units()
            # A lingering unit is only reused while the function reserves nothing: a reservation
            # set since (even 0) is then honoured by the very next invocation.
            if reserved is None and units.held > units.running:
                units.running += 1
                return
            ticket = _Ticket()
            units.waiting.append(ticket)
            while units.granting and not ticket.granted and ticket.error is None:
                self._lock.wait()
            if not ticket.granted and ticket.error is None:
                batch, units.waiting = units.waiting, []
                units.granting = True
        if ticket.granted or ticket.error is not None:
            return self._answered(ticket)
        try:
            granted, linger, refusal = self._grant(function_id, account_id, len(batch))
        except BaseException as error:
            granted, linger, refusal = 0, False, error
        with self._lock:
            units.granting = False
            units.held += granted
            units.linger = linger and reserved is None
            for index, waiter in enumerate(batch):
                if index < granted:
                    waiter.granted = True
                    units.running += 1
                else:
                    waiter.error = refusal
            self._lock.notify_all()
        return self._answered(ticket)

    @staticmethod
    def _answered(ticket: _Ticket) -> None:
        if ticket.error is not None:
            # A copy each: the waiters of a batch raise it on their own threads at once.
            raise copy.copy(ticket.error)

    def _release(self, function_id: int) -> None:
        with self._lock:
            units = self._units[function_id]
            units.running -= 1
            units.idle_since = time.monotonic()
            surplus = 0 if units.linger else units.held - units.running
            if surplus <= 0:
                return
            units.held -= surplus
        self._give_back(function_id, surplus)

    def _grant(
        self, function_id: int, account_id: str, wanted: int
    ) -> tuple[int, bool, BaseException | None]:
        """Takes up to `wanted` units in the database: (how many, whether the process may keep
        them idle, the throttle for the ones refused)."""
        now = time.time()
        alive = ConcurrencyHold.renewed_at >= now - STALE_SECONDS
        with self._db.write() as session:
            # The account's row is the lock every grant and every concurrency setting of its
            # functions takes, on every node (SQLite's writes are serialised anyway).
            limit = account_limit(session, account_id, lock=True)
            reserved = session.scalar(
                select(Function.reserved_concurrency).where(Function.id == function_id)
            )
            if reserved is not None:
                used = session.scalar(
                    select(func.coalesce(func.sum(ConcurrencyHold.count), 0)).where(
                        ConcurrencyHold.function_id == function_id, alive
                    )
                )
                share, fits, refusal = reserved, reserved - used, ReservedConcurrencyExceeded()
            else:
                used, share, fits = _unreserved_room(session, account_id, function_id, limit, alive)
                refusal = ConcurrentInvocationLimitExceeded()
            granted = max(0, min(wanted, fits))
            if granted:
                self._record(session, function_id, account_id, granted, now)
        return granted, (used + granted) * 2 <= share, refusal if granted < wanted else None

    def _record(self, session, function_id: int, account_id: str, count: int, now: float) -> None:
        changed = session.execute(
            update(ConcurrencyHold)
            .where(
                ConcurrencyHold.holder == self.holder,
                ConcurrencyHold.function_id == function_id,
            )
            .values(count=ConcurrencyHold.count + count, renewed_at=now)
        ).rowcount
        if not changed:
            session.add(
                ConcurrencyHold(
                    holder=self.holder,
                    function_id=function_id,
                    account_id=account_id,
                    count=count,
                    renewed_at=now,
                )
            )

    def _give_back(self, function_id: int, count: int) -> None:
        try:
            with self._db.write() as session:
                session.execute(
                    update(ConcurrencyHold)
                    .where(
                        ConcurrencyHold.holder == self.holder,
                        ConcurrencyHold.function_id == function_id,
                    )
                    .values(count=ConcurrencyHold.count - count)
                )
        except StrataError as error:
            # Kept as idle units, which the upkeep loop tries to give back again: until then
            # they throttle too many, never too few.
            self._outage.failed(error)
            with self._lock:
                self._units.setdefault(function_id, _Units()).held += count


def _unreserved_room(session, account_id: str, function_id: int, limit: int, alive) -> tuple:
    """(executions the unreserved pool runs, the pool's size, how many more of `function_id`
    fit). As on Lambda, a function without a reservation runs up to its provisioned concurrency
    on capacity set aside for it, which the pool (the limit less every reservation and that
    provisioned concurrency) excludes; only its executions beyond that come from the pool."""
    claimed = claims(session, account_id)
    provisioned = dict(
        session.execute(
            select(ProvisionedConcurrency.function_id, func.sum(ProvisionedConcurrency.requested))
            .join(Function, Function.id == ProvisionedConcurrency.function_id)
            .where(Function.account_id == account_id, Function.reserved_concurrency.is_(None))
            .group_by(ProvisionedConcurrency.function_id)
        ).all()
    )
    running = dict(
        session.execute(
            select(ConcurrencyHold.function_id, func.sum(ConcurrencyHold.count))
            .join(Function, Function.id == ConcurrencyHold.function_id)
            .where(
                ConcurrencyHold.account_id == account_id,
                Function.reserved_concurrency.is_(None),
                alive,
            )
            .group_by(ConcurrencyHold.function_id)
        ).all()
    )
    used = sum(
        max(0, int(count) - int(provisioned.get(function, 0)))
        for function, count in running.items()
    )
    share = limit - claimed.total
    set_aside = max(0, int(provisioned.get(function_id, 0)) - int(running.get(function_id, 0)))
    return used, share, set_aside + max(0, share - used)


def new_holder_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
