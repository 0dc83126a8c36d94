"""Deleting events: past their group's retention (the sweep), and an account's oldest past its
quota. Each statement deletes a bounded batch and takes exactly the bytes it deleted off the
streams' figures."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import delete, func, select, update

from registry.db import Database
from registry.logs.tables import EVENTS, GROUPS, STREAMS, now_ms, total

DAY_MS = 86_400_000


def account_bytes(db: Database, account_id: str) -> int:
    with db.connect() as connection:
        return connection.execute(
            select(total(STREAMS.c.stored_bytes))
            .select_from(STREAMS.join(GROUPS, STREAMS.c.group_id == GROUPS.c.id))
            .where(GROUPS.c.account_id == account_id)
        ).scalar_one()


def evict_oldest(db: Database, account_id: str, bytes_to_free: int, batch: int = 1_000) -> int:
    """Deletes the account's oldest events until `bytes_to_free` are freed; the bytes
    freed."""
    freed = 0
    while freed < bytes_to_free:
        with db.write() as session:
            group_ids = select(GROUPS.c.id).where(GROUPS.c.account_id == account_id)
            oldest = (
                select(EVENTS.c.id)
                .where(EVENTS.c.group_id.in_(group_ids))
                .order_by(EVENTS.c.timestamp_ms, EVENTS.c.id)
                .limit(batch)
            )
            gone = _delete_events(session, EVENTS.c.id.in_(oldest))
        if not gone:
            break
        freed += gone
    return freed


def expire(db: Database, default_days: int, *, now: int | None = None, batch: int = 5_000) -> int:
    """One retention pass: deletes events older than each group's retention (or the
    default), at most `batch` rows per statement; the events deleted."""
    now = now_ms() if now is None else now
    with db.connect() as connection:
        groups = connection.execute(select(GROUPS.c.id, GROUPS.c.retention_days)).all()
    deleted = 0
    for group_id, days in groups:
        cutoff = now - (days or default_days) * DAY_MS
        while True:
            with db.write() as session:
                old = (
                    select(EVENTS.c.id)
                    .where(EVENTS.c.group_id == group_id, EVENTS.c.timestamp_ms < cutoff)
                    .order_by(EVENTS.c.timestamp_ms, EVENTS.c.id)
                    .limit(batch)
                )
                rows = session.execute(
                    delete(EVENTS)
                    .where(EVENTS.c.id.in_(old))
                    .returning(EVENTS.c.stream_id, EVENTS.c.size)
                ).all()
                _uncount(session, rows)
                if len(rows) < batch:
                    # Streams nothing has written to within the retention go with their
                    # last events.
                    session.execute(
                        delete(STREAMS).where(
                            STREAMS.c.group_id == group_id,
                            STREAMS.c.stored_bytes <= 0,
                            func.coalesce(STREAMS.c.last_event_ms, 0) < cutoff,
                        )
                    )
            deleted += len(rows)
            if len(rows) < batch:
                break
    return deleted


def _delete_events(session, condition) -> int:
    rows = session.execute(
        delete(EVENTS).where(condition).returning(EVENTS.c.stream_id, EVENTS.c.size)
    ).all()
    _uncount(session, rows)
    return sum(size for _, size in rows)


def _uncount(session, rows) -> None:
    """Takes deleted events' bytes off their streams (only rows this statement deleted, so two
    processes sweeping at once never take the same bytes off twice)."""
    per_stream: dict[int, int] = defaultdict(int)
    for stream_id, size in rows:
        per_stream[stream_id] += size
    for stream_id, size in per_stream.items():
        session.execute(
            update(STREAMS)
            .where(STREAMS.c.id == stream_id)
            .values(stored_bytes=STREAMS.c.stored_bytes - size)
        )
