"""$LATEST: a function's mutable code and configuration, created and changed.

Every change to $LATEST draws a new RevisionId, which callers may pass back as a precondition.
Code blobs are stored before the rows that reference them are committed.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timezone

from sqlalchemy.exc import IntegrityError

from registry.accounts import Caller
from registry.archive.limits import ZipLimits
from registry.archives import ZipContent, store_archive
from registry.errors import InvalidParameterValue, ResourceConflict
from registry.functions import layers as function_layers
from registry.functions import options as function_options
from registry.functions import serving
from registry.functions import settings as function_settings
from registry.functions import states as function_states
from registry.functions import tags as function_tags
from registry.functions.names import FunctionRef, function_arn
from registry.functions.rows import check_revision
from registry.functions.versions import FunctionVersions
from registry.functions.views import FunctionView
from registry.layers.service import LayerService
from registry.limits import MAX_LAYERS
from registry.messages import too_many_layers
from registry.models import Function
from storage.base import BlobStore


class LatestChanges(FunctionVersions):
    """Changing $LATEST may publish it as a version too (Publish=true)."""

    _store: BlobStore
    _layers: LayerService
    _limits: ZipLimits

    def create(
        self,
        caller: Caller,
        ref: FunctionRef,
        code: ZipContent,
        settings: dict,
        *,
        layers: list[str] | None = None,
        tags: dict | None = None,
        publish: bool = False,
        options: dict | None = None,
    ) -> FunctionView:
        """`options`: the members registry/functions/options.py accepts with their defaults."""
        self._require_own(caller, ref, "lambda:CreateFunction")
        if ref.qualifier is not None:
            raise InvalidParameterValue("CreateFunction takes an unqualified function name.")
        function_options.check(options or {}, ref.name)
        for required in ("runtime", "handler", "role"):
            if settings.get(required) is None:
                raise InvalidParameterValue(
                    f"{required.capitalize()} is required for a function of package type Zip."
                )
        config = {**function_settings.DEFAULTS, **function_settings.check(settings)}
        records = self._attach(caller, layers or [], config)
        stored = store_archive(
            self._store,
            code,
            account_id=caller.account_id,
            label=f"function {ref.name}",
            limits=self._limits,
        )
        function_layers.check_total_size(stored.unzipped_size, records)
        if tags is not None:
            tags = function_tags.check_tags(tags)
        now = datetime.now(timezone.utc)
        try:
            with self._db.write() as session:
                row = Function(
                    account_id=caller.account_id,
                    name=ref.name,
                    latest_version=0,
                    code_digest=stored.digest,
                    code_size=stored.size,
                    unzipped_size=stored.unzipped_size,
                    config=config,
                    layers=records,
                    tags=tags or {},
                    revision_id=str(uuid.uuid4()),
                    created_at=now,
                    last_modified=now,
                    **function_states.creating(),
                )
                session.add(row)
                session.flush()
        except IntegrityError:
            raise ResourceConflict(f"Function already exist: {ref.name}") from None
        self._changed()
        if publish:
            return self._publish(caller, ref, unsettled=True)
        return self._latest_view(caller.account_id, row)

    def update_code(
        self,
        caller: Caller,
        ref: FunctionRef,
        code: ZipContent,
        *,
        revision_id: str | None = None,
        publish: bool = False,
        dry_run: bool = False,
        architectures: list[str] | None = None,
    ) -> FunctionView:
        self._require_own(caller, ref, "lambda:UpdateFunctionCode")
        self._require_latest(ref)
        changes = function_settings.check({"architectures": architectures})
        current = self.get(caller, replace(ref, qualifier=None))
        stored = store_archive(
            self._store,
            code,
            account_id=caller.account_id,
            label=f"function {ref.name}",
            limits=self._limits,
            keep=not dry_run,
        )
        config = {**current.config, **changes}
        if changes:
            function_layers.check_compatible(
                current.layers, config["runtime"], config["architectures"][0]
            )
        function_layers.check_total_size(stored.unzipped_size, current.layers)
        if dry_run:
            return replace(current, code_digest=stored.digest, code_size=stored.size, config=config)
        changed = self._change_latest(
            caller,
            ref,
            revision_id,
            code_digest=stored.digest,
            code_size=stored.size,
            unzipped_size=stored.unzipped_size,
            config=config,
        )
        if publish:
            return self._publish(caller, replace(ref, qualifier=None), unsettled=True)
        return changed

    def update_configuration(
        self,
        caller: Caller,
        ref: FunctionRef,
        settings: dict,
        *,
        layers: list[str] | None = None,
        revision_id: str | None = None,
        options: dict | None = None,
    ) -> FunctionView:
        self._require_own(caller, ref, "lambda:UpdateFunctionConfiguration")
        self._require_latest(ref)
        function_options.check(options or {}, ref.name)
        current = self.get(caller, replace(ref, qualifier=None))
        config = {**current.config, **function_settings.check(settings)}
        if layers is None:
            records = current.layers
            function_layers.check_compatible(records, config["runtime"], config["architectures"][0])
        else:
            # Only newly named layer versions must be readable now; ones already attached stay
            # usable (AWS semantics for deleted or unshared layer versions).
            kept = {record["arn"]: record for record in current.layers}
            fresh = self._attach(caller, [arn for arn in layers if arn not in kept], config)
            by_arn = {**kept, **{record["arn"]: record for record in fresh}}
            records = [by_arn[arn] for arn in layers]
            if len(records) > MAX_LAYERS:
                raise InvalidParameterValue(too_many_layers())
            function_layers.check_compatible(records, config["runtime"], config["architectures"][0])
        function_layers.check_total_size(current.unzipped_size, records)
        return self._change_latest(caller, ref, revision_id, config=config, layers=records)

    def _attach(self, caller: Caller, arns, config: dict) -> list[dict]:
        records = function_layers.resolve(self._layers, caller, arns, region=self._region)
        function_layers.check_compatible(records, config["runtime"], config["architectures"][0])
        return records

    def _change_latest(
        self, caller: Caller, ref: FunctionRef, revision_id: str | None, **values
    ) -> FunctionView:
        """Apply a change to $LATEST; it is InProgress until its bundle is prepared. The view is
        the change as made: read back, it could already be settled."""
        with self._db.write() as session:
            row = self._function_row(session, caller.account_id, ref.name, lock=True)
            check_revision(row.revision_id, revision_id)
            function_states.require_settled(
                row, function_arn(self._region, caller.account_id, row.name)
            )
            # Invocations run the revision they run now until this change is applied.
            values["running"] = serving.keeping(
                row, runs_own=function_states.runs_own_revision(row)
            )
            for key, value in {**values, **function_states.updating()}.items():
                setattr(row, key, value)
            row.revision_id = str(uuid.uuid4())
            row.last_modified = datetime.now(timezone.utc)
        self._changed()
        return self._latest_view(caller.account_id, row)
