"""What the layer service's parts share: the owning account's check, the not-found message, and
rows shown as views."""

from __future__ import annotations

from registry.accounts import Caller
from registry.db import Database
from registry.errors import AccessDenied
from registry.layers.arns import LayerRef, layer_arn, layer_version_arn
from registry.layers.views import LayerVersionView
from registry.messages import not_authorized
from registry.models import LayerVersion


class LayerRows:
    _db: Database
    _region: str

    def _require_own(self, caller: Caller, ref: LayerRef, action: str) -> None:
        if ref.account_id not in (None, caller.account_id):
            raise AccessDenied(
                not_authorized(
                    caller.account_id,
                    action,
                    layer_arn(self._region, ref.account_id, ref.name),
                    "only the owning account can change a layer",
                )
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
