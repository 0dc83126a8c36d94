"""ListFunctions: one page of the account's functions and, with FunctionVersion=ALL, one page of
their published versions.

A page costs what its rows cost: the statements are built once per shape (whether a marker
continues the listing), since building one and computing its cache key cost more than running it
on SQLite; they select only the columns an item shows, through Core; and the rows become slotted
summaries that share the page's ARN prefix.
"""

from __future__ import annotations

import json
import re
from functools import cache

from sqlalchemy import Select, Text, and_, bindparam, cast, or_, select

from registry.accounts import Caller
from registry.db import Database
from registry.errors import InvalidParameterValue
from registry.functions.names import LATEST, function_arn
from registry.functions.views import FunctionSummary
from registry.models import Function, FunctionVersion
from registry.paging import MARKER_NOT_VALID, MAX_ITEMS, Page, decode_marker, first_page
from registry.validation import MAX_VERSION_NUMBER

_FUNCTIONS, _VERSIONS = Function.__table__, FunctionVersion.__table__
_NUMBER = re.compile(r"-?[0-9]{1,19}")


def _shown(table) -> tuple:
    """What an item shows of $LATEST or a version, in FunctionSummary's order after the ARN, the
    name and the version."""
    return (
        table.c.code_digest,
        table.c.code_size,
        # As text: _summary decodes them.
        cast(table.c.config, Text),
        cast(table.c.layers, Text),
        table.c.revision_id,
        table.c.last_modified,
    )


@cache
def _functions_page(after: bool) -> Select:
    """The account's functions by name (walking the (account, name) key), from the marker's
    function on."""
    query = (
        select(_FUNCTIONS.c.id, _FUNCTIONS.c.name, *_shown(_FUNCTIONS))
        .where(_FUNCTIONS.c.account_id == bindparam("account"))
        .order_by(_FUNCTIONS.c.name)
        .limit(bindparam("limit"))
    )
    if after:
        query = query.where(_FUNCTIONS.c.name >= bindparam("after"))
    return query


@cache
def _versions_page(after: bool) -> Select:
    """The account's published versions after the marker's (name, order), by function name then
    number, up to the functions named :last_name."""
    query = (
        select(_VERSIONS.c.function_id, _VERSIONS.c.version, *_shown(_VERSIONS))
        .join(_FUNCTIONS, _FUNCTIONS.c.id == _VERSIONS.c.function_id)
        .where(
            _FUNCTIONS.c.account_id == bindparam("account"),
            _FUNCTIONS.c.name <= bindparam("last_name"),
        )
        .order_by(_FUNCTIONS.c.name, _VERSIONS.c.version)
        .limit(bindparam("limit"))
    )
    if after:
        query = query.where(
            # The bound alone lets the planner start the walk at the marker's function.
            _FUNCTIONS.c.name >= bindparam("after"),
            or_(
                _FUNCTIONS.c.name > bindparam("after"),
                and_(
                    _FUNCTIONS.c.name == bindparam("after"),
                    _VERSIONS.c.version > bindparam("order"),
                ),
            ),
        )
    return query


class FunctionListing:
    _db: Database
    _region: str

    def list_functions(
        self,
        caller: Caller,
        *,
        all_versions: bool = False,
        marker: str | None = None,
        max_items: int = MAX_ITEMS,
    ) -> Page:
        """The account's functions by name; with all_versions, each function's versions too,
        $LATEST first."""
        after = decode_marker(marker, joined=True)
        after_name, _, after_version = (after or "").partition("\n")
        after_order = _marker_order(after_version) if after_name else -1
        params = {"account": caller.account_id, "after": after_name}
        versions: dict[int, list] = {}
        with self._db.connect() as connection:
            functions = connection.execute(
                _functions_page(bool(after_name)), dict(params, limit=max_items + 2)
            ).all()
            if all_versions and functions:
                rows = connection.execute(
                    _versions_page(bool(after_name)),
                    dict(
                        params,
                        order=after_order,
                        last_name=functions[-1].name,
                        limit=max_items + 1,
                    ),
                ).all()
                for row in rows:
                    versions.setdefault(row[0], []).append(row)
        prefix = function_arn(self._region, caller.account_id, "")
        listed = []
        for function_id, name, *shown in functions:
            arn = prefix + name
            if name != after_name or after_order < 0:
                listed.append((arn, name, LATEST, shown))
            for row in versions.get(function_id, ()):
                listed.append((arn, name, str(row[1]), row[2:]))
        found = first_page(listed, max_items, key=lambda item: f"{item[1]}\n{item[2]}")
        return Page([_summary(*item) for item in found.items], found.next_marker)


def _summary(arn: str, name: str, version: str, shown) -> FunctionSummary:
    """Only the page's items have their JSON decoded: a page with versions reads more functions
    than it shows."""
    digest, size, config, layers, revision_id, last_modified = shown
    return FunctionSummary(
        arn,
        name,
        version,
        digest,
        size,
        json.loads(config),
        [] if layers == "[]" else json.loads(layers),
        revision_id,
        last_modified,
    )


def _marker_order(version: str) -> int:
    """Where a marker's version sits among a function's: $LATEST (or none) is 0, a published
    version its number."""
    if not version or version == LATEST:
        return 0
    if not _NUMBER.fullmatch(version):
        raise InvalidParameterValue(MARKER_NOT_VALID)
    # Published numbers run from 1 to MAX_VERSION_NUMBER: clamping keeps the place and the SQL
    # parameter in range.
    return min(max(int(version), -1), MAX_VERSION_NUMBER)
