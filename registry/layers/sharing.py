"""Sharing a layer version: the statements of its resource policy, added, removed and read, each
change drawing a new policy RevisionId."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from registry import validation
from registry.accounts import Caller
from registry.errors import (
    InvalidParameterValue,
    PolicyLengthExceeded,
    PreconditionFailed,
    ResourceConflict,
    ResourceNotFound,
)
from registry.layers import policy
from registry.layers.arns import LayerRef, layer_version_arn
from registry.layers.rows import LayerRows
from registry.models import Layer, LayerVersion, LayerVersionGrant


class LayerSharing(LayerRows):
    def add_permission(
        self,
        caller: Caller,
        ref: LayerRef,
        version: int,
        *,
        statement_id: str,
        action: str,
        principal: str,
        organization_id: str | None = None,
        revision_id: str | None = None,
    ) -> tuple[str, str]:
        """Returns (statement as JSON, new revision id)."""
        self._require_own(caller, ref, "lambda:AddLayerVersionPermission")
        validation.check_statement_id(statement_id)
        if action != policy.GET_LAYER_VERSION:
            raise InvalidParameterValue(
                f"Action {action!r} is not valid: the only action a layer version can grant is "
                f"{policy.GET_LAYER_VERSION}."
            )
        validation.check_principal(principal)
        if organization_id is not None:
            validation.check_organization_id(organization_id)
            if principal != "*":
                raise InvalidParameterValue(
                    "OrganizationId can only be used with Principal '*' "
                    "(every account of the organization)."
                )
        with self._db.write() as session:
            row = self._own_version_for_update(session, caller, ref, version)
            _check_revision(row, revision_id)
            if any(g.statement_id == statement_id for g in row.grants):
                raise ResourceConflict(
                    f"The statement id ({statement_id}) provided already exists. Please provide a "
                    "new statement id, or remove the existing statement."
                )
            grant = LayerVersionGrant(
                statement_id=statement_id,
                action=action,
                principal=principal,
                organization_id=organization_id,
            )
            row.grants.append(grant)
            arn = layer_version_arn(self._region, caller.account_id, ref.name, version)
            if len(policy.policy_document(row.grants, arn)) > policy.MAX_POLICY_BYTES:
                raise PolicyLengthExceeded(
                    f"The policy of {arn} would exceed {policy.MAX_POLICY_BYTES} bytes; "
                    "remove statements first."
                )
            row.policy_revision = str(uuid.uuid4())
            document = policy.statement(grant, arn)
        return json.dumps(document, separators=(",", ":")), row.policy_revision

    def remove_permission(
        self,
        caller: Caller,
        ref: LayerRef,
        version: int,
        statement_id: str,
        *,
        revision_id: str | None = None,
    ) -> None:
        self._require_own(caller, ref, "lambda:RemoveLayerVersionPermission")
        validation.check_statement_id(statement_id)
        with self._db.write() as session:
            row = self._own_version_for_update(session, caller, ref, version)
            _check_revision(row, revision_id)
            grant = next((g for g in row.grants if g.statement_id == statement_id), None)
            if grant is None:
                raise ResourceNotFound(f"Statement {statement_id} is not found in resource policy.")
            session.delete(grant)
            row.policy_revision = str(uuid.uuid4())

    def get_policy(self, caller: Caller, ref: LayerRef, version: int) -> tuple[str, str]:
        """Returns (policy document as JSON, revision id)."""
        self._require_own(caller, ref, "lambda:GetLayerVersionPolicy")
        with self._db.read() as session:
            row = self._own_version(session, caller, ref, version)
            if not row.grants:
                raise ResourceNotFound("No policy is associated with the given resource.")
            arn = layer_version_arn(self._region, caller.account_id, ref.name, version)
            return policy.policy_document(row.grants, arn), row.policy_revision

    def _version_query(self, owner: str, name: str, version: int):
        return (
            select(LayerVersion)
            .join(Layer)
            .where(
                Layer.account_id == owner,
                Layer.name == name,
                LayerVersion.version == version,
                LayerVersion.deleted_at.is_(None),
            )
            .options(selectinload(LayerVersion.grants))
        )

    def _own_version(
        self, session: Session, caller: Caller, ref: LayerRef, version: int
    ) -> LayerVersion:
        row = session.scalar(self._version_query(caller.account_id, ref.name, version))
        if row is None:
            raise ResourceNotFound(self._missing(caller.account_id, ref.name, version))
        return row

    def _own_version_for_update(self, session, caller, ref, version) -> LayerVersion:
        row = session.scalar(
            self._version_query(caller.account_id, ref.name, version).with_for_update(
                of=LayerVersion
            )
        )
        if row is None:
            raise ResourceNotFound(self._missing(caller.account_id, ref.name, version))
        return row


def _check_revision(row: LayerVersion, revision_id: str | None) -> None:
    if revision_id is not None and revision_id != row.policy_revision:
        raise PreconditionFailed(
            "The RevisionId provided does not match the latest RevisionId for the layer version. "
            "Call GetLayerVersionPolicy to retrieve the latest RevisionId."
        )
