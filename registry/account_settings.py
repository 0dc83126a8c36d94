"""An account's limits and what it uses of them (Lambda's GetAccountSettings), and the
concurrency limit an operator sets per account."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update

from registry.db import Database
from registry.errors import (
    InvalidParameterValue,
    ResourceNotFound,
    UnreservedConcurrencyBelowMinimum,
)
from registry.functions.concurrency import account_limit, claims
from registry.limits import MIN_UNRESERVED_CONCURRENCY
from registry.models import Account, Function, FunctionVersion, Layer, LayerVersion

_MAX_CONCURRENCY_LIMIT = 2**31 - 1  # the column is a 32-bit integer


@dataclass(frozen=True)
class AccountSettings:
    concurrency_limit: int
    unreserved_concurrency: int
    code_size_used: int
    function_count: int


def account_settings(db: Database, account_id: str) -> AccountSettings:
    """Every figure from one aggregate query over the account's indexed rows."""
    with db.read() as session:
        row = session.execute(
            select(
                Account.concurrency_limit,
                _reserved_concurrency(account_id).label("reserved"),
                _layer_code_size(account_id).label("layers"),
                _function_code_size(account_id).label("functions"),
                _function_version_code_size(account_id).label("versions"),
                _function_count(account_id).label("function_count"),
            ).where(Account.id == account_id)
        ).first()
    if row is None:
        raise ResourceNotFound(f"Account {account_id} does not exist.")
    return AccountSettings(
        concurrency_limit=row.concurrency_limit,
        # As on Lambda, provisioned concurrency of functions without a reservation is not taken off.
        unreserved_concurrency=row.concurrency_limit - int(row.reserved),
        # PostgreSQL sums BIGINTs as NUMERIC, which arrives as a Decimal.
        code_size_used=int(row.layers + row.functions + row.versions),
        function_count=row.function_count,
    )


def set_concurrency_limit(db: Database, account_id: str, limit: int) -> None:
    """Refuses a limit that would leave the account's functions without a reservation fewer than
    MIN_UNRESERVED_CONCURRENCY executions, given what the others reserve and provision."""
    if not MIN_UNRESERVED_CONCURRENCY <= limit <= _MAX_CONCURRENCY_LIMIT:
        raise InvalidParameterValue(
            f"The concurrency limit must be at least {MIN_UNRESERVED_CONCURRENCY} (the "
            f"concurrency Lambda keeps unreserved) and at most {_MAX_CONCURRENCY_LIMIT}; "
            f"{limit} is not."
        )
    with db.write() as session:
        account_limit(session, account_id, lock=True)
        claimed = claims(session, account_id)
        if limit - claimed.total < MIN_UNRESERVED_CONCURRENCY:
            provisioned = (
                f" and provision {claimed.provisioned} more without a reservation"
                if claimed.provisioned
                else ""
            )
            raise UnreservedConcurrencyBelowMinimum(
                f"A concurrency limit of {limit} would leave {limit - claimed.total} executions "
                f"unreserved, and at least {MIN_UNRESERVED_CONCURRENCY} must be: the account's "
                f"functions reserve {claimed.reserved}{provisioned}. Set at least "
                f"{claimed.total + MIN_UNRESERVED_CONCURRENCY}, or lower those first "
                "(DeleteFunctionConcurrency, DeleteProvisionedConcurrencyConfig).",
                unreserved=limit - claimed.total,
                minimum=MIN_UNRESERVED_CONCURRENCY,
            )
        session.execute(
            update(Account).where(Account.id == account_id).values(concurrency_limit=limit)
        )


def _reserved_concurrency(account_id: str):
    return (
        select(func.coalesce(func.sum(Function.reserved_concurrency), 0))
        .where(Function.account_id == account_id)
        .scalar_subquery()
    )


def _layer_code_size(account_id: str):
    # A deleted layer version keeps its row for the functions using it, but no longer counts.
    return (
        select(func.coalesce(func.sum(LayerVersion.code_size), 0))
        .join(Layer)
        .where(Layer.account_id == account_id, LayerVersion.deleted_at.is_(None))
        .scalar_subquery()
    )


def _function_code_size(account_id: str):
    """Every function's $LATEST counts, as on Lambda."""
    return (
        select(func.coalesce(func.sum(Function.code_size), 0))
        .where(Function.account_id == account_id)
        .scalar_subquery()
    )


def _function_version_code_size(account_id: str):
    """Every published version counts on its own, even when its code is the same as $LATEST's."""
    return (
        select(func.coalesce(func.sum(FunctionVersion.code_size), 0))
        .join(Function)
        .where(Function.account_id == account_id)
        .scalar_subquery()
    )


def _function_count(account_id: str):
    return (
        select(func.count())
        .select_from(Function)
        .where(Function.account_id == account_id)
        .scalar_subquery()
    )
