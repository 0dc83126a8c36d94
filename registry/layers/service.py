"""Layers: publish immutable versions (publishing.py), read them, list them, delete them, and
share them (sharing.py). LayerService is the one entry point the API and the function service use.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import selectinload

from registry.accounts import Caller
from registry.archive.limits import ZipLimits
from registry.db import Database
from registry.errors import AccessDenied, ResourceNotFound
from registry.layers import policy
from registry.layers.arns import LayerRef, layer_version_arn
from registry.layers.publishing import LayerPublishing
from registry.layers.rows import compatible, shared_with
from registry.layers.sharing import LayerSharing
from registry.layers.views import LayerVersionView
from registry.limits import CODE_STORAGE_QUOTA_BYTES
from registry.messages import not_authorized
from registry.models import Layer, LayerVersion, LayerVersionGrant
from registry.paging import MAX_ITEMS, Page, decode_marker, decode_version_marker, first_page
from storage.base import BlobStore

_DEFAULT_ZIP_LIMITS = ZipLimits()
_LAYERS, _VERSIONS, _GRANTS = Layer.__table__, LayerVersion.__table__, LayerVersionGrant.__table__
# The versions a layer's newest matching version is looked for among, apart from the listed ones.
_NEWEST = _VERSIONS.alias("newest")
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


class LayerService(LayerPublishing, LayerSharing):
    def __init__(
        self,
        db: Database,
        store: BlobStore,
        *,
        region: str,
        zip_limits: ZipLimits = _DEFAULT_ZIP_LIMITS,
        code_storage_quota: int = CODE_STORAGE_QUOTA_BYTES,
    ):
        self._db = db
        self._store = store
        self._region = region
        self._limits = zip_limits
        self._quota = code_storage_quota

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
        max_items: int = MAX_ITEMS,
    ) -> Page:
        """The caller's layers that have a live version matching the filters, by name, each with
        its newest matching version. Reads one page of layers (walking the (account, name) key)
        and, per layer, the newest matching version (walking the (layer, version) key)."""
        after = decode_marker(marker)
        filters = compatible(
            _NEWEST, runtime=runtime, architecture=architecture, sqlite=self._db.is_sqlite
        )
        newest = (
            select(_NEWEST.c.id)
            .where(_NEWEST.c.layer_id == _LAYERS.c.id, _NEWEST.c.deleted_at.is_(None), *filters)
            .order_by(_NEWEST.c.version.desc())
            .limit(1)
            .scalar_subquery()
        )
        layers = (
            select(_LAYERS.c.name, newest.label("version_id"))
            .where(_LAYERS.c.account_id == caller.account_id)
            .order_by(_LAYERS.c.name)
        )
        if after is not None:
            layers = layers.where(_LAYERS.c.name > after)
        listed = layers.subquery()
        # One statement, plain rows: at a page of 50 the ORM's objects cost more than the SQL.
        page_query = (
            select(listed.c.name, _VERSIONS)
            .join(_VERSIONS, _VERSIONS.c.id == listed.c.version_id)
            .order_by(listed.c.name)
            .limit(max_items + 1)
        )
        with self._db.connect() as connection:
            found = connection.execute(page_query).all()
        items = [self._view(caller.account_id, row.name, row) for row in found]
        return first_page(items, max_items, key=lambda v: v.name)

    def list_versions(
        self,
        caller: Caller,
        ref: LayerRef,
        *,
        runtime: str | None = None,
        architecture: str | None = None,
        marker: str | None = None,
        max_items: int = MAX_ITEMS,
    ) -> Page:
        """Live versions the caller may read, newest first. An unknown layer lists nothing. Reads
        one page (walking the (layer, version) key), a little more only when a grant the SQL
        condition let through is refused by policy.can_read."""
        owner = ref.account_id or caller.account_id
        before = decode_version_marker(marker)
        query = (
            select(LayerVersion)
            .join(Layer)
            .where(
                Layer.account_id == owner,
                Layer.name == ref.name,
                LayerVersion.deleted_at.is_(None),
                *compatible(
                    _VERSIONS, runtime=runtime, architecture=architecture, sqlite=self._db.is_sqlite
                ),
            )
            .order_by(LayerVersion.version.desc())
            .limit(max_items + 1)
        )
        shared = owner != caller.account_id
        if shared:
            query = query.where(shared_with(_VERSIONS, caller)).options(
                selectinload(LayerVersion.grants)
            )
        items: list[LayerVersionView] = []
        with self._db.read() as session:
            while len(items) <= max_items:
                rows = session.scalars(
                    query if before is None else query.where(LayerVersion.version < before)
                ).all()
                for row in rows:
                    if not shared or policy.can_read(caller, owner, row.grants):
                        items.append(self._view(owner, ref.name, row))
                if len(rows) <= max_items:
                    break
                before = rows[-1].version
        return first_page(items[: max_items + 1], max_items, key=lambda v: str(v.version))

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
                not_authorized(
                    caller.account_id,
                    policy.GET_LAYER_VERSION,
                    arn,
                    "the layer version is not shared with your account",
                )
            )
