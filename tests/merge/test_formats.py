"""Archives as real tools write them: Deflate64 from 7-Zip, Windows separators, data descriptors,
zip64, cp437 names."""

import shutil
import subprocess
from pathlib import Path

from registry.merge import MergeInput, merge
from tests.archive.build import WINDOWS, Dir, File, replace_name_bytes, zip_bytes
from tests.merge.trees import read_tree
from tests.support import require_service

FIXTURES = Path(__file__).parents[1] / "fixtures"


def test_deflate64_layer_from_7zip__merges_with_its_modes(tmp_path, cache_dir):
    document = merge(
        [MergeInput(FIXTURES / "deflate64.zip")], tmp_path / "out", cache_dir=cache_dir
    )
    module = (tmp_path / "out/opt/python/greet/__init__.py").read_text()
    assert module.endswith("return 'hello from deflate64'\n")
    assert (tmp_path / "out/opt/bin/greet").stat().st_mode & 0o777 == 0o755
    assert document["totals"]["files"] == 2


def test_windows_layer_with_backslash_separators__lands_in_directories(tmp_path, layer, cache_dir):
    archive = layer(
        "win.zip",
        Dir("python\\pkg", host=WINDOWS),
        File("python\\pkg\\__init__.py", b"w", host=WINDOWS),
    )
    merge([archive], tmp_path / "out", cache_dir=cache_dir)
    assert read_tree(tmp_path / "out/opt") == {
        "python": ("dir", 0o755),
        "python/pkg": ("dir", 0o755),
        "python/pkg/__init__.py": ("file", 0o644, b"w"),
    }


def test_layer_written_with_data_descriptors__merges(tmp_path, layer, cache_dir):
    archive = layer(
        "streamed.zip", File("python/a.py", b"a" * 5000), File("python/b.py", b"b"), streamed=True
    )
    merge([archive], tmp_path / "out", cache_dir=cache_dir)
    assert (tmp_path / "out/opt/python/a.py").read_bytes() == b"a" * 5000


def test_zip64_layer_from_info_zip__merges(tmp_path, cache_dir):
    require_service(shutil.which("zip") is not None, "the zip tool is not installed")
    (tmp_path / "src/python").mkdir(parents=True)
    (tmp_path / "src/python/big.py").write_text("x = 1\n" * 1000)
    subprocess.run(
        ["zip", "-q", "-r", "-fz", str(tmp_path / "z64.zip"), "python"],
        cwd=tmp_path / "src",
        check=True,
    )
    merge([MergeInput(tmp_path / "z64.zip")], tmp_path / "out", cache_dir=cache_dir)
    assert (tmp_path / "out/opt/python/big.py").read_text() == "x = 1\n" * 1000


def test_cp437_name__is_written_as_its_unicode_name(tmp_path, cache_dir):
    path = tmp_path / "dos.zip"
    path.write_bytes(
        replace_name_bytes(zip_bytes(File("docs/cafX.txt", b"x")), b"cafX", b"caf\x82")
    )
    document = merge([MergeInput(path)], tmp_path / "out", cache_dir=cache_dir)
    assert (tmp_path / "out/opt/docs/café.txt").read_bytes() == b"x"
    assert document["entries"][0]["path"] == "opt/docs/café.txt"
