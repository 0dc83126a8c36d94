"""What the layer service's parts share: the owning account's check, the not-found message, rows
shown as views, and the SQL conditions the listings filter by."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, bindparam, cast, exists, func, literal, or_, select
from sqlalchemy.dialects.postgresql import JSONB

from registry.accounts import Caller
from registry.db import Database
from registry.errors import AccessDenied
from registry.layers.arns import LayerRef, layer_arn, layer_version_arn
from registry.layers.views import LayerVersionView
from registry.messages import not_authorized
from registry.models import LayerVersion, LayerVersionGrant

_GRANTS = LayerVersionGrant.__table__


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


def compatible(versions, *, runtime: bool, architecture: bool, sqlite: bool) -> list:
    """Conditions on a layer_versions table (or an alias of it) that keep the versions listing the
    runtime and the architecture bound as :runtime and :architecture (see filter_params); a filter
    left out matches every version."""
    conditions = []
    for column, name, wanted in (
        (versions.c.compatible_runtimes, "runtime", runtime),
        (versions.c.compatible_architectures, "architecture", architecture),
    ):
        if wanted:
            conditions.append(_lists(column, name, sqlite=sqlite))
    return conditions


def filter_params(*, runtime: str | None, architecture: str | None, sqlite: bool) -> dict:
    """The parameters of the conditions `compatible` made for these filters."""
    params = {}
    for name, value in (("runtime", runtime), ("architecture", architecture)):
        if value:
            # PostgreSQL asks whether the array contains an array of the one value.
            params[name] = value if sqlite else [value]
    return params


def _lists(column, name: str, *, sqlite: bool) -> ColumnElement[bool]:
    """The JSON array in `column` holds the value bound as `name`."""
    if sqlite:
        elements = func.json_each(column).table_valued("value")
        return exists(
            select(literal(1)).select_from(elements).where(elements.c.value == bindparam(name))
        )
    return cast(column, JSONB).contains(bindparam(name, type_=JSONB))


def shared_with(versions, caller: Caller) -> ColumnElement[bool]:
    """The version has a grant that lets `caller` read it: the SQL side of policy.grant_allows
    for the principals validation lets in (an account id, '*', arn:aws...:iam::ACCOUNT:root).
    The listing still checks each row with policy.can_read."""
    account = caller.account_id
    return exists(
        select(literal(1)).where(
            _GRANTS.c.layer_version_id == versions.c.id,
            or_(
                and_(
                    _GRANTS.c.principal == "*",
                    or_(
                        _GRANTS.c.organization_id.is_(None),
                        _GRANTS.c.organization_id == caller.organization_id,
                    ),
                ),
                _GRANTS.c.principal == account,
                and_(
                    _GRANTS.c.principal.startswith("arn:", autoescape=True),
                    _GRANTS.c.principal.endswith(f":{account}:root", autoescape=True),
                ),
            ),
        )
    )
