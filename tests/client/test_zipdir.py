import os
import stat
import zipfile

from registry.client.zipdir import zip_directory


def _tree(root):
    (root / "python" / "pkg").mkdir(parents=True)
    (root / "python" / "pkg" / "__init__.py").write_text("VALUE = 1\n")
    (root / "bin").mkdir()
    (root / "bin" / "tool").write_text("#!/bin/sh\necho hi\n")
    os.chmod(root / "bin" / "tool", 0o755)
    (root / "empty").mkdir()
    os.symlink("pkg/__init__.py", root / "python" / "link.py")


def test_zip_directory__same_tree_same_bytes_whatever_the_times(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    _tree(a)
    _tree(b)
    for path in b.rglob("*"):
        os.utime(path, (1_000_000_000, 1_000_000_000), follow_symlinks=False)
    zip_directory(a, tmp_path / "a.zip")
    zip_directory(b, tmp_path / "b.zip")
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()


def test_zip_directory__sorted_entries_modes_symlinks_and_empty_dirs(tmp_path):
    _tree(tmp_path / "src")
    zip_directory(tmp_path / "src", tmp_path / "out.zip")
    with zipfile.ZipFile(tmp_path / "out.zip") as zf:
        names = zf.namelist()
        infos = {i.filename: i for i in zf.infolist()}
        link_target = zf.read("python/link.py")
    assert names == sorted(names)
    assert "empty/" in names
    assert stat.S_IMODE(infos["bin/tool"].external_attr >> 16) == 0o755
    assert stat.S_IMODE(infos["python/pkg/__init__.py"].external_attr >> 16) == 0o644
    assert stat.S_ISLNK(infos["python/link.py"].external_attr >> 16)
    assert link_target == b"pkg/__init__.py"
    assert {i.date_time for i in infos.values()} == {(1980, 1, 1, 0, 0, 0)}
