"""Functions: $LATEST (latest.py: mutable code and configuration), immutable published versions
(versions.py), aliases (aliases.py), reserved concurrency (concurrency.py), asynchronous
invocation settings (event_invoke_config.py), listing (listing.py);
deleting functions here. FunctionService is the one entry point the API and the invocation plane
use.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy import delete, select

from registry.accounts import Caller
from registry.archive.limits import ZipLimits
from registry.db import Database
from registry.functions.aliases import FunctionAliases
from registry.functions.concurrency import FunctionConcurrency
from registry.functions.event_invoke_config import EventInvokeConfigs
from registry.functions.latest import LatestChanges
from registry.functions.listing import FunctionListing
from registry.functions.names import FunctionRef
from registry.functions.permissions import FunctionPermissions
from registry.functions.tags import FunctionTags
from registry.functions.views import FunctionView
from registry.layers.service import LayerService
from registry.models import (
    Function,
    FunctionAlias,
    FunctionEvent,
    FunctionEventInvokeConfig,
    FunctionPermission,
    FunctionVersion,
    ProvisionedConcurrency,
)
from storage.base import BlobStore

_DEFAULT_ZIP_LIMITS = ZipLimits()
_NUMBER = re.compile(r"-?[0-9]{1,19}")


class FunctionService(
    FunctionListing,
    LatestChanges,
    FunctionAliases,
    FunctionConcurrency,
    EventInvokeConfigs,
    FunctionPermissions,
    FunctionTags,
):
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

    def prepare_with(self, on_change: Callable[[], None]) -> None:
        """`on_change` is called after every change that leaves a function or a version Pending
        or InProgress (the invocation plane prepares its bundle then)."""
        self._on_change = on_change

    # -- delete ------------------------------------------------------------------------------

    def delete(self, caller: Caller, ref: FunctionRef) -> list[FunctionView]:
        """The whole function (no qualifier) or one published version; returns what was deleted,
        so that warm environments of it can be let go."""
        self._require_own(caller, ref, "lambda:DeleteFunction")
        with self._db.write() as session:
            row = self._function_row(session, caller.account_id, ref.name, lock=True)
            if ref.qualifier is None:
                return self._delete_function(session, caller, row)
            gone = self._delete_version(session, caller, row, ref.qualifier)
            if gone:  # and so does its resource policy
                self._forget_policy(session, row.id, ref.qualifier)
            if gone:  # a version's asynchronous invocation setting goes with it
                session.execute(
                    delete(FunctionEventInvokeConfig).where(
                        FunctionEventInvokeConfig.function_id == row.id,
                        FunctionEventInvokeConfig.qualifier == ref.qualifier,
                    )
                )
            return gone

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
            FunctionEventInvokeConfig,
            FunctionPermission,
            ProvisionedConcurrency,
            FunctionAlias,
            FunctionVersion,
        ):
            session.execute(delete(table).where(table.function_id == row.id))
        session.delete(row)
        return gone
