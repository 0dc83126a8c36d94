"""An account's limits and what it uses of them (Lambda's GetAccountSettings), and the
concurrency limit an operator sets per account."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, literal, select, update

from registry.db import Database
from registry.errors import InvalidParameterValue, ResourceNotFound
from registry.models import Account, Function, FunctionVersion, Layer, LayerVersion

# Lambda keeps this much of an account's concurrency unreserved, so a limit below it is refused.
MIN_UNRESERVED_CONCURRENCY = 100
_MAX_CONCURRENCY_LIMIT = 2**31 - 1  # the column is a 32-bit integer
# No function can reserve concurrency (PutFunctionConcurrency is not offered), so all of the limit
# is unreserved; a reservation column would be summed over the account's functions here.
_RESERVED_CONCURRENCY = literal(0)


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
                _RESERVED_CONCURRENCY.label("reserved"),
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
        unreserved_concurrency=row.concurrency_limit - row.reserved,
        # PostgreSQL sums BIGINTs as NUMERIC, which arrives as a Decimal.
        code_size_used=int(row.layers + row.functions + row.versions),
        function_count=row.function_count,
    )


def set_concurrency_limit(db: Database, account_id: str, limit: int) -> None:
    if not MIN_UNRESERVED_CONCURRENCY <= limit <= _MAX_CONCURRENCY_LIMIT:
        raise InvalidParameterValue(
            f"The concurrency limit must be at least {MIN_UNRESERVED_CONCURRENCY} (the "
            f"concurrency Lambda keeps unreserved) and at most {_MAX_CONCURRENCY_LIMIT}; "
            f"{limit} is not."
        )
    with db.write() as session:
        changed = session.execute(
            update(Account).where(Account.id == account_id).values(concurrency_limit=limit)
        ).rowcount
        if not changed:
            raise ResourceNotFound(f"Account {account_id} does not exist.")


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
