"""Pagination tokens: opaque to clients, and stable (a position in the (timestamp, id) order
the events are read in, so the same token always continues at the same place)."""

from __future__ import annotations

import base64
import re

from registry.logs.errors import LogInvalidParameter

_POSITION = re.compile(r"(-?\d{1,19}):(\d{1,19})")


def position_token(kind: str, timestamp_ms: int, event_id: int) -> str:
    raw = f"{timestamp_ms}:{event_id}".encode()
    return kind + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_position(kind: str, token: str) -> tuple[int, int]:
    if not token.startswith(kind):
        raise invalid_token()
    body = token[len(kind) :]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise invalid_token() from None
    match = _POSITION.fullmatch(raw)
    if not match:
        raise invalid_token()
    return int(match[1]), int(match[2])


def name_token(name: str) -> str:
    """A listing's position: the last name served (names are unique in what is listed)."""
    return "n/" + base64.urlsafe_b64encode(name.encode()).decode().rstrip("=")


def read_name(token: str) -> str:
    if not token.startswith("n/"):
        raise invalid_token()
    body = token[2:]
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise invalid_token() from None


def invalid_token() -> LogInvalidParameter:
    return LogInvalidParameter("The specified nextToken is invalid.")
