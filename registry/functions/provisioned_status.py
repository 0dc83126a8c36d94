"""The Status of a provisioned concurrency setting, as Lambda answers it: IN_PROGRESS while its
environments are started (after PutProvisionedConcurrencyConfig, or once its alias points at
another version), then READY, or FAILED when they cannot start."""

from __future__ import annotations

from sqlalchemy import update

from registry.models import ProvisionedConcurrency

IN_PROGRESS, READY, FAILED = "IN_PROGRESS", "READY", "FAILED"


def reallocate(session, function_id: int, qualifier: str) -> None:
    """The setting of `qualifier` (an alias that now points at another version) is allocated
    anew: IN_PROGRESS until the new version's environments are warm."""
    session.execute(
        update(ProvisionedConcurrency)
        .where(
            ProvisionedConcurrency.function_id == function_id,
            ProvisionedConcurrency.qualifier == qualifier,
        )
        .values(status=IN_PROGRESS, status_reason=None)
    )
