"""The log tables and what every query of them shares: lookups by name within an account,
and positions in the (timestamp, id) order events are read in."""

from __future__ import annotations

import time

from sqlalchemy import BigInteger, bindparam, cast, func, or_, select

from registry.logs.errors import LogResourceNotFound
from registry.logs.names import GROUP_NOT_FOUND, STREAM_NOT_FOUND
from registry.models import LogEvent, LogGroup, LogStream

GROUPS = LogGroup.__table__
STREAMS = LogStream.__table__
EVENTS = LogEvent.__table__


def now_ms() -> int:
    return int(time.time() * 1000)


# Built once: every log write and read looks names up, and building a statement costs more
# than running it.
_GROUP_ID = select(GROUPS.c.id).where(
    GROUPS.c.account_id == bindparam("account_id"), GROUPS.c.name == bindparam("name")
)
_STREAM_ID = select(STREAMS.c.id).where(
    STREAMS.c.group_id == bindparam("group_id"), STREAMS.c.name == bindparam("name")
)


def group_id_of(connection, account_id: str, name: str) -> int:
    """The id of the account's group `name`; another account's group of that name is none."""
    group_id = connection.execute(_GROUP_ID, {"account_id": account_id, "name": name}).scalar()
    if group_id is None:
        raise LogResourceNotFound(GROUP_NOT_FOUND)
    return group_id


def stream_id_of(connection, group_id: int, name: str) -> int:
    stream_id = connection.execute(_STREAM_ID, {"group_id": group_id, "name": name}).scalar()
    if stream_id is None:
        raise LogResourceNotFound(STREAM_NOT_FOUND)
    return stream_id


def total(column):
    """SUM as an integer (PostgreSQL sums BIGINT into NUMERIC)."""
    return cast(func.coalesce(func.sum(column), 0), BigInteger)


def after(query, position):
    if position is None:
        return query
    stamp, event_id = position
    return query.where(
        EVENTS.c.timestamp_ms >= stamp,
        or_(EVENTS.c.timestamp_ms > stamp, EVENTS.c.id > event_id),
    )


def before(query, position):
    if position is None:
        return query
    stamp, event_id = position
    return query.where(
        EVENTS.c.timestamp_ms <= stamp,
        or_(EVENTS.c.timestamp_ms < stamp, EVENTS.c.id < event_id),
    )
