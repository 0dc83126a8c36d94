"""A function's overlay is computed in the background once its bundle is prepared, so that the
first page showing it (in any worker process) reads the cache; a failure there is the page's to
compute again, never the function's."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from registry.archives import ZipContent
from registry.functions.names import FunctionRef
from registry.functions.overlay import FunctionOverlays
from registry.functions.overlay_warming import OverlayWarmer
from registry.functions.service import FunctionService
from registry.invocations.bundles import BundleCache
from registry.invocations.preparation import BundlePreparer
from registry.layers.arns import LayerRef
from registry.layers.contents import LayerContents
from storage.filesystem import FilesystemBlobStore
from tests.support.functions import ROLE, RUNTIME, handler_zip
from tests.support.service_fixtures import REGION
from tests.support.zips import make_zip

SETTINGS = {"runtime": RUNTIME, "handler": "app.handler", "role": ROLE}


@pytest.fixture
def prepared(migrated_registry, layer_service, tmp_path):
    """A function service whose bundles are prepared as each change is made, and a preparer
    listeners may be added to."""
    service = FunctionService(
        migrated_registry.db, migrated_registry.store, layer_service, region=REGION
    )
    preparer = BundlePreparer(
        migrated_registry.db,
        BundleCache(migrated_registry.store, tmp_path / "functions", merge_cache_dir=tmp_path),
    )
    service.prepare_with(preparer.prepare_all)
    return service, preparer


def overlays_over(store, cache_dir) -> FunctionOverlays:
    return FunctionOverlays(store, cache_dir, LayerContents(store, cache_dir).packages)


def unreadable_store(tmp_path):
    """A worker's store with none of the blobs: it can only read what another left cached."""
    return FilesystemBlobStore(tmp_path / "no-blobs", signing_key=b"k")


def create_layered(service, layer_service, caller, name: str):
    layers = [
        layer_service.publish(
            caller,
            LayerRef(layer, None),
            ZipContent(
                make_zip({"python/shared.py": f"WHO = {layer!r}\n", f"python/{layer}.py": ""})
            ),
        ).layer_version_arn
        for layer in (f"{name}-base", f"{name}-top")
    ]
    code = ZipContent(zip_file=handler_zip("def handler(event, context):\n    return 1\n"))
    return service.create(
        caller, FunctionRef(name, None, None), code, dict(SETTINGS), layers=layers
    )


def test_preparing_a_bundle__caches_its_overlay_without_any_page(
    prepared, layer_service, new_caller, migrated_registry, tmp_path
):
    service, preparer = prepared
    warmer = OverlayWarmer(overlays_over(migrated_registry.store, tmp_path / "cache"))
    preparer.on_prepared(warmer.submit)

    created = create_layered(service, layer_service, new_caller(), "warmed")
    warmer.wait_idle()

    elsewhere = overlays_over(unreadable_store(tmp_path), tmp_path / "cache")
    assert elsewhere.cached(created.code_digest, created.layers)
    report = elsewhere.of(created)
    assert [item["name"] for item in report.inputs] == ["warmed-base", "warmed-top", "function"]
    assert ("opt/python/shared.py", "file", 1) in report.entries
    assert [(s["path"], s["lost"], s["won"]) for s in report.shadowed] == [
        ("python/shared.py", 0, 1)
    ]


def test_an_overlay_that_cannot_be_computed__leaves_the_function_active_and_the_page_computes_it(
    prepared, layer_service, new_caller, migrated_registry, tmp_path
):
    service, preparer = prepared
    cache = tmp_path / "cache"
    # The background's store has none of the blobs: every computation there fails.
    warmer = OverlayWarmer(overlays_over(unreadable_store(tmp_path), cache))
    preparer.on_prepared(warmer.submit)
    caller = new_caller()

    created = create_layered(service, layer_service, caller, "unwarmed")
    warmer.wait_idle()

    view = service.get(caller, FunctionRef("unwarmed", None, None))
    assert (view.state, view.last_update_status) == ("Active", "Successful")
    page = overlays_over(migrated_registry.store, cache)
    assert not page.cached(created.code_digest, created.layers)
    report = page.of(view)
    assert [(s["path"], s["lost"], s["won"]) for s in report.shadowed] == [
        ("python/shared.py", 0, 1)
    ]
    assert page.cached(created.code_digest, created.layers)


def test_a_listener_that_fails__neither_fails_the_preparation_nor_silences_the_others(
    prepared, layer_service, new_caller
):
    service, preparer = prepared
    told = []

    def broken(code_digest, layers):
        raise RuntimeError("listener broke")

    preparer.on_prepared(broken)
    preparer.on_prepared(lambda code_digest, layers: told.append((code_digest, layers)))
    caller = new_caller()

    created = create_layered(service, layer_service, caller, "told")

    view = service.get(caller, FunctionRef("told", None, None))
    assert (view.state, view.last_update_status) == ("Active", "Successful")
    assert told == [(created.code_digest, created.layers)]


def test_an_overlay_asked_by_several_workers_at_once__is_computed_the_same_and_leaves_no_lock(
    prepared, layer_service, new_caller, migrated_registry, tmp_path
):
    service, _preparer = prepared
    created = create_layered(service, layer_service, new_caller(), "crowded")
    workers = [overlays_over(migrated_registry.store, tmp_path / "cache") for _ in range(4)]

    with ThreadPoolExecutor(4) as pool:
        reports = list(pool.map(lambda overlays: overlays.of(created), workers))

    assert all(report == reports[0] for report in reports)
    assert ("opt/python/crowded-top.py", "file", 1) in reports[0].entries
    (left,) = (tmp_path / "cache" / "function-overlays").iterdir()
    assert left.suffix == ".json" and not left.name.startswith(".")
