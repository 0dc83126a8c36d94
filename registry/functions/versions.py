"""Published versions of a function: immutable snapshots of $LATEST, listed and deleted.

Version numbers come from a per-function counter incremented in the transaction that inserts the
version, like layer versions: distinct under concurrency and never reused while the function
exists.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import delete, select, update

from registry.accounts import Caller
from registry.errors import InvalidParameterValue, ResourceConflict
from registry.functions import settings as function_settings
from registry.functions import states as function_states
from registry.functions.names import LATEST, VERSION, FunctionRef, function_arn
from registry.functions.rows import FunctionRows, check_revision
from registry.functions.views import FunctionView
from registry.models import Function, FunctionAlias, FunctionVersion, ProvisionedConcurrency
from registry.paging import MAX_ITEMS, Page, decode_version_marker, first_page


class FunctionVersions(FunctionRows):
    def publish_version(
        self,
        caller: Caller,
        ref: FunctionRef,
        *,
        code_sha256: str | None = None,
        description: str | None = None,
        revision_id: str | None = None,
    ) -> FunctionView:
        """Snapshot $LATEST; when nothing changed since the newest version, that version."""
        self._require_own(caller, ref, "lambda:PublishVersion")
        self._require_latest(ref)
        if description is not None:
            function_settings.check({"description": description})
        return self._publish(
            caller, ref, code_sha256=code_sha256, description=description, revision_id=revision_id
        )

    def _publish(
        self,
        caller: Caller,
        ref: FunctionRef,
        *,
        code_sha256: str | None = None,
        description: str | None = None,
        revision_id: str | None = None,
        unsettled: bool = False,
    ) -> FunctionView:
        """PublishVersion; `unsettled` when the change that publishes (CreateFunction or
        UpdateFunctionCode with Publish) has just made $LATEST Pending or InProgress itself."""
        with self._db.write() as session:
            row = self._function_row(session, caller.account_id, ref.name, lock=True)
            if not unsettled:
                function_states.require_settled(
                    row, function_arn(self._region, caller.account_id, row.name)
                )
            latest = self._latest_view(caller.account_id, row)
            # Lambda checks the RevisionId first; a CodeSha256 that differs is a bad parameter.
            check_revision(row.revision_id, revision_id)
            if code_sha256 is not None and code_sha256 != latest.code_sha256:
                raise InvalidParameterValue(
                    f"CodeSHA256 ({code_sha256}) is different from current CodeSHA256 in $LATEST "
                    f"({latest.code_sha256}). Please try again with the CodeSHA256 in $LATEST."
                )
            newest = session.scalar(
                select(FunctionVersion)
                .where(FunctionVersion.function_id == row.id)
                .order_by(FunctionVersion.version.desc())
                .limit(1)
            )
            if newest is not None and _same_snapshot(newest, row, description):
                return self._version_view(caller.account_id, row, newest)
            version = _snapshot(session, row, description)
            view = self._version_view(caller.account_id, row, version)
        self._changed()
        return view

    def list_versions(
        self,
        caller: Caller,
        ref: FunctionRef,
        *,
        marker: str | None = None,
        max_items: int = MAX_ITEMS,
    ) -> Page:
        """$LATEST first, then the published versions in ascending order."""
        self._require_own(caller, ref, "lambda:ListVersionsByFunction")
        after = decode_version_marker(marker, signed=True)
        position = -1 if after is None else after
        with self._db.read() as session:
            row = self._function_row(session, caller.account_id, ref.name)
            items = []
            if position < 0:
                items.append(self._latest_view(caller.account_id, row))
            query = (
                select(FunctionVersion)
                .where(
                    FunctionVersion.function_id == row.id,
                    FunctionVersion.version > max(position, 0),
                )
                .order_by(FunctionVersion.version)
                .limit(max_items + 1)
            )
            items += [self._version_view(caller.account_id, row, v) for v in session.scalars(query)]
        return first_page(items, max_items, key=lambda v: "0" if v.version == LATEST else v.version)

    def _delete_version(
        self, session, caller: Caller, row: Function, qualifier: str
    ) -> list[FunctionView]:
        """One published version (DeleteFunction with a version qualifier), unless an alias
        points at it."""
        if qualifier == LATEST:
            raise InvalidParameterValue(
                "$LATEST version cannot be deleted without deleting the function."
            )
        if not VERSION.fullmatch(qualifier):
            raise InvalidParameterValue("Deletion of aliases is not currently supported.")
        # An alias that sends a weighted share to the version references it too.
        referencing = sorted(
            alias.name
            for alias in session.scalars(
                select(FunctionAlias).where(FunctionAlias.function_id == row.id)
            )
            if qualifier == alias.function_version or qualifier in (alias.routing_config or {})
        )
        if referencing:
            raise ResourceConflict(
                "Unable to delete version because the following aliases reference it: "
                f"{referencing}"
            )
        version = session.scalar(
            select(FunctionVersion).where(
                FunctionVersion.function_id == row.id,
                FunctionVersion.version == int(qualifier),
            )
        )
        if version is None:
            return []
        gone = [self._version_view(caller.account_id, row, version)]
        session.execute(
            delete(ProvisionedConcurrency).where(
                ProvisionedConcurrency.function_id == row.id,
                ProvisionedConcurrency.qualifier == qualifier,
            )
        )
        session.delete(version)
        return gone


def _same_snapshot(version: FunctionVersion, row: Function, description: str | None) -> bool:
    """Whether publishing now would repeat `version`: Lambda publishes again when the code, any
    setting (the description included) or the layers differ."""
    wanted = dict(row.config)
    if description is not None:
        wanted["description"] = description
    return (
        version.code_digest == row.code_digest
        and version.config == wanted
        and [layer["id"] for layer in version.layers] == [layer["id"] for layer in row.layers]
    )


def _snapshot(session, row: Function, description: str | None) -> FunctionVersion:
    """A new version holding $LATEST as it is, numbered by the function's counter."""
    number = session.execute(
        update(Function)
        .where(Function.id == row.id)
        .values(latest_version=Function.latest_version + 1)
        .returning(Function.latest_version)
    ).scalar_one()
    config = dict(row.config)
    if description is not None:
        config["description"] = description
    version = FunctionVersion(
        function_id=row.id,
        version=number,
        code_digest=row.code_digest,
        code_size=row.code_size,
        unzipped_size=row.unzipped_size,
        config=config,
        layers=row.layers,
        revision_id=str(uuid.uuid4()),
        last_modified=datetime.now(timezone.utc),
        **function_states.creating(),
    )
    session.add(version)
    session.flush()
    return version
