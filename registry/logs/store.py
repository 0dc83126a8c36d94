"""Log groups, streams and events in the metadata database: the one face the API and the writer
use. Groups and streams are here; reading, appending and expiring events have modules of their
own (reads, ingest, expiry).

Every read and change names the caller's account: one account's groups are invisible to every
other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select, update

from registry.db import Database
from registry.logs import expiry, ingest, reads, tokens
from registry.logs.errors import (
    LogInvalidParameter,
    LogLimitExceeded,
    LogResourceAlreadyExists,
)
from registry.logs.ingest import Batch
from registry.logs.reads import EventPage
from registry.logs.tables import (
    EVENTS,
    GROUPS,
    STREAMS,
    group_id_of,
    now_ms,
    stream_id_of,
    total,
)

MAX_LISTING = 50
# Groups one account may make with CreateLogGroup (a function's own group is made regardless);
# each costs a row, so the bound keeps one account from filling the database with empty ones.
MAX_GROUPS_PER_ACCOUNT = 10_000
RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip


@dataclass(frozen=True)
class GroupView:
    name: str
    created_at_ms: int
    retention_days: int | None
    stored_bytes: int


@dataclass(frozen=True)
class StreamView:
    name: str
    created_at_ms: int
    first_event_ms: int | None
    last_event_ms: int | None
    last_ingestion_ms: int | None
    stored_bytes: int


class LogStore:
    def __init__(self, db: Database):
        self.db = db

    # --- groups -------------------------------------------------------------------------------

    def create_group(self, account_id: str, name: str) -> None:
        with self.db.write() as session:
            exists = session.execute(
                select(GROUPS.c.id).where(GROUPS.c.account_id == account_id, GROUPS.c.name == name)
            ).first()
            if exists:
                raise LogResourceAlreadyExists("The specified log group already exists")
            count = session.execute(
                select(func.count()).where(GROUPS.c.account_id == account_id)
            ).scalar_one()
            if count >= MAX_GROUPS_PER_ACCOUNT:
                raise LogLimitExceeded(
                    f"Resource limit exceeded: an account may have {MAX_GROUPS_PER_ACCOUNT} "
                    "log groups."
                )
            session.execute(
                insert(GROUPS).values(account_id=account_id, name=name, created_at_ms=now_ms())
            )

    def delete_group(self, account_id: str, name: str) -> None:
        with self.db.write() as session:
            group_id = group_id_of(session, account_id, name)
            session.execute(delete(EVENTS).where(EVENTS.c.group_id == group_id))
            session.execute(delete(STREAMS).where(STREAMS.c.group_id == group_id))
            session.execute(delete(GROUPS).where(GROUPS.c.id == group_id))

    def set_retention(self, account_id: str, name: str, days: int | None) -> None:
        if days is not None and days not in RETENTION_DAYS:
            raise LogInvalidParameter(
                f"1 validation error detected: Value '{days}' at 'retentionInDays' failed to "
                "satisfy constraint: Member must satisfy enum value set: "
                f"[{', '.join(map(str, RETENTION_DAYS))}]"
            )
        with self.db.write() as session:
            group_id = group_id_of(session, account_id, name)
            session.execute(
                update(GROUPS).where(GROUPS.c.id == group_id).values(retention_days=days)
            )

    def groups(
        self,
        account_id: str,
        *,
        prefix: str | None = None,
        contains: str | None = None,
        limit: int = MAX_LISTING,
        token: str | None = None,
    ) -> tuple[list[GroupView], str | None]:
        stored = (
            select(total(STREAMS.c.stored_bytes))
            .where(STREAMS.c.group_id == GROUPS.c.id)
            .scalar_subquery()
        )
        query = (
            select(GROUPS.c.name, GROUPS.c.created_at_ms, GROUPS.c.retention_days, stored)
            .where(GROUPS.c.account_id == account_id)
            .order_by(GROUPS.c.name)
            .limit(limit + 1)
        )
        if prefix:
            query = query.where(GROUPS.c.name.startswith(prefix, autoescape=True))
        if contains:
            # CloudWatch matches logGroupNamePattern case-insensitively.
            query = query.where(
                func.lower(GROUPS.c.name).contains(contains.lower(), autoescape=True)
            )
        if token:
            query = query.where(GROUPS.c.name > tokens.read_name(token))
        with self.db.connect() as connection:
            rows = connection.execute(query).all()
        views = [GroupView(*row) for row in rows[:limit]]
        more = len(rows) > limit
        return views, tokens.name_token(views[-1].name) if more else None

    # --- streams ------------------------------------------------------------------------------

    def streams(
        self,
        account_id: str,
        group: str,
        *,
        prefix: str | None = None,
        by_last_event: bool = False,
        descending: bool = False,
        limit: int = MAX_LISTING,
        token: str | None = None,
    ) -> tuple[list[StreamView], str | None]:
        if by_last_event and prefix:
            raise LogInvalidParameter("Cannot order by LastEventTime with a logStreamNamePrefix.")
        columns = (
            STREAMS.c.name,
            STREAMS.c.created_at_ms,
            STREAMS.c.first_event_ms,
            STREAMS.c.last_event_ms,
            STREAMS.c.last_ingestion_ms,
            STREAMS.c.stored_bytes,
        )
        with self.db.connect() as connection:
            group_id = group_id_of(connection, account_id, group)
            query = select(*columns).where(STREAMS.c.group_id == group_id)
            if prefix:
                query = query.where(STREAMS.c.name.startswith(prefix, autoescape=True))
            if by_last_event:
                # Few streams per group: a page is an offset into the ordering.
                key = func.coalesce(STREAMS.c.last_event_ms, 0)
                order = (key.desc(), STREAMS.c.name.desc()) if descending else (key, STREAMS.c.name)
                offset = tokens.read_position("o/", token)[1] if token else 0
                rows = connection.execute(
                    query.order_by(*order).offset(offset).limit(limit + 1)
                ).all()
                next_token = (
                    tokens.position_token("o/", 0, offset + limit) if len(rows) > limit else None
                )
                return [StreamView(*row) for row in rows[:limit]], next_token
            if token:
                after = tokens.read_name(token)
                query = query.where(
                    STREAMS.c.name < after if descending else STREAMS.c.name > after
                )
            order = STREAMS.c.name.desc() if descending else STREAMS.c.name
            rows = connection.execute(query.order_by(order).limit(limit + 1)).all()
        views = [StreamView(*row) for row in rows[:limit]]
        more = len(rows) > limit
        return views, tokens.name_token(views[-1].name) if more else None

    def delete_stream(self, account_id: str, group: str, stream: str) -> None:
        with self.db.write() as session:
            group_id = group_id_of(session, account_id, group)
            stream_id = stream_id_of(session, group_id, stream)
            session.execute(delete(EVENTS).where(EVENTS.c.stream_id == stream_id))
            session.execute(delete(STREAMS).where(STREAMS.c.id == stream_id))

    # --- events -------------------------------------------------------------------------------

    def filter_events(self, account_id: str, group: str, **options) -> EventPage:
        """Events of a group across its streams in time order (reads.filter_events' options)."""
        return reads.filter_events(self.db, account_id, group, **options)

    def get_events(self, account_id: str, group: str, stream: str, **options) -> EventPage:
        return reads.get_events(self.db, account_id, group, stream, **options)

    def append(self, batches: Iterable[Batch], cache: dict | None = None) -> dict[str, int]:
        return ingest.append(self.db, batches, cache)

    # --- quota and retention ------------------------------------------------------------------

    def account_bytes(self, account_id: str) -> int:
        return expiry.account_bytes(self.db, account_id)

    def evict_oldest(self, account_id: str, bytes_to_free: int, batch: int = 1_000) -> int:
        return expiry.evict_oldest(self.db, account_id, bytes_to_free, batch)

    def expire(self, default_days: int, *, now: int | None = None, batch: int = 5_000) -> int:
        return expiry.expire(self.db, default_days, now=now, batch=batch)
