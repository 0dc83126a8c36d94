"""Lambda's function states: a function or version is Pending while its bundle (code merged with
its layers) is first prepared, then Active or Failed; a change to $LATEST is InProgress until the
new bundle is prepared, then Successful or Failed.

The state lives in columns of the function's and each version's row. A change records the
revision it made; settling is a conditional update on that revision, so a preparation that
finishes after a newer change never overwrites the newer change's state, and preparing the same
revision twice (two processes, or a retry after a crash) settles it once.
"""

from __future__ import annotations

import uuid

from sqlalchemy import update

from registry.errors import ResourceConflict
from registry.models import Function

PENDING, ACTIVE, FAILED = "Pending", "Active", "Failed"
IN_PROGRESS, SUCCESSFUL = "InProgress", "Successful"
# AWS's words for a function or version being created, and for an update being applied.
CREATING_REASON = "The function is being created."
CREATING_CODE = "Creating"

_BUSY = "The operation cannot be performed at this time."


def creating() -> dict:
    """The columns of a function or version that is being created."""
    return {
        "state": PENDING,
        "state_reason": CREATING_REASON,
        "state_reason_code": CREATING_CODE,
        "last_update_status": IN_PROGRESS,
        "last_update_status_reason": CREATING_REASON,
        "last_update_status_reason_code": CREATING_CODE,
    }


def updating() -> dict:
    """The columns of $LATEST while a change to it is applied (its State is kept)."""
    return {
        "last_update_status": IN_PROGRESS,
        "last_update_status_reason": CREATING_REASON,
        "last_update_status_reason_code": CREATING_CODE,
    }


def require_settled(row, arn: str) -> None:
    """Lambda applies one change at a time: another waits until the function is created and
    the last update is applied."""
    if row.state == PENDING:
        raise ResourceConflict(f"{_BUSY} The function is currently in the following state: Pending")
    if row.last_update_status == IN_PROGRESS:
        raise ResourceConflict(f"{_BUSY} An update is in progress for resource: {arn}")


def runs_own_revision(row) -> bool:
    """Whether invocations of a function (or version) row run its own revision: it is Active
    and its last update was applied."""
    return row.state == ACTIVE and row.last_update_status == SUCCESSFUL


def require_invocable(state: str) -> None:
    """A function runs once it is Active; while it is created, or after it failed, Lambda refuses
    invocations (during an update the function stays Active and runs)."""
    if state != ACTIVE:
        raise ResourceConflict(f"{_BUSY} The function is currently in the following state: {state}")


def settle(
    session, table, row_id: int, revision_id: str, *, error: tuple[str, str] | None = None
) -> bool:
    """Record the outcome of preparing the revision `revision_id` of a function or version row
    of `table` (Function or FunctionVersion); `error` is (reason, reason code) when its bundle
    cannot be built. Like Lambda, a settled row gets a new RevisionId. False when the row has
    changed since (or is gone), and nothing was recorded."""
    if error is None:
        done = {
            "last_update_status": SUCCESSFUL,
            "last_update_status_reason": None,
            "last_update_status_reason_code": None,
        }
        # A function created Active stays Active; a failed one becomes Active once an update of
        # it succeeds.
        done |= {"state": ACTIVE, "state_reason": None, "state_reason_code": None}
        if table is Function:  # invocations run this revision now, not the one kept meanwhile
            done["running"] = None
    else:
        reason, code = error[0][:1024], error[1]
        done = {
            "last_update_status": FAILED,
            "last_update_status_reason": reason,
            "last_update_status_reason_code": code,
        }
    statement = (
        update(table)
        .where(table.id == row_id, table.revision_id == revision_id)
        .values(revision_id=str(uuid.uuid4()), **done)
    )
    if error is not None:
        # Creating failed: the function (or version) is Failed; an update that failed leaves
        # State as it was.
        failed_creation = (
            update(table)
            .where(table.id == row_id, table.revision_id == revision_id, table.state == PENDING)
            .values(state=FAILED, state_reason=reason, state_reason_code=code)
        )
        session.execute(failed_creation)
    return session.execute(statement).rowcount == 1
