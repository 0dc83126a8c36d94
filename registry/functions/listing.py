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

from sqlalchemy import (
    Integer,
    Select,
    Text,
    bindparam,
    cast,
    literal_column,
    or_,
    select,
    true,
    union_all,
)

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
        cast(table.c.config, Text).label("config"),
        cast(table.c.layers, Text).label("layers"),
        table.c.revision_id,
        table.c.last_modified,
    )


@cache
def _functions_page(after: bool) -> Select:
    """The account's functions by name (walking the (account, name) key), from the marker's
    function on."""
    query = (
        select(_FUNCTIONS.c.name, *_shown(_FUNCTIONS))
        .where(_FUNCTIONS.c.account_id == bindparam("account"))
        .order_by(_FUNCTIONS.c.name)
        .limit(bindparam("limit"))
    )
    if after:
        query = query.where(_FUNCTIONS.c.name >= bindparam("after"))
    return query


@cache
def _all_versions_page(sqlite: bool) -> Select:
    """$LATEST and the published versions of the account's functions after the marker's
    (name, number), by name then number ($LATEST's is 0), in one statement: a page of
    :functions functions from the marker's on (walking the (account, name) key), each with its
    versions (walking the (function, version) key)."""
    after, order = bindparam("after"), bindparam("order", type_=Integer)
    page = (
        select(_FUNCTIONS.c.id, _FUNCTIONS.c.name, *_shown(_FUNCTIONS))
        .where(_FUNCTIONS.c.account_id == bindparam("account"), _FUNCTIONS.c.name >= after)
        .order_by(_FUNCTIONS.c.name)
        .limit(bindparam("functions"))
        .cte("page")
    )
    latest = select(
        page.c.name, literal_column("0", Integer).label("number"), *list(page.c)[2:]
    ).where(or_(page.c.name > after, order < literal_column("0", Integer)))
    versions = select(_VERSIONS.c.version, *_shown(_VERSIONS))
    newer = or_(page.c.name > after, _VERSIONS.c.version > order)
    if sqlite:
        published = (
            select(page.c.name, *versions.selected_columns)
            .join_from(page, _VERSIONS, _VERSIONS.c.function_id == page.c.id)
            .where(newer)
        )
    else:
        # A LATERAL join walks each function's key: joined plainly, the planner hashes every
        # version of every function to join a page of them. (A page shows at most :limit of one
        # function's versions; the LIMIT also keeps the planner from flattening the join.)
        each = (
            versions.where(_VERSIONS.c.function_id == page.c.id, newer)
            .order_by(_VERSIONS.c.version)
            .limit(bindparam("limit"))
            .lateral("published")
        )
        published = select(page.c.name, *each.c).select_from(page.join(each, true()))
    listed = union_all(latest, published).subquery("listed")
    return select(listed).order_by(listed.c.name, listed.c.number).limit(bindparam("limit"))


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
        params = {"account": caller.account_id, "after": after_name, "order": after_order}
        if all_versions:
            query = _all_versions_page(self._db.is_sqlite)
            params.update(functions=max_items + 2, limit=max_items + 1)
        else:
            query = _functions_page(bool(after_name))
            params.update(limit=max_items + 2)
        with self._db.connect() as connection:
            rows = connection.execute(query, params).all()
        prefix = function_arn(self._region, caller.account_id, "")
        if all_versions:
            listed = [
                (prefix + name, name, str(number) if number else LATEST, shown)
                for name, number, *shown in rows
            ]
        else:
            listed = [
                (prefix + name, name, LATEST, shown)
                for name, *shown in rows
                if name != after_name or after_order < 0
            ]
        found = first_page(
            listed[: max_items + 1], max_items, key=lambda item: f"{item[1]}\n{item[2]}"
        )
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
