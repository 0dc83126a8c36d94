"""Appending events: a writer's batches in one transaction, each stream's figures (bytes, first
and last event) kept with its events, groups and streams made on first use."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import bindparam, case, func, insert, or_, update
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
    per_stream: dict[tuple[str, str, str], list[Event]] = defaultdict(list)
    for batch in batches:
        per_stream[(batch.account_id, batch.group, batch.stream)].extend(batch.events)
    added: dict[str, int] = defaultdict(int)
    ingestion = now_ms()
    with db.write() as session:
        rows = []
        # One statement per stream however many invocations it logged since the last flush.
        for key, events in per_stream.items():
            if not events:
                continue
            figures = {
                "size": sum(event.size for event in events),
                "first": events[0].timestamp_ms,
                "last": max(event.timestamp_ms for event in events),
                "ingestion": ingestion,
            }
            ids = cache.get(key)
            if ids is None or not _count_stream(session, ids[0], figures):
                ids = cache[key] = _ensure_stream(session, *key)
                _count_stream(session, ids[0], figures)
            stream_id, group_id = ids
            added[key[0]] += figures["size"]
            rows.extend(
                {
                    "group_id": group_id,
                    "stream_id": stream_id,
                    "timestamp_ms": event.timestamp_ms,
                    "ingestion_ms": ingestion,
                    "size": event.size,
                    "message": event.message,
                }
                for event in events
            )
        if rows:
            session.execute(_INSERT, rows)
    return dict(added)


def _ensure_stream(session, account_id: str, group: str, stream: str):
    create_group, create_stream = _CREATE[session.get_bind().dialect.name]
    created = now_ms()
    session.execute(create_group, {"account_id": account_id, "name": group, "created": created})
    group_id = group_id_of(session, account_id, group)
    session.execute(create_stream, {"group_id": group_id, "name": stream, "created": created})
    return stream_id_of(session, group_id, stream), group_id


# Built once: a flush runs them many times, and building a statement costs more than running it.
_CREATE = {
    name: (
        dialect.insert(GROUPS)
        .values(
            account_id=bindparam("account_id"),
            name=bindparam("name"),
            created_at_ms=bindparam("created"),
        )
        .on_conflict_do_nothing(),
        dialect.insert(STREAMS)
        .values(
            group_id=bindparam("group_id"),
            name=bindparam("name"),
            created_at_ms=bindparam("created"),
            stored_bytes=0,
        )
        .on_conflict_do_nothing(),
    )
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}
_INSERT = insert(EVENTS)
_COUNT = (
    update(STREAMS)
    .where(STREAMS.c.id == bindparam("stream_id"))
    .values(
        stored_bytes=STREAMS.c.stored_bytes + bindparam("size"),
        first_event_ms=func.coalesce(STREAMS.c.first_event_ms, bindparam("first")),
        last_event_ms=case(
            (
                or_(STREAMS.c.last_event_ms.is_(None), STREAMS.c.last_event_ms < bindparam("last")),
                bindparam("last"),
            ),
            else_=STREAMS.c.last_event_ms,
        ),
        last_ingestion_ms=bindparam("ingestion"),
    )
)


def _count_stream(session, stream_id: int, figures: dict) -> bool:
    """Adds appended events to their stream's figures; False when the stream is gone."""
    return session.execute(_COUNT, {"stream_id": stream_id, **figures}).rowcount == 1
