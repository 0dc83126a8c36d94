"""Bounds on label values, so that no caller can grow the number of series without limit.

A function's name is a label: accounts create as many functions as they like, so each process
labels the first MAX_FUNCTIONS functions it sees by name and counts the rest together under
OTHER. A function costs about 33 series (most of them its two histograms) and a scrape some
30 ms of CPU per 1,000 series, so the cap keeps a scrape near a second at worst. Operation names
an authenticated RPC client sends are capped the same way.
"""

from __future__ import annotations

MAX_FUNCTIONS = 1000
MAX_RPC_OPERATIONS = 200
OTHER = "_other"


class BoundedLabels:
    """The first `limit` distinct values pass; later ones become OTHER. A race between threads
    may let a few more than `limit` in, which costs nothing."""

    def __init__(self, limit: int):
        self._limit = limit
        self._seen: set = set()

    def __call__(self, value):
        if value in self._seen:
            return value
        if len(self._seen) < self._limit:
            self._seen.add(value)
            return value
        return None


class FunctionLabels:
    def __init__(self, limit: int = MAX_FUNCTIONS):
        self._bounded = BoundedLabels(limit)

    def of(self, account_id: str, function_name: str) -> tuple[str, str]:
        """(account, function) label values."""
        if self._bounded((account_id, function_name)) is None:
            return account_id, OTHER
        return account_id, function_name


class OperationLabels:
    def __init__(self, limit: int = MAX_RPC_OPERATIONS):
        self._bounded = BoundedLabels(limit)

    def of(self, operation: str) -> str:
        return self._bounded(operation) or OTHER
