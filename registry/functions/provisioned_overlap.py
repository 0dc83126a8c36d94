"""Provisioned concurrency may be set on a version or on an alias of it, never on both: Lambda
would otherwise keep two sets of environments for the same code and count both."""

from __future__ import annotations

from sqlalchemy import select

from registry.errors import ResourceConflict
from registry.functions.names import VERSION
from registry.models import FunctionAlias, ProvisionedConcurrency


def check_not_overlapping(session, function_id: int, qualifier: str) -> None:
    """Refuses a setting for `qualifier` when one exists for a version the alias routes to, or
    (for a version) for an alias that routes to it. Also checked when a provisioned alias is
    pointed or routed elsewhere."""
    provisioned = set(
        session.scalars(
            select(ProvisionedConcurrency.qualifier).where(
                ProvisionedConcurrency.function_id == function_id,
                ProvisionedConcurrency.qualifier != qualifier,
            )
        )
    )
    if not provisioned:
        return
    aliases = session.scalars(select(FunctionAlias).where(FunctionAlias.function_id == function_id))
    if VERSION.fullmatch(qualifier):
        if any(a.name in provisioned and qualifier in routed_versions(a) for a in aliases):
            raise ResourceConflict("Version is pointed by a Provisioned Concurrency alias")
        return
    alias = next((a for a in aliases if a.name == qualifier), None)
    if alias is not None and routed_versions(alias) & provisioned:
        raise ResourceConflict(
            "Alias can't be used for Provisioned Concurrency configuration on an already "
            "Provisioned version"
        )


def routed_versions(alias: FunctionAlias) -> set[str]:
    """The version an alias points at, and the one its routing sends a share to."""
    return {alias.function_version, *(alias.routing_config or {})}
