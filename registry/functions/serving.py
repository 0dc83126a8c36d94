"""The revision of $LATEST that invocations run.

As on Lambda, a change to $LATEST does not reach invocations until it is applied: while the update
is InProgress they run the previous code and configuration, and after an update that Failed they
keep running it; once an update is Successful they run the new one.

The function's row holds the change as made (what GetFunction shows), so the revision still
running is kept beside it, in the row's `running` column, from the change until an update of it
succeeds: its RevisionId, code, layers and configuration. A row without it runs its own revision.
Invocations read it (`route` in FunctionRows.get) and garbage collection keeps its blobs.
"""

from __future__ import annotations


def keeping(row, *, runs_own: bool) -> dict | None:
    """What invocations of the function row `row` run while a change about to be made to it is
    not applied: what they run now. `runs_own`: whether the row's own revision runs now (it is
    Active and its last update applied). None when nothing runs yet (the function is being
    created, or failed to be)."""
    if row.running is not None:
        return row.running
    if not runs_own:
        return None
    return {
        "revision_id": row.revision_id,
        "code_digest": row.code_digest,
        "code_size": row.code_size,
        "unzipped_size": row.unzipped_size,
        "config": dict(row.config),
        "layers": list(row.layers or ()),
    }


def digests(running: dict | None) -> set[str]:
    """The blobs a kept revision needs (its code and layers), which must outlive it."""
    if running is None:
        return set()
    return {running["code_digest"], *(layer["digest"] for layer in running["layers"])}
