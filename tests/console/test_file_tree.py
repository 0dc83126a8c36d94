"""Flat path listings turned into the nested folders the pages show."""

from __future__ import annotations

from registry.console.file_tree import build_tree
from registry.layers.contents import FileEntry


def test_folders_nest_with_their_files_and_totals():
    root = build_tree(
        [
            FileEntry("python/b.py", "file", 0o644, 5),
            FileEntry("python", "dir", 0o755, 0),
            FileEntry("python/pkg", "dir", 0o700, 0),
            FileEntry("python/pkg/a.py", "file", 0o644, 7),
            FileEntry("bin/run", "symlink", 0o777, 0, "../python/b.py"),
        ]
    )

    assert [f.name for f in root.folders] == ["bin", "python"]
    python = root.folders[1]
    assert [f.path for f in python.files] == ["python/b.py"]
    assert python.folders[0].mode == 0o700
    assert (root.count, root.size, python.count, python.size) == (3, 12, 2, 12)


def test_folders_no_entry_lists__are_made_from_the_paths_below_them():
    root = build_tree(
        [FileEntry("opt/python/x.py", "file", 0, 1), FileEntry("task/app.py", "file", 0, 1)]
    )

    assert [f.path for f in root.folders] == ["opt", "task"]
    assert root.folders[0].folders[0].path == "opt/python"
    assert root.files == []
