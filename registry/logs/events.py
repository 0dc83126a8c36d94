"""An invocation's log text as CloudWatch events: one per line, each with its timestamp.

Lambda stamps each write when it happens; Strata learns the lines only once the invocation has
ended, so START (and any init output before it) takes the moment the invocation reached the
environment, END and REPORT (and platform lines after END) the moment it ended, and the lines
between are spread over that span in order: timestamps never go down, so `aws logs tail` shows
the lines as they were written.
"""

from __future__ import annotations

from dataclasses import dataclass

# CloudWatch Logs' limit is 256 KB per event, counting 26 bytes of overhead; a longer line is
# cut to fit (on a character boundary) and marked.
MAX_EVENT_BYTES = 256 * 1024
EVENT_OVERHEAD_BYTES = 26
MAX_MESSAGE_BYTES = MAX_EVENT_BYTES - EVENT_OVERHEAD_BYTES
TRUNCATED_MARK = " [truncated]"


@dataclass(frozen=True)
class Event:
    timestamp_ms: int
    message: str

    @property
    def size(self) -> int:
        """Bytes counted against the account's quota, as CloudWatch counts them."""
        return len(self.message.encode("utf-8")) + EVENT_OVERHEAD_BYTES


def split(text: str, started_at: float, ended_at: float) -> list[Event]:
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    start_ms = int(started_at * 1000)
    end_ms = max(start_ms, int(ended_at * 1000))
    first = _index(lines, "START RequestId:", default=0)
    last = _index(reversed(lines), "END RequestId:", default=None)
    last = len(lines) - 1 - last if last is not None else len(lines) - 1
    if last <= first:
        last = len(lines) - 1
    span = max(last - first, 1)
    events = []
    for i, line in enumerate(lines):
        if i <= first:
            stamp = start_ms
        elif i >= last:
            stamp = end_ms
        else:
            stamp = start_ms + (end_ms - start_ms) * (i - first) // span
        events.append(Event(stamp, capped(line)))
    return events


def capped(message: str) -> str:
    encoded = message.encode("utf-8")
    if len(encoded) <= MAX_MESSAGE_BYTES:
        return message
    keep = MAX_MESSAGE_BYTES - len(TRUNCATED_MARK)
    return encoded[:keep].decode("utf-8", "ignore") + TRUNCATED_MARK


def _index(lines, prefix: str, default):
    for i, line in enumerate(lines):
        if line.startswith(prefix):
            return i
    return default
