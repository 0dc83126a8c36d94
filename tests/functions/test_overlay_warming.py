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

    def broken(code_digest, layers, bundle):
        raise RuntimeError("listener broke")

    preparer.on_prepared(broken)
    preparer.on_prepared(lambda code_digest, layers, bundle: told.append((code_digest, layers)))
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


LAYERS = {
    "base": make_zip(
        {
            "python/shared.py": "1",
            "python/pkg/a.py": "1",
            "python/pkg/sub/b.py": "1",
            "python/keep/x.py": "1",
            "python/keep-too.py": "1",
        }
    ),
    # A file where a folder was (its whole subtree is lost), an empty folder, a folder whose
    # name another path begins with.
    "middle": make_zip(
        {"python/shared.py": "2", "python/pkg": "now a file", "python/empty/": "", "python/a": "1"}
    ),
    "top": make_zip(
        {"python/shared.py": "3", "python/target/t.py": "1"}, links={"python/link": "target"}
    ),
}


def test_the_overlay_from_the_prepared_bundle__is_the_one_the_plan_gives(
    migrated_registry, new_caller, layer_service, tmp_path
):
    caller = new_caller()
    layers = [
        {
            "digest": (
                view := layer_service.publish(caller, LayerRef(f"same-{name}", None), ZipContent(z))
            ).digest,
            "arn": view.layer_version_arn,
        }
        for name, z in LAYERS.items()
    ]
    code = migrated_registry.store.put_bytes(
        make_zip({"app.py": "def handler(e, c):\n    return 1\n", "lib/util.py": "", "data/": ""})
    ).digest
    bundles = BundleCache(migrated_registry.store, tmp_path / "functions", merge_cache_dir=tmp_path)
    bundle = bundles.bundle(code, layers)

    # With none of the blobs to plan from: the bundle is all it reads (the packages aside).
    from_bundle = FunctionOverlays(
        unreadable_store(tmp_path),
        tmp_path / "from-bundle",
        LayerContents(migrated_registry.store, tmp_path / "from-bundle").packages,
    )
    from_bundle.warm(code, layers, bundle)
    planned = overlays_over(migrated_registry.store, tmp_path / "planned")

    shown = from_bundle.report(code, layers)
    assert shown == planned.report(code, layers)
    assert {s["path"] for s in shown.shadowed} >= {"python/shared.py", "python/pkg/sub/b.py"}
    assert ("opt/python/empty", "dir", 1) in shown.entries
    assert ("opt/python/link", "symlink", 2) in shown.entries
    assert not any(
        path in ("opt/python", "opt/python/keep", "task/lib") for path, *_ in shown.entries
    )
