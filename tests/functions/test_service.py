"""FunctionService on a migrated SQLite database, called directly: $LATEST and its changes,
published versions, aliases, deletion, listing page by page, and the typed error each refusal is.

The same behaviour through boto3 and a real server is specified in tests/api/test_functions.py and
tests/api/test_function_versions_aliases.py; these pin the service itself, below the HTTP layer.
"""

from __future__ import annotations

import base64
import hashlib

import pytest

from registry.archives import ZipContent
from registry.errors import (
    AccessDenied,
    InvalidParameterValue,
    PreconditionFailed,
    ResourceConflict,
    ResourceNotFound,
)
from registry.functions.names import LATEST, FunctionRef
from registry.layers.arns import LayerRef
from tests.support.functions import ROLE, RUNTIME, handler_zip
from tests.support.service_fixtures import REGION
from tests.support.zips import layer_zip

SETTINGS = {"runtime": RUNTIME, "handler": "app.handler", "role": ROLE}
NOT_CHANGED = "The Revision Id provided does not match the latest Revision Id"


def returns(value: str) -> bytes:
    """A deployment package whose handler returns `value`: distinct values, distinct code."""
    return handler_zip(f"def handler(event, context):\n    return {value!r}\n")


def code(value: str = "v1") -> ZipContent:
    return ZipContent(zip_file=returns(value))


def fn(name: str, qualifier: str | None = None) -> FunctionRef:
    return FunctionRef(name, None, qualifier)


@pytest.fixture
def service(function_service):
    """The FunctionService on a migrated database (tests/support/service_fixtures.py)."""
    return function_service


@pytest.fixture
def caller(new_caller):
    return new_caller()


def versions_of(service, caller, name: str) -> list[str]:
    return [view.version for view in service.list_versions(caller, fn(name)).items]


# -- create ----------------------------------------------------------------------------------------


def test_create__latest_holds_the_code_the_settings_and_lambdas_defaults(service, caller):
    data = returns("hello")
    created = service.create(caller, fn("hello"), ZipContent(zip_file=data), dict(SETTINGS))
    assert created.version == LATEST
    assert created.code_digest == hashlib.sha256(data).hexdigest()
    assert created.code_sha256 == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert created.code_size == len(data)
    assert created.arn == f"arn:aws:lambda:{REGION}:{caller.account_id}:function:hello"
    assert created.qualified_arn == f"{created.arn}:$LATEST"
    assert created.config == {
        **SETTINGS,
        "description": "",
        "timeout": 3,
        "memory_size": 128,
        "ephemeral_storage": 512,
        "environment": None,
        "architectures": ["x86_64"],
    }
    assert created.layers == []
    assert created.revision_id
    assert (created.state, created.state_reason_code) == ("Pending", "Creating")
    fetched = service.get(caller, fn("hello"))
    # Settled once its bundle was prepared, with a RevisionId of its own, as on Lambda.
    assert (fetched.code_digest, fetched.state) == (created.code_digest, "Active")
    assert fetched.revision_id != created.revision_id
    assert versions_of(service, caller, "hello") == [LATEST]


def test_create__existing_name_is_a_conflict_and_the_first_function_stays(service, caller):
    first = service.create(caller, fn("twice"), code("first"), dict(SETTINGS))
    with pytest.raises(ResourceConflict, match=r"^Function already exist: twice$"):
        service.create(caller, fn("twice"), code("second"), dict(SETTINGS))
    assert service.get(caller, fn("twice")).code_digest == first.code_digest


@pytest.mark.parametrize("missing", ["runtime", "handler", "role"])
def test_create__without_runtime_handler_or_role_is_invalid_and_creates_nothing(
    service, caller, missing
):
    settings = {key: value for key, value in SETTINGS.items() if key != missing}
    with pytest.raises(InvalidParameterValue) as refused:
        service.create(caller, fn("incomplete"), code(), settings)
    assert str(refused.value) == (
        f"{missing.capitalize()} is required for a function of package type Zip."
    )
    with pytest.raises(ResourceNotFound):
        service.get(caller, fn("incomplete"))


@pytest.mark.parametrize(
    "settings",
    [
        {"memory_size": 64},
        {"timeout": 901},
        {"role": "not-a-role"},
        {"architectures": ["x86_64", "arm64"]},
        {"environment": {"AWS_REGION": "eu-west-1"}},
    ],
    ids=["memory", "timeout", "role", "architectures", "reserved-environment"],
)
def test_create__a_setting_out_of_lambdas_range_is_invalid_and_creates_nothing(
    service, caller, settings
):
    with pytest.raises(InvalidParameterValue):
        service.create(caller, fn("bad"), code(), {**SETTINGS, **settings})
    assert service.list_functions(caller).items == []


def test_create__a_qualified_name_or_non_string_tags_are_invalid(service, caller):
    with pytest.raises(InvalidParameterValue, match="unqualified"):
        service.create(caller, fn("qualified", "1"), code(), dict(SETTINGS))
    with pytest.raises(InvalidParameterValue, match="Tags must map string keys"):
        service.create(caller, fn("tagged"), code(), dict(SETTINGS), tags={"team": 7})
    assert service.list_functions(caller).items == []


def test_create__with_publish_answers_version_1(service, caller):
    published = service.create(caller, fn("at-once"), code(), dict(SETTINGS), publish=True)
    assert published.version == "1"
    assert published.qualified_arn.endswith(":function:at-once:1")
    assert versions_of(service, caller, "at-once") == [LATEST, "1"]


# -- changing $LATEST ------------------------------------------------------------------------------


def test_update_code__new_digest_new_revision_and_a_stale_revision_is_refused(service, caller):
    service.create(caller, fn("coder"), code("v1"), dict(SETTINGS))
    created = service.get(caller, fn("coder"))
    updated = service.update_code(caller, fn("coder"), code("v2"), revision_id=created.revision_id)
    assert updated.code_digest == hashlib.sha256(returns("v2")).hexdigest()
    assert updated.revision_id != created.revision_id
    assert updated.config == created.config
    with pytest.raises(PreconditionFailed, match=NOT_CHANGED):
        service.update_code(caller, fn("coder"), code("v3"), revision_id=created.revision_id)
    assert service.get(caller, fn("coder")).code_digest == updated.code_digest


def test_update_code__dry_run_answers_the_new_code_but_stores_and_changes_nothing(
    service, caller, migrated_registry
):
    service.create(caller, fn("dry"), code("v1"), dict(SETTINGS))
    created = service.get(caller, fn("dry"))
    new = returns("dry run only")
    answered = service.update_code(caller, fn("dry"), ZipContent(zip_file=new), dry_run=True)
    assert answered.code_digest == hashlib.sha256(new).hexdigest()
    assert not migrated_registry.store.exists(answered.code_digest)
    now = service.get(caller, fn("dry"))
    assert (now.code_digest, now.revision_id) == (created.code_digest, created.revision_id)


def test_update_code__with_publish_answers_the_new_version(service, caller):
    service.create(caller, fn("republish"), code("v1"), dict(SETTINGS), publish=True)
    published = service.update_code(caller, fn("republish"), code("v2"), publish=True)
    assert published.version == "2"
    assert published.code_digest == hashlib.sha256(returns("v2")).hexdigest()


@pytest.mark.parametrize("qualifier", ["1", "live"])
def test_changes__to_a_version_or_an_alias_are_invalid(service, caller, qualifier):
    service.create(caller, fn("frozen"), code(), dict(SETTINGS), publish=True)
    service.create_alias(caller, fn("frozen"), "live", "1")
    with pytest.raises(InvalidParameterValue, match=r"Only \$LATEST can be changed"):
        service.update_code(caller, fn("frozen", qualifier), code("v2"))
    with pytest.raises(InvalidParameterValue, match=r"Only \$LATEST can be changed"):
        service.update_configuration(caller, fn("frozen", qualifier), {"timeout": 9})
    with pytest.raises(InvalidParameterValue, match=r"Only \$LATEST can be changed"):
        service.publish_version(caller, fn("frozen", qualifier))


def test_update_configuration__changes_only_what_is_given(service, caller):
    created = service.create(
        caller, fn("configured"), code(), {**SETTINGS, "environment": {"MODE": "a"}}
    )
    updated = service.update_configuration(caller, fn("configured"), {"timeout": 30})
    assert updated.config == {**created.config, "timeout": 30}
    assert updated.code_digest == created.code_digest
    assert updated.revision_id != created.revision_id


def test_update_configuration__an_invalid_value_changes_nothing(service, caller):
    service.create(caller, fn("steady"), code(), dict(SETTINGS))
    created = service.get(caller, fn("steady"))
    with pytest.raises(InvalidParameterValue, match="MemorySize must be between"):
        service.update_configuration(caller, fn("steady"), {"timeout": 60, "memory_size": 64})
    now = service.get(caller, fn("steady"))
    assert (now.config, now.revision_id) == (created.config, created.revision_id)


def test_update_configuration__a_stale_revision_is_refused(service, caller):
    created = service.create(caller, fn("racy"), code(), dict(SETTINGS))
    service.update_configuration(caller, fn("racy"), {"timeout": 10})
    with pytest.raises(PreconditionFailed, match=NOT_CHANGED):
        service.update_configuration(
            caller, fn("racy"), {"timeout": 20}, revision_id=created.revision_id
        )
    assert service.get(caller, fn("racy")).config["timeout"] == 10


# -- layers ----------------------------------------------------------------------------------------


def publish_layer(layer_service, caller, name: str, **kwargs) -> str:
    view = layer_service.publish(
        caller, LayerRef(name, None), ZipContent(zip_file=layer_zip(name)), **kwargs
    )
    return view.layer_version_arn


def test_layers__attached_in_the_order_given_and_replaced_as_a_whole(
    service, layer_service, caller
):
    first, second = (publish_layer(layer_service, caller, name) for name in ("base", "extra"))
    created = service.create(caller, fn("layered"), code(), dict(SETTINGS), layers=[second, first])
    assert [record["arn"] for record in created.layers] == [second, first]
    updated = service.update_configuration(caller, fn("layered"), {}, layers=[first])
    assert [record["arn"] for record in updated.layers] == [first]
    assert service.update_configuration(caller, fn("layered"), {}, layers=[]).layers == []


def test_layers__an_unshared_layer_of_another_account_is_denied(
    service, layer_service, caller, new_caller
):
    private = publish_layer(layer_service, new_caller(), "private")
    with pytest.raises(AccessDenied):
        service.create(caller, fn("borrower"), code(), dict(SETTINGS), layers=[private])
    assert service.list_functions(caller).items == []


def test_layers__more_than_five_or_an_incompatible_runtime_are_invalid(
    service, layer_service, caller
):
    six = [publish_layer(layer_service, caller, f"part{i}") for i in range(6)]
    with pytest.raises(InvalidParameterValue, match=r"^Cannot reference more than 5 layers\.$"):
        service.create(caller, fn("crowded"), code(), dict(SETTINGS), layers=six)
    newer = publish_layer(layer_service, caller, "newer", compatible_runtimes=["python3.12"])
    with pytest.raises(InvalidParameterValue, match=f"Layer {newer} is not compatible"):
        service.create(caller, fn("mismatch"), code(), dict(SETTINGS), layers=[newer])
    assert service.list_functions(caller).items == []


# -- publishing versions ---------------------------------------------------------------------------


def test_publish_version__numbers_never_reused(service, caller):
    service.create(caller, fn("counter"), code("v1"), dict(SETTINGS))
    assert service.publish_version(caller, fn("counter")).version == "1"
    service.update_code(caller, fn("counter"), code("v2"))
    assert service.publish_version(caller, fn("counter")).version == "2"
    assert [view.version for view in service.delete(caller, fn("counter", "2"))] == ["2"]
    service.update_code(caller, fn("counter"), code("v3"))
    assert service.publish_version(caller, fn("counter")).version == "3"
    assert versions_of(service, caller, "counter") == [LATEST, "1", "3"]


def test_publish_version__unchanged_latest_answers_the_newest_version(service, caller):
    service.create(caller, fn("idle"), code(), dict(SETTINGS))
    assert service.publish_version(caller, fn("idle")).version == "1"
    first = service.get(caller, fn("idle", "1"))
    again = service.publish_version(caller, fn("idle"))
    assert (again.version, again.revision_id) == ("1", first.revision_id)
    assert versions_of(service, caller, "idle") == [LATEST, "1"]


def test_publish_version__a_new_description_is_a_change(service, caller):
    service.create(caller, fn("described"), code(), dict(SETTINGS), publish=True)
    assert service.publish_version(caller, fn("described"), description="notes").version == "2"
    assert service.publish_version(caller, fn("described"), description="notes").version == "2"
    service.update_configuration(caller, fn("described"), {"description": "same code"})
    assert service.publish_version(caller, fn("described")).version == "3"
    assert versions_of(service, caller, "described") == [LATEST, "1", "2", "3"]


def test_publish_version__is_a_snapshot_later_changes_to_latest_do_not_reach(service, caller):
    service.create(caller, fn("snap"), code("v1"), dict(SETTINGS))
    service.publish_version(caller, fn("snap"), description="first")
    published = service.get(caller, fn("snap", "1"))
    service.update_code(caller, fn("snap"), code("v2"))
    service.update_configuration(caller, fn("snap"), {"timeout": 60})
    version = service.get(caller, fn("snap", "1"))
    assert version.code_digest == hashlib.sha256(returns("v1")).hexdigest()
    assert version.config["timeout"] == 3
    assert version.config["description"] == "first"
    assert version.revision_id == published.revision_id
    assert service.get(caller, fn("snap")).config["timeout"] == 60


def test_publish_version__code_sha256_and_revision_preconditions(service, caller):
    service.create(caller, fn("guarded"), code(), dict(SETTINGS))
    created = service.get(caller, fn("guarded"))
    other_sha = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    with pytest.raises(InvalidParameterValue) as wrong_sha:
        service.publish_version(caller, fn("guarded"), code_sha256=other_sha)
    assert str(wrong_sha.value) == (
        f"CodeSHA256 ({other_sha}) is different from current CodeSHA256 in $LATEST "
        f"({created.code_sha256}). Please try again with the CodeSHA256 in $LATEST."
    )
    with pytest.raises(PreconditionFailed, match=NOT_CHANGED):
        service.publish_version(caller, fn("guarded"), revision_id="stale")
    assert versions_of(service, caller, "guarded") == [LATEST]
    published = service.publish_version(
        caller, fn("guarded"), code_sha256=created.code_sha256, revision_id=created.revision_id
    )
    assert published.version == "1"


# -- reading ---------------------------------------------------------------------------------------


def test_get__unknown_function_or_version_is_not_found_naming_the_arn(service, caller):
    arn = f"arn:aws:lambda:{REGION}:{caller.account_id}:function"
    with pytest.raises(ResourceNotFound) as missing:
        service.get(caller, fn("nowhere"))
    assert str(missing.value) == f"Function not found: {arn}:nowhere"
    service.create(caller, fn("somewhere"), code(), dict(SETTINGS))
    with pytest.raises(ResourceNotFound) as no_version:
        service.get(caller, fn("somewhere", "7"))
    assert str(no_version.value) == f"Function not found: {arn}:somewhere:7"
    with pytest.raises(ResourceNotFound) as no_alias:
        service.get(caller, fn("somewhere", "prod"))
    assert str(no_alias.value) == f"Function not found: {arn}:somewhere:prod"


def test_functions__are_private_to_their_account(service, caller, new_caller):
    service.create(caller, fn("mine"), code(), dict(SETTINGS))
    other = new_caller()
    with pytest.raises(AccessDenied, match="functions can only be used by their own account"):
        service.get(other, FunctionRef("mine", caller.account_id, None))
    with pytest.raises(AccessDenied):
        service.update_code(other, FunctionRef("mine", caller.account_id, None), code("theirs"))
    with pytest.raises(ResourceNotFound):
        service.get(other, fn("mine"))
    assert service.list_functions(other).items == []


# -- listing ---------------------------------------------------------------------------------------


def pages(list_page, **kwargs) -> list[list]:
    """Every page of a listing, following NextMarker to the end."""
    result, marker = [], None
    while True:
        page = list_page(marker=marker, **kwargs)
        result.append(page.items)
        marker = page.next_marker
        if marker is None:
            return result


def test_list_versions__latest_first_then_ascending_page_by_page_without_gaps(service, caller):
    service.create(caller, fn("many"), code("v0"), dict(SETTINGS))
    for number in range(1, 6):
        service.update_code(caller, fn("many"), code(f"v{number}"))
        service.publish_version(caller, fn("many"))
    listed = pages(lambda **kw: service.list_versions(caller, fn("many"), **kw), max_items=2)
    assert [[view.version for view in page] for page in listed] == [
        [LATEST, "1"],
        ["2", "3"],
        ["4", "5"],
    ]


@pytest.mark.parametrize(
    "marker",
    [base64.urlsafe_b64encode(b"abc").decode(), "%%%", base64.urlsafe_b64encode(b"1\x00").decode()],
    ids=["not-a-number", "not-base64", "control-character"],
)
def test_list_versions__a_marker_this_service_did_not_hand_out_is_invalid(service, caller, marker):
    service.create(caller, fn("marked"), code(), dict(SETTINGS))
    with pytest.raises(InvalidParameterValue, match=r"^Marker is not valid"):
        service.list_versions(caller, fn("marked"), marker=marker)


def test_list_functions__by_name_page_by_page_and_with_all_versions_each_version(
    service, caller, new_caller
):
    for name in ("bravo", "alpha", "charlie"):
        service.create(caller, fn(name), code(name), dict(SETTINGS))
    service.publish_version(caller, fn("alpha"))
    service.create(new_caller(), fn("aardvark"), code(), dict(SETTINGS))
    listed = pages(lambda **kw: service.list_functions(caller, **kw), max_items=2)
    assert [[(view.name, view.version) for view in page] for page in listed] == [
        [("alpha", LATEST), ("bravo", LATEST)],
        [("charlie", LATEST)],
    ]
    every = pages(lambda **kw: service.list_functions(caller, all_versions=True, **kw), max_items=1)
    assert [(view.name, view.version) for page in every for view in page] == [
        ("alpha", LATEST),
        ("alpha", "1"),
        ("bravo", LATEST),
        ("charlie", LATEST),
    ]


# -- aliases ---------------------------------------------------------------------------------------


def two_versions(service, caller, name: str) -> None:
    service.create(caller, fn(name), code("v1"), dict(SETTINGS), publish=True)
    service.update_code(caller, fn(name), code("v2"), publish=True)


def test_alias__create_get_resolve_update_list_delete(service, caller):
    two_versions(service, caller, "aliased")
    created = service.create_alias(caller, fn("aliased"), "live", "1", description="current")
    assert created.arn == f"arn:aws:lambda:{REGION}:{caller.account_id}:function:aliased:live"
    assert (created.function_version, created.description) == ("1", "current")
    assert service.get_alias(caller, fn("aliased"), "live") == created
    assert service.get(caller, fn("aliased", "live")).version == "1"
    updated = service.update_alias(
        caller, fn("aliased"), "live", function_version="2", revision_id=created.revision_id
    )
    assert (updated.function_version, updated.description) == ("2", "current")
    assert updated.revision_id != created.revision_id
    assert service.get(caller, fn("aliased", "live")).version == "2"
    with pytest.raises(PreconditionFailed, match=NOT_CHANGED):
        service.update_alias(
            caller, fn("aliased"), "live", function_version="1", revision_id=created.revision_id
        )
    service.create_alias(caller, fn("aliased"), "old", "1")
    names = [a.name for a in service.list_aliases(caller, fn("aliased")).items]
    assert names == ["live", "old"]
    on_two = service.list_aliases(caller, fn("aliased"), function_version="2").items
    assert [a.name for a in on_two] == ["live"]
    service.delete_alias(caller, fn("aliased"), "live")
    service.delete_alias(caller, fn("aliased"), "live")  # idempotent, as on Lambda
    with pytest.raises(ResourceNotFound, match=r"^Cannot find alias arn: .*:aliased:live$"):
        service.get_alias(caller, fn("aliased"), "live")


def test_alias__weighted_routing_is_kept_and_an_empty_one_removes_it(service, caller):
    two_versions(service, caller, "routed")
    weights = {"AdditionalVersionWeights": {"2": 0.25}}
    split = service.create_alias(caller, fn("routed"), "split", "1", routing=weights)
    assert split.routing == {"2": 0.25}
    assert service.get_alias(caller, fn("routed"), "split").routing == {"2": 0.25}
    # Changing only the description keeps the routing; an empty RoutingConfig ends it.
    kept = service.update_alias(caller, fn("routed"), "split", description="canary")
    assert kept.routing == {"2": 0.25}
    cleared = service.update_alias(caller, fn("routed"), "split", routing={})
    assert cleared.routing is None


def test_alias__weighted_routing_to_the_same_or_latest_version_is_refused(service, caller):
    two_versions(service, caller, "routed")
    with pytest.raises(InvalidParameterValue, match=r"^Invalid function version 1\. "):
        service.create_alias(
            caller, fn("routed"), "self", "1", routing={"AdditionalVersionWeights": {"1": 0.5}}
        )
    with pytest.raises(InvalidParameterValue, match=r"^\$LATEST is not supported"):
        service.create_alias(
            caller, fn("routed"), "loose", LATEST, routing={"AdditionalVersionWeights": {"1": 0.5}}
        )
    with pytest.raises(ResourceNotFound):
        service.get_alias(caller, fn("routed"), "self")


def test_alias__missing_versions_numeric_names_and_duplicates_are_refused(service, caller):
    two_versions(service, caller, "picky")
    with pytest.raises(ResourceNotFound, match=r"Function not found: .*:function:picky:9$"):
        service.create_alias(caller, fn("picky"), "ahead", "9")
    with pytest.raises(InvalidParameterValue, match="Alias name '123' is not valid"):
        service.create_alias(caller, fn("picky"), "123", "1")
    with pytest.raises(InvalidParameterValue, match="FunctionVersion 'one' is not valid"):
        service.create_alias(caller, fn("picky"), "named", "one")
    service.create_alias(caller, fn("picky"), "live", "1")
    with pytest.raises(ResourceConflict, match=r"^Alias already exists: .*:function:picky:live$"):
        service.create_alias(caller, fn("picky"), "live", "2")
    assert [a.name for a in service.list_aliases(caller, fn("picky")).items] == ["live"]
    assert service.get_alias(caller, fn("picky"), "live").function_version == "1"


def test_list_aliases__by_name_page_by_page(service, caller):
    service.create(caller, fn("paged"), code(), dict(SETTINGS), publish=True)
    for name in ("c", "a", "d", "b", "e"):
        service.create_alias(caller, fn("paged"), name, "1")
    listed = pages(lambda **kw: service.list_aliases(caller, fn("paged"), **kw), max_items=2)
    assert [[a.name for a in page] for page in listed] == [["a", "b"], ["c", "d"], ["e"]]


# -- delete ----------------------------------------------------------------------------------------


def test_delete__one_version_keeps_latest_and_the_others_and_repeating_it_deletes_nothing(
    service, caller
):
    two_versions(service, caller, "pruned")
    gone = service.delete(caller, fn("pruned", "1"))
    assert [view.version for view in gone] == ["1"]
    assert service.delete(caller, fn("pruned", "1")) == []
    assert versions_of(service, caller, "pruned") == [LATEST, "2"]
    with pytest.raises(ResourceNotFound):
        service.get(caller, fn("pruned", "1"))


def test_delete__a_version_an_alias_points_at_is_a_conflict_naming_the_aliases(service, caller):
    two_versions(service, caller, "pinned")
    for name in ("prod", "blue"):
        service.create_alias(caller, fn("pinned"), name, "1")
    with pytest.raises(ResourceConflict) as refused:
        service.delete(caller, fn("pinned", "1"))
    assert str(refused.value) == (
        "Unable to delete version because the following aliases reference it: ['blue', 'prod']"
    )
    assert versions_of(service, caller, "pinned") == [LATEST, "1", "2"]


@pytest.mark.parametrize(
    ("qualifier", "message"),
    [
        (LATEST, r"^\$LATEST version cannot be deleted"),
        ("prod", r"^Deletion of aliases is not currently supported\.$"),
    ],
)
def test_delete__latest_or_an_alias_qualifier_is_invalid(service, caller, qualifier, message):
    service.create(caller, fn("kept"), code(), dict(SETTINGS), publish=True)
    service.create_alias(caller, fn("kept"), "prod", "1")
    with pytest.raises(InvalidParameterValue, match=message):
        service.delete(caller, fn("kept", qualifier))
    assert versions_of(service, caller, "kept") == [LATEST, "1"]


def test_delete__the_whole_function_answers_every_version_and_takes_its_aliases(service, caller):
    two_versions(service, caller, "doomed")
    service.create_alias(caller, fn("doomed"), "live", "2")
    gone = service.delete(caller, fn("doomed"))
    assert sorted(view.version for view in gone) == ["$LATEST", "1", "2"]
    with pytest.raises(ResourceNotFound):
        service.get(caller, fn("doomed"))
    with pytest.raises(ResourceNotFound):
        service.delete(caller, fn("doomed"))
    # A function made again under the name is a new one: no aliases, and versions from 1.
    service.create(caller, fn("doomed"), code("again"), dict(SETTINGS))
    assert service.list_aliases(caller, fn("doomed")).items == []
    assert service.publish_version(caller, fn("doomed")).version == "1"
