"""Reading events: a group's, interleaved across its streams (FilterLogEvents, what `aws logs
tail` reads), and one stream's, forward or backward (GetLogEvents). Each page is one index range
of (timestamp, id), bounded in rows and bytes, whatever the group holds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import func, or_, select

from registry.db import Database
from registry.logs import tokens
from registry.logs.errors import LogInvalidParameter
from registry.logs.patterns import FilterPattern
from registry.logs.tables import (
    EVENTS,
    STREAMS,
    after,
    before,
    group_id_of,
    stream_id_of,
)

# CloudWatch's page limits: 10,000 events or 1 MB of messages, whichever comes first.
MAX_EVENTS_PER_PAGE = 10_000
MAX_PAGE_BYTES = 1024 * 1024
# FilterLogEvents' page when the request sets no limit: CloudWatch answers "up to" 10,000 and
# often fewer; 1,000 keeps the first page of `aws logs tail` (and the client's parsing of it) in
# tens of milliseconds, and a caller that wants more asks with `limit`.
FILTER_PAGE_EVENTS = 1_000
# Rows one FilterLogEvents call reads at most: a rare pattern answers a partial (even empty)
# page with a nextToken, as CloudWatch does, rather than scanning a whole group in one request.
FILTER_SCAN_ROWS = 10_000


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


def filter_events(
    db: Database,
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
        raise LogInvalidParameter("logStreamNames and logStreamNamePrefix are mutually exclusive")
    start = tokens.read_position("e/", token) if token else None
    with db.connect() as connection:
        group_id = group_id_of(connection, account_id, group)
        names: dict[int, str] = {}
        stream_ids = None
        if stream_names or stream_prefix:
            names = _stream_names(connection, group_id, stream_names, stream_prefix)
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
                after(select(*order).where(*where), start)
                .order_by(*order)
                .offset(FILTER_SCAN_ROWS - 1)
                .limit(1)
            ).first()
        query = after(
            select(
                EVENTS.c.id,
                EVENTS.c.stream_id,
                EVENTS.c.timestamp_ms,
                EVENTS.c.ingestion_ms,
                EVENTS.c.message,
            ).where(*where, *matching),
            start,
        )
        if window_end is not None:
            query = before(query, (window_end[0], window_end[1] + 1))
        rows = connection.execute(query.order_by(*order).limit(limit)).all()
        found = _within_page_bytes(rows)
        missing = {row.stream_id for row in found} - names.keys()
        if missing:
            names.update(_stream_names_by_id(connection, missing))
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
    db: Database,
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
    with db.connect() as connection:
        group_id = group_id_of(connection, account_id, group)
        stream_id = stream_id_of(connection, group_id, stream)
        query = select(
            EVENTS.c.id, EVENTS.c.timestamp_ms, EVENTS.c.ingestion_ms, EVENTS.c.message
        ).where(EVENTS.c.stream_id == stream_id)
        if start_ms is not None:
            query = query.where(EVENTS.c.timestamp_ms >= start_ms)
        if end_ms is not None:
            query = query.where(EVENTS.c.timestamp_ms < end_ms)
        if forward:
            query = after(query, position).order_by(EVENTS.c.timestamp_ms, EVENTS.c.id)
        else:
            query = before(query, position).order_by(
                EVENTS.c.timestamp_ms.desc(), EVENTS.c.id.desc()
            )
        rows = _within_page_bytes(connection.execute(query.limit(limit)).all())
    if not forward:
        rows.reverse()
    events = [StoredEvent(r.id, stream, r.timestamp_ms, r.ingestion_ms, r.message) for r in rows]
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


def _within_page_bytes(rows) -> list:
    """The rows that fit a page's 1 MB (the message is each row's last column)."""
    size = 0
    for i, row in enumerate(rows):
        size += len(row[-1]) + 26
        if size > MAX_PAGE_BYTES:
            return list(rows[: max(i, 1)])
    return list(rows)


def _stream_names(connection, group_id, names, prefix) -> dict[int, str]:
    query = select(STREAMS.c.id, STREAMS.c.name).where(STREAMS.c.group_id == group_id)
    if names:
        query = query.where(STREAMS.c.name.in_(names))
    else:
        query = query.where(STREAMS.c.name.startswith(prefix, autoescape=True))
    return dict(connection.execute(query).all())


def _stream_names_by_id(connection, ids) -> dict[int, str]:
    return dict(
        connection.execute(
            select(STREAMS.c.id, STREAMS.c.name).where(STREAMS.c.id.in_(list(ids)))
        ).all()
    )
