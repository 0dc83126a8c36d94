"""Aliases: a name pointing at one version of a function ($LATEST or a published number), and
optionally sending a weighted share of its invocations to a second one (routing.py)."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from registry.accounts import Caller
from registry.errors import InvalidParameterValue, ResourceConflict, ResourceNotFound
from registry.functions import provisioned_status
from registry.functions import routing as alias_routing
from registry.functions import settings as function_settings
from registry.functions.names import (
    LATEST,
    VERSION,
    FunctionRef,
    check_alias_name,
    check_version,
    function_arn,
)
from registry.functions.provisioned_overlap import check_not_overlapping
from registry.functions.rows import FunctionRows, check_revision
from registry.functions.views import AliasView
from registry.messages import function_not_found
from registry.models import (
    Function,
    FunctionAlias,
    FunctionEventInvokeConfig,
    FunctionPermission,
    FunctionVersion,
    ProvisionedConcurrency,
)
from registry.paging import MAX_ITEMS, Page, decode_marker, first_page


class FunctionAliases(FunctionRows):
    def create_alias(
        self,
        caller: Caller,
        ref: FunctionRef,
        name: str,
        function_version: str,
        *,
        description: str = "",
        routing: dict | None = None,
    ) -> AliasView:
        self._require_own(caller, ref, "lambda:CreateAlias")
        self._require_latest(ref)
        check_alias_name(name)
        function_settings.check({"description": description})
        weights = alias_routing.parse(routing)
        try:
            with self._db.write() as session:
                row = self._function_row(session, caller.account_id, ref.name)
                self._check_version_exists(session, row, function_version)
                self._check_routing(session, row, function_version, weights)
                alias = FunctionAlias(
                    function_id=row.id,
                    name=name,
                    function_version=function_version,
                    description=description,
                    revision_id=str(uuid.uuid4()),
                    routing_config=weights,
                )
                session.add(alias)
                session.flush()
        except IntegrityError:
            arn = function_arn(self._region, caller.account_id, ref.name, name)
            raise ResourceConflict(f"Alias already exists: {arn}") from None
        return self._alias_view(caller.account_id, ref.name, alias)

    def get_alias(self, caller: Caller, ref: FunctionRef, name: str) -> AliasView:
        self._require_own(caller, ref, "lambda:GetAlias")
        check_alias_name(name)
        with self._db.read() as session:
            row = self._function_row(session, caller.account_id, ref.name)
            return self._alias_view(
                caller.account_id, ref.name, self._alias_row(session, row, name)
            )

    def update_alias(
        self,
        caller: Caller,
        ref: FunctionRef,
        name: str,
        *,
        function_version: str | None = None,
        description: str | None = None,
        routing: dict | None = None,
        revision_id: str | None = None,
    ) -> AliasView:
        self._require_own(caller, ref, "lambda:UpdateAlias")
        check_alias_name(name)
        if description is not None:
            function_settings.check({"description": description})
        weights = alias_routing.parse(routing)
        with self._db.write() as session:
            row = self._function_row(session, caller.account_id, ref.name)
            alias = self._alias_row(session, row, name)
            check_revision(alias.revision_id, revision_id)
            pointed = alias.function_version
            if function_version is not None:
                self._check_version_exists(session, row, function_version)
                alias.function_version = function_version
            if routing is not None:  # given: replaces the routing; an empty one removes it
                alias.routing_config = weights
            self._check_routing(session, row, alias.function_version, alias.routing_config)
            if self._provisioned(session, row, name):
                session.flush()
                check_not_overlapping(session, row.id, name)
                if alias.function_version != pointed:
                    provisioned_status.reallocate(session, row.id, name)
            if description is not None:
                alias.description = description
            alias.revision_id = str(uuid.uuid4())
            return self._alias_view(caller.account_id, ref.name, alias)

    def delete_alias(self, caller: Caller, ref: FunctionRef, name: str) -> None:
        """Idempotent, as on Lambda."""
        self._require_own(caller, ref, "lambda:DeleteAlias")
        check_alias_name(name)
        with self._db.write() as session:
            row = self._function_row(session, caller.account_id, ref.name)
            # Its settings and resource policy go with it.
            for setting in (ProvisionedConcurrency, FunctionEventInvokeConfig, FunctionPermission):
                session.execute(
                    delete(setting).where(setting.function_id == row.id, setting.qualifier == name)
                )
            session.execute(
                delete(FunctionAlias).where(
                    FunctionAlias.function_id == row.id, FunctionAlias.name == name
                )
            )

    def list_aliases(
        self,
        caller: Caller,
        ref: FunctionRef,
        *,
        function_version: str | None = None,
        marker: str | None = None,
        max_items: int = MAX_ITEMS,
    ) -> Page:
        self._require_own(caller, ref, "lambda:ListAliases")
        after = decode_marker(marker, joined=True)
        with self._db.read() as session:
            row = self._function_row(session, caller.account_id, ref.name)
            query = (
                select(FunctionAlias)
                .where(FunctionAlias.function_id == row.id)
                .order_by(FunctionAlias.name)
            )
            if function_version is not None:
                query = query.where(FunctionAlias.function_version == function_version)
            if after:
                query = query.where(FunctionAlias.name > after)
            items = [
                self._alias_view(caller.account_id, ref.name, a)
                for a in session.scalars(query.limit(max_items + 1))
            ]
        return first_page(items, max_items, key=lambda a: a.name)

    def _check_version_exists(self, session, row: Function, version: str) -> FunctionVersion | None:
        """The published version `version` (None for $LATEST), or not found."""
        if version == LATEST:
            return None
        if not isinstance(version, str) or not VERSION.fullmatch(version):
            raise InvalidParameterValue(
                f"FunctionVersion {version!r} is not valid: use $LATEST or a version number."
            )
        check_version(version)
        found = session.scalar(
            select(FunctionVersion).where(
                FunctionVersion.function_id == row.id, FunctionVersion.version == int(version)
            )
        )
        if found is None:
            raise ResourceNotFound(
                function_not_found(function_arn(self._region, row.account_id, row.name, version))
            )
        return found

    @staticmethod
    def _provisioned(session, row: Function, qualifier: str) -> bool:
        return (
            session.scalar(
                select(ProvisionedConcurrency.id).where(
                    ProvisionedConcurrency.function_id == row.id,
                    ProvisionedConcurrency.qualifier == qualifier,
                )
            )
            is not None
        )

    def _check_routing(
        self, session, row: Function, primary: str, weights: dict[str, float] | None
    ) -> None:
        if not weights:
            return
        alias_routing.check_targets(primary, weights)
        target = self._check_version_exists(session, row, primary)
        for version in weights:
            additional = self._check_version_exists(session, row, version)
            alias_routing.check_same_role(target.config, additional.config)
