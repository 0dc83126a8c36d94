"""A function's resource policies (AddPermission, RemovePermission, GetPolicy), and the reads and
invocations they open to other accounts.

As on Lambda, the unqualified function, each published version and each alias have a policy of
their own, and a statement grants only calls through the ARN it was added for: one on the alias
`live` reaches callers of `...:function:f:live`, not of `...:function:f` nor of the version the
alias points at. `$LATEST` takes no policy of its own; a call through `...:f:$LATEST` is a call
of the unqualified function and is judged by its policy.

A policy's RevisionId is that of the function ($LATEST), version or alias it belongs to, and
every change to the policy draws a new one, as Lambda does.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import replace

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from registry.accounts import Caller
from registry.errors import (
    AccessDenied,
    InvalidParameterValue,
    PolicyLengthExceeded,
    ResourceConflict,
    ResourceNotFound,
)
from registry.functions import policy
from registry.functions.names import LATEST, FunctionRef, function_arn
from registry.functions.rows import FunctionRows, check_revision
from registry.functions.views import FunctionView
from registry.messages import function_not_found
from registry.models import Function, FunctionPermission
from registry.validation import (
    ORGANIZATION_ID,
    check_account_id,
    check_pattern,
    check_statement_id,
)

NO_POLICY = "The resource you requested does not exist."
_ACTION = re.compile(r"lambda:[*]|lambda:[a-zA-Z]+|[*]")
_ARN = re.compile(r"arn:aws[a-zA-Z0-9-]*:[a-zA-Z0-9-]+:[a-z0-9-]*:(\d{12})?:.*")
_TOKEN = re.compile(r"[a-zA-Z0-9._\-]+")
_AUTH_TYPES = ("NONE", "AWS_IAM")


class FunctionPermissions(FunctionRows):
    def add_permission(
        self,
        caller: Caller,
        ref: FunctionRef,
        *,
        statement_id: str,
        action: str,
        principal: str,
        source_arn: str | None = None,
        source_account: str | None = None,
        principal_org_id: str | None = None,
        event_source_token: str | None = None,
        function_url_auth_type: str | None = None,
        revision_id: str | None = None,
    ) -> str:
        """Returns the statement added, as the JSON Lambda answers with."""
        self._require_own(caller, ref, "lambda:AddPermission")
        if ref.qualifier == LATEST:
            raise InvalidParameterValue("We currently do not support adding policies for $LATEST.")
        check_statement_id(statement_id)
        _check_statement(
            action,
            source_arn=source_arn,
            source_account=source_account,
            principal_org_id=principal_org_id,
            event_source_token=event_source_token,
            function_url_auth_type=function_url_auth_type,
        )
        qualifier = ref.qualifier or ""
        try:
            with self._db.write() as session:
                row = self._function_row(session, caller.account_id, ref.name, lock=True)
                holder = self._revision_holder(session, row, qualifier)
                check_revision(holder.revision_id, revision_id)
                existing = self._statements(session, row.id, qualifier)
                if any(s.statement_id == statement_id for s in existing):
                    raise ResourceConflict(_duplicate(statement_id))
                if not policy.valid_principal(principal):
                    raise InvalidParameterValue(
                        "The provided principal was invalid. Please check the principal and try "
                        "again."
                    )
                added = FunctionPermission(
                    function_id=row.id,
                    qualifier=qualifier,
                    statement_id=statement_id,
                    action=action,
                    principal=principal,
                    source_arn=source_arn,
                    source_account=source_account,
                    principal_org_id=principal_org_id,
                    event_source_token=event_source_token,
                    function_url_auth_type=function_url_auth_type,
                )
                resource = self._resource_arn(row, qualifier)
                size = len(policy.policy_document([*existing, added], resource))
                if size > policy.MAX_POLICY_BYTES:
                    raise PolicyLengthExceeded(
                        f"The final policy size ({size}) is bigger than the limit "
                        f"({policy.MAX_POLICY_BYTES})."
                    )
                session.add(added)
                holder.revision_id = str(uuid.uuid4())
                session.flush()
        except IntegrityError:  # the same statement id added at the same moment
            raise ResourceConflict(_duplicate(statement_id)) from None
        return policy.compact(policy.statement(added, resource))

    def remove_permission(
        self,
        caller: Caller,
        ref: FunctionRef,
        statement_id: str,
        *,
        revision_id: str | None = None,
    ) -> None:
        self._require_own(caller, ref, "lambda:RemovePermission")
        qualifier = _policy_qualifier(ref)
        with self._db.write() as session:
            row = self._function_row(session, caller.account_id, ref.name, lock=True)
            existing = self._statements(session, row.id, qualifier)
            if not existing:
                raise ResourceNotFound("No policy is associated with the given resource.")
            found = next((s for s in existing if s.statement_id == statement_id), None)
            if found is None:
                raise ResourceNotFound(f"Statement {statement_id} is not found in resource policy.")
            holder = self._revision_holder(session, row, qualifier)
            check_revision(holder.revision_id, revision_id)
            session.delete(found)
            holder.revision_id = str(uuid.uuid4())

    def get_policy(self, caller: Caller, ref: FunctionRef) -> tuple[str, str]:
        """Returns (policy document as JSON, revision id); the owner reads it, and another
        account a statement grants lambda:GetPolicy."""
        qualifier = _policy_qualifier(ref)
        owner = self._owner_for(caller, ref, "lambda:GetPolicy")
        with self._db.read() as session:
            row = self._function_row(session, owner, ref.name)
            existing = self._statements(session, row.id, qualifier)
            if not existing:
                raise ResourceNotFound(NO_POLICY)
            holder = self._revision_holder(session, row, qualifier)
            return (
                policy.policy_document(existing, self._resource_arn(row, qualifier)),
                holder.revision_id,
            )

    def get_granted(self, caller: Caller, ref: FunctionRef, action: str, **options) -> FunctionView:
        """What `get` answers, for the function's owner, or for another account (naming the
        function by its ARN) that a statement of the policy of the ARN it called grants
        `action`."""
        owner = self._owner_for(caller, ref, action)
        return self.get(Caller(owner), replace(ref, account_id=owner), **options)

    def _owner_for(self, caller: Caller, ref: FunctionRef, action: str) -> str:
        """The account owning the function `ref` names, once `caller` may perform `action` on
        it. Another account is refused alike whether the function exists or not, as on
        Lambda, so that no one learns the names of another account's functions."""
        owner = ref.account_id or caller.account_id
        if owner == caller.account_id:
            return owner
        qualifier = _policy_qualifier(ref)
        with self._db.read() as session:
            function_id = session.scalar(
                select(Function.id).where(Function.account_id == owner, Function.name == ref.name)
            )
            statements = (
                [] if function_id is None else self._statements(session, function_id, qualifier)
            )
        if not any(policy.grants(s, caller, action) for s in statements):
            arn = function_arn(self._region, owner, ref.name, ref.qualifier)
            raise AccessDenied(
                f"User: arn:aws:iam::{caller.account_id}:root is not authorized to perform: "
                f"{action} on resource: {arn} because no resource-based policy allows the "
                f"{action} action"
            )
        return owner

    def _forget_policy(self, session, function_id: int, qualifier: str) -> None:
        """A deleted version's or alias's policy goes with it: one of the same name made later
        starts without statements."""
        session.execute(
            delete(FunctionPermission).where(
                FunctionPermission.function_id == function_id,
                FunctionPermission.qualifier == qualifier,
            )
        )

    def _statements(self, session, function_id: int, qualifier: str) -> list[FunctionPermission]:
        return list(
            session.scalars(
                select(FunctionPermission)
                .where(
                    FunctionPermission.function_id == function_id,
                    FunctionPermission.qualifier == qualifier,
                )
                .order_by(FunctionPermission.id)
            )
        )

    def _revision_holder(self, session, row: Function, qualifier: str):
        """The row whose RevisionId is the policy's: the function's, a version's or an alias's."""
        if not qualifier:
            return row
        found = self._qualified_row(session, row, qualifier)
        if found is None:
            raise ResourceNotFound(function_not_found(self._resource_arn(row, qualifier)))
        return found

    def _resource_arn(self, row: Function, qualifier: str) -> str:
        return function_arn(self._region, row.account_id, row.name, qualifier or None)


def _policy_qualifier(ref: FunctionRef) -> str:
    """The policy a qualifier names: "" for the unqualified function (and $LATEST)."""
    return "" if ref.qualifier in (None, LATEST) else ref.qualifier


def _duplicate(statement_id: str) -> str:
    return (
        f"The statement id ({statement_id}) provided already exists. Please provide a new "
        "statement id, or remove the existing statement."
    )


def _check_statement(
    action: str,
    *,
    source_arn: str | None,
    source_account: str | None,
    principal_org_id: str | None,
    event_source_token: str | None,
    function_url_auth_type: str | None,
) -> None:
    """The model's constraints on AddPermission's members (botocore checks none of them)."""
    check_pattern("Action", action, _ACTION, 256, "use lambda:ACTION, lambda:* or *")
    if source_arn is not None:
        check_pattern("SourceArn", source_arn, _ARN, 1024, "use the ARN of the source resource")
    if source_account is not None:
        check_account_id(source_account)
    if principal_org_id is not None:
        check_pattern(
            "PrincipalOrgID",
            principal_org_id,
            ORGANIZATION_ID,
            34,
            "use o- followed by 10 to 32 lowercase letters or digits",
        )
    if event_source_token is not None:
        check_pattern(
            "EventSourceToken", event_source_token, _TOKEN, 256, "use letters, digits, . _ and -"
        )
    if function_url_auth_type is not None and function_url_auth_type not in _AUTH_TYPES:
        raise InvalidParameterValue("FunctionUrlAuthType must be NONE or AWS_IAM.")
