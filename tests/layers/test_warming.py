"""A published version's listing is computed in the background as it is published, so that the
first page showing it (in any worker process) reads the cache, not the zip."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from registry.archives import ZipContent
from registry.layers.arns import LayerRef
from registry.layers.contents import FileEntry, LayerContents
from registry.layers.service import LayerService
from registry.layers.warming import ContentsWarmer
from storage.filesystem import FilesystemBlobStore
from tests.support.service_fixtures import REGION
from tests.support.zips import layer_zip, make_zip


def test_publish__computes_the_new_versions_listing_in_the_background(
    migrated_registry, new_caller, tmp_path
):
    service = LayerService(migrated_registry.db, migrated_registry.store, region=REGION)
    warmer = ContentsWarmer(LayerContents(migrated_registry.store, tmp_path))
    service.on_published(warmer.submit)

    view = service.publish(new_caller(), LayerRef("warm", None), ZipContent(layer_zip("warmed")))
    warmer.wait_idle()

    # Another worker's contents, with no blob it could read: the listing can only come from
    # the cache the publish filled.
    elsewhere = LayerContents(
        FilesystemBlobStore(tmp_path / "no-blobs", signing_key=b"k"), tmp_path
    )
    assert elsewhere.cached(view.digest)
    assert FileEntry("python/warmed.py", "file", 0o644, 10) in elsewhere.files(view.digest)


def test_publish__without_a_listener_leaves_the_listing_to_the_first_page(
    migrated_registry, new_caller, tmp_path
):
    service = LayerService(migrated_registry.db, migrated_registry.store, region=REGION)
    contents = LayerContents(migrated_registry.store, tmp_path)

    view = service.publish(new_caller(), LayerRef("cold", None), ZipContent(layer_zip("cold")))

    assert not contents.cached(view.digest)
    assert any(f.path == "python/cold.py" for f in contents.files(view.digest))
    assert contents.cached(view.digest)


def test_submit__a_blob_that_cannot_be_read_is_left_for_the_page_and_never_raises(tmp_path):
    contents = LayerContents(FilesystemBlobStore(tmp_path / "blobs", signing_key=b"k"), tmp_path)
    warmer = ContentsWarmer(contents)

    warmer.submit("0" * 64)
    warmer.wait_idle()

    assert not contents.cached("0" * 64)


def test_listing__asked_by_two_workers_at_once_is_the_same_and_leaves_no_lock_behind(
    migrated_registry, tmp_path
):
    digest = migrated_registry.store.put_bytes(
        make_zip({f"python/pkg/m{i}.py": "X = 1\n" for i in range(2_000)})
    ).digest
    workers = [LayerContents(migrated_registry.store, tmp_path) for _ in range(4)]

    with ThreadPoolExecutor(4) as pool:
        listings = list(pool.map(lambda contents: contents.files(digest), workers))

    assert all(listing == listings[0] for listing in listings) and len(listings[0]) == 2_002
    assert [p.name for p in (tmp_path / "layer-contents").iterdir()] == [f"{digest}.json"]
