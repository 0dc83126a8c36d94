"""Functions: $LATEST (mutable code and configuration), immutable published versions, aliases.

Version numbers come from a per-function counter incremented in the transaction that inserts the
version, like layer versions: distinct under concurrency and never reused while the function
exists. Every change to $LATEST draws a new RevisionId, which callers may pass back as a
precondition. Code blobs are stored before the rows that reference them are committed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from registry.accounts import Caller
from registry.archive.limits import ZipLimits
from registry.archives import ZipContent, code_sha256, store_archive
from registry.db import Database
from registry.errors import (
    InvalidParameterValue,
    PreconditionFailed,
    ResourceConflict,
    ResourceNotFound,
)
from registry.functions import layers as function_layers
from registry.functions import settings as function_settings
from registry.functions.names import (
    LATEST,
    VERSION,
    FunctionRef,
    check_alias_name,
    check_version,
    function_arn,
    require_own,
)
from registry.layers.service import LayerService
from registry.limits import MAX_LAYERS
from registry.models import (
    Function,
    FunctionAlias,
    FunctionEvent,
    FunctionVersion,
    ProvisionedConcurrency,
)
from registry.paging import MAX_ITEMS, Page, decode_marker, decode_version_marker, first_page
from storage.base import BlobStore


@dataclass(frozen=True)
class FunctionView:
    """One version of a function ($LATEST or a published number) as the API shows it."""

    region: str
    account_id: str
    function_id: int
    name: str
    version: str
    code_digest: str
    code_size: int
    unzipped_size: int
    config: dict
    layers: list
    revision_id: str
    last_modified: datetime
    tags: dict = field(default_factory=dict)

    @property
    def arn(self) -> str:
        return function_arn(self.region, self.account_id, self.name)

    @property
    def qualified_arn(self) -> str:
        return function_arn(self.region, self.account_id, self.name, self.version)

    @property
    def code_sha256(self) -> str:
        return code_sha256(self.code_digest)


@dataclass(frozen=True)
class AliasView:
    region: str
    account_id: str
    function_name: str
    name: str
    function_version: str
    description: str
    revision_id: str

    @property
    def arn(self) -> str:
        return function_arn(self.region, self.account_id, self.function_name, self.name)


class FunctionService:
    def __init__(
        self,
        db: Database,
        store: BlobStore,
        layers: LayerService,
        *,
        region: str,
        zip_limits: ZipLimits = ZipLimits(),
    ):
        self._db = db
        self._store = store
        self._layers = layers
        self._region = region
        self._limits = zip_limits

    # -- $LATEST ---------------------------------------------------------------------------

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
    ) -> FunctionView:
        self._require_own(caller, ref, "lambda:CreateFunction")
        if ref.qualifier is not None:
            raise InvalidParameterValue("CreateFunction takes an unqualified function name.")
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
        if tags is not None and not (
            isinstance(tags, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items())
        ):
            raise InvalidParameterValue("Tags must map string keys to string values.")
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
                )
                session.add(row)
                session.flush()
        except IntegrityError:
            raise ResourceConflict(f"Function already exist: {ref.name}") from None
        if publish:
            return self.publish_version(caller, ref)
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
        self._change_latest(
            caller,
            ref,
            revision_id,
            code_digest=stored.digest,
            code_size=stored.size,
            unzipped_size=stored.unzipped_size,
            config=config,
        )
        if publish:
            return self.publish_version(caller, replace(ref, qualifier=None))
        return self.get(caller, replace(ref, qualifier=None))

    def update_configuration(
        self,
        caller: Caller,
        ref: FunctionRef,
        settings: dict,
        *,
        layers: list[str] | None = None,
        revision_id: str | None = None,
    ) -> FunctionView:
        self._require_own(caller, ref, "lambda:UpdateFunctionConfiguration")
        self._require_latest(ref)
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
                raise InvalidParameterValue(
                    f"Cannot reference more than {MAX_LAYERS} layers; got {len(records)}."
                )
            function_layers.check_compatible(records, config["runtime"], config["architectures"][0])
        function_layers.check_total_size(current.unzipped_size, records)
        self._change_latest(caller, ref, revision_id, config=config, layers=records)
        return self.get(caller, replace(ref, qualifier=None))

    def _attach(self, caller: Caller, arns, config: dict) -> list[dict]:
        records = function_layers.resolve(self._layers, caller, arns, region=self._region)
        function_layers.check_compatible(records, config["runtime"], config["architectures"][0])
        return records

    def _change_latest(
        self, caller: Caller, ref: FunctionRef, revision_id: str | None, **values
    ) -> None:
        with self._db.write() as session:
            row = self._function_row(session, caller.account_id, ref.name, lock=True)
            if revision_id is not None and revision_id != row.revision_id:
                raise PreconditionFailed(
                    "The Revision Id provided does not match the latest Revision Id. Call the "
                    "GetFunction/GetAlias API to retrieve the latest Revision Id"
                )
            for key, value in values.items():
                setattr(row, key, value)
            row.revision_id = str(uuid.uuid4())
            row.last_modified = datetime.now(timezone.utc)

    # -- versions --------------------------------------------------------------------------

    def publish_version(
        self,
        caller: Caller,
        ref: FunctionRef,
        *,
        code_sha256: str | None = None,
        description: str | None = None,
        revision_id: str | None = None,
    ) -> FunctionView:
        """Snapshot $LATEST; when nothing changed since the newest version, that version."""
        self._require_own(caller, ref, "lambda:PublishVersion")
        self._require_latest(ref)
        if description is not None:
            function_settings.check({"description": description})
        with self._db.write() as session:
            row = self._function_row(session, caller.account_id, ref.name, lock=True)
            latest = self._latest_view(caller.account_id, row)
            if code_sha256 is not None and code_sha256 != latest.code_sha256:
                raise PreconditionFailed(
                    f"CodeSha256 ({code_sha256}) is different from current CodeSha256 in $LATEST "
                    f"({latest.code_sha256}). Please try again with the CodeSha256 in $LATEST."
                )
            if revision_id is not None and revision_id != row.revision_id:
                raise PreconditionFailed(
                    "The Revision Id provided does not match the latest Revision Id. Call the "
                    "GetFunction/GetAlias API to retrieve the latest Revision Id"
                )
            newest = session.scalar(
                select(FunctionVersion)
                .where(FunctionVersion.function_id == row.id)
                .order_by(FunctionVersion.version.desc())
                .limit(1)
            )
            if newest is not None and _same_snapshot(newest, row):
                return self._version_view(caller.account_id, row, newest)
            number = session.execute(
                update(Function)
                .where(Function.id == row.id)
                .values(latest_version=Function.latest_version + 1)
                .returning(Function.latest_version)
            ).scalar_one()
            config = dict(row.config)
            if description is not None:
                config["description"] = description
            version = FunctionVersion(
                function_id=row.id,
                version=number,
                code_digest=row.code_digest,
                code_size=row.code_size,
                unzipped_size=row.unzipped_size,
                config=config,
                layers=row.layers,
                revision_id=str(uuid.uuid4()),
                last_modified=datetime.now(timezone.utc),
            )
            session.add(version)
            session.flush()
            return self._version_view(caller.account_id, row, version)

    def list_versions(
        self,
        caller: Caller,
        ref: FunctionRef,
        *,
        marker: str | None = None,
        max_items: int = MAX_ITEMS,
    ) -> Page:
        """$LATEST first, then the published versions in ascending order."""
        self._require_own(caller, ref, "lambda:ListVersionsByFunction")
        after = decode_version_marker(marker, signed=True)
        position = -1 if after is None else after
        with self._db.read() as session:
            row = self._function_row(session, caller.account_id, ref.name)
            items = []
            if position < 0:
                items.append(self._latest_view(caller.account_id, row))
            query = (
                select(FunctionVersion)
                .where(
                    FunctionVersion.function_id == row.id,
                    FunctionVersion.version > max(position, 0),
                )
                .order_by(FunctionVersion.version)
                .limit(max_items + 1)
            )
            items += [self._version_view(caller.account_id, row, v) for v in session.scalars(query)]
        return first_page(items, max_items, key=lambda v: "0" if v.version == LATEST else v.version)

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

    # -- read and resolve --------------------------------------------------------------------

    def get(self, caller: Caller, ref: FunctionRef) -> FunctionView:
        """$LATEST, a published version or the version an alias points at."""
        self._require_own(caller, ref, "lambda:GetFunction")
        with self._db.read() as session:
            row = self._function_row(session, caller.account_id, ref.name)
            qualifier = ref.qualifier or LATEST
            if qualifier == LATEST:
                return self._latest_view(caller.account_id, row)
            if not VERSION.fullmatch(qualifier):
                alias = self._alias_row(session, row, qualifier)
                qualifier = alias.function_version
                if qualifier == LATEST:
                    return self._latest_view(caller.account_id, row)
            version = session.scalar(
                select(FunctionVersion).where(
                    FunctionVersion.function_id == row.id, FunctionVersion.version == int(qualifier)
                )
            )
            if version is None:
                raise ResourceNotFound(
                    f"Function not found: {function_arn(self._region, caller.account_id, ref.name, qualifier)}"
                )
            return self._version_view(caller.account_id, row, version)

    # -- delete ------------------------------------------------------------------------------

    def delete(self, caller: Caller, ref: FunctionRef) -> list[FunctionView]:
        """The whole function (no qualifier) or one published version; returns what was deleted,
        so that warm environments of it can be let go."""
        self._require_own(caller, ref, "lambda:DeleteFunction")
        with self._db.write() as session:
            row = self._function_row(session, caller.account_id, ref.name, lock=True)
            if ref.qualifier is None:
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
            if ref.qualifier == LATEST:
                raise InvalidParameterValue(
                    "$LATEST version cannot be deleted without deleting the function."
                )
            if not VERSION.fullmatch(ref.qualifier):
                raise InvalidParameterValue(
                    f"Deletion of aliases is not supported here: call DeleteAlias for {ref.qualifier}."
                )
            referencing = sorted(
                session.scalars(
                    select(FunctionAlias.name).where(
                        FunctionAlias.function_id == row.id,
                        FunctionAlias.function_version == ref.qualifier,
                    )
                )
            )
            if referencing:
                raise ResourceConflict(
                    f"Unable to delete version because the following aliases reference it: {referencing}"
                )
            version = session.scalar(
                select(FunctionVersion).where(
                    FunctionVersion.function_id == row.id,
                    FunctionVersion.version == int(ref.qualifier),
                )
            )
            if version is None:
                return []
            gone = [self._version_view(caller.account_id, row, version)]
            session.execute(
                delete(ProvisionedConcurrency).where(
                    ProvisionedConcurrency.function_id == row.id,
                    ProvisionedConcurrency.qualifier == ref.qualifier,
                )
            )
            session.delete(version)
            return gone

    # -- aliases -------------------------------------------------------------------------------

    def create_alias(
        self,
        caller: Caller,
        ref: FunctionRef,
        name: str,
        function_version: str,
        *,
        description: str = "",
        routing: dict | None = None,
    ) -> AliasView:
        self._require_own(caller, ref, "lambda:CreateAlias")
        self._require_latest(ref)
        check_alias_name(name)
        function_settings.check({"description": description})
        _refuse_routing(routing)
        try:
            with self._db.write() as session:
                row = self._function_row(session, caller.account_id, ref.name)
                self._check_version_exists(session, row, function_version)
                alias = FunctionAlias(
                    function_id=row.id,
                    name=name,
                    function_version=function_version,
                    description=description,
                    revision_id=str(uuid.uuid4()),
                )
                session.add(alias)
                session.flush()
        except IntegrityError:
            raise ResourceConflict(
                f"Alias already exists: {function_arn(self._region, caller.account_id, ref.name, name)}"
            ) from None
        return self._alias_view(caller.account_id, ref.name, alias)

    def get_alias(self, caller: Caller, ref: FunctionRef, name: str) -> AliasView:
        self._require_own(caller, ref, "lambda:GetAlias")
        check_alias_name(name)
        with self._db.read() as session:
            row = self._function_row(session, caller.account_id, ref.name)
            return self._alias_view(
                caller.account_id, ref.name, self._alias_row(session, row, name)
            )

    def update_alias(
        self,
        caller: Caller,
        ref: FunctionRef,
        name: str,
        *,
        function_version: str | None = None,
        description: str | None = None,
        routing: dict | None = None,
        revision_id: str | None = None,
    ) -> AliasView:
        self._require_own(caller, ref, "lambda:UpdateAlias")
        check_alias_name(name)
        if description is not None:
            function_settings.check({"description": description})
        _refuse_routing(routing)
        with self._db.write() as session:
            row = self._function_row(session, caller.account_id, ref.name)
            alias = self._alias_row(session, row, name)
            if revision_id is not None and revision_id != alias.revision_id:
                raise PreconditionFailed(
                    "The Revision Id provided does not match the latest Revision Id. Call the "
                    "GetFunction/GetAlias API to retrieve the latest Revision Id"
                )
            if function_version is not None:
                self._check_version_exists(session, row, function_version)
                alias.function_version = function_version
            if description is not None:
                alias.description = description
            alias.revision_id = str(uuid.uuid4())
            return self._alias_view(caller.account_id, ref.name, alias)

    def delete_alias(self, caller: Caller, ref: FunctionRef, name: str) -> None:
        """Idempotent, as on Lambda."""
        self._require_own(caller, ref, "lambda:DeleteAlias")
        check_alias_name(name)
        with self._db.write() as session:
            row = self._function_row(session, caller.account_id, ref.name)
            session.execute(
                delete(ProvisionedConcurrency).where(
                    ProvisionedConcurrency.function_id == row.id,
                    ProvisionedConcurrency.qualifier == name,
                )
            )
            session.execute(
                delete(FunctionAlias).where(
                    FunctionAlias.function_id == row.id, FunctionAlias.name == name
                )
            )

    def list_aliases(
        self,
        caller: Caller,
        ref: FunctionRef,
        *,
        function_version: str | None = None,
        marker: str | None = None,
        max_items: int = MAX_ITEMS,
    ) -> Page:
        self._require_own(caller, ref, "lambda:ListAliases")
        after = decode_marker(marker, joined=True)
        with self._db.read() as session:
            row = self._function_row(session, caller.account_id, ref.name)
            query = (
                select(FunctionAlias)
                .where(FunctionAlias.function_id == row.id)
                .order_by(FunctionAlias.name)
            )
            if function_version is not None:
                query = query.where(FunctionAlias.function_version == function_version)
            if after:
                query = query.where(FunctionAlias.name > after)
            items = [
                self._alias_view(caller.account_id, ref.name, a)
                for a in session.scalars(query.limit(max_items + 1))
            ]
        return first_page(items, max_items, key=lambda a: a.name)

    # -- helpers -----------------------------------------------------------------------------

    def _require_own(self, caller: Caller, ref: FunctionRef, action: str) -> None:
        require_own(
            ref,
            caller.account_id,
            action,
            function_arn(self._region, ref.account_id or caller.account_id, ref.name),
        )

    def _require_latest(self, ref: FunctionRef) -> None:
        if ref.qualifier not in (None, LATEST):
            raise InvalidParameterValue(
                f"Only $LATEST can be changed; {ref.qualifier} is a published version or an alias."
            )

    def _function_row(self, session, account_id: str, name: str, *, lock: bool = False) -> Function:
        query = select(Function).where(Function.account_id == account_id, Function.name == name)
        if lock:
            query = query.with_for_update()
        row = session.scalar(query)
        if row is None:
            raise ResourceNotFound(
                f"Function not found: {function_arn(self._region, account_id, name)}"
            )
        return row

    def _alias_row(self, session, row: Function, name: str) -> FunctionAlias:
        alias = session.scalar(
            select(FunctionAlias).where(
                FunctionAlias.function_id == row.id, FunctionAlias.name == name
            )
        )
        if alias is None:
            raise ResourceNotFound(
                f"Alias not found: {function_arn(self._region, row.account_id, row.name, name)}"
            )
        return alias

    def _check_version_exists(self, session, row: Function, version: str) -> None:
        if version == LATEST:
            return
        if not isinstance(version, str) or not VERSION.fullmatch(version):
            raise InvalidParameterValue(
                f"FunctionVersion {version!r} is not valid: use $LATEST or a version number."
            )
        check_version(version)
        found = session.scalar(
            select(FunctionVersion.id).where(
                FunctionVersion.function_id == row.id, FunctionVersion.version == int(version)
            )
        )
        if found is None:
            raise ResourceNotFound(
                f"Function not found: {function_arn(self._region, row.account_id, row.name, version)}"
            )

    def _latest_view(self, account_id: str, row: Function) -> FunctionView:
        return FunctionView(
            region=self._region,
            account_id=account_id,
            function_id=row.id,
            name=row.name,
            version=LATEST,
            code_digest=row.code_digest,
            code_size=row.code_size,
            unzipped_size=row.unzipped_size,
            config=dict(row.config),
            layers=list(row.layers),
            revision_id=row.revision_id,
            last_modified=row.last_modified,
            tags=dict(row.tags or {}),
        )

    def _version_view(
        self, account_id: str, row: Function, version: FunctionVersion
    ) -> FunctionView:
        return FunctionView(
            region=self._region,
            account_id=account_id,
            function_id=row.id,
            name=row.name,
            version=str(version.version),
            code_digest=version.code_digest,
            code_size=version.code_size,
            unzipped_size=version.unzipped_size,
            config=dict(version.config),
            layers=list(version.layers),
            revision_id=version.revision_id,
            last_modified=version.last_modified,
            tags=dict(row.tags or {}),
        )

    def _alias_view(self, account_id: str, function_name: str, alias: FunctionAlias) -> AliasView:
        return AliasView(
            region=self._region,
            account_id=account_id,
            function_name=function_name,
            name=alias.name,
            function_version=alias.function_version,
            description=alias.description,
            revision_id=alias.revision_id,
        )


def _same_snapshot(version: FunctionVersion, row: Function) -> bool:
    def settings(config: dict) -> dict:
        return {k: v for k, v in config.items() if k != "description"}

    return (
        version.code_digest == row.code_digest
        and settings(version.config) == settings(row.config)
        and [layer["id"] for layer in version.layers] == [layer["id"] for layer in row.layers]
    )


def _order(version: str) -> int:
    return 0 if version == LATEST else int(version)


def _refuse_routing(routing) -> None:
    if routing is None:
        return
    weights = routing.get("AdditionalVersionWeights") if isinstance(routing, dict) else routing
    if weights:
        raise InvalidParameterValue(
            "Weighted alias routing (RoutingConfig.AdditionalVersionWeights) is not supported: "
            "point the alias at one version."
        )
