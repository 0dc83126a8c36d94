"""CloudWatch Logs filter patterns for unstructured events: what `aws logs tail
--filter-pattern` and FilterLogEvents' filterPattern accept for plain text.

    ERROR                 events containing the term (terms are case-sensitive)
    ERROR Exception       both terms, anywhere, in any order
    "Task timed out"      the exact phrase (quotes; \\" inside)
    ?ERROR ?WARN          either term
    ERROR -Retrying       the first without the second
    ""  or  " "           every event

JSON (`{ $.level = ... }`) and space-delimited (`[ip, user, ...]`) patterns are refused as an
invalid parameter rather than silently matching nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from registry.logs.errors import LogInvalidParameter

MAX_PATTERN_LENGTH = 1024


@dataclass(frozen=True)
class FilterPattern:
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()  # ?terms: at least one of them
    excluded: tuple[str, ...] = ()

    def matches(self, message: str) -> bool:
        return (
            all(term in message for term in self.required)
            and not any(term in message for term in self.excluded)
            and (not self.optional or any(term in message for term in self.optional))
        )

    @property
    def matches_all(self) -> bool:
        return not (self.required or self.optional or self.excluded)


def parse(pattern: str | None) -> FilterPattern:
    if pattern is None:
        return FilterPattern()
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise LogInvalidParameter(
            f"1 validation error detected: Value at 'filterPattern' failed to satisfy "
            f"constraint: Member must have length less than or equal to {MAX_PATTERN_LENGTH}"
        )
    stripped = pattern.strip()
    if stripped.startswith(("{", "[")) or stripped.startswith("%"):
        raise LogInvalidParameter(
            "Invalid filter pattern: Strata matches terms, ?terms, -terms and quoted phrases; "
            "JSON, space-delimited and regular-expression patterns are not supported."
        )
    required, optional, excluded = [], [], []
    for sign, term in _terms(pattern):
        {"": required, "?": optional, "-": excluded}[sign].append(term)
    return FilterPattern(tuple(required), tuple(optional), tuple(excluded))


def matcher(pattern: str | None) -> Callable[[str], bool]:
    return parse(pattern).matches


def _terms(pattern: str):
    i, n = 0, len(pattern)
    while i < n:
        if pattern[i].isspace():
            i += 1
            continue
        sign = ""
        if pattern[i] in "?-" and i + 1 < n and not pattern[i + 1].isspace():
            sign, i = pattern[i], i + 1
        if pattern[i] == '"':
            term, i = _quoted(pattern, i + 1)
        else:
            start = i
            while i < n and not pattern[i].isspace():
                i += 1
            term = pattern[start:i]
        if term:
            yield sign, term


def _quoted(pattern: str, i: int) -> tuple[str, int]:
    out = []
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            out.append(pattern[i + 1])
            i += 2
            continue
        if char == '"':
            return "".join(out), i + 1
        out.append(char)
        i += 1
    raise LogInvalidParameter("Invalid filter pattern: a quoted phrase is not closed.")
