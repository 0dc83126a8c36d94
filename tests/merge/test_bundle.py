"""bundle.json: inputs, every entry with its source, totals and a reproducible tree digest."""

import gc
import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from registry.errors import InvalidZip
from registry.merge import MergeInput, merge
from registry.merge.cache import cache_root
from tests.archive.build import Dir, File, Link

LAYERS = [
    (
        "base.zip",
        [File("python/a.py", b"a" * 300), File("python/pkg/m.py", b"m"), Dir("python/empty")],
    ),
    (
        "tools.zip",
        [
            File("bin/run", b"#!/bin/sh\n", mode=0o755),
            Link("bin/go", "run"),
            File("python/a.py", b"override"),
        ],
    ),
]


def build_layers(layer):
    return [layer(name, *entries) for name, entries in LAYERS]


def test_document_lists_inputs_entries_shadowed_and_totals(tmp_path, layer, cache_dir):
    layers = build_layers(layer)
    layers[1] = MergeInput(
        layers[1].path, name="tools", arn="arn:aws:lambda:us-east-1:000000000000:layer:tools:3"
    )
    document = merge(layers, tmp_path / "out", cache_dir=cache_dir, runtime="python3.12")
    assert document["format"] == "strata-bundle/1"
    assert document["runtime"] == "python3.12"
    inputs = document["inputs"]
    assert [(i["id"], i["name"], i["arn"]) for i in inputs] == [
        ("layer:1", "base.zip", None),
        ("layer:2", "tools", "arn:aws:lambda:us-east-1:000000000000:layer:tools:3"),
    ]
    assert all(len(i["sha256"]) == 64 for i in inputs)
    assert [e["path"] for e in document["entries"]] == [
        "opt/bin/go",
        "opt/bin/run",
        "opt/python/a.py",
        "opt/python/empty",
        "opt/python/pkg/m.py",
    ]
    a = next(e for e in document["entries"] if e["path"] == "opt/python/a.py")
    assert a == {
        "path": "opt/python/a.py",
        "type": "file",
        "mode": "0644",
        "size": 8,
        "sha256": hashlib.sha256(b"override").hexdigest(),
        "source": "layer:2",
    }
    assert document["shadowed"] == [
        {
            "path": "opt/python/a.py",
            "type": "file",
            "lost": "layer:1",
            "won": "layer:2",
            "by": "opt/python/a.py",
        }
    ]
    assert document["totals"] == {"files": 3, "symlinks": 1, "directories": 4, "bytes": 8 + 1 + 10}
    on_disk = json.loads((tmp_path / "out/bundle.json").read_text())
    assert on_disk == document


def test_tree_digest_and_document_identical_across_cache_states_and_workers(
    tmp_path, layer, cache_dir
):
    layers = build_layers(layer)
    cold = merge(layers, tmp_path / "cold", cache_dir=cache_dir)
    warm = merge(layers, tmp_path / "warm", cache_dir=cache_dir)
    other = merge(layers, tmp_path / "other", cache_dir=tmp_path / "cache2", workers=1)
    assert cold["tree_sha256"] == warm["tree_sha256"] == other["tree_sha256"]
    texts = {(tmp_path / name / "bundle.json").read_bytes() for name in ("cold", "warm", "other")}
    assert len(texts) == 1


def test_tree_digest_ignores_which_layer_provided_identical_bytes(tmp_path, layer, cache_dir):
    one = merge([layer("x.zip", File("python/a.py", b"a"))], tmp_path / "one", cache_dir=cache_dir)
    two = merge(
        [layer("y.zip", File("python/a.py", b"z")), layer("z.zip", File("python/a.py", b"a"))],
        tmp_path / "two",
        cache_dir=cache_dir,
    )
    assert one["tree_sha256"] == two["tree_sha256"]


def test_tree_digest_changes_with_content_mode_or_layout(tmp_path, layer, cache_dir):
    digests = {
        merge([layer(f"{i}.zip", *entries)], tmp_path / f"out{i}", cache_dir=cache_dir)[
            "tree_sha256"
        ]
        for i, entries in enumerate(
            [
                [File("python/a.py", b"a")],
                [File("python/a.py", b"b")],
                [File("python/a.py", b"a", mode=0o755)],
                [File("python/b.py", b"a")],
                [File("python/a.py", b"a"), Dir("python/empty")],
            ]
        )
    }
    assert len(digests) == 5


def test_bundle_files_are_hard_links_into_the_cache_unless_copy(tmp_path, layer, cache_dir):
    layers = build_layers(layer)
    merge(layers, tmp_path / "linked", cache_dir=cache_dir)
    merge(layers, tmp_path / "copied", cache_dir=cache_dir, copy=True)
    assert os.stat(tmp_path / "linked/opt/bin/run").st_nlink >= 2
    assert os.stat(tmp_path / "copied/opt/bin/run").st_nlink == 1
    assert (tmp_path / "copied/opt/bin/run").read_bytes() == b"#!/bin/sh\n"
    assert os.stat(tmp_path / "copied/opt/bin/run").st_mode & 0o777 == 0o755
    assert cache_root(cache_dir).is_dir()


def test_names_needing_json_escapes_round_trip_through_bundle_json(tmp_path, layer, cache_dir):
    odd = 'python/quote"back{},{tick}\n é.py'
    document = merge(
        [layer("odd.zip", File(odd, b"x"), Link("python/link", odd.split("/")[1]))],
        tmp_path / "out",
        cache_dir=cache_dir,
    )
    assert json.loads((tmp_path / "out/bundle.json").read_text(encoding="utf-8")) == document
    assert (tmp_path / "out/opt" / odd).read_bytes() == b"x"
    assert {e["path"] for e in document["entries"]} == {f"opt/{odd}", "opt/python/link"}


@pytest.mark.parametrize("enabled", [True, False])
def test_merge__leaves_garbage_collection_as_it_found_it(tmp_path, layer, cache_dir, enabled):
    first = layer("a.zip", File("python/a.py", b"a"))
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        with ThreadPoolExecutor(4) as pool:
            list(
                pool.map(
                    lambda i: merge([first], tmp_path / f"out{i}", cache_dir=cache_dir), range(8)
                )
            )
        assert gc.isenabled() is enabled
        with pytest.raises(InvalidZip):
            merge([layer("bad.zip", File("../escape", b""))], tmp_path / "bad", cache_dir=cache_dir)
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
