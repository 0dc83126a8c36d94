"""Functions: $LATEST (latest.py: mutable code and configuration), immutable published versions
(versions.py), aliases (aliases.py); listing and deleting functions here. FunctionService is the
one entry point the API and the invocation plane use.
"""

from __future__ import annotations

from sqlalchemy import delete, select

from registry.accounts import Caller
from registry.archive.limits import ZipLimits
from registry.db import Database
from registry.functions.aliases import FunctionAliases
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
from registry.paging import MAX_ITEMS, Page, decode_marker, first_page
from storage.base import BlobStore

_DEFAULT_ZIP_LIMITS = ZipLimits()


class FunctionService(LatestChanges, FunctionAliases):
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
        """The account's functions by name; with all_versions, each function's versions too."""
        after = decode_marker(marker, joined=True)
        after_name, _, after_version = (after or "").partition("\n")
        with self._db.read() as session:
            query = (
                select(Function)
                .where(Function.account_id == caller.account_id)
                .order_by(Function.name)
            )
            if after_name:
                query = query.where(Function.name >= after_name)
            items: list[FunctionView] = []
            for row in session.scalars(query.limit(max_items + 2)):
                candidates = [self._latest_view(caller.account_id, row)]
                if all_versions:
                    versions = session.scalars(
                        select(FunctionVersion)
                        .where(FunctionVersion.function_id == row.id)
                        .order_by(FunctionVersion.version)
                    )
                    candidates += [self._version_view(caller.account_id, row, v) for v in versions]
                for view in candidates:
                    if after_name and (view.name, _order(view.version)) <= (
                        after_name,
                        _order(after_version or LATEST),
                    ):
                        continue
                    items.append(view)
                if len(items) > max_items:
                    break
        return first_page(items, max_items, key=lambda v: f"{v.name}\n{v.version}")

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


def _order(version: str) -> int:
    return 0 if version == LATEST else int(version)
