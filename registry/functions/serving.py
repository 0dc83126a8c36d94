"""The revision of $LATEST that invocations run.

As on Lambda, a change to $LATEST does not reach invocations until it is applied: while the update
is InProgress they run the previous code and configuration, and after an update that Failed they
keep running it; once an update is Successful they run the new one.

The function's row holds the change as made (what GetFunction shows), so the revision still
running is kept beside it, in the row's config document under SERVING, from the change until an
update of it succeeds: its RevisionId, code, layers and configuration. A row without it runs its
own revision. Only what reads the row itself needs to know: views and snapshots leave it out
(`shown`), invocations read it (`running`), and garbage collection keeps its blobs (`digests`).
"""

from __future__ import annotations

from sqlalchemy import select

SERVING = "serving"  # no setting of a function has this name


def shown(config: dict) -> dict:
    """$LATEST's configuration as the change made it, without the revision kept running."""
    if SERVING not in config:
        return dict(config)
    return {key: value for key, value in config.items() if key != SERVING}


def running(config: dict) -> dict | None:
    """The revision invocations of $LATEST run instead of the row's own ({revision_id,
    code_digest, code_size, unzipped_size, config, layers}); None when they run the row's."""
    return config.get(SERVING)


def keeping(row, config: dict, *, runs_own: bool) -> dict:
    """The configuration document of a change about to be made to the function row `row`
    (`config`, as the change makes it), with the revision that invocations run now kept running
    until the change is applied. `runs_own`: whether the row's own revision runs now (it is
    Active and its last update applied); when it does not and none is kept, nothing runs yet
    (the function is being created, or failed to be) and nothing is kept."""
    kept = running(row.config)
    if kept is None and runs_own:
        kept = {
            "revision_id": row.revision_id,
            "code_digest": row.code_digest,
            "code_size": row.code_size,
            "unzipped_size": row.unzipped_size,
            "config": shown(row.config),
            "layers": list(row.layers or ()),
        }
    config = shown(config)
    if kept is not None:
        config[SERVING] = kept
    return config


def applied(session, table, row_id: int, revision_id: str) -> dict:
    """The columns that settle a successful update of revision `revision_id`: the row's own
    revision runs from now on, so the kept one is dropped. (Empty for rows that keep none, such
    as published versions.)"""
    config = session.scalar(
        select(table.config).where(table.id == row_id, table.revision_id == revision_id)
    )
    if config is None or SERVING not in config:
        return {}
    return {"config": shown(config)}


def digests(config: dict) -> set[str]:
    """The blobs the kept revision needs (its code and layers), which must outlive it."""
    kept = running(config or {})
    if kept is None:
        return set()
    return {kept["code_digest"], *(layer["digest"] for layer in kept["layers"])}
