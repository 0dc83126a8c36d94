"""Provisioned concurrency: N initialised environments of a version (or of an alias's version).

The setting is a row; the process that receives PutProvisionedConcurrencyConfig prewarms its
own pool before answering, and every other app process picks the row up within SYNC_SECONDS and
prewarms too, so whichever process serves the next request has warm environments.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select

from registry.accounts import Caller
from registry.db import Database
from registry.errors import InvalidParameterValue, ResourceNotFound, StrataError
from registry.functions.names import LATEST, FunctionRef, function_arn
from registry.functions.service import FunctionService
from registry.invocations.invoke import Invoker
from registry.models import Function, ProvisionedConcurrency

log = logging.getLogger(__name__)

SYNC_SECONDS = 1.0


@dataclass(frozen=True)
class ProvisionedView:
    requested: int
    available: int
    status: str
    status_reason: str | None
    last_modified: datetime


class ProvisionedConcurrencyService:
    def __init__(
        self, db: Database, functions: FunctionService, invoker: Invoker, *, max_per_version: int
    ):
        self._db = db
        self._functions = functions
        self._invoker = invoker
        self._max = max_per_version
        self._applied: dict[int, tuple] = {}  # row id -> (requested, spec) this process has warmed
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def put(self, caller: Caller, ref: FunctionRef, count) -> ProvisionedView:
        qualifier = self._qualifier(ref)
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= self._max:
            raise InvalidParameterValue(
                f"ProvisionedConcurrentExecutions must be between 1 and {self._max} on this "
                f"server; got {count!r}."
            )
        view = self._functions.get(caller, ref)
        if view.version == LATEST:
            raise InvalidParameterValue(
                "Provisioned Concurrency Configs cannot be applied to unpublished function "
                "versions."
            )
        status, reason = "READY", None
        try:
            self._invoker.prewarm(view, count)
        except StrataError as error:
            status, reason = "FAILED", str(error)
        now = datetime.now(timezone.utc)
        with self._db.write() as session:
            row = session.scalar(
                select(ProvisionedConcurrency).where(
                    ProvisionedConcurrency.function_id == view.function_id,
                    ProvisionedConcurrency.qualifier == qualifier,
                )
            )
            if row is None:
                row = ProvisionedConcurrency(function_id=view.function_id, qualifier=qualifier)
                session.add(row)
            row.requested, row.status, row.status_reason, row.last_modified = (
                count,
                status,
                reason,
                now,
            )
            session.flush()
            if status == "READY":
                self._applied[row.id] = (count, self._invoker.spec(view))
        return self._view(row)

    def get(self, caller: Caller, ref: FunctionRef) -> ProvisionedView:
        qualifier = self._qualifier(ref)
        view = self._functions.get(caller, ref)
        with self._db.read() as session:
            return self._view(self._existing(session, view, qualifier))

    def delete(self, caller: Caller, ref: FunctionRef) -> None:
        qualifier = self._qualifier(ref)
        view = self._functions.get(caller, ref)
        with self._db.write() as session:
            row = self._existing(session, view, qualifier)
            session.delete(row)
        self._release(row.id)

    def _existing(self, session, view, qualifier: str) -> ProvisionedConcurrency:
        row = session.scalar(
            select(ProvisionedConcurrency).where(
                ProvisionedConcurrency.function_id == view.function_id,
                ProvisionedConcurrency.qualifier == qualifier,
            )
        )
        if row is None:
            raise ResourceNotFound(
                "No Provisioned Concurrency Config found for this function: "
                f"{function_arn(view.region, view.account_id, view.name, qualifier)}"
            )
        return row

    # -- keeping every process warm ----------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="strata-provisioned", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(SYNC_SECONDS):
            try:
                self.sync()
            except Exception:
                log.exception("provisioned concurrency sync failed")

    def sync(self) -> None:
        """Prewarm what the rows ask for and this process has not warmed; release the rest."""
        with self._db.read() as session:
            rows = session.execute(
                select(ProvisionedConcurrency, Function.account_id, Function.name)
                .join(Function, Function.id == ProvisionedConcurrency.function_id)
                .where(ProvisionedConcurrency.status == "READY")
            ).all()
        wanted = {}
        for row, account_id, name in rows:
            wanted[row.id] = row
            applied = self._applied.get(row.id)
            if applied is not None and applied[0] == row.requested:
                continue
            try:
                view = self._functions.get(
                    Caller(account_id), FunctionRef(name, None, row.qualifier)
                )
                self._invoker.prewarm(view, row.requested)
                self._applied[row.id] = (row.requested, self._invoker.spec(view))
            except StrataError as error:
                log.warning("cannot keep %s:%s warm: %s", name, row.qualifier, error)
        for row_id in set(self._applied) - set(wanted):
            self._release(row_id)

    def _release(self, row_id: int) -> None:
        applied = self._applied.pop(row_id, None)
        if applied is not None:
            # No longer provisioned: the environments now idle out like any others.
            self._invoker.pool.prewarm(applied[1], 0)

    def _qualifier(self, ref: FunctionRef) -> str:
        if not ref.qualifier:
            raise InvalidParameterValue(
                "Qualifier is required: name a published version or an alias."
            )
        return ref.qualifier

    def _view(self, row: ProvisionedConcurrency) -> ProvisionedView:
        allocated = row.requested if row.status == "READY" else 0
        return ProvisionedView(
            row.requested, allocated, row.status, row.status_reason, row.last_modified
        )
