"""Package-level conflicts of a function's layers, against real distributions' metadata."""

from __future__ import annotations

import dataclasses

from packaging.requirements import Requirement

from registry.archive.reader import Archive
from registry.functions.overlay import _conflicts, _unmet
from registry.inventory.packages import find_packages
from tests.inventory.real_packages import layer_zip, python_files


def _layer(*names):
    with Archive.open(layer_zip(python_files(names))) as archive:
        return find_packages(archive, archive.layout())


def _with_version(packages, name: str, version: str):
    return [dataclasses.replace(p, version=version) if p.name == name else p for p in packages]


def test_a_requirement_the_winning_version_misses__is_unmet():
    rich_layer = _layer("rich")
    old_pygments = _with_version(_layer("pygments"), "Pygments", "2.0.0")
    (pygments_requirement,) = [
        r for r in rich_layer[0].requires if r.lower().startswith("pygments")
    ]

    unmet = _unmet([rich_layer, old_pygments])

    assert {
        "input": 0,
        "name": "rich",
        "version": rich_layer[0].version,
        "requires": str(Requirement(pygments_requirement)),
        "found": "2.0.0",
        "found_in": 1,
    } in unmet


def test_requirements_the_merged_layers_meet__are_not_reported():
    unmet = _unmet([_layer("rich", "pygments", "markdown-it-py", "mdurl")])
    assert [u for u in unmet if u["name"] == "rich"] == []


def test_a_requirement_no_layer_ships__is_reported_as_missing():
    unmet = _unmet([_layer("rich")])
    assert any(u["found"] is None and u["requires"].lower().startswith("pygments") for u in unmet)


def test_the_latest_layer_wins__and_two_versions_of_a_distribution_conflict():
    newer = _layer("pygments")
    older = _with_version(newer, "Pygments", "2.0.0")
    rich_layer = _layer("rich")

    assert [u for u in _unmet([rich_layer, older, newer]) if u["found"] == "2.0.0"] == []
    (conflict,) = _conflicts([older, newer])
    assert conflict["name"] == "pygments"
    assert [ship["version"] for ship in conflict["ships"]] == ["2.0.0", newer[0].version]
