"""What the function service's parts share: a function's rows found by name and qualifier (or
refused), the RevisionId precondition, and rows shown as views."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from sqlalchemy import bindparam, select

from registry.accounts import Caller
from registry.db import Database
from registry.errors import InvalidParameterValue, PreconditionFailed, ResourceNotFound
from registry.functions import routing
from registry.functions.names import LATEST, VERSION, FunctionRef, function_arn, require_own
from registry.functions.states import ACTIVE, SUCCESSFUL
from registry.functions.views import AliasView, FunctionView
from registry.messages import REVISION_MISMATCH, alias_not_found, function_not_found
from registry.models import Function, FunctionAlias, FunctionVersion

_FUNCTIONS = Function.__table__
_VERSIONS = FunctionVersion.__table__
_ALIASES = FunctionAlias.__table__
# Built once, and read through Core: every invocation resolves its function, and building a
# statement and loading ORM objects cost more than the query.
_FUNCTION = select(_FUNCTIONS).where(
    _FUNCTIONS.c.account_id == bindparam("account"), _FUNCTIONS.c.name == bindparam("name")
)
_VERSION = select(_VERSIONS).where(
    _VERSIONS.c.function_id == bindparam("function"), _VERSIONS.c.version == bindparam("version")
)
_ALIAS = select(_ALIASES.c.function_version, _ALIASES.c.routing_config).where(
    _ALIASES.c.function_id == bindparam("function"), _ALIASES.c.name == bindparam("name")
)


class FunctionRows:
    _db: Database
    _region: str
    # Called after a change that leaves a function or version Pending or InProgress, so that its
    # bundle is prepared now rather than at the next sweep.
    _on_change: Callable[[], None] | None = None

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()

    def get(self, caller: Caller, ref: FunctionRef, *, route: bool = False) -> FunctionView:
        """$LATEST, a published version or the version an alias points at; with `route`, what
        one invocation runs: through a weighted alias, the version drawn by the alias's weights,
        and of $LATEST, the revision invocations run while a change to it is not applied."""
        self._require_own(caller, ref, "lambda:GetFunction")
        account = caller.account_id
        with self._db.connect() as connection:
            row = connection.execute(_FUNCTION, {"account": account, "name": ref.name}).first()
            if row is None:
                arn = function_arn(self._region, account, ref.name)
                raise ResourceNotFound(function_not_found(arn))
            qualifier = ref.qualifier or LATEST
            if qualifier == LATEST:
                return self._latest_view(account, row, running=route)
            if not VERSION.fullmatch(qualifier):
                alias = connection.execute(_ALIAS, {"function": row.id, "name": qualifier}).first()
                if alias is None:
                    arn = function_arn(self._region, account, ref.name, qualifier)
                    raise ResourceNotFound(function_not_found(arn))
                qualifier = alias.function_version
                if route:
                    qualifier = routing.pick(qualifier, alias.routing_config)
                if qualifier == LATEST:
                    return self._latest_view(account, row, running=route)
            version = connection.execute(
                _VERSION, {"function": row.id, "version": int(qualifier)}
            ).first()
            if version is None:
                arn = function_arn(self._region, account, ref.name, qualifier)
                raise ResourceNotFound(function_not_found(arn))
            return self._version_view(account, row, version)

    def _require_own(self, caller: Caller, ref: FunctionRef, action: str) -> None:
        require_own(
            ref,
            caller.account_id,
            action,
            function_arn(self._region, ref.account_id or caller.account_id, ref.name),
        )

    def _require_latest(self, ref: FunctionRef) -> None:
        if ref.qualifier not in (None, LATEST):
            raise InvalidParameterValue(
                f"Only $LATEST can be changed; {ref.qualifier} is a published version or an alias."
            )

    def _function_row(self, session, account_id: str, name: str, *, lock: bool = False) -> Function:
        query = select(Function).where(Function.account_id == account_id, Function.name == name)
        if lock:
            query = query.with_for_update()
        row = session.scalar(query)
        if row is None:
            raise ResourceNotFound(function_not_found(function_arn(self._region, account_id, name)))
        return row

    @staticmethod
    def _qualified_row(
        session, row: Function, qualifier: str
    ) -> FunctionVersion | FunctionAlias | None:
        """The published version (digits) or the alias `qualifier` names; None when missing."""
        if VERSION.fullmatch(qualifier):
            return session.scalar(
                select(FunctionVersion).where(
                    FunctionVersion.function_id == row.id, FunctionVersion.version == int(qualifier)
                )
            )
        return session.scalar(
            select(FunctionAlias).where(
                FunctionAlias.function_id == row.id, FunctionAlias.name == qualifier
            )
        )

    def _alias_row(
        self, session, row: Function, name: str, *, missing=alias_not_found
    ) -> FunctionAlias:
        """The alias `name`; when there is none, `missing(arn)` is the message: the alias
        operations say the alias is missing, the others that the qualified function is."""
        alias = session.scalar(
            select(FunctionAlias).where(
                FunctionAlias.function_id == row.id, FunctionAlias.name == name
            )
        )
        if alias is None:
            raise ResourceNotFound(
                missing(function_arn(self._region, row.account_id, row.name, name))
            )
        return alias

    def _latest_view(
        self, account_id: str, row: Function, *, running: bool = False
    ) -> FunctionView:
        """$LATEST as the row holds it; with `running`, the revision invocations run instead
        while a change to it is not applied (registry/functions/serving.py)."""
        kept = row.running if running else None
        if kept is not None:
            return replace(
                self._latest_view(account_id, row),
                code_digest=kept["code_digest"],
                code_size=kept["code_size"],
                unzipped_size=kept["unzipped_size"],
                config=dict(kept["config"]),
                layers=list(kept["layers"]),
                revision_id=kept["revision_id"],
            )
        return FunctionView(
            region=self._region,
            account_id=account_id,
            function_id=row.id,
            name=row.name,
            version=LATEST,
            code_digest=row.code_digest,
            code_size=row.code_size,
            unzipped_size=row.unzipped_size,
            config=dict(row.config),
            layers=list(row.layers),
            revision_id=row.revision_id,
            last_modified=row.last_modified,
            tags=dict(row.tags or {}),
            reserved_concurrency=row.reserved_concurrency,
            **_states(row),
        )

    def _version_view(
        self, account_id: str, row: Function, version: FunctionVersion
    ) -> FunctionView:
        return FunctionView(
            region=self._region,
            account_id=account_id,
            function_id=row.id,
            name=row.name,
            version=str(version.version),
            code_digest=version.code_digest,
            code_size=version.code_size,
            unzipped_size=version.unzipped_size,
            config=dict(version.config),
            layers=list(version.layers),
            revision_id=version.revision_id,
            last_modified=version.last_modified,
            tags=dict(row.tags or {}),
            reserved_concurrency=row.reserved_concurrency,
            **_states(version),
        )

    def _alias_view(self, account_id: str, function_name: str, alias: FunctionAlias) -> AliasView:
        return AliasView(
            region=self._region,
            account_id=account_id,
            function_name=function_name,
            name=alias.name,
            function_version=alias.function_version,
            description=alias.description,
            revision_id=alias.revision_id,
            routing=dict(alias.routing_config) if alias.routing_config else None,
        )


def _states(row: Function | FunctionVersion) -> dict:
    return {
        "state": row.state or ACTIVE,
        "state_reason": row.state_reason,
        "state_reason_code": row.state_reason_code,
        "last_update_status": row.last_update_status or SUCCESSFUL,
        "last_update_status_reason": row.last_update_status_reason,
        "last_update_status_reason_code": row.last_update_status_reason_code,
    }


def check_revision(current: str, given: str | None) -> None:
    """A RevisionId passed as a precondition must be the current one."""
    if given is not None and given != current:
        raise PreconditionFailed(REVISION_MISMATCH)
