"""Publishing a layer version: the zip checked and stored, then a new number under the account's
code storage quota.

Version numbers come from a per-layer counter incremented in the same transaction that inserts the
version, so concurrent publishes get distinct, gapless numbers and a number is never reused (a
delete only marks the row). Blobs are stored before the rows are committed: a publish that dies
midway leaves at most an unreferenced blob, which `strata gc` reclaims.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timezone

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from registry import validation
from registry.accounts import Caller
from registry.archive.limits import ZipLimits
from registry.archives import ZipContent, store_archive
from registry.db import dialect_insert
from registry.errors import CodeStorageExceeded
from registry.layers.arns import LayerRef
from registry.layers.rows import LayerRows
from registry.layers.views import LayerVersionView
from registry.models import Layer, LayerVersion
from storage.base import BlobStore


class LayerPublishing(LayerRows):
    _store: BlobStore
    _limits: ZipLimits
    _quota: int
    _on_published: Callable[[str], None] | None = None

    def on_published(self, callback: Callable[[str], None]) -> None:
        """`callback(blob digest)` is called after each version is committed; it must not block
        (the publish request waits for it)."""
        self._on_published = callback

    def publish(
        self,
        caller: Caller,
        ref: LayerRef,
        content: ZipContent,
        *,
        description: str = "",
        license_info: str | None = None,
        compatible_runtimes: list[str] | None = None,
        compatible_architectures: list[str] | None = None,
    ) -> LayerVersionView:
        self._require_own(caller, ref, "lambda:PublishLayerVersion")
        validation.check_length("Description", description, 256)
        if license_info is not None:
            validation.check_length("LicenseInfo", license_info, 512)
        runtimes = validation.check_runtimes(compatible_runtimes)
        architectures = validation.check_architectures(compatible_architectures)

        stored = store_archive(
            self._store,
            content,
            account_id=caller.account_id,
            label=f"layer {ref.name}",
            limits=self._limits,
        )
        now = datetime.now(timezone.utc)
        with self._db.write() as session:
            self._check_quota(session, caller.account_id, stored.size)
            layer = self._next_version(session, caller.account_id, ref.name, now)
            row = LayerVersion(
                layer_id=layer.id,
                version=layer.latest_version,
                description=description,
                license_info=license_info,
                compatible_runtimes=runtimes,
                compatible_architectures=architectures,
                blob_digest=stored.digest,
                code_size=stored.size,
                unzipped_size=stored.unzipped_size,
                created_at=now,
                policy_revision=str(uuid.uuid4()),
            )
            session.add(row)
        if self._on_published is not None:
            self._on_published(stored.digest)
        return self._view(caller.account_id, ref.name, row)

    def _check_quota(self, session: Session, account_id: str, new_bytes: int) -> None:
        used = session.scalar(
            select(func.coalesce(func.sum(LayerVersion.code_size), 0))
            .join(Layer)
            .where(Layer.account_id == account_id, LayerVersion.deleted_at.is_(None))
        )
        if used + new_bytes > self._quota:
            raise CodeStorageExceeded(
                f"Code storage limit exceeded: the account uses {used} bytes and its quota is "
                f"{self._quota} bytes. Delete unused layer versions."
            )

    def _next_version(self, session: Session, account_id: str, name: str, now: datetime) -> Layer:
        session.execute(
            dialect_insert(session, Layer.__table__)
            .values(account_id=account_id, name=name, latest_version=0, created_at=now)
            .on_conflict_do_nothing(index_elements=["account_id", "name"])
        )
        # The UPDATE takes the row lock: concurrent publishers queue here and each sees the
        # previous one's increment.
        layer_id, version = session.execute(
            update(Layer)
            .where(Layer.account_id == account_id, Layer.name == name)
            .values(latest_version=Layer.latest_version + 1)
            .returning(Layer.id, Layer.latest_version)
        ).one()
        return Layer(id=layer_id, account_id=account_id, name=name, latest_version=version)
