"""Provisioned concurrency: N initialised environments of a version (or of an alias's version).

The setting is a row. As on Lambda, PutProvisionedConcurrencyConfig answers at once with Status
IN_PROGRESS; the environments are started off the request thread, by this process's sync thread
(woken at once) or any other app process's (within SYNC_SECONDS), and the first to have them
warm marks the row READY, or FAILED with the reason when they cannot start. Every app process
then keeps its own pool warm for the READY rows, so whichever process serves the next request
has warm environments.

As on Lambda, a function's provisioned concurrency counts against its reservation, or, without
one, against the account's unreserved concurrency (registry/functions/concurrency.py has the
rules), from the moment it is requested. No fixed number caps it here: the executor keeps what
the host can hold.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from sqlalchemy import select, update

from registry.accounts import Caller
from registry.db import Database
from registry.errors import (
    InvalidParameterValue,
    ProvisionedConcurrencyConfigNotFound,
    StrataError,
)
from registry.executor.errors import InitFailed
from registry.functions.concurrency import check_provisioned
from registry.functions.names import LATEST, FunctionRef, function_arn
from registry.functions.provisioned_overlap import check_not_overlapping
from registry.functions.provisioned_status import FAILED, IN_PROGRESS, READY
from registry.functions.service import FunctionService
from registry.functions.views import FunctionView
from registry.invocations.invoke import Invoker
from registry.models import Function, FunctionAlias, ProvisionedConcurrency
from registry.outages import Outage
from registry.paging import MAX_ITEMS, Page, decode_marker, first_page

log = logging.getLogger(__name__)

SYNC_SECONDS = 1.0
INIT_FAILURE = "FUNCTION_ERROR_INIT_FAILURE"
UNPUBLISHED = "Provisioned Concurrency Configs cannot be applied to unpublished function versions."


@dataclass(frozen=True)
class ProvisionedView:
    function_arn: str  # qualified by the version or alias the setting is for
    requested: int
    available: int | None  # None: not stated (Put's answer leaves it out, as Lambda's does)
    allocated: int
    status: str
    status_reason: str | None
    last_modified: datetime


class ProvisionedConcurrencyService:
    def __init__(self, db: Database, functions: FunctionService, invoker: Invoker):
        self._db = db
        self._functions = functions
        self._invoker = invoker
        # Row id -> ((requested, version), spec) this process has warmed.
        self._applied: dict[int, tuple] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()  # a setting was just made here: warm it now
        self._thread: threading.Thread | None = None

    def put(self, caller: Caller, ref: FunctionRef, count) -> ProvisionedView:
        qualifier = self._qualifier(ref)
        if qualifier == LATEST:
            raise InvalidParameterValue(UNPUBLISHED)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise InvalidParameterValue(
                f"ProvisionedConcurrentExecutions must be a whole number of at least 1; got "
                f"{count!r}."
            )
        view = self._functions.get(caller, ref)
        if view.version == LATEST:  # an alias on $LATEST
            raise InvalidParameterValue(UNPUBLISHED)
        now = datetime.now(timezone.utc)
        with self._db.write() as session:
            check_provisioned(
                session, view.account_id, view.function_id, qualifier, count, lock=True
            )
            check_not_overlapping(session, view.function_id, qualifier)
            row = self._row(session, view, qualifier)
            if row is None:
                row = ProvisionedConcurrency(function_id=view.function_id, qualifier=qualifier)
                session.add(row)
            # Environments already warm for an earlier value stay warm meanwhile.
            row.requested, row.status, row.status_reason, row.last_modified = (
                count,
                IN_PROGRESS,
                None,
                now,
            )
            session.flush()
            answer = replace(self._view(row, self._arn(view, qualifier)), available=None)
        self._wake.set()
        return answer

    def get(self, caller: Caller, ref: FunctionRef) -> ProvisionedView:
        qualifier = self._published_qualifier(ref)
        view = self._functions.get(caller, ref)
        with self._db.read() as session:
            row = self._row(session, view, qualifier)
            if row is None:
                raise ProvisionedConcurrencyConfigNotFound(
                    "No Provisioned Concurrency Config found for this function"
                )
            return self._view(row, self._arn(view, qualifier))

    def list_configs(
        self,
        caller: Caller,
        ref: FunctionRef,
        *,
        marker: str | None = None,
        max_items: int = MAX_ITEMS,
    ) -> Page:
        """The function's settings, by qualifier (ListProvisionedConcurrencyConfigs)."""
        if ref.qualifier is not None:
            raise InvalidParameterValue(
                "ListProvisionedConcurrencyConfigs lists every version and alias of a function: "
                f"name the function without the qualifier {ref.qualifier}."
            )
        view = self._functions.get(caller, ref)
        after = decode_marker(marker)
        with self._db.read() as session:
            query = (
                select(ProvisionedConcurrency)
                .where(ProvisionedConcurrency.function_id == view.function_id)
                .order_by(ProvisionedConcurrency.qualifier)
            )
            if after:
                query = query.where(ProvisionedConcurrency.qualifier > after)
            rows = session.scalars(query.limit(max_items + 1)).all()
        items = [(row.qualifier, self._view(row, self._arn(view, row.qualifier))) for row in rows]
        page = first_page(items, max_items, key=lambda item: item[0])
        return Page([item[1] for item in page.items], page.next_marker)

    def delete(self, caller: Caller, ref: FunctionRef) -> None:
        """Idempotent, as on Lambda: a version or alias without a setting answers the same."""
        qualifier = self._published_qualifier(ref)
        view = self._functions.get(caller, ref)
        with self._db.write() as session:
            row = self._row(session, view, qualifier)
            if row is None:
                return
            session.delete(row)
        self._release(row.id)

    @staticmethod
    def _row(session, view: FunctionView, qualifier: str) -> ProvisionedConcurrency | None:
        return session.scalar(
            select(ProvisionedConcurrency).where(
                ProvisionedConcurrency.function_id == view.function_id,
                ProvisionedConcurrency.qualifier == qualifier,
            )
        )

    # -- keeping every process warm ----------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="strata-provisioned", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        outage = Outage("provisioned concurrency sync", log)
        while not self._stop.is_set():
            self._wake.wait(SYNC_SECONDS)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.sync()
            except Exception as error:
                outage.failed(error)
            else:
                outage.recovered()

    def sync(self) -> None:
        """Warm what the rows ask for and this process has not warmed (an alias's setting
        follows the version the alias points at), settling the ones still IN_PROGRESS; release
        the rest (deleted settings, FAILED ones, and the versions an alias left)."""
        with self._db.read() as session:
            rows = session.execute(
                select(
                    ProvisionedConcurrency,
                    Function.account_id,
                    Function.name,
                    FunctionAlias.function_version,
                )
                .join(Function, Function.id == ProvisionedConcurrency.function_id)
                .outerjoin(
                    FunctionAlias,
                    (FunctionAlias.function_id == ProvisionedConcurrency.function_id)
                    & (FunctionAlias.name == ProvisionedConcurrency.qualifier),
                )
                .where(ProvisionedConcurrency.status != FAILED)
            ).all()
        wanted = {}
        for row, account_id, name, pointed in rows:
            wanted[row.id] = row
            target = (row.requested, pointed or row.qualifier)
            applied = self._applied.get(row.id)
            if row.status == READY and applied is not None and applied[0] == target:
                continue
            try:
                view = self._functions.get(
                    Caller(account_id), FunctionRef(name, None, row.qualifier)
                )
                self._invoker.prewarm(view, row.requested)
                spec = self._invoker.spec(view)
            except StrataError as error:
                if row.status == IN_PROGRESS:
                    # Lambda names an initialisation error by its code alone (the error itself
                    # is in the function's logs); anything else is the host's, said as it is.
                    reason = INIT_FAILURE if isinstance(error, InitFailed) else str(error)
                    self._settle(row, pointed, FAILED, reason)
                log.warning("cannot keep %s:%s warm: %s", name, row.qualifier, error)
                continue
            self._applied[row.id] = (target, spec)
            if applied is not None and applied[1] != spec:
                self._let_go(applied[1])  # the version the alias pointed at before
            if row.status == IN_PROGRESS:
                self._settle(row, pointed, READY, None)
        for row_id in set(self._applied) - set(wanted):
            self._release(row_id)

    def _settle(
        self, row: ProvisionedConcurrency, pointed: str | None, status: str, reason: str | None
    ) -> None:
        """The outcome of warming `row` as read (for an alias, the version it `pointed` at),
        unless the setting or the alias has changed (or gone) since: then a later sync warms (or
        releases) what it has become."""
        statement = update(ProvisionedConcurrency).where(
            ProvisionedConcurrency.id == row.id,
            ProvisionedConcurrency.status == IN_PROGRESS,
            ProvisionedConcurrency.requested == row.requested,
        )
        if pointed is not None:
            # Warming the version an alias left would otherwise mark the new one READY.
            now_pointed = (
                select(FunctionAlias.function_version)
                .where(
                    FunctionAlias.function_id == row.function_id,
                    FunctionAlias.name == row.qualifier,
                )
                .scalar_subquery()
            )
            statement = statement.where(now_pointed == pointed)
        with self._db.write() as session:
            session.execute(statement.values(status=status, status_reason=reason and reason[:1024]))

    def _release(self, row_id: int) -> None:
        applied = self._applied.pop(row_id, None)
        if applied is not None:
            self._let_go(applied[1])

    def _let_go(self, spec) -> None:
        """No longer provisioned: the environments now idle out like any others (unless
        another setting, such as the version an alias used to point at, keeps them)."""
        if all(kept != spec for _, kept in self._applied.values()):
            self._invoker.pool.prewarm(spec, 0)

    def _qualifier(self, ref: FunctionRef) -> str:
        if not ref.qualifier:
            raise InvalidParameterValue(
                "Qualifier is required: name a published version or an alias."
            )
        return ref.qualifier

    def _published_qualifier(self, ref: FunctionRef) -> str:
        qualifier = self._qualifier(ref)
        if qualifier == LATEST:
            raise InvalidParameterValue(
                "The function resource provided must be an alias or a published version."
            )
        return qualifier

    @staticmethod
    def _arn(view: FunctionView, qualifier: str) -> str:
        return function_arn(view.region, view.account_id, view.name, qualifier)

    def _view(self, row: ProvisionedConcurrency, arn: str) -> ProvisionedView:
        allocated = row.requested if row.status == READY else 0
        return ProvisionedView(
            arn,
            row.requested,
            allocated,
            allocated,
            row.status,
            row.status_reason,
            row.last_modified,
        )
