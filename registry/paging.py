"""Pages of a listing: the items, the NextMarker that continues it, and the MaxItems rules.

A marker is the urlsafe base64 of the last item's key (a name, a version number, or for
ListFunctions a name and a version joined by a newline), so it continues a listing at the same
place whichever app process serves the next page.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass

from registry.errors import InvalidParameterValue
from registry.validation import MAX_VERSION_NUMBER

# A page holds at most this many items, whatever MaxItems asks for.
MAX_ITEMS = 50
MARKER_NOT_VALID = "Marker is not valid: pass the NextMarker of the previous response unchanged."

# Markers hold names and version numbers; a control character (PostgreSQL refuses NUL in text)
# means it was not one this server handed out. ListFunctions' markers join a name and a version
# with a newline, so there a newline is allowed.
_FOREIGN = re.compile(r"[\x00-\x1f\x7f]")
_FOREIGN_IN_JOINED = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
_NUMBER = re.compile(r"[0-9]{1,19}")
_SIGNED_NUMBER = re.compile(r"-?[0-9]{1,19}")
# ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
_DECIMAL = re.compile(r"[0-9]{1,6}")


@dataclass(frozen=True)
class Page:
    items: list
    next_marker: str | None


def first_page(items: list, max_items: int, key: Callable[[object], str]) -> Page:
    """The first `max_items` of `items`, which were fetched one past that to learn whether more
    remain; the marker is the key of the page's last item."""
    page = items[:max_items]
    more = len(items) > max_items
    return Page(page, encode_marker(key(page[-1])) if more and page else None)


def encode_marker(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode()


def decode_marker(marker: str | None, *, joined: bool = False) -> str | None:
    """The key a NextMarker holds; `joined` for ListFunctions' name-and-version markers."""
    if not marker:
        return None
    try:
        value = base64.urlsafe_b64decode(marker.encode()).decode()
    except (ValueError, UnicodeDecodeError):  # binascii.Error is a ValueError
        value = None
    foreign = _FOREIGN_IN_JOINED if joined else _FOREIGN
    if value is None or foreign.search(value):
        raise InvalidParameterValue(MARKER_NOT_VALID)
    return value


def decode_version_marker(marker: str | None, *, signed: bool = False) -> int | None:
    """A marker holding a version number, which versions can have; `signed` for the function
    versions' markers, where a negative number starts before $LATEST."""
    value = decode_marker(marker)  # a newline is no digit either: the same refusal
    if value is None:
        return None
    number = _SIGNED_NUMBER if signed else _NUMBER
    if not (number.fullmatch(value) and int(value) <= MAX_VERSION_NUMBER):
        raise InvalidParameterValue(MARKER_NOT_VALID)
    return int(value)


# The two MaxItems rules answer differently on the wire, as Lambda's operations do: the layer
# listings take 1 to 50, the function listings take 1 to 10,000 and return at most 50.


def layers_max_items(value) -> int:
    """MaxItems of ListLayers and ListLayerVersions."""
    if value is None:
        return MAX_ITEMS
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidParameterValue(f"MaxItems {value!r} is not a whole number.") from None
    if not 1 <= number <= MAX_ITEMS:
        raise InvalidParameterValue(f"MaxItems must be between 1 and {MAX_ITEMS}; got {number}.")
    return number


def functions_max_items(value: str | None) -> int:
    """MaxItems of ListFunctions, ListVersionsByFunction and ListAliases."""
    if value is None:
        return MAX_ITEMS
    if not _DECIMAL.fullmatch(value) or not 1 <= int(value) <= 10000:
        raise InvalidParameterValue(f"MaxItems must be between 1 and 10000; got {value!r}.")
    return min(int(value), MAX_ITEMS)
