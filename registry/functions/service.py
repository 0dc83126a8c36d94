"""Functions: $LATEST (latest.py: mutable code and configuration), immutable published versions
(versions.py), aliases (aliases.py), reserved concurrency (concurrency.py); listing and deleting
functions here. FunctionService is the one entry point the API and the invocation plane use.
"""

from __future__ import annotations

import re
from collections import defaultdict

from sqlalchemy import and_, delete, or_, select

from registry.accounts import Caller
from registry.archive.limits import ZipLimits
from registry.db import Database
from registry.errors import InvalidParameterValue
from registry.functions.aliases import FunctionAliases
from registry.functions.concurrency import FunctionConcurrency
from registry.functions.latest import LatestChanges
from registry.functions.names import LATEST, FunctionRef
from registry.functions.views import FunctionView
from registry.layers.service import LayerService
from registry.models import (
    Function,
    FunctionAlias,
    FunctionEvent,
    FunctionVersion,
    ProvisionedConcurrency,
)
from registry.paging import MARKER_NOT_VALID, MAX_ITEMS, Page, decode_marker, first_page
from registry.validation import MAX_VERSION_NUMBER
from storage.base import BlobStore

_DEFAULT_ZIP_LIMITS = ZipLimits()
_NUMBER = re.compile(r"-?[0-9]{1,19}")


class FunctionService(LatestChanges, FunctionAliases, FunctionConcurrency):
    def __init__(
        self,
        db: Database,
        store: BlobStore,
        layers: LayerService,
        *,
        region: str,
        zip_limits: ZipLimits = _DEFAULT_ZIP_LIMITS,
    ):
        self._db = db
        self._store = store
        self._layers = layers
        self._region = region
        self._limits = zip_limits

    def list_functions(
        self,
        caller: Caller,
        *,
        all_versions: bool = False,
        marker: str | None = None,
        max_items: int = MAX_ITEMS,
    ) -> Page:
        """The account's functions by name; with all_versions, each function's versions too,
        $LATEST first. Reads one page of functions (walking the (account, name) key) and, with
        all_versions, one page of versions (walking the (name, version) key)."""
        after = decode_marker(marker, joined=True)
        after_name, _, after_version = (after or "").partition("\n")
        after_order = _marker_order(after_version) if after_name else -1
        with self._db.read() as session:
            query = (
                select(Function)
                .where(Function.account_id == caller.account_id)
                .order_by(Function.name)
                .limit(max_items + 2)
            )
            if after_name:
                query = query.where(Function.name >= after_name)
            functions = session.scalars(query).all()
            versions: dict[int, list[FunctionVersion]] = defaultdict(list)
            if all_versions and functions:
                for version in session.scalars(
                    _versions_after(caller, after_name, after_order, functions[-1].name).limit(
                        max_items + 1
                    )
                ):
                    versions[version.function_id].append(version)
        items: list[FunctionView] = []
        for row in functions:
            if row.name != after_name or after_order < 0:
                items.append(self._latest_view(caller.account_id, row))
            items += [self._version_view(caller.account_id, row, v) for v in versions[row.id]]
        return first_page(items[: max_items + 1], max_items, key=lambda v: f"{v.name}\n{v.version}")

    # -- delete ------------------------------------------------------------------------------

    def delete(self, caller: Caller, ref: FunctionRef) -> list[FunctionView]:
        """The whole function (no qualifier) or one published version; returns what was deleted,
        so that warm environments of it can be let go."""
        self._require_own(caller, ref, "lambda:DeleteFunction")
        with self._db.write() as session:
            row = self._function_row(session, caller.account_id, ref.name, lock=True)
            if ref.qualifier is None:
                return self._delete_function(session, caller, row)
            return self._delete_version(session, caller, row, ref.qualifier)

    def _delete_function(self, session, caller: Caller, row: Function) -> list[FunctionView]:
        """The function with every version, alias, provisioned setting and pending event."""
        gone = [self._latest_view(caller.account_id, row)] + [
            self._version_view(caller.account_id, row, v)
            for v in session.scalars(
                select(FunctionVersion).where(FunctionVersion.function_id == row.id)
            )
        ]
        for table in (
            FunctionEvent,
            ProvisionedConcurrency,
            FunctionAlias,
            FunctionVersion,
        ):
            session.execute(delete(table).where(table.function_id == row.id))
        session.delete(row)
        return gone


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


def _versions_after(caller: Caller, name: str, order: int, last_name: str):
    """The account's published versions after (name, order), by function name then number, up
    to the functions named `last_name`."""
    query = (
        select(FunctionVersion)
        .join(Function, Function.id == FunctionVersion.function_id)
        .where(Function.account_id == caller.account_id, Function.name <= last_name)
        .order_by(Function.name, FunctionVersion.version)
    )
    if name:
        query = query.where(
            or_(
                Function.name > name,
                and_(Function.name == name, FunctionVersion.version > order),
            )
        )
    return query
