"""Log groups, streams and events in the metadata database.

Every read and change names the caller's account: one account's groups are invisible to every
other. Event reads walk an index in (timestamp, id) order and stop after a bounded number of
rows, so a page costs the same however many events a group holds.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import BigInteger, case, cast, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from registry.db import Database
from registry.logs import tokens
from registry.logs.errors import LogInvalidParameter, LogResourceAlreadyExists, LogResourceNotFound
from registry.logs.events import Event
from registry.logs.names import GROUP_NOT_FOUND, STREAM_NOT_FOUND
from registry.logs.patterns import FilterPattern
from registry.models import LogEvent, LogGroup, LogStream

GROUPS = LogGroup.__table__
STREAMS = LogStream.__table__
EVENTS = LogEvent.__table__

# CloudWatch's page limits: 10,000 events or 1 MB of messages, whichever comes first.
MAX_EVENTS_PER_PAGE = 10_000
MAX_PAGE_BYTES = 1024 * 1024
# FilterLogEvents' page when the request sets no limit: CloudWatch answers "up to" 10,000 and
# often fewer; 1,000 keeps the first page of `aws logs tail` (and the client's parsing of it) in
# tens of milliseconds, and a caller that wants more asks with `limit`.
FILTER_PAGE_EVENTS = 1_000
MAX_LISTING = 50
# Rows one FilterLogEvents call reads at most: a rare pattern answers a partial (even empty)
# page with a nextToken, as CloudWatch does, rather than scanning a whole group in one request.
FILTER_SCAN_ROWS = 20_000
RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip


def now_ms() -> int:
    return int(time.time() * 1000)


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


class StoredEvent(NamedTuple):
    """A tuple rather than a dataclass: a page holds up to 10,000 of them."""

    id: int
    stream: str
    timestamp_ms: int
    ingestion_ms: int
    message: str


@dataclass(frozen=True)
class EventPage:
    events: list[StoredEvent]
    next_token: str | None = None  # FilterLogEvents
    forward_token: str = ""  # GetLogEvents
    backward_token: str = ""


@dataclass(frozen=True)
class Batch:
    """Events of one stream to append (the writer's unit)."""

    account_id: str
    group: str
    stream: str
    events: list[Event]


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
            session.execute(
                insert(GROUPS).values(account_id=account_id, name=name, created_at_ms=now_ms())
            )

    def delete_group(self, account_id: str, name: str) -> None:
        with self.db.write() as session:
            group_id = self._group_id(session, account_id, name)
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
            group_id = self._group_id(session, account_id, name)
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
            select(_total(STREAMS.c.stored_bytes))
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
            query = query.where(GROUPS.c.name.contains(contains, autoescape=True))
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
            group_id = self._group_id(connection, account_id, group)
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
            group_id = self._group_id(session, account_id, group)
            stream_id = self._stream_id(session, group_id, stream)
            session.execute(delete(EVENTS).where(EVENTS.c.stream_id == stream_id))
            session.execute(delete(STREAMS).where(STREAMS.c.id == stream_id))

    # --- events -------------------------------------------------------------------------------

    def filter_events(
        self,
        account_id: str,
        group: str,
        *,
        pattern: FilterPattern,
        stream_names: list[str] | None = None,
        stream_prefix: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = MAX_EVENTS_PER_PAGE,
        token: str | None = None,
    ) -> EventPage:
        """Events of a group, interleaved across its streams in time order."""
        if stream_names and stream_prefix:
            raise LogInvalidParameter(
                "logStreamNames and logStreamNamePrefix are mutually exclusive"
            )
        after = tokens.read_position("e/", token) if token else None
        with self.db.connect() as connection:
            group_id = self._group_id(connection, account_id, group)
            names: dict[int, str] = {}
            stream_ids = None
            if stream_names or stream_prefix:
                names = self._stream_names(connection, group_id, stream_names, stream_prefix)
                if not names:
                    return EventPage([])
                stream_ids = list(names)
            where = [EVENTS.c.group_id == group_id]
            if stream_ids is not None:
                where.append(EVENTS.c.stream_id.in_(stream_ids))
            if start_ms is not None:
                where.append(EVENTS.c.timestamp_ms >= start_ms)
            if end_ms is not None:
                where.append(EVENTS.c.timestamp_ms <= end_ms)
            order = (EVENTS.c.timestamp_ms, EVENTS.c.id)
            # A pattern is matched by the database, within a window of the next
            # FILTER_SCAN_ROWS events: a rare term costs one bounded index range per page.
            window_end = None
            matching = _pattern_conditions(pattern, connection.dialect.name)
            if matching:
                window_end = connection.execute(
                    _after(select(*order).where(*where), after)
                    .order_by(*order)
                    .offset(FILTER_SCAN_ROWS - 1)
                    .limit(1)
                ).first()
            query = _after(
                select(
                    EVENTS.c.id,
                    EVENTS.c.stream_id,
                    EVENTS.c.timestamp_ms,
                    EVENTS.c.ingestion_ms,
                    EVENTS.c.message,
                ).where(*where, *matching),
                after,
            )
            if window_end is not None:
                query = _before(query, (window_end[0], window_end[1] + 1))
            rows = connection.execute(query.order_by(*order).limit(limit)).all()
            found = _within_page_bytes(rows)
            missing = {row.stream_id for row in found} - names.keys()
            if missing:
                names.update(self._stream_names_by_id(connection, missing))
        events = [
            StoredEvent(event_id, names[stream_id], stamp, ingestion, message)
            for event_id, stream_id, stamp, ingestion, message in found
        ]
        if len(rows) >= limit or len(found) < len(rows):  # a full page: there may be more
            last = found[-1] if found else rows[-1]
            next_token = tokens.position_token("e/", last.timestamp_ms, last.id)
        elif window_end is not None:  # the window ended before the page filled
            next_token = tokens.position_token("e/", *window_end)
        else:
            next_token = None
        return EventPage(events, next_token=next_token)

    def get_events(
        self,
        account_id: str,
        group: str,
        stream: str,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = MAX_EVENTS_PER_PAGE,
        token: str | None = None,
        from_head: bool = False,
    ) -> EventPage:
        """One stream's events: from its head (or `startTime`) forward, or by default the newest
        `limit` of them; the tokens step forward and backward from the page served."""
        forward = from_head
        position = None
        if token:
            kind = token[:2]
            if kind not in ("f/", "b/"):
                raise tokens.invalid_token()
            position = tokens.read_position(kind, token)
            forward = kind == "f/"
        with self.db.connect() as connection:
            group_id = self._group_id(connection, account_id, group)
            stream_id = self._stream_id(connection, group_id, stream)
            query = select(
                EVENTS.c.id, EVENTS.c.timestamp_ms, EVENTS.c.ingestion_ms, EVENTS.c.message
            ).where(EVENTS.c.stream_id == stream_id)
            if start_ms is not None:
                query = query.where(EVENTS.c.timestamp_ms >= start_ms)
            if end_ms is not None:
                query = query.where(EVENTS.c.timestamp_ms < end_ms)
            if forward:
                query = _after(query, position).order_by(EVENTS.c.timestamp_ms, EVENTS.c.id)
            else:
                query = _before(query, position).order_by(
                    EVENTS.c.timestamp_ms.desc(), EVENTS.c.id.desc()
                )
            rows = _within_page_bytes(connection.execute(query.limit(limit)).all())
        if not forward:
            rows.reverse()
        events = [
            StoredEvent(r.id, stream, r.timestamp_ms, r.ingestion_ms, r.message) for r in rows
        ]
        if events:
            first, last = events[0], events[-1]
            forward_token = tokens.position_token("f/", last.timestamp_ms, last.id)
            backward_token = tokens.position_token("b/", first.timestamp_ms, first.id)
        elif token:  # nothing further that way: the same token again, as CloudWatch answers
            forward_token = backward_token = token
            if token.startswith("f/"):
                backward_token = tokens.position_token("b/", *position)
            else:
                forward_token = tokens.position_token("f/", *position)
        else:
            edge = (start_ms - 1, 0) if start_ms is not None else (-1, 0)
            forward_token = tokens.position_token("f/", *edge)
            backward_token = tokens.position_token("b/", *edge)
        return EventPage(events, forward_token=forward_token, backward_token=backward_token)

    def append(self, batches: Iterable[Batch], cache: dict | None = None) -> dict[str, int]:
        """Stores the batches in one transaction, creating groups and streams on first use;
        the bytes added per account. `cache` maps (account, group, stream) to stream and group
        ids across calls (an entry whose stream has been deleted since is found again)."""
        cache = {} if cache is None else cache
        added: dict[str, int] = defaultdict(int)
        ingestion = now_ms()
        with self.db.write() as session:
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
                    ids = cache[key] = self._ensure_stream(session, *key)
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

    # --- quota and retention ------------------------------------------------------------------

    def account_bytes(self, account_id: str) -> int:
        with self.db.connect() as connection:
            return connection.execute(
                select(_total(STREAMS.c.stored_bytes))
                .select_from(STREAMS.join(GROUPS, STREAMS.c.group_id == GROUPS.c.id))
                .where(GROUPS.c.account_id == account_id)
            ).scalar_one()

    def evict_oldest(self, account_id: str, bytes_to_free: int, batch: int = 1_000) -> int:
        """Deletes the account's oldest events until `bytes_to_free` are freed; the bytes
        freed."""
        freed = 0
        while freed < bytes_to_free:
            with self.db.write() as session:
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

    def expire(self, default_days: int, *, now: int | None = None, batch: int = 5_000) -> int:
        """One retention pass: deletes events older than each group's retention (or the
        default), at most `batch` rows per statement; the events deleted."""
        now = now_ms() if now is None else now
        with self.db.connect() as connection:
            groups = connection.execute(select(GROUPS.c.id, GROUPS.c.retention_days)).all()
        deleted = 0
        for group_id, days in groups:
            cutoff = now - (days or default_days) * 86_400_000
            while True:
                with self.db.write() as session:
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

    # --- lookups ------------------------------------------------------------------------------

    @staticmethod
    def _group_id(connection, account_id: str, name: str) -> int:
        group_id = connection.execute(
            select(GROUPS.c.id).where(GROUPS.c.account_id == account_id, GROUPS.c.name == name)
        ).scalar()
        if group_id is None:
            raise LogResourceNotFound(GROUP_NOT_FOUND)
        return group_id

    @staticmethod
    def _stream_id(connection, group_id: int, name: str) -> int:
        stream_id = connection.execute(
            select(STREAMS.c.id).where(STREAMS.c.group_id == group_id, STREAMS.c.name == name)
        ).scalar()
        if stream_id is None:
            raise LogResourceNotFound(STREAM_NOT_FOUND)
        return stream_id

    @staticmethod
    def _stream_names(connection, group_id, names, prefix) -> dict[int, str]:
        query = select(STREAMS.c.id, STREAMS.c.name).where(STREAMS.c.group_id == group_id)
        if names:
            query = query.where(STREAMS.c.name.in_(names))
        else:
            query = query.where(STREAMS.c.name.startswith(prefix, autoescape=True))
        return dict(connection.execute(query).all())

    @staticmethod
    def _stream_names_by_id(connection, ids) -> dict[int, str]:
        return dict(
            connection.execute(
                select(STREAMS.c.id, STREAMS.c.name).where(STREAMS.c.id.in_(list(ids)))
            ).all()
        )

    def _ensure_stream(self, session, account_id: str, group: str, stream: str):
        insert_ = (
            postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        )
        created = now_ms()
        session.execute(
            insert_(GROUPS)
            .values(account_id=account_id, name=group, created_at_ms=created)
            .on_conflict_do_nothing()
        )
        group_id = self._group_id(session, account_id, group)
        session.execute(
            insert_(STREAMS)
            .values(group_id=group_id, name=stream, created_at_ms=created, stored_bytes=0)
            .on_conflict_do_nothing()
        )
        return self._stream_id(session, group_id, stream), group_id


def _pattern_conditions(pattern: FilterPattern, dialect: str) -> list:
    """The pattern as SQL: case-sensitive substring tests, as CloudWatch matches terms."""
    position = func.strpos if dialect == "postgresql" else func.instr

    def contains(term: str):
        return position(EVENTS.c.message, term) > 0

    conditions = [contains(term) for term in pattern.required]
    conditions += [position(EVENTS.c.message, term) == 0 for term in pattern.excluded]
    if pattern.optional:
        conditions.append(or_(*(contains(term) for term in pattern.optional)))
    return conditions


def _total(column):
    """SUM as an integer (PostgreSQL sums BIGINT into NUMERIC)."""
    return cast(func.coalesce(func.sum(column), 0), BigInteger)


def _after(query, position):
    if position is None:
        return query
    stamp, event_id = position
    return query.where(
        EVENTS.c.timestamp_ms >= stamp,
        or_(EVENTS.c.timestamp_ms > stamp, EVENTS.c.id > event_id),
    )


def _before(query, position):
    if position is None:
        return query
    stamp, event_id = position
    return query.where(
        EVENTS.c.timestamp_ms <= stamp,
        or_(EVENTS.c.timestamp_ms < stamp, EVENTS.c.id < event_id),
    )


def _within_page_bytes(rows) -> list:
    """The rows that fit a page's 1 MB (the message is each row's last column)."""
    size = 0
    for i, row in enumerate(rows):
        size += len(row[-1]) + 26
        if size > MAX_PAGE_BYTES:
            return list(rows[: max(i, 1)])
    return list(rows)


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
