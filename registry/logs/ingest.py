"""Appending events: a writer's batches in one transaction, each stream's figures (bytes, first
and last event) kept with its events, groups and streams made on first use."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import case, func, insert, or_, update
from sqlalchemy.dialects import postgresql, sqlite

from registry.db import Database
from registry.logs.events import Event
from registry.logs.tables import EVENTS, GROUPS, STREAMS, group_id_of, now_ms, stream_id_of


@dataclass(frozen=True)
class Batch:
    """Events of one stream to append (the writer's unit)."""

    account_id: str
    group: str
    stream: str
    events: list[Event]


def append(db: Database, batches: Iterable[Batch], cache: dict | None = None) -> dict[str, int]:
    """Stores the batches in one transaction, creating groups and streams on first use;
    the bytes added per account. `cache` maps (account, group, stream) to stream and group
    ids across calls (an entry whose stream has been deleted since is found again)."""
    cache = {} if cache is None else cache
    added: dict[str, int] = defaultdict(int)
    ingestion = now_ms()
    with db.write() as session:
        rows = []
        for batch in batches:
            if not batch.events:
                continue
            key = (batch.account_id, batch.group, batch.stream)
            size = sum(event.size for event in batch.events)
            first = batch.events[0].timestamp_ms
            last = max(event.timestamp_ms for event in batch.events)
            ids = cache.get(key)
            if ids is None or not _count_stream(session, ids[0], size, first, last, ingestion):
                ids = cache[key] = _ensure_stream(session, *key)
                _count_stream(session, ids[0], size, first, last, ingestion)
            stream_id, group_id = ids
            added[batch.account_id] += size
            rows.extend(
                {
                    "group_id": group_id,
                    "stream_id": stream_id,
                    "timestamp_ms": event.timestamp_ms,
                    "ingestion_ms": ingestion,
                    "size": event.size,
                    "message": event.message,
                }
                for event in batch.events
            )
        if rows:
            session.execute(insert(EVENTS), rows)
    return dict(added)


def _ensure_stream(session, account_id: str, group: str, stream: str):
    insert_ = (
        postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    )
    created = now_ms()
    session.execute(
        insert_(GROUPS)
        .values(account_id=account_id, name=group, created_at_ms=created)
        .on_conflict_do_nothing()
    )
    group_id = group_id_of(session, account_id, group)
    session.execute(
        insert_(STREAMS)
        .values(group_id=group_id, name=stream, created_at_ms=created, stored_bytes=0)
        .on_conflict_do_nothing()
    )
    return stream_id_of(session, group_id, stream), group_id


def _count_stream(session, stream_id, size, first, last, ingestion) -> bool:
    """Adds an appended batch to its stream's figures; False when the stream is gone."""
    result = session.execute(
        update(STREAMS)
        .where(STREAMS.c.id == stream_id)
        .values(
            stored_bytes=STREAMS.c.stored_bytes + size,
            first_event_ms=func.coalesce(STREAMS.c.first_event_ms, first),
            last_event_ms=case(
                (
                    or_(STREAMS.c.last_event_ms.is_(None), STREAMS.c.last_event_ms < last),
                    last,
                ),
                else_=STREAMS.c.last_event_ms,
            ),
            last_ingestion_ms=ingestion,
        )
    )
    return result.rowcount == 1
