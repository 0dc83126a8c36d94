"""Layers: publish immutable versions (publishing.py), read them, list them (listing.py), delete
them, and share them (sharing.py). LayerService is the one entry point the API and the function
service use.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import bindparam, select, update

from registry.accounts import Caller
from registry.archive.limits import ZipLimits
from registry.db import Database
from registry.errors import AccessDenied, ResourceNotFound
from registry.layers import policy
from registry.layers.arns import LayerRef, layer_version_arn
from registry.layers.listing import LayerListing
from registry.layers.publishing import LayerPublishing
from registry.layers.sharing import LayerSharing
from registry.layers.views import LayerVersionView
from registry.limits import CODE_STORAGE_QUOTA_BYTES
from registry.messages import not_authorized
from registry.models import Layer, LayerVersion, LayerVersionGrant
from storage.base import BlobStore

_DEFAULT_ZIP_LIMITS = ZipLimits()
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


class LayerService(LayerListing, LayerPublishing, LayerSharing):
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
