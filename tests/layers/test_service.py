"""LayerService's sharing rules on a migrated SQLite database: who may read a version, who may
change its policy, and what AddLayerVersionPermission accepts."""

from __future__ import annotations

import base64
import json

import pytest

from registry.accounts import Caller
from registry.archives import ZipContent
from registry.errors import (
    AccessDenied,
    InvalidParameterValue,
    PolicyLengthExceeded,
    PreconditionFailed,
    ResourceConflict,
    ResourceNotFound,
)
from registry.layers import policy
from registry.layers.arns import LayerRef
from registry.models import LayerVersionGrant
from tests.support.service_fixtures import REGION
from tests.support.zips import layer_zip

ORG, OTHER_ORG = "o-abcdefghij", "o-zzzzzzzzzz"


@pytest.fixture(scope="module")
def service(layer_service):
    """The LayerService on a migrated database (tests/support/service_fixtures.py)."""
    return layer_service


@pytest.fixture
def owner(service, new_caller):
    """An account owning layer "shared" with versions 1 and 2."""
    caller = new_caller()
    for _ in range(2):
        service.publish(caller, LayerRef("shared", None), ZipContent(zip_file=layer_zip()))
    return caller


def ref_of(owner: Caller) -> LayerRef:
    return LayerRef("shared", owner.account_id)


def share(
    service,
    owner: Caller,
    principal: str,
    organization_id: str | None = None,
    *,
    version: int = 1,
    sid: str = "s",
):
    return service.add_permission(
        owner,
        LayerRef("shared", None),
        version,
        statement_id=sid,
        action=policy.GET_LAYER_VERSION,
        principal=principal,
        organization_id=organization_id,
    )


def can_get(service, caller: Caller, owner: Caller, version: int = 1) -> bool:
    try:
        view = service.get_version(caller, ref_of(owner), version)
    except AccessDenied:
        return False
    assert (
        view.layer_version_arn
        == f"arn:aws:lambda:{REGION}:{owner.account_id}:layer:shared:{version}"
    )
    return True


def listed(service, caller: Caller, owner: Caller) -> list[int]:
    return [view.version for view in service.list_versions(caller, ref_of(owner)).items]


def test_unshared_version__is_refused_to_other_accounts_by_get_and_hidden_by_list(
    service, owner, new_caller
):
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


def test_public_grant__reaches_accounts_with_and_without_an_organization(
    service, owner, new_caller
):
    share(service, owner, "*")
    for caller in (new_caller(), new_caller(ORG)):
        assert can_get(service, caller, owner)
        assert listed(service, caller, owner) == [1]


def test_missing_version__is_not_found_for_the_owner_and_denied_to_others(
    service, owner, new_caller
):
    with pytest.raises(ResourceNotFound):
        service.get_version(owner, ref_of(owner), 9)
    with pytest.raises(AccessDenied, match="does not exist"):
        service.get_version(new_caller(), ref_of(owner), 9)


def test_owner__reads_its_own_versions_by_name_and_by_arn(service, owner):
    assert service.get_version(owner, LayerRef("shared", None), 2).version == 2
    assert service.get_version(owner, ref_of(owner), 1).version == 1


def test_add_permission__answers_the_statement_and_get_policy_the_whole_document(
    service, owner, new_caller
):
    reader = new_caller()
    arn = f"arn:aws:lambda:{REGION}:{owner.account_id}:layer:shared:1"
    statement, revision = share(service, owner, f"arn:aws:iam::{reader.account_id}:root", sid="arn")
    assert json.loads(statement) == {
        "Sid": "arn",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{reader.account_id}:root"},
        "Action": "lambda:GetLayerVersion",
        "Resource": arn,
    }
    _, revision = share(service, owner, "*", ORG, sid="org")
    document, policy_revision = service.get_policy(owner, LayerRef("shared", None), 1)
    assert policy_revision == revision
    assert json.loads(document) == {
        "Version": "2012-10-17",
        "Id": "default",
        "Statement": [
            json.loads(statement),
            {
                "Sid": "org",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "lambda:GetLayerVersion",
                "Resource": arn,
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG}},
            },
        ],
    }


def test_get_policy__of_an_unshared_version_is_not_found(service, owner):
    with pytest.raises(ResourceNotFound, match="No policy"):
        service.get_policy(owner, LayerRef("shared", None), 2)


def test_get_policy__of_another_accounts_version_is_denied(service, owner, new_caller):
    share(service, owner, "*")
    with pytest.raises(AccessDenied):
        service.get_policy(new_caller(), ref_of(owner), 1)


def test_add_permission__to_another_accounts_layer_is_denied_and_grants_nothing(
    service, owner, new_caller
):
    attacker = new_caller()
    with pytest.raises(AccessDenied):
        service.add_permission(
            attacker,
            ref_of(owner),
            1,
            statement_id="mine",
            action=policy.GET_LAYER_VERSION,
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
    ids=[
        "other-action",
        "wildcard-action",
        "short-account",
        "user-arn",
        "arn-with-org",
        "account-with-org",
        "bad-org",
    ],
)
def test_add_permission__refuses_grants_aws_refuses_and_stores_nothing(
    service, owner, new_caller, principal, organization_id, action
):
    with pytest.raises(InvalidParameterValue):
        service.add_permission(
            owner,
            LayerRef("shared", None),
            1,
            statement_id="bad",
            action=action,
            principal=principal,
            organization_id=organization_id,
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
            owner,
            LayerRef("shared", None),
            1,
            statement_id="three",
            action=policy.GET_LAYER_VERSION,
            principal=reader.account_id,
            revision_id=revision,
        )


# -- what the refusals say ------------------------------------------------------------------------


def test_refusals__name_the_exact_layer_version_and_action(service, owner, new_caller):
    other = new_caller()
    arn = f"arn:aws:lambda:{REGION}:{owner.account_id}:layer:shared"
    with pytest.raises(ResourceNotFound) as missing:
        service.get_version(owner, LayerRef("shared", None), 7)
    assert str(missing.value) == f"Layer version {arn}:7 does not exist."
    with pytest.raises(AccessDenied) as hidden:
        service.get_version(other, ref_of(owner), 7)
    assert str(hidden.value) == (
        f"Layer version {arn}:7 does not exist "
        f"(no such layer version in account {owner.account_id})."
    )
    with pytest.raises(AccessDenied) as denied:
        service.get_version(other, ref_of(owner), 2)
    assert str(denied.value) == (
        f"User: arn:aws:iam::{other.account_id}:root is not authorized to perform: "
        "lambda:GetLayerVersion "
        f"on resource: {arn}:2 (the layer version is not shared with your account)"
    )
    for action, call in (
        (
            "lambda:AddLayerVersionPermission",
            lambda: service.add_permission(
                other,
                ref_of(owner),
                1,
                statement_id="x",
                action=policy.GET_LAYER_VERSION,
                principal="*",
            ),
        ),
        ("lambda:GetLayerVersionPolicy", lambda: service.get_policy(other, ref_of(owner), 1)),
    ):
        with pytest.raises(AccessDenied) as refused:
            call()
        assert f"is not authorized to perform: {action} on resource: {arn} " in str(refused.value)


def test_add_permission__answers_compact_json(service, owner):
    statement, _ = share(service, owner, "*")
    assert statement == json.dumps(json.loads(statement), separators=(",", ":"))
    assert ", " not in statement and '": ' not in statement


def test_add_permission__policy_may_reach_exactly_twenty_kib_and_no_more(service, owner):
    arn = f"arn:aws:lambda:{REGION}:{owner.account_id}:layer:shared:1"

    def size(sids):
        grants = [
            LayerVersionGrant(statement_id=s, action=policy.GET_LAYER_VERSION, principal="*")
            for s in sids
        ]
        return len(policy.policy_document(grants, arn))

    fixed = [f"s{i:03d}" for i in range(200)]
    count = max(n for n in range(200) if size([*fixed[:n], "a", "b"]) <= policy.MAX_POLICY_BYTES)
    # Two statements whose ids (up to 100 characters each) take up what is left to the byte.
    need = policy.MAX_POLICY_BYTES - size([*fixed[:count], "a", "b"])
    assert 0 <= need <= 198
    sids = [*fixed[:count], "a" + "x" * min(need, 99), "b" + "y" * (need - min(need, 99))]
    assert size(sids) == policy.MAX_POLICY_BYTES
    for sid in sids:
        share(service, owner, "*", sid=sid)
    with pytest.raises(PolicyLengthExceeded):
        share(service, owner, "*", sid="c")
    document, _ = service.get_policy(owner, LayerRef("shared", None), 1)
    assert len(document) == policy.MAX_POLICY_BYTES


# -- listing: only readable versions, of that layer, page by page ----------------------------------


@pytest.fixture
def catalogue(service, new_caller):
    """An owner with layer "shared" v1..v3 (v2 deleted, v3 for python3.12 on arm64) and "other"
    v1."""
    caller = new_caller()
    own = LayerRef("shared", None)
    service.publish(caller, own, ZipContent(zip_file=layer_zip()))
    service.publish(caller, own, ZipContent(zip_file=layer_zip()))
    service.publish(
        caller,
        own,
        ZipContent(zip_file=layer_zip()),
        compatible_runtimes=["python3.12"],
        compatible_architectures=["arm64"],
    )
    service.publish(caller, LayerRef("other", None), ZipContent(zip_file=layer_zip()))
    service.delete_version(caller, own, 2)
    return caller


def test_list_versions__lists_only_live_versions_of_the_named_layer(service, catalogue):
    page = service.list_versions(catalogue, LayerRef("shared", None))
    assert [(v.layer_version_arn, v.version) for v in page.items] == [
        (f"arn:aws:lambda:{REGION}:{catalogue.account_id}:layer:shared:3", 3),
        (f"arn:aws:lambda:{REGION}:{catalogue.account_id}:layer:shared:1", 1),
    ]
    assert page.next_marker is None


def test_list_versions__by_another_account_shows_shared_versions_with_the_owners_arn(
    service, catalogue, new_caller
):
    reader = new_caller()
    for version in (1, 3):
        service.add_permission(
            catalogue,
            LayerRef("shared", None),
            version,
            statement_id="r",
            action=policy.GET_LAYER_VERSION,
            principal=reader.account_id,
        )
    page = service.list_versions(reader, ref_of(catalogue))
    assert [v.layer_version_arn for v in page.items] == [
        f"arn:aws:lambda:{REGION}:{catalogue.account_id}:layer:shared:3",
        f"arn:aws:lambda:{REGION}:{catalogue.account_id}:layer:shared:1",
    ]
    assert [
        v.version for v in service.list_versions(reader, ref_of(catalogue), max_items=1).items
    ] == [3]


def test_list_versions__filters_by_runtime_and_architecture(service, catalogue):
    own = LayerRef("shared", None)
    assert [
        v.version for v in service.list_versions(catalogue, own, runtime="python3.12").items
    ] == [3]
    assert [
        v.version for v in service.list_versions(catalogue, own, runtime="nodejs20.x").items
    ] == []
    assert [
        v.version for v in service.list_versions(catalogue, own, architecture="arm64").items
    ] == [3]
    assert [
        v.version for v in service.list_versions(catalogue, own, architecture="x86_64").items
    ] == []


def test_list_versions__pages_follow_the_marker_and_the_last_page_has_none(service, catalogue):
    own = LayerRef("shared", None)
    first = service.list_versions(catalogue, own, max_items=1)
    assert [v.version for v in first.items] == [3] and first.next_marker
    second = service.list_versions(catalogue, own, max_items=1, marker=first.next_marker)
    assert [v.version for v in second.items] == [1]
    assert second.next_marker is None
    exact = service.list_versions(catalogue, own, max_items=2)
    assert [v.version for v in exact.items] == [3, 1] and exact.next_marker is None


@pytest.mark.parametrize("value", ["abc", "-1", str(2**31), "1" * 20])
def test_list_versions__a_marker_that_is_not_a_version_number_is_refused(service, catalogue, value):
    marker = base64.urlsafe_b64encode(value.encode()).decode()
    with pytest.raises(InvalidParameterValue, match="Marker"):
        service.list_versions(catalogue, LayerRef("shared", None), marker=marker)


def test_list_versions__the_largest_version_number_is_a_valid_marker(service, catalogue):
    marker = base64.urlsafe_b64encode(str(2**31 - 1).encode()).decode()
    assert [
        v.version
        for v in service.list_versions(catalogue, LayerRef("shared", None), marker=marker).items
    ] == [3, 1]
    marker = base64.urlsafe_b64encode(b"3").decode()
    assert [
        v.version
        for v in service.list_versions(catalogue, LayerRef("shared", None), marker=marker).items
    ] == [1]


def test_list_versions__pages_hold_fifty_versions_by_default(service, new_caller):
    caller = new_caller()
    for _ in range(51):
        service.publish(caller, LayerRef("many", None), ZipContent(zip_file=layer_zip()))
    page = service.list_versions(caller, LayerRef("many", None))
    assert [v.version for v in page.items] == list(range(51, 1, -1))
    assert page.next_marker
