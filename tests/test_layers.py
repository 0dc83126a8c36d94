"""LayerService's sharing rules on a real (SQLite) database: who may read a version, who may
change its policy, and what AddLayerVersionPermission accepts."""

from __future__ import annotations

import itertools
import json
import os
from datetime import datetime, timezone

import pytest

from registry import db as database
from registry import policy
from registry.accounts import Caller
from registry.archives import ZipContent
from registry.arns import LayerRef
from registry.errors import (
    AccessDenied,
    InvalidParameterValue,
    PreconditionFailed,
    ResourceConflict,
    ResourceNotFound,
)
from registry.layers import LayerService
from registry.models import Account
from storage.filesystem import FilesystemBlobStore
from tests.support.zips import layer_zip

REGION = "us-east-1"
ORG, OTHER_ORG = "o-abcdefghij", "o-zzzzzzzzzz"
_ids = itertools.count(int.from_bytes(os.urandom(3), "big") * 1000)


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    root = tmp_path_factory.mktemp("layers")
    url = f"sqlite:///{root / 'strata.db'}"
    database.upgrade(url)
    db = database.Database(url)
    yield LayerService(db, FilesystemBlobStore(root / "blobs", signing_key=b"k"), region=REGION)
    db.dispose()


@pytest.fixture
def new_caller(service):
    def make(organization_id: str | None = None) -> Caller:
        account_id = f"{next(_ids) % 10**12:012d}"
        with service._db.write() as session:
            session.add(Account(id=account_id, organization_id=organization_id, created_at=datetime.now(timezone.utc)))
        return Caller(account_id, organization_id)

    return make


@pytest.fixture
def owner(service, new_caller):
    """An account owning layer "shared" with versions 1 and 2."""
    caller = new_caller()
    for _ in range(2):
        service.publish(caller, LayerRef("shared", None), ZipContent(zip_file=layer_zip()))
    return caller


def ref_of(owner: Caller) -> LayerRef:
    return LayerRef("shared", owner.account_id)


def share(service, owner: Caller, principal: str, organization_id: str | None = None, *, version: int = 1, sid: str = "s"):
    return service.add_permission(
        owner, LayerRef("shared", None), version, statement_id=sid, action=policy.GET_LAYER_VERSION,
        principal=principal, organization_id=organization_id,
    )


def can_get(service, caller: Caller, owner: Caller, version: int = 1) -> bool:
    try:
        view = service.get_version(caller, ref_of(owner), version)
    except AccessDenied:
        return False
    assert view.layer_version_arn == f"arn:aws:lambda:{REGION}:{owner.account_id}:layer:shared:{version}"
    return True


def listed(service, caller: Caller, owner: Caller) -> list[int]:
    return [view.version for view in service.list_versions(caller, ref_of(owner)).items]


def test_unshared_version__is_refused_to_other_accounts_by_get_and_hidden_by_list(service, owner, new_caller):
    other = new_caller()
    with pytest.raises(AccessDenied, match="not shared"):
        service.get_version(other, ref_of(owner), 1)
    assert listed(service, other, owner) == []
    assert listed(service, owner, owner) == [2, 1]


def test_account_grant__opens_that_version_to_that_account_only(service, owner, new_caller):
    reader, outsider = new_caller(), new_caller(ORG)
    share(service, owner, reader.account_id)
    assert can_get(service, reader, owner, 1)
    assert not can_get(service, reader, owner, 2)
    assert not can_get(service, outsider, owner, 1)
    assert listed(service, reader, owner) == [1]
    assert listed(service, outsider, owner) == []


def test_arn_grant__opens_the_version_to_the_named_account_and_no_other(service, owner, new_caller):
    reader, outsider = new_caller(), new_caller()
    share(service, owner, f"arn:aws:iam::{reader.account_id}:root")
    assert can_get(service, reader, owner)
    assert not can_get(service, outsider, owner)
    assert listed(service, outsider, owner) == []


def test_organization_grant__reaches_its_members_only(service, owner, new_caller):
    member, stranger, unorganised = new_caller(ORG), new_caller(OTHER_ORG), new_caller()
    share(service, owner, "*", ORG)
    assert can_get(service, member, owner)
    assert not can_get(service, stranger, owner)
    assert not can_get(service, unorganised, owner)
    assert listed(service, member, owner) == [1]


def test_public_grant__reaches_accounts_with_and_without_an_organization(service, owner, new_caller):
    share(service, owner, "*")
    for caller in (new_caller(), new_caller(ORG)):
        assert can_get(service, caller, owner)
        assert listed(service, caller, owner) == [1]


def test_missing_version__is_not_found_for_the_owner_and_denied_to_others(service, owner, new_caller):
    with pytest.raises(ResourceNotFound):
        service.get_version(owner, ref_of(owner), 9)
    with pytest.raises(AccessDenied, match="does not exist"):
        service.get_version(new_caller(), ref_of(owner), 9)


def test_owner__reads_its_own_versions_by_name_and_by_arn(service, owner):
    assert service.get_version(owner, LayerRef("shared", None), 2).version == 2
    assert service.get_version(owner, ref_of(owner), 1).version == 1


def test_add_permission__answers_the_statement_and_get_policy_the_whole_document(service, owner, new_caller):
    reader = new_caller()
    arn = f"arn:aws:lambda:{REGION}:{owner.account_id}:layer:shared:1"
    statement, revision = share(service, owner, f"arn:aws:iam::{reader.account_id}:root", sid="arn")
    assert json.loads(statement) == {
        "Sid": "arn", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{reader.account_id}:root"},
        "Action": "lambda:GetLayerVersion", "Resource": arn,
    }
    _, revision = share(service, owner, "*", ORG, sid="org")
    document, policy_revision = service.get_policy(owner, LayerRef("shared", None), 1)
    assert policy_revision == revision
    assert json.loads(document) == {
        "Version": "2012-10-17",
        "Id": "default",
        "Statement": [
            json.loads(statement),
            {"Sid": "org", "Effect": "Allow", "Principal": "*", "Action": "lambda:GetLayerVersion",
             "Resource": arn, "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG}}},
        ],
    }


def test_get_policy__of_an_unshared_version_is_not_found(service, owner):
    with pytest.raises(ResourceNotFound, match="No policy"):
        service.get_policy(owner, LayerRef("shared", None), 2)


def test_get_policy__of_another_accounts_version_is_denied(service, owner, new_caller):
    share(service, owner, "*")
    with pytest.raises(AccessDenied):
        service.get_policy(new_caller(), ref_of(owner), 1)


def test_add_permission__to_another_accounts_layer_is_denied_and_grants_nothing(service, owner, new_caller):
    attacker = new_caller()
    with pytest.raises(AccessDenied):
        service.add_permission(
            attacker, ref_of(owner), 1, statement_id="mine", action=policy.GET_LAYER_VERSION,
            principal=attacker.account_id,
        )
    assert not can_get(service, attacker, owner)


@pytest.mark.parametrize(
    "principal, organization_id, action",
    [
        ("*", None, "lambda:DeleteLayerVersion"),
        ("*", None, "lambda:*"),
        ("12345", None, policy.GET_LAYER_VERSION),
        ("arn:aws:iam::123456789012:user/x", None, policy.GET_LAYER_VERSION),
        ("arn:aws:iam::123456789012:root", ORG, policy.GET_LAYER_VERSION),
        ("123456789012", ORG, policy.GET_LAYER_VERSION),
        ("*", "o-BAD", policy.GET_LAYER_VERSION),
    ],
    ids=["other-action", "wildcard-action", "short-account", "user-arn", "arn-with-org", "account-with-org", "bad-org"],
)
def test_add_permission__refuses_grants_aws_refuses_and_stores_nothing(service, owner, new_caller, principal, organization_id, action):
    with pytest.raises(InvalidParameterValue):
        service.add_permission(
            owner, LayerRef("shared", None), 1, statement_id="bad", action=action,
            principal=principal, organization_id=organization_id,
        )
    with pytest.raises(ResourceNotFound):
        service.get_policy(owner, LayerRef("shared", None), 1)
    assert not can_get(service, new_caller(ORG), owner)


def test_add_permission__duplicate_statement_id_is_a_conflict(service, owner, new_caller):
    first, second = new_caller(), new_caller()
    share(service, owner, first.account_id, sid="dup")
    with pytest.raises(ResourceConflict):
        share(service, owner, second.account_id, sid="dup")
    assert not can_get(service, second, owner)


def test_add_permission__stale_revision_id_is_refused(service, owner, new_caller):
    reader = new_caller()
    _, revision = share(service, owner, "*", sid="one")
    share(service, owner, reader.account_id, sid="two")
    with pytest.raises(PreconditionFailed):
        service.add_permission(
            owner, LayerRef("shared", None), 1, statement_id="three", action=policy.GET_LAYER_VERSION,
            principal=reader.account_id, revision_id=revision,
        )
