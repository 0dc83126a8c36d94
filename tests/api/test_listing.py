"""ListLayers, ListLayerVersions and ListFunctions page by page through boto3 against a real
`strata serve`, on both backend pairs: filters across page boundaries, shared versions, and
markers that keep their place when versions come and go between pages."""

from __future__ import annotations

import base64

import pytest

from tests.support.functions import create, update_configuration
from tests.support.functions import publish as publish_function_version
from tests.support.zips import layer_zip


def publish(lam, name, runtimes=None, architectures=None):
    extra = {}
    if runtimes is not None:
        extra["CompatibleRuntimes"] = runtimes
    if architectures is not None:
        extra["CompatibleArchitectures"] = architectures
    return lam.publish_layer_version(LayerName=name, Content={"ZipFile": layer_zip()}, **extra)


def all_pages(call, key, *, Marker=None, **kwargs) -> list[list]:
    pages, marker = [], Marker
    while True:
        answer = call(**kwargs, **({"Marker": marker} if marker else {}))
        pages.append(answer[key])
        marker = answer.get("NextMarker")
        if not marker:
            return pages


def newest(pages) -> list[list[tuple[str, int]]]:
    return [
        [(layer["LayerName"], layer["LatestMatchingVersion"]["Version"]) for layer in page]
        for page in pages
    ]


def test_list_layers__filters_hold_across_page_boundaries(lam):
    publish(lam, "a", ["python3.12"], ["x86_64"])
    publish(lam, "a", ["nodejs20.x"], ["arm64"])  # newest of a, but not python3.12
    publish(lam, "b", ["nodejs20.x"])  # b has no python3.12 version: not listed
    publish(lam, "c", ["python3.12"], ["arm64"])
    publish(lam, "c", ["python3.12", "python3.13"], ["x86_64"])
    publish(lam, "d", ["python3.12"], ["arm64"])
    pages = all_pages(lam.list_layers, "Layers", CompatibleRuntime="python3.12", MaxItems=1)
    assert newest(pages) == [[("a", 1)], [("c", 2)], [("d", 1)]]
    pages = all_pages(
        lam.list_layers,
        "Layers",
        CompatibleRuntime="python3.12",
        CompatibleArchitecture="arm64",
        MaxItems=1,
    )
    assert newest(pages) == [[("c", 1)], [("d", 1)]]
    assert newest(all_pages(lam.list_layers, "Layers", MaxItems=3)) == [
        [("a", 2), ("b", 1), ("c", 2)],
        [("d", 1)],
    ]


def test_list_layer_versions__filters_hold_across_page_boundaries(lam):
    for runtimes in (["python3.12"], ["nodejs20.x"], ["python3.12"], ["nodejs20.x"]):
        publish(lam, "mixed", runtimes)
    publish(lam, "mixed", ["python3.12"])
    pages = all_pages(
        lam.list_layer_versions,
        "LayerVersions",
        LayerName="mixed",
        CompatibleRuntime="python3.12",
        MaxItems=2,
    )
    assert [[v["Version"] for v in page] for page in pages] == [[5, 3], [1]]


def test_list_layers__lists_only_the_callers_own_layers_even_when_others_are_shared(
    strata_server, lam
):
    owner = strata_server.client(strata_server.new_account())
    publish(owner, "theirs", ["python3.12"])
    owner.add_layer_version_permission(
        LayerName="theirs",
        VersionNumber=1,
        StatementId="everyone",
        Action="lambda:GetLayerVersion",
        Principal="*",
    )
    publish(lam, "mine", ["python3.12"])
    assert newest([lam.list_layers(CompatibleRuntime="python3.12")["Layers"]]) == [[("mine", 1)]]


def test_list_layer_versions__another_account_pages_through_only_what_is_shared_with_it(
    strata_server, account, lam
):
    owner_account = strata_server.new_account()
    owner = strata_server.client(owner_account)
    stranger = strata_server.client(strata_server.new_account())
    for _ in range(7):
        publish(owner, "partly")
    for version, principal in ((1, account.account_id), (4, "*"), (5, account.account_id)):
        owner.add_layer_version_permission(
            LayerName="partly",
            VersionNumber=version,
            StatementId="s",
            Action="lambda:GetLayerVersion",
            Principal=principal,
        )
    arn = f"arn:aws:lambda:{strata_server.region}:{owner_account.account_id}:layer:partly"
    pages = all_pages(lam.list_layer_versions, "LayerVersions", LayerName=arn, MaxItems=1)
    assert [[v["Version"] for v in page] for page in pages] == [[5], [4], [1]]
    pages = all_pages(stranger.list_layer_versions, "LayerVersions", LayerName=arn, MaxItems=2)
    assert [[v["Version"] for v in page] for page in pages] == [[4]]


def test_list_layer_versions__marker_keeps_its_place_when_versions_come_and_go(lam):
    for _ in range(5):
        publish(lam, "moving")
    first = lam.list_layer_versions(LayerName="moving", MaxItems=2)
    assert [v["Version"] for v in first["LayerVersions"]] == [5, 4]
    publish(lam, "moving")  # 6: newer than the marker, so not on the later pages
    lam.delete_layer_version(LayerName="moving", VersionNumber=3)
    lam.delete_layer_version(LayerName="moving", VersionNumber=4)  # already listed
    second = lam.list_layer_versions(LayerName="moving", MaxItems=2, Marker=first["NextMarker"])
    assert [v["Version"] for v in second["LayerVersions"]] == [2, 1]
    assert "NextMarker" not in second


def test_list_layers__marker_keeps_its_place_when_versions_come_and_go(lam):
    for name in ("l1", "l2", "l3"):
        publish(lam, name)
        publish(lam, name)
    first = lam.list_layers(MaxItems=1)
    assert newest([first["Layers"]]) == [[("l1", 2)]]
    lam.delete_layer_version(LayerName="l2", VersionNumber=2)
    publish(lam, "l3")
    publish(lam, "l0")  # sorts before the marker: not on the later pages
    rest = all_pages(lam.list_layers, "Layers", MaxItems=1, Marker=first["NextMarker"])
    assert newest(rest) == [[("l2", 1)], [("l3", 3)]]


def test_list_functions__all_versions_page_by_page_while_versions_are_published(lam):
    for name in ("fa", "fb", "fc"):
        create(lam, name)
    publish_function_version(lam, FunctionName="fb")
    update_configuration(lam, FunctionName="fb", MemorySize=256)
    publish_function_version(lam, FunctionName="fb")
    first = lam.list_functions(FunctionVersion="ALL", MaxItems=3)
    listed = [(f["FunctionName"], f["Version"]) for f in first["Functions"]]
    assert listed == [("fa", "$LATEST"), ("fb", "$LATEST"), ("fb", "1")]
    update_configuration(lam, FunctionName="fb", MemorySize=512)
    publish_function_version(lam, FunctionName="fb")  # 3, after the marker: listed on a later page
    pages = all_pages(
        lam.list_functions,
        "Functions",
        FunctionVersion="ALL",
        MaxItems=2,
        Marker=first["NextMarker"],
    )
    assert [[(f["FunctionName"], f["Version"]) for f in page] for page in pages] == [
        [("fb", "2"), ("fb", "3")],
        [("fc", "$LATEST")],
    ]
    pages = all_pages(lam.list_functions, "Functions", MaxItems=2)
    assert [[f["FunctionName"] for f in page] for page in pages] == [["fa", "fb"], ["fc"]]


@pytest.mark.parametrize("version", ["abc", "1.5", "²"])
def test_list_functions__a_marker_whose_version_is_not_a_number_is_refused(lam, version):
    create(lam, "marked")
    marker = base64.urlsafe_b64encode(f"marked\n{version}".encode()).decode()
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="Marker"):
        lam.list_functions(FunctionVersion="ALL", Marker=marker)
