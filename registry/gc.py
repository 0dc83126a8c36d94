"""Garbage collection of blobs that no row references.

Publishing stores the blob before committing its rows, so a publish that dies midway leaves an
unreferenced blob. Only blobs older than the grace period are collected, which leaves every
publish still in flight alone, and each candidate's references are checked again right before it
is deleted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.db import Database
from registry.functions import serving
from registry.models import Function, FunctionVersion, LayerVersion
from storage.base import BlobStore

log = logging.getLogger(__name__)

DEFAULT_GRACE = timedelta(hours=1)


@dataclass
class GcReport:
    deleted: list[str] = field(default_factory=list)
    bytes_freed: int = 0
    kept: int = 0
    staging_removed: int = 0


def referenced_digests(session: Session, digests: set[str] | None = None) -> set[str]:
    """Digests still needed: every layer version not deleted, the code of every function and
    function version, and every layer version a function or function version uses, deleted or
    not (a function keeps running with the layers it was created with); and the code and layers
    of the revision a function runs while a change to it is applied."""
    query = select(LayerVersion.blob_digest).where(LayerVersion.deleted_at.is_(None))
    if digests is not None:
        query = query.where(LayerVersion.blob_digest.in_(digests))
    found = set(session.scalars(query))
    for table in (Function, FunctionVersion):
        code = select(table.code_digest)
        if digests is not None:
            code = code.where(table.code_digest.in_(digests))
        found.update(session.scalars(code))
        # Layer records live in a JSON list per row; gc is rare enough to read them all.
        for layers in session.scalars(select(table.layers)):
            found.update(layer["digest"] for layer in layers or ())
    # What $LATEST still runs while a change to it is not applied.
    for running in session.scalars(select(Function.running).where(Function.running.is_not(None))):
        found.update(serving.digests(running))
    return found if digests is None else found & digests


def collect(
    db: Database,
    store: BlobStore,
    *,
    grace: timedelta = DEFAULT_GRACE,
    dry_run: bool = False,
    now: datetime | None = None,
) -> GcReport:
    now = now or datetime.now(timezone.utc)
    with db.read() as session:
        referenced = referenced_digests(session)
    report = GcReport()
    for blob in store.iter_blobs():
        created = blob.created_at
        if created is not None and created.tzinfo is None:
            created = created.replace(tzinfo=timezone.utc)
        if blob.digest in referenced or (created is not None and now - created < grace):
            report.kept += 1
            continue
        with db.read() as session:
            if referenced_digests(session, {blob.digest}):
                report.kept += 1
                continue
        if not dry_run:
            store.delete(blob.digest)
            log.info("deleted unreferenced blob %s (%d bytes)", blob.digest, blob.size)
        report.deleted.append(blob.digest)
        report.bytes_freed += blob.size
    if not dry_run:
        # Partial uploads of puts that died midway (filesystem staging files).
        report.staging_removed = store.sweep_staging(grace)
    return report
