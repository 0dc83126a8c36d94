"""A function's overlay as its pages show it is kept in memory for the combinations shown last,
so browsing a large overlay folder by folder reads and builds its tree once."""

from __future__ import annotations

import shutil

from registry.archives import ZipContent
from registry.console.file_tree import folder_at
from registry.console.overlay_trees import OverlayTrees
from registry.functions.names import FunctionRef
from registry.functions.overlay import FunctionOverlays
from registry.layers.arns import LayerRef
from registry.layers.contents import LayerContents
from tests.support.functions import ROLE, RUNTIME, handler_zip
from tests.support.zips import make_zip

SETTINGS = {"runtime": RUNTIME, "handler": "app.handler", "role": ROLE}


def _function(function_service, layer_service, caller, name: str):
    layers = [
        layer_service.publish(
            caller,
            LayerRef(layer, None),
            ZipContent(make_zip({"python/shared.py": f"WHO = {layer!r}\n"})),
        ).layer_version_arn
        for layer in (f"{name}-base", f"{name}-top")
    ]
    code = ZipContent(zip_file=handler_zip(f"def handler(event, context):\n    return {name!r}\n"))
    return function_service.create(
        caller, FunctionRef(name, None, None), code, dict(SETTINGS), layers=layers
    )


def _trees(store, cache_dir, **kwargs) -> OverlayTrees:
    contents = LayerContents(store, cache_dir)
    return OverlayTrees(FunctionOverlays(store, cache_dir, contents.packages), **kwargs)


def test_an_overlay_shown_again__is_the_same_tree_not_read_again(
    migrated_registry, function_service, layer_service, new_caller, tmp_path
):
    view = _function(function_service, layer_service, new_caller(), "shown")
    trees = _trees(migrated_registry.store, tmp_path)

    first = trees.of(view)
    shutil.rmtree(tmp_path / "function-overlays")

    assert trees.of(view) is first
    assert first.source["opt/python/shared.py"] == "shown-top"
    assert [f.path for f in folder_at(first.tree, "opt/python").files] == ["opt/python/shared.py"]


def test_only_the_overlays_shown_last__are_kept(
    migrated_registry, function_service, layer_service, new_caller, tmp_path
):
    caller = new_caller()
    one, other = (
        _function(function_service, layer_service, caller, name) for name in ("one", "other")
    )
    trees = _trees(migrated_registry.store, tmp_path, kept=1)

    first = trees.of(one)
    trees.of(other)

    again = trees.of(one)
    assert again is not first and again.source == first.source


def test_overlays_past_the_entries_kept__are_dropped_but_the_last_one_shown(
    migrated_registry, function_service, layer_service, new_caller, tmp_path
):
    caller = new_caller()
    one, other = (
        _function(function_service, layer_service, caller, name) for name in ("big1", "big2")
    )
    entries = len(_trees(migrated_registry.store, tmp_path).of(one).report.entries)
    trees = _trees(migrated_registry.store, tmp_path, kept_entries=entries)

    first = trees.of(one)
    assert trees.of(one) is first
    last = trees.of(other)

    assert trees.of(other) is last
    assert trees.of(one) is not first


def test_functions_of_two_accounts_holding_the_same_bytes__each_shows_its_own_layer_names(
    migrated_registry, function_service, layer_service, new_caller, tmp_path
):
    shared = make_zip({"python/shared.py": "WHO = 'same bytes'\n"})
    code = handler_zip("def handler(event, context):\n    return 1\n")
    views = []
    for name in ("first-owners-layer", "second-owners-layer"):
        caller = new_caller()
        arn = layer_service.publish(
            caller, LayerRef(name, None), ZipContent(shared)
        ).layer_version_arn
        views.append(
            function_service.create(
                caller,
                FunctionRef("same", None, None),
                ZipContent(zip_file=code),
                dict(SETTINGS),
                layers=[arn],
            )
        )
    first, second = views
    contents = LayerContents(migrated_registry.store, tmp_path)
    overlays = FunctionOverlays(migrated_registry.store, tmp_path, contents.packages)
    trees = OverlayTrees(overlays)

    assert trees.of(first).source["opt/python/shared.py"] == "first-owners-layer"
    # The same cached overlay, read for the other account's function: none of the first's names.
    assert trees.of(second).source["opt/python/shared.py"] == "second-owners-layer"
    assert overlays.of(second).inputs[0]["arn"] == second.layers[0]["arn"]
    assert overlays.of(first).inputs[0]["arn"] == first.layers[0]["arn"]
