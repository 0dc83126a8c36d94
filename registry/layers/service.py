"""Layers: publish immutable versions, read them, list them, delete them and share them.

Version numbers come from a per-layer counter incremented in the same transaction that inserts the
version, so concurrent publishes get distinct, gapless numbers and a number is never reused (a
delete only marks the row). Blobs are stored before the rows are committed: a publish that dies
midway leaves at most an unreferenced blob, which `strata gc` reclaims.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, selectinload

from registry import validation
from registry.accounts import Caller
from registry.archive.limits import ZipLimits
from registry.archives import ZipContent, code_sha256, store_archive
from registry.db import Database
from registry.errors import (
    AccessDenied,
    CodeStorageExceeded,
    InvalidParameterValue,
    PolicyLengthExceeded,
    PreconditionFailed,
    ResourceConflict,
    ResourceNotFound,
)
from registry.layers import policy
from registry.layers.arns import LayerRef, layer_arn, layer_version_arn
from registry.models import Layer, LayerVersion, LayerVersionGrant
from registry.paging import Page, decode_marker, decode_version_marker, first_page
from storage.base import BlobStore

DEFAULT_CODE_STORAGE_QUOTA = 75 * 1024**3
_LAYERS, _VERSIONS, _GRANTS = Layer.__table__, LayerVersion.__table__, LayerVersionGrant.__table__
_LIVE_VERSION = (
    select(_VERSIONS)
    .join(_LAYERS, _LAYERS.c.id == _VERSIONS.c.layer_id)
    .where(
        _LAYERS.c.account_id == bindparam("owner"),
        _LAYERS.c.name == bindparam("name"),
        _VERSIONS.c.version == bindparam("version"),
        _VERSIONS.c.deleted_at.is_(None),
    )
)
_GRANTS_OF = (
    select(_GRANTS).where(_GRANTS.c.layer_version_id == bindparam("id")).order_by(_GRANTS.c.id)
)


@dataclass(frozen=True)
class LayerVersionView:
    region: str
    account_id: str
    name: str
    version: int
    description: str
    license_info: str | None
    compatible_runtimes: list[str]
    compatible_architectures: list[str]
    digest: str
    code_size: int
    unzipped_size: int
    created_at: datetime
    row_id: int  # what functions reference, so a later delete does not break them

    @property
    def layer_arn(self) -> str:
        return layer_arn(self.region, self.account_id, self.name)

    @property
    def layer_version_arn(self) -> str:
        return layer_version_arn(self.region, self.account_id, self.name, self.version)

    @property
    def code_sha256(self) -> str:
        return code_sha256(self.digest)


class LayerService:
    def __init__(
        self,
        db: Database,
        store: BlobStore,
        *,
        region: str,
        zip_limits: ZipLimits = ZipLimits(),
        code_storage_quota: int = DEFAULT_CODE_STORAGE_QUOTA,
    ):
        self._db = db
        self._store = store
        self._region = region
        self._limits = zip_limits
        self._quota = code_storage_quota

    # -- publish -------------------------------------------------------------------------------

    def publish(
        self,
        caller: Caller,
        ref: LayerRef,
        content: ZipContent,
        *,
        description: str = "",
        license_info: str | None = None,
        compatible_runtimes: list[str] | None = None,
        compatible_architectures: list[str] | None = None,
    ) -> LayerVersionView:
        self._require_own(caller, ref, "lambda:PublishLayerVersion")
        validation.check_length("Description", description, 256)
        if license_info is not None:
            validation.check_length("LicenseInfo", license_info, 512)
        runtimes = validation.check_runtimes(compatible_runtimes)
        architectures = validation.check_architectures(compatible_architectures)

        stored = store_archive(
            self._store,
            content,
            account_id=caller.account_id,
            label=f"layer {ref.name}",
            limits=self._limits,
        )
        now = datetime.now(timezone.utc)
        with self._db.write() as session:
            self._check_quota(session, caller.account_id, stored.size)
            layer = self._next_version(session, caller.account_id, ref.name, now)
            row = LayerVersion(
                layer_id=layer.id,
                version=layer.latest_version,
                description=description,
                license_info=license_info,
                compatible_runtimes=runtimes,
                compatible_architectures=architectures,
                blob_digest=stored.digest,
                code_size=stored.size,
                unzipped_size=stored.unzipped_size,
                created_at=now,
                policy_revision=str(uuid.uuid4()),
            )
            session.add(row)
        return self._view(caller.account_id, ref.name, row)

    def _check_quota(self, session: Session, account_id: str, new_bytes: int) -> None:
        used = session.scalar(
            select(func.coalesce(func.sum(LayerVersion.code_size), 0))
            .join(Layer)
            .where(Layer.account_id == account_id, LayerVersion.deleted_at.is_(None))
        )
        if used + new_bytes > self._quota:
            raise CodeStorageExceeded(
                f"Code storage limit exceeded: the account uses {used} bytes and its quota is "
                f"{self._quota} bytes. Delete unused layer versions."
            )

    def _next_version(self, session: Session, account_id: str, name: str, now: datetime) -> Layer:
        insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
        session.execute(
            insert(Layer)
            .values(account_id=account_id, name=name, latest_version=0, created_at=now)
            .on_conflict_do_nothing(index_elements=["account_id", "name"])
        )
        # The UPDATE takes the row lock: concurrent publishers queue here and each sees the
        # previous one's increment.
        layer_id, version = session.execute(
            update(Layer)
            .where(Layer.account_id == account_id, Layer.name == name)
            .values(latest_version=Layer.latest_version + 1)
            .returning(Layer.id, Layer.latest_version)
        ).one()
        return Layer(id=layer_id, account_id=account_id, name=name, latest_version=version)

    # -- read ----------------------------------------------------------------------------------

    def get_version(self, caller: Caller, ref: LayerRef, version: int) -> LayerVersionView:
        owner = ref.account_id or caller.account_id
        with self._db.connect() as connection:
            row = connection.execute(
                _LIVE_VERSION, {"owner": owner, "name": ref.name, "version": version}
            ).first()
            grants = ()
            if row is not None and owner != caller.account_id:
                grants = connection.execute(_GRANTS_OF, {"id": row.id}).all()
        self._check_readable(caller, owner, ref.name, version, row, grants)
        return self._view(owner, ref.name, row)

    def list_layers(
        self,
        caller: Caller,
        *,
        runtime: str | None = None,
        architecture: str | None = None,
        marker: str | None = None,
        max_items: int = 50,
    ) -> Page:
        """The caller's layers that have a live version matching the filters, by name, each with
        its newest matching version."""
        after = decode_marker(marker)
        with self._db.read() as session:
            query = (
                select(Layer, LayerVersion)
                .join(LayerVersion, LayerVersion.layer_id == Layer.id)
                .where(Layer.account_id == caller.account_id, LayerVersion.deleted_at.is_(None))
                .order_by(Layer.name, LayerVersion.version.desc())
            )
            if after is not None:
                query = query.where(Layer.name > after)
            latest: dict[str, LayerVersionView] = {}
            for layer, row in session.execute(query):
                if layer.name in latest or not _matches(row, runtime, architecture):
                    continue
                latest[layer.name] = self._view(caller.account_id, layer.name, row)
                if len(latest) > max_items:
                    break
        return first_page(list(latest.values()), max_items, key=lambda v: v.name)

    def list_versions(
        self,
        caller: Caller,
        ref: LayerRef,
        *,
        runtime: str | None = None,
        architecture: str | None = None,
        marker: str | None = None,
        max_items: int = 50,
    ) -> Page:
        """Live versions the caller may read, newest first. An unknown layer lists nothing."""
        owner = ref.account_id or caller.account_id
        before = decode_version_marker(marker)
        with self._db.read() as session:
            query = (
                select(LayerVersion)
                .join(Layer)
                .where(
                    Layer.account_id == owner,
                    Layer.name == ref.name,
                    LayerVersion.deleted_at.is_(None),
                )
                .order_by(LayerVersion.version.desc())
            )
            if owner != caller.account_id:
                query = query.options(selectinload(LayerVersion.grants))
            if before is not None:
                query = query.where(LayerVersion.version < before)
            items = []
            for row in session.scalars(query):
                if owner != caller.account_id and not policy.can_read(caller, owner, row.grants):
                    continue
                if _matches(row, runtime, architecture):
                    items.append(self._view(owner, ref.name, row))
                    if len(items) > max_items:
                        break
        return first_page(items, max_items, key=lambda v: str(v.version))

    # -- delete --------------------------------------------------------------------------------

    def delete_version(self, caller: Caller, ref: LayerRef, version: int) -> None:
        """Idempotent. The number stays spent, and functions already using the version keep it."""
        self._require_own(caller, ref, "lambda:DeleteLayerVersion")
        with self._db.write() as session:
            session.execute(
                update(LayerVersion)
                .where(
                    LayerVersion.layer_id.in_(
                        select(Layer.id).where(
                            Layer.account_id == caller.account_id, Layer.name == ref.name
                        )
                    ),
                    LayerVersion.version == version,
                    LayerVersion.deleted_at.is_(None),
                )
                .values(deleted_at=datetime.now(timezone.utc))
            )

    # -- sharing -------------------------------------------------------------------------------

    def add_permission(
        self,
        caller: Caller,
        ref: LayerRef,
        version: int,
        *,
        statement_id: str,
        action: str,
        principal: str,
        organization_id: str | None = None,
        revision_id: str | None = None,
    ) -> tuple[str, str]:
        """Returns (statement as JSON, new revision id)."""
        self._require_own(caller, ref, "lambda:AddLayerVersionPermission")
        validation.check_statement_id(statement_id)
        if action != policy.GET_LAYER_VERSION:
            raise InvalidParameterValue(
                f"Action {action!r} is not valid: the only action a layer version can grant is "
                f"{policy.GET_LAYER_VERSION}."
            )
        validation.check_principal(principal)
        if organization_id is not None:
            validation.check_organization_id(organization_id)
            if principal != "*":
                raise InvalidParameterValue(
                    "OrganizationId can only be used with Principal '*' (every account of the organization)."
                )
        with self._db.write() as session:
            row = self._own_version_for_update(session, caller, ref, version)
            _check_revision(row, revision_id)
            if any(g.statement_id == statement_id for g in row.grants):
                raise ResourceConflict(
                    f"The statement id ({statement_id}) provided already exists. Please provide a "
                    "new statement id, or remove the existing statement."
                )
            grant = LayerVersionGrant(
                statement_id=statement_id,
                action=action,
                principal=principal,
                organization_id=organization_id,
            )
            row.grants.append(grant)
            arn = layer_version_arn(self._region, caller.account_id, ref.name, version)
            if len(policy.policy_document(row.grants, arn)) > policy.MAX_POLICY_BYTES:
                raise PolicyLengthExceeded(
                    f"The policy of {arn} would exceed {policy.MAX_POLICY_BYTES} bytes; remove statements first."
                )
            row.policy_revision = str(uuid.uuid4())
            document = policy.statement(grant, arn)
        return json.dumps(document, separators=(",", ":")), row.policy_revision

    def remove_permission(
        self,
        caller: Caller,
        ref: LayerRef,
        version: int,
        statement_id: str,
        *,
        revision_id: str | None = None,
    ) -> None:
        self._require_own(caller, ref, "lambda:RemoveLayerVersionPermission")
        validation.check_statement_id(statement_id)
        with self._db.write() as session:
            row = self._own_version_for_update(session, caller, ref, version)
            _check_revision(row, revision_id)
            grant = next((g for g in row.grants if g.statement_id == statement_id), None)
            if grant is None:
                raise ResourceNotFound(f"Statement {statement_id} is not found in resource policy.")
            session.delete(grant)
            row.policy_revision = str(uuid.uuid4())

    def get_policy(self, caller: Caller, ref: LayerRef, version: int) -> tuple[str, str]:
        """Returns (policy document as JSON, revision id)."""
        self._require_own(caller, ref, "lambda:GetLayerVersionPolicy")
        with self._db.read() as session:
            row = self._own_version(session, caller, ref, version)
            if not row.grants:
                raise ResourceNotFound("No policy is associated with the given resource.")
            arn = layer_version_arn(self._region, caller.account_id, ref.name, version)
            return policy.policy_document(row.grants, arn), row.policy_revision

    # -- helpers -------------------------------------------------------------------------------

    def _require_own(self, caller: Caller, ref: LayerRef, action: str) -> None:
        if ref.account_id not in (None, caller.account_id):
            raise AccessDenied(
                f"User: arn:aws:iam::{caller.account_id}:root is not authorized to perform: "
                f"{action} on resource: {layer_arn(self._region, ref.account_id, ref.name)} "
                "(only the owning account can change a layer)"
            )

    def _version_query(self, owner: str, name: str, version: int):
        return (
            select(LayerVersion)
            .join(Layer)
            .where(
                Layer.account_id == owner,
                Layer.name == name,
                LayerVersion.version == version,
                LayerVersion.deleted_at.is_(None),
            )
            .options(selectinload(LayerVersion.grants))
        )

    def _own_version(
        self, session: Session, caller: Caller, ref: LayerRef, version: int
    ) -> LayerVersion:
        row = session.scalar(self._version_query(caller.account_id, ref.name, version))
        if row is None:
            raise ResourceNotFound(self._missing(caller.account_id, ref.name, version))
        return row

    def _own_version_for_update(self, session, caller, ref, version) -> LayerVersion:
        row = session.scalar(
            self._version_query(caller.account_id, ref.name, version).with_for_update(
                of=LayerVersion
            )
        )
        if row is None:
            raise ResourceNotFound(self._missing(caller.account_id, ref.name, version))
        return row

    def _check_readable(
        self, caller: Caller, owner: str, name: str, version: int, row, grants
    ) -> None:
        if owner == caller.account_id:
            if row is None:
                raise ResourceNotFound(self._missing(owner, name, version))
            return
        arn = layer_version_arn(self._region, owner, name, version)
        if row is None:
            raise AccessDenied(
                f"Layer version {arn} does not exist (no such layer version in account {owner})."
            )
        if not policy.can_read(caller, owner, grants):
            raise AccessDenied(
                f"User: arn:aws:iam::{caller.account_id}:root is not authorized to perform: "
                f"lambda:GetLayerVersion on resource: {arn} (the layer version is not shared with "
                "your account)"
            )

    def _missing(self, owner: str, name: str, version: int) -> str:
        return (
            f"Layer version {layer_version_arn(self._region, owner, name, version)} does not exist."
        )

    def _view(self, account_id: str, name: str, row: LayerVersion) -> LayerVersionView:
        return LayerVersionView(
            region=self._region,
            account_id=account_id,
            name=name,
            version=row.version,
            description=row.description,
            license_info=row.license_info,
            compatible_runtimes=list(row.compatible_runtimes or []),
            compatible_architectures=list(row.compatible_architectures or []),
            digest=row.blob_digest,
            code_size=row.code_size,
            unzipped_size=row.unzipped_size,
            created_at=row.created_at,
            row_id=row.id,
        )


def _matches(row: LayerVersion, runtime: str | None, architecture: str | None) -> bool:
    if runtime and runtime not in (row.compatible_runtimes or []):
        return False
    if architecture and architecture not in (row.compatible_architectures or []):
        return False
    return True


def _check_revision(row: LayerVersion, revision_id: str | None) -> None:
    if revision_id is not None and revision_id != row.policy_revision:
        raise PreconditionFailed(
            "The RevisionId provided does not match the latest RevisionId for the layer version. "
            "Call GetLayerVersionPolicy to retrieve the latest RevisionId."
        )
