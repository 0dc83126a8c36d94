"""A function's recent invocations, read back from its log group: each REPORT line closes one
invocation, and the lines of its stream since the previous REPORT are that invocation's.

No table records an invocation's outcome, so it is read from the lines Lambda (and Strata's
runtimes) write when one fails:

- "timeout": a "Task timed out after" line;
- "out of memory": a "Runtime.OutOfMemory" line (the runtime was killed past its memory);
- "error": the Python runtime's "[ERROR] Type: message" line for an unhandled exception, the
  Node.js runtime's "ERROR<TAB>Invoke Error" line, or "Runtime exited with error";
- "success" otherwise. A handler that prints such a line itself is counted as failed, and an
  init failure that logged nothing reads as a success.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, or_, select

from registry.db import Database
from registry.logs.errors import LogResourceNotFound
from registry.logs.names import function_group
from registry.logs.tables import EVENTS, group_id_of

# An invocation's START precedes its REPORT by its duration and init duration, and by the
# platform's own time around them: lines this much earlier still count as the invocation's.
_START_MARGIN_MS = 10_000
# Marker lines read at most, however busy the function was in that span.
SCAN_EVENTS = 20_000

_START = "START RequestId: "
_REPORT = "REPORT RequestId: "
_TIMEOUT = "Task timed out after"
_OUT_OF_MEMORY = "Runtime.OutOfMemory"
_ERRORS = ("[ERROR] ", "\tERROR\tInvoke Error", "Runtime exited with error")
_MARKERS = (_START, _REPORT, _TIMEOUT, _OUT_OF_MEMORY, *_ERRORS)
_FIGURES = {
    "duration_ms": re.compile(r"\tDuration: ([0-9.]+) ms"),
    "billed_duration_ms": re.compile(r"Billed Duration: ([0-9]+) ms"),
    "memory_size_mb": re.compile(r"Memory Size: ([0-9]+) MB"),
    "max_memory_used_mb": re.compile(r"Max Memory Used: ([0-9]+) MB"),
    "init_duration_ms": re.compile(r"Init Duration: ([0-9.]+) ms"),
}
_VERSION = re.compile(r"Version: (\S+)")


@dataclass(frozen=True)
class InvocationLine:
    """One invocation as its log tells it."""

    request_id: str
    ended_ms: int  # the REPORT line's timestamp
    version: str | None  # None when its START line is older than the events looked through
    duration_ms: float | None
    billed_duration_ms: int | None
    memory_size_mb: int | None
    max_memory_used_mb: int | None
    init_duration_ms: float | None
    outcome: str


def recent_invocations(
    db: Database, account_id: str, function_name: str, *, limit: int = 50
) -> list[InvocationLine]:
    """The function's last `limit` invocations with stored logs, newest first (none when its
    log group does not exist)."""
    with db.connect() as connection:
        try:
            group_id = group_id_of(connection, account_id, function_group(function_name))
        except LogResourceNotFound:
            return []
        position = func.strpos if connection.dialect.name == "postgresql" else func.instr
        order = (EVENTS.c.timestamp_ms, EVENTS.c.id)
        newest_first = [column.desc() for column in order]
        in_group = EVENTS.c.group_id == group_id
        # The newest REPORT lines, found walking the group's index backward from its end.
        reports = connection.execute(
            select(EVENTS.c.timestamp_ms, EVENTS.c.message)
            .where(in_group, position(EVENTS.c.message, _REPORT) == 1)
            .order_by(*newest_first)
            .limit(limit)
        ).all()
        if not reports:
            return []
        since = int(min(stamp - _time_taken_ms(message) for stamp, message in reports))
        marked = or_(*(position(EVENTS.c.message, marker) > 0 for marker in _MARKERS))
        rows = connection.execute(
            select(EVENTS.c.stream_id, EVENTS.c.timestamp_ms, EVENTS.c.message)
            .where(in_group, EVENTS.c.timestamp_ms >= since - _START_MARGIN_MS, marked)
            .order_by(*newest_first)
            .limit(SCAN_EVENTS)
        ).all()
    rows.reverse()
    return read_invocations(rows)[:limit]


def _time_taken_ms(report: str) -> float:
    taken = 0.0
    for name in ("duration_ms", "init_duration_ms"):
        match = _FIGURES[name].search(report)
        taken += float(match.group(1)) if match else 0.0
    return taken


def read_invocations(rows) -> list[InvocationLine]:
    """Invocations from (stream id, timestamp, message) rows in time order, newest first."""
    pending: dict[object, list[str]] = {}
    found = []
    for stream_id, stamp, message in rows:
        lines = pending.setdefault(stream_id, [])
        if message.startswith(_REPORT):
            found.append(_invocation(stamp, message, lines))
            pending[stream_id] = []
        else:
            lines.append(message)
    found.reverse()
    return found


def _invocation(stamp: int, report: str, lines: list[str]) -> InvocationLine:
    request_id = report[len(_REPORT) :].split("\t", 1)[0].strip()
    version = None
    for line in lines:
        if line.startswith(_START) and request_id in line:
            match = _VERSION.search(line)
            version = match.group(1) if match else None
    figures = {}
    for name, pattern in _FIGURES.items():
        match = pattern.search(report)
        figures[name] = None if match is None else match.group(1)
    return InvocationLine(
        request_id=request_id,
        ended_ms=stamp,
        version=version,
        duration_ms=_number(figures["duration_ms"], float),
        billed_duration_ms=_number(figures["billed_duration_ms"], int),
        memory_size_mb=_number(figures["memory_size_mb"], int),
        max_memory_used_mb=_number(figures["max_memory_used_mb"], int),
        init_duration_ms=_number(figures["init_duration_ms"], float),
        outcome=_outcome(lines),
    )


def _outcome(lines: list[str]) -> str:
    if any(_TIMEOUT in line for line in lines):
        return "timeout"
    if any(_OUT_OF_MEMORY in line for line in lines):
        return "out of memory"
    if any(
        line.startswith(_ERRORS[0]) or _ERRORS[1] in line or _ERRORS[2] in line for line in lines
    ):
        return "error"
    return "success"


def _number(text: str | None, kind):
    return None if text is None else kind(text)
