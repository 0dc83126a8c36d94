"""Reserved concurrency (Put/Get/DeleteFunctionConcurrency) and the rules every concurrency setting
of an account keeps, as on Lambda:

- what the account's functions claim leaves at least MIN_UNRESERVED_CONCURRENCY of its limit to
  the functions that reserve nothing. A function claims its reservation when it has one, else the
  provisioned concurrency of its versions and aliases together;
- a function's provisioned concurrency, over all its versions and aliases, fits in its
  reservation.

A change that could break them (a reservation, provisioned concurrency, the account's limit) checks
them in the transaction that makes it, holding the account's row, so that two changes on different
nodes cannot both spend the same headroom. Enforcing them at Invoke is the invocation gate's work
(registry/invocations/concurrency.py), which reads the same columns.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select

from registry.accounts import Caller
from registry.errors import (
    InvalidParameterValue,
    ProvisionedOverReserved,
    ResourceNotFound,
    UnreservedConcurrencyBelowMinimum,
)
from registry.functions.names import FunctionRef
from registry.functions.rows import FunctionRows
from registry.limits import MIN_UNRESERVED_CONCURRENCY
from registry.models import Account, Function, ProvisionedConcurrency


@dataclass(frozen=True)
class Claims:
    """What an account's functions hold back from its functions without a reservation."""

    reserved: int  # every reservation
    provisioned: int  # provisioned concurrency of the functions without one

    @property
    def total(self) -> int:
        return self.reserved + self.provisioned


class FunctionConcurrency(FunctionRows):
    def put_concurrency(self, caller: Caller, ref: FunctionRef, reserved) -> int:
        """Reserves `reserved` executions for the function (0 throttles every invocation)."""
        self._require_own(caller, ref, "lambda:PutFunctionConcurrency")
        _require_unqualified(ref)
        if isinstance(reserved, bool) or not isinstance(reserved, int) or reserved < 0:
            raise InvalidParameterValue(
                f"ReservedConcurrentExecutions must be a whole number of at least 0; got "
                f"{reserved!r}."
            )
        with self._db.write() as session:
            limit = account_limit(session, caller.account_id, lock=True)
            row = self._function_row(session, caller.account_id, ref.name, lock=True)
            provisioned = provisioned_concurrency(session, row.id)
            if reserved < provisioned:
                raise ProvisionedOverReserved(
                    f"ReservedConcurrentExecutions {reserved} should not be lower than function's "
                    f"total provisioned concurrency [{provisioned}].",
                    provisioned=provisioned,
                    reserved=reserved,
                )
            unreserved = limit - claims(session, caller.account_id, excluding=row.id).total
            if unreserved - reserved < MIN_UNRESERVED_CONCURRENCY:
                raise UnreservedConcurrencyBelowMinimum(
                    "Specified ReservedConcurrentExecutions for function decreases account's "
                    "UnreservedConcurrentExecution below its minimum value of "
                    f"[{MIN_UNRESERVED_CONCURRENCY}].",
                    unreserved=unreserved - reserved,
                    minimum=MIN_UNRESERVED_CONCURRENCY,
                )
            row.reserved_concurrency = reserved
        return reserved

    def get_concurrency(self, caller: Caller, ref: FunctionRef) -> int | None:
        """The function's reservation; None when it shares the account's unreserved concurrency."""
        self._require_own(caller, ref, "lambda:GetFunctionConcurrency")
        _require_unqualified(ref)
        with self._db.read() as session:
            return self._function_row(session, caller.account_id, ref.name).reserved_concurrency

    def delete_concurrency(self, caller: Caller, ref: FunctionRef) -> None:
        """Idempotent. Needs no check: the function then claims its provisioned concurrency,
        which its reservation held already."""
        self._require_own(caller, ref, "lambda:DeleteFunctionConcurrency")
        _require_unqualified(ref)
        with self._db.write() as session:
            row = self._function_row(session, caller.account_id, ref.name, lock=True)
            row.reserved_concurrency = None


def check_provisioned(
    session, account_id: str, function_id: int, qualifier: str, count: int, *, lock: bool
) -> None:
    """Refuses `count` provisioned executions for the function's `qualifier` (in place of what it
    has now) where Lambda would; `lock` holds the account's row until the transaction ends."""
    limit = account_limit(session, account_id, lock=lock)
    reserved = session.scalar(
        select(Function.reserved_concurrency).where(Function.id == function_id)
    )
    total = provisioned_concurrency(session, function_id, excluding=qualifier) + count
    if reserved is not None:
        if total > reserved:
            raise ProvisionedOverReserved(
                "Requested Provisioned Concurrency should not be greater than the "
                "reservedConcurrentExecution for function",
                provisioned=total,
                reserved=reserved,
            )
        return
    unreserved = limit - claims(session, account_id, excluding=function_id).total - total
    if unreserved < MIN_UNRESERVED_CONCURRENCY:
        raise UnreservedConcurrencyBelowMinimum(
            "Specified ConcurrentExecutions for function decreases account's "
            f"UnreservedConcurrentExecution below its minimum value of "
            f"[{MIN_UNRESERVED_CONCURRENCY}].",
            unreserved=unreserved,
            minimum=MIN_UNRESERVED_CONCURRENCY,
        )


def account_limit(session, account_id: str, *, lock: bool) -> int:
    """The account's concurrency limit. With `lock`, its row stays locked until the transaction
    ends: the lock every concurrency change and every grant of the invocation gate takes."""
    query = select(Account.concurrency_limit).where(Account.id == account_id)
    limit = session.scalar(query.with_for_update() if lock else query)
    if limit is None:
        raise ResourceNotFound(f"Account {account_id} does not exist.")
    return limit


def claims(session, account_id: str, *, excluding: int | None = None) -> Claims:
    """The account's claims in one aggregate query, leaving out the function `excluding`."""
    provisioned = (
        select(
            ProvisionedConcurrency.function_id,
            func.sum(ProvisionedConcurrency.requested).label("total"),
        )
        .join(Function, Function.id == ProvisionedConcurrency.function_id)
        .where(Function.account_id == account_id)
        .group_by(ProvisionedConcurrency.function_id)
        .subquery()
    )
    query = (
        select(
            func.coalesce(func.sum(Function.reserved_concurrency), 0),
            func.coalesce(
                func.sum(
                    case((Function.reserved_concurrency.is_(None), provisioned.c.total), else_=0)
                ),
                0,
            ),
        )
        .select_from(Function)
        .outerjoin(provisioned, provisioned.c.function_id == Function.id)
        .where(Function.account_id == account_id)
    )
    if excluding is not None:
        query = query.where(Function.id != excluding)
    reserved, provisioned_total = session.execute(query).one()
    # PostgreSQL sums BIGINTs as NUMERIC, which arrives as a Decimal.
    return Claims(int(reserved), int(provisioned_total))


def provisioned_concurrency(session, function_id: int, *, excluding: str | None = None) -> int:
    """The function's provisioned concurrency over its versions and aliases, leaving out the
    qualifier `excluding`."""
    query = select(func.coalesce(func.sum(ProvisionedConcurrency.requested), 0)).where(
        ProvisionedConcurrency.function_id == function_id
    )
    if excluding is not None:
        query = query.where(ProvisionedConcurrency.qualifier != excluding)
    return int(session.scalar(query))


def _require_unqualified(ref: FunctionRef) -> None:
    if ref.qualifier is not None:
        raise InvalidParameterValue(
            "Concurrency is reserved for a function as a whole, all its versions and aliases "
            f"together: name the function without the qualifier {ref.qualifier}."
        )
