"""Finding the packages a layer installs, against real distributions' and npm packages' metadata."""

from __future__ import annotations

import json
from importlib import metadata

from registry.archive.reader import Archive
from registry.inventory.packages import MAX_METADATA_BYTES, NPM, PYPI, find_packages
from tests.inventory.real_packages import NPM_MODULES, layer_zip, node_files, python_files


def _packages(files: dict[str, bytes]):
    with Archive.open(layer_zip(files)) as archive:
        return find_packages(archive, archive.layout())


def test_python_distributions__are_read_from_their_metadata_and_record():
    found = {p.name: p for p in _packages(python_files()) if p.ecosystem == PYPI}

    assert sorted(found) == ["click", "rich", "urllib3"]
    for name in found:
        dist = metadata.distribution(name)
        package = found[name]
        assert package.version == dist.version
        assert package.summary == " ".join(dist.metadata["Summary"].split())
        assert package.requires == tuple(" ".join(r.split()) for r in dist.requires or ())
        assert package.files == len(
            [line for line in dist.read_text("RECORD").splitlines() if line]
        )
        assert package.path.startswith("python/") and package.path.endswith(".dist-info")
    assert found["rich"].license  # a License-Expression, License or classifier, whichever it has
    assert any(r.startswith("pygments") for r in found["rich"].requires)


def test_site_packages_under_python_lib__count_too():
    files = python_files(["click"], prefix="python/lib/python3.11/site-packages")
    (package,) = _packages(files)
    assert package.name == "click"


def test_nodejs_packages__are_read_from_package_json_scoped_ones_too():
    found = {p.name: p for p in _packages(node_files()) if p.ecosystem == NPM}

    assert sorted(found) == ["@npmcli/fs", "semver"]
    for name, package in found.items():
        document = json.loads((NPM_MODULES / name / "package.json").read_text())
        assert package.version == document["version"]
        assert package.license == document["license"]
        assert package.requires == tuple(
            f"{dep}@{spec}" for dep, spec in (document.get("dependencies") or {}).items()
        )
    assert found["@npmcli/fs"].path == "nodejs/node_modules/@npmcli/fs"


def test_files_outside_the_layer_directories_or_not_metadata__are_not_packages():
    files = python_files(["click"], prefix="site")
    files["python/notes/METADATA"] = b"Name: fake\nVersion: 1\n"
    files["nodejs/package.json"] = b'{"name": "not-in-node-modules"}'
    files["nodejs/node_modules/broken/package.json"] = b"{ not json"
    assert _packages(files) == []


def test_an_oversized_metadata_file__is_not_read():
    files = {"python/big-1.0.dist-info/METADATA": b"Name: big\n" + b"X" * MAX_METADATA_BYTES}
    assert _packages(files) == []
