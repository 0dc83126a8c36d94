"""The bytes an account stores, as storage is billed: each distinct blob once per account,
however many of its layer versions, functions and published versions hold the same bytes."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, literal, select, union

from registry.db import Database
from registry.models import Function, FunctionVersion, Layer, LayerVersion
from registry.usage.counters import raise_stored
from registry.usage.tally import utc_day


def stored_bytes(db: Database, account_id: str | None = None) -> dict[str, int]:
    """account id -> bytes, for one account or every account that stores anything."""
    layers = (
        select(Layer.account_id, LayerVersion.blob_digest.label("digest"), LayerVersion.code_size)
        .join(Layer)
        # A deleted version's blob is kept for the functions using it, whose own rows count it.
        .where(LayerVersion.deleted_at.is_(None))
    )
    latest = select(Function.account_id, Function.code_digest, Function.code_size)
    versions = select(
        Function.account_id, FunctionVersion.code_digest, FunctionVersion.code_size
    ).join(Function)
    # The code $LATEST still runs while a change to it is not applied.
    running = select(
        Function.account_id,
        Function.running["code_digest"].as_string(),
        Function.running["code_size"].as_integer(),
    ).where(Function.running.is_not(None))
    if account_id is not None:
        layers = layers.where(Layer.account_id == account_id)
        latest = latest.where(Function.account_id == account_id)
        versions = versions.where(Function.account_id == account_id)
        running = running.where(Function.account_id == account_id)
    # UNION (not UNION ALL) keeps one row per account, digest and size: the same bytes once.
    blobs = union(layers, latest, versions, running).subquery()
    query = select(blobs.c.account_id, func.coalesce(func.sum(blobs.c.code_size), literal(0)))
    query = query.group_by(blobs.c.account_id)
    with db.read() as session:
        return {account: int(size) for account, size in session.execute(query).all()}


def sample(db: Database, now: float, account_ids: Iterable[str] | None = None) -> None:
    """Records what the accounts (every account, by default) store now as their figure of the
    day, if it is the day's largest so far."""
    if account_ids is None:
        figures = stored_bytes(db)
    else:
        figures = {}
        for account_id in account_ids:
            figures |= stored_bytes(db, account_id)
    with db.write() as session:
        raise_stored(session, utc_day(now), figures)
