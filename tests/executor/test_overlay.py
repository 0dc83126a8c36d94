"""/opt assembled as an overlay of layer extractions, without copying: later layers win, and the
winner of every path is the one the merge engine picks."""

from __future__ import annotations

import hashlib
import json
import stat
import zipfile
from pathlib import Path

import pytest

from registry.executor import EnvironmentPool, SandboxError
from registry.merge import MergeInput, extracted_path, merge
from tests.executor.conftest import spec_for, strict_available
from tests.support import require_service

WALK_OPT = {
    "app.py": """
    import hashlib, os
    def handler(event, context):
        seen = {}
        for root, dirs, files in os.walk("/opt"):
            for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
                path = os.path.join(root, name)
                if os.path.islink(path):
                    seen[os.path.relpath(path, "/opt")] = "-> " + os.readlink(path)
                    continue
                with open(path, "rb") as f:
                    seen[os.path.relpath(path, "/opt")] = hashlib.sha256(f.read()).hexdigest()
        return seen
"""
}

LAYERS = [
    {
        "python/shared.py": "first = 1\n",
        "python/pkg/__init__.py": "",
        "python/pkg/one.py": "1\n",
        "bin/tool": "#!/bin/sh\necho one\n",
    },
    {"python/shared.py": "second = 2\n", "python/pkg/two.py": "2\n", "lib/data.txt": "lib\n"},
    {"bin/tool": "#!/bin/sh\necho three\n", "python/pkg/one.py": "3\n"},
]


@pytest.fixture(scope="module")
def overlay_pool(host):
    require_service(
        strict_available(host) and host.overlay,
        "the /opt overlay needs root, bubblewrap and overlayfs",
    )
    with EnvironmentPool(host=host) as pool:
        yield pool


def _extract(layer: dict[str, str], into: Path) -> Path:
    for rel, text in layer.items():
        path = into / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for path in [into, *into.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0))
    return into


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_overlay__later_layers_win_and_directories_merge(overlay_pool, bundles):
    root = bundles(task=WALK_OPT)
    layers = [_extract(layer, root / f"layer{i}") for i, layer in enumerate(LAYERS)]

    result = overlay_pool.invoke(spec_for(root, opt_layers=layers, isolation="strict"), b"{}")

    assert result.outcome == "success", result.logs
    assert json.loads(result.payload) == {
        "python/shared.py": _sha("second = 2\n"),
        "python/pkg/__init__.py": _sha(""),
        "python/pkg/one.py": _sha("3\n"),
        "python/pkg/two.py": _sha("2\n"),
        "lib/data.txt": _sha("lib\n"),
        "bin/tool": _sha("#!/bin/sh\necho three\n"),
    }
    assert result.mechanisms["opt"] == "overlayfs of 3 layer extractions (no copy)"


def test_overlay__needs_bubblewrap(host, bundles):
    root = bundles(task=WALK_OPT)
    layer = _extract(LAYERS[0], root / "only")
    with (
        EnvironmentPool(host=host.without("bwrap")) as pool,
        pytest.raises(SandboxError, match="overlayfs"),
    ):
        pool.invoke(spec_for(root, opt_layers=[layer]), b"{}")


def _zip(path: Path, files: dict) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for rel, content in files.items():
            if isinstance(content, Symlink):
                info = zipfile.ZipInfo(rel)
                info.create_system = 3  # unix, so the mode bits below are read
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                archive.writestr(info, content.target)
            else:
                archive.writestr(rel, content)
    return path


class Symlink:
    def __init__(self, target: str):
        self.target = target


CONFLICTS = [
    {
        "python/a.py": "1\n",
        "python/keep.py": "k\n",
        "x/inner.txt": "a dir in layer 1\n",
        "y": "a file in layer 1\n",
        "link": Symlink("python"),
    },
    {
        "x": "a file in layer 2\n",
        "y/inner.txt": "a dir in layer 2\n",
        "python/a.py": "2\n",
        "link2": Symlink("python/a.py"),
    },
    {"link": Symlink("x"), "python/deep/er.py": "3\n"},
]


def test_overlay__agrees_with_the_merge_engine_on_every_winner(overlay_pool, bundles, tmp_path):
    zips = [_zip(tmp_path / f"layer{i}.zip", layer) for i, layer in enumerate(CONFLICTS)]
    cache = tmp_path / "cache"
    manifest = merge(
        [MergeInput(path=z, name=z.stem) for z in zips], tmp_path / "bundle", cache_dir=cache
    )
    # the merge engine's own cached extractions, overlaid as they are: nothing is copied
    layers = [extracted_path(cache, item["sha256"]) for item in manifest["inputs"]]
    root = bundles(task=WALK_OPT)

    result = overlay_pool.invoke(spec_for(root, opt_layers=layers), b"{}")

    assert result.outcome == "success", result.logs
    expected = {
        entry["path"][len("opt/") :]: "-> " + entry["target"]
        if entry["type"] == "symlink"
        else entry["sha256"]
        for entry in manifest["entries"]
        if entry["path"].startswith("opt/") and entry["type"] in ("file", "symlink")
    }
    assert json.loads(result.payload) == expected
