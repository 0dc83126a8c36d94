"""/opt assembled as an overlay of layer extractions, without copying: later layers win, and the
winner of every path is the one the merge engine picks."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import zipfile
from pathlib import Path

import pytest

from registry.executor import EnvironmentPool, SandboxError
from tests.executor.conftest import spec_for, strict_available
from tests.support import require_service

WALK_OPT = {"app.py": """
    import hashlib, os
    def handler(event, context):
        seen = {}
        for root, _dirs, files in os.walk("/opt"):
            for name in files:
                path = os.path.join(root, name)
                with open(path, "rb") as f:
                    seen[os.path.relpath(path, "/opt")] = hashlib.sha256(f.read()).hexdigest()
        return seen
"""}

LAYERS = [
    {"python/shared.py": "first = 1\n", "python/pkg/__init__.py": "", "python/pkg/one.py": "1\n",
     "bin/tool": "#!/bin/sh\necho one\n"},
    {"python/shared.py": "second = 2\n", "python/pkg/two.py": "2\n", "lib/data.txt": "lib\n"},
    {"bin/tool": "#!/bin/sh\necho three\n", "python/pkg/one.py": "3\n"},
]


@pytest.fixture(scope="module")
def overlay_pool(host):
    require_service(strict_available(host) and host.overlay,
                    "the /opt overlay needs root, bubblewrap and overlayfs")
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
        "python/shared.py": _sha("second = 2\n"), "python/pkg/__init__.py": _sha(""),
        "python/pkg/one.py": _sha("3\n"), "python/pkg/two.py": _sha("2\n"),
        "lib/data.txt": _sha("lib\n"), "bin/tool": _sha("#!/bin/sh\necho three\n")}
    assert result.mechanisms["opt"] == "overlayfs of 3 layer extractions (no copy)"


def test_overlay__needs_bubblewrap(host, bundles):
    root = bundles(task=WALK_OPT)
    layer = _extract(LAYERS[0], root / "only")
    with EnvironmentPool(host=host.without("bwrap")) as pool:
        with pytest.raises(SandboxError, match="overlayfs"):
            pool.invoke(spec_for(root, opt_layers=[layer]), b"{}")


def test_overlay__agrees_with_the_merge_engine_on_every_winner(overlay_pool, bundles, tmp_path):
    merge_module = pytest.importorskip("registry.merge") if os.environ.get("CI") != "true" else \
        __import__("registry.merge", fromlist=["merge"])
    zips = []
    for i, layer in enumerate(LAYERS):
        path = tmp_path / f"layer{i}.zip"
        with zipfile.ZipFile(path, "w") as archive:
            for rel, text in layer.items():
                archive.writestr(rel, text)
        zips.append(path)
    merged = tmp_path / "merged"
    manifest = merge_module.merge(
        [merge_module.MergeInput(path=z, name=f"layer{i}") for i, z in enumerate(zips)],
        merged, function=None, cache_dir=tmp_path / "cache")
    root = bundles(task=WALK_OPT)
    layers = [_extract(layer, root / f"layer{i}") for i, layer in enumerate(LAYERS)]

    seen = json.loads(overlay_pool.invoke(spec_for(root, opt_layers=layers), b"{}").payload)

    merged_opt = {str(p.relative_to(merged / "opt")): hashlib.sha256(p.read_bytes()).hexdigest()
                  for p in (merged / "opt").rglob("*") if p.is_file()}
    assert seen == merged_opt
    winners = {}
    for entry in manifest["files"]:
        path = entry["path"]
        if path.startswith("opt/"):
            winners[path[len("opt/"):]] = entry["sha256"]
    assert winners == seen
