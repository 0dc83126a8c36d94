"""A layer version's file listing, read from its zip's central directory and kept per blob."""

from __future__ import annotations

import io
import stat
import zipfile

import pytest

from registry.layers.contents import FileEntry, LayerContents

# The archive repeats a name on purpose (the later entry wins), which zipfile warns about.
pytestmark = pytest.mark.filterwarnings("ignore:Duplicate name")


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:

        def add(name: str, data: bytes, mode: int) -> None:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.external_attr = mode << 16
            archive.writestr(info, data)

        add("python/", b"", stat.S_IFDIR | 0o755)
        add("python/mod.py", b"old", stat.S_IFREG | 0o644)
        add("python/mod.py", b"VALUE = 2\n", stat.S_IFREG | 0o644)  # a later entry wins
        add("bin/run", b"#!/bin/sh\n", stat.S_IFREG | 0o755)
        add("bin/latest", b"run", stat.S_IFLNK | 0o777)
    return buffer.getvalue()


def test_files__are_the_archives_final_tree_with_sizes_modes_and_link_targets(
    migrated_registry, tmp_path
):
    digest = migrated_registry.store.put_bytes(_zip()).digest
    files = LayerContents(migrated_registry.store, tmp_path).files(digest)

    assert files == [
        FileEntry("bin", "dir", 0o755, 0),
        FileEntry("bin/latest", "symlink", 0o777, 0, "run"),
        FileEntry("bin/run", "file", 0o755, 10),
        FileEntry("python", "dir", 0o755, 0),
        FileEntry("python/mod.py", "file", 0o644, 10),
    ]


def test_files__are_read_once_per_blob(migrated_registry, tmp_path):
    digest = migrated_registry.store.put_bytes(_zip()).digest
    first = LayerContents(migrated_registry.store, tmp_path).files(digest)
    (cached,) = (tmp_path / "layer-contents").glob(f"{digest}.json")
    text = cached.read_text().replace('"python/mod.py"', '"python/seen-from-the-cache.py"')
    cached.write_text(text)

    again = LayerContents(migrated_registry.store, tmp_path).files(digest)
    assert [f.path for f in again] == [
        f.path.replace("mod.py", "seen-from-the-cache.py") for f in first
    ]


def test_files__computed_by_a_process_are_kept_in_its_memory_and_others_read_the_cache(
    migrated_registry, tmp_path
):
    digest = migrated_registry.store.put_bytes(_zip()).digest
    contents = LayerContents(migrated_registry.store, tmp_path)
    first = contents.files(digest)
    (cached,) = (tmp_path / "layer-contents").glob(f"{digest}.json")
    cached.write_text(cached.read_text().replace('"python/mod.py"', '"python/from-the-file.py"'))

    assert contents.files(digest) == first
    assert "python/from-the-file.py" in [
        f.path for f in LayerContents(migrated_registry.store, tmp_path).files(digest)
    ]
