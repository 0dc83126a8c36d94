"""The overlay rules: layers apply in order to opt/, the later one wins, every loss recorded."""

import hashlib
import random
import stat

from registry.archive.entries import DIR, FILE
from registry.archive.tree import Node, Tree
from registry.merge import merge, plan
from registry.merge.overlay import _by_the_rules, _without_conflicts
from tests.archive.build import Dir, File, Link
from tests.merge.trees import read_tree


def shadowed_of(document):
    return [(s["path"], s["type"], s["lost"], s["won"], s["by"]) for s in document["shadowed"]]


def test_file_over_file__later_layer_wins(tmp_path, layer, cache_dir):
    first = layer("a.zip", File("python/mod.py", b"first"))
    second = layer("b.zip", File("python/mod.py", b"second"))
    document = merge([first, second], tmp_path / "out", cache_dir=cache_dir)
    assert (tmp_path / "out/opt/python/mod.py").read_bytes() == b"second"
    assert shadowed_of(document) == [
        ("opt/python/mod.py", "file", "layer:1", "layer:2", "opt/python/mod.py")
    ]
    entry = next(e for e in document["entries"] if e["path"] == "opt/python/mod.py")
    assert entry["source"] == "layer:2"


def test_file_over_directory__later_wins_and_the_whole_subtree_is_recorded(
    tmp_path, layer, cache_dir
):
    first = layer("a.zip", File("python/pkg/__init__.py", b""), File("python/pkg/sub/x.py", b"x"))
    second = layer("b.zip", File("python/pkg", b"now a file"))
    document = merge([first, second], tmp_path / "out", cache_dir=cache_dir)
    assert (tmp_path / "out/opt/python/pkg").read_bytes() == b"now a file"
    assert shadowed_of(document) == [
        ("opt/python/pkg", "dir", "layer:1", "layer:2", "opt/python/pkg"),
        ("opt/python/pkg/__init__.py", "file", "layer:1", "layer:2", "opt/python/pkg"),
        ("opt/python/pkg/sub", "dir", "layer:1", "layer:2", "opt/python/pkg"),
        ("opt/python/pkg/sub/x.py", "file", "layer:1", "layer:2", "opt/python/pkg"),
    ]


def test_directory_over_file__later_wins(tmp_path, layer, cache_dir):
    first = layer("a.zip", File("bin/tool", b"a file"))
    second = layer("b.zip", File("bin/tool/run", b"#!/bin/sh\n", mode=0o755))
    document = merge([first, second], tmp_path / "out", cache_dir=cache_dir)
    assert (tmp_path / "out/opt/bin/tool").is_dir()
    assert (tmp_path / "out/opt/bin/tool/run").read_bytes() == b"#!/bin/sh\n"
    assert shadowed_of(document) == [("opt/bin/tool", "file", "layer:1", "layer:2", "opt/bin/tool")]


def test_directory_over_directory__contents_merge(tmp_path, layer, cache_dir):
    first = layer("a.zip", File("python/a.py", b"a"))
    second = layer("b.zip", File("python/b.py", b"b"))
    document = merge([first, second], tmp_path / "out", cache_dir=cache_dir)
    assert sorted(p.name for p in (tmp_path / "out/opt/python").iterdir()) == ["a.py", "b.py"]
    assert document["shadowed"] == []


def test_executable_bits_are_kept_as_0755_and_others_normalised_to_0644(tmp_path, layer, cache_dir):
    archive = layer(
        "a.zip",
        File("bin/tool", b"#!/bin/sh\n", mode=0o4775),  # setuid and group-write dropped
        File("lib/data.txt", b"d", mode=0o666),
        File("lib/private.txt", b"p", mode=0o600),
    )
    document = merge([archive], tmp_path / "out", cache_dir=cache_dir)
    modes = {path: value[1] for path, value in read_tree(tmp_path / "out/opt").items()}
    assert modes == {
        "bin": 0o755,
        "bin/tool": 0o755,
        "lib": 0o755,
        "lib/data.txt": 0o644,
        "lib/private.txt": 0o644,
    }
    recorded = {e["path"]: e["mode"] for e in document["entries"]}
    assert recorded == {
        "opt/bin/tool": "0755",
        "opt/lib/data.txt": "0644",
        "opt/lib/private.txt": "0644",
    }


def test_symlinks_inside_their_root_are_kept(tmp_path, layer, cache_dir):
    archive = layer(
        "a.zip",
        File("lib/libz.so.1.3", b"\x7fELF"),
        Link("lib/libz.so.1", "libz.so.1.3"),
        Link("python/lib", "../lib"),
    )
    document = merge([archive], tmp_path / "out", cache_dir=cache_dir)
    tree = read_tree(tmp_path / "out/opt")
    assert tree["lib/libz.so.1"] == ("symlink", "libz.so.1.3")
    assert tree["python/lib"] == ("symlink", "../lib")
    assert (tmp_path / "out/opt/python/lib/libz.so.1").read_bytes() == b"\x7fELF"
    link = next(e for e in document["entries"] if e["path"] == "opt/python/lib")
    assert link == {
        "path": "opt/python/lib",
        "type": "symlink",
        "mode": "0777",
        "size": 6,
        "sha256": hashlib.sha256(b"../lib").hexdigest(),
        "target": "../lib",
        "source": "layer:1",
    }


def test_symlink_over_file_and_file_over_symlink__later_wins(tmp_path, layer, cache_dir):
    first = layer("a.zip", File("lib/a", b"a"), Link("lib/b", "a"))
    second = layer("b.zip", Link("lib/a", "b2"), File("lib/b", b"file now"), File("lib/b2", b"2"))
    merge([first, second], tmp_path / "out", cache_dir=cache_dir)
    tree = read_tree(tmp_path / "out/opt")
    assert tree["lib/a"] == ("symlink", "b2")
    assert tree["lib/b"] == ("file", 0o644, b"file now")


def test_empty_directories_are_kept(tmp_path, layer, cache_dir):
    archive = layer("a.zip", Dir("python/empty"), File("python/x.py", b"x"))
    document = merge([archive], tmp_path / "out", cache_dir=cache_dir)
    assert (tmp_path / "out/opt/python/empty").is_dir()
    assert {
        "path": "opt/python/empty",
        "type": "dir",
        "mode": "0755",
        "source": "layer:1",
    } in document["entries"]


def test_duplicate_names_in_one_zip__last_entry_wins_and_is_reported(tmp_path, layer, cache_dir):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate we write on purpose
        archive = layer("a.zip", File("python/x.py", b"first"), File("python/x.py", b"last"))
    document = merge([archive], tmp_path / "out", cache_dir=cache_dir)
    assert (tmp_path / "out/opt/python/x.py").read_bytes() == b"last"
    assert document["duplicates"] == [{"path": "opt/python/x.py", "source": "layer:1"}]


def test_function_code_goes_to_task_and_never_shadows_layers(tmp_path, layer, cache_dir):
    code = layer(
        "code.zip", File("app.py", b"def handler(e, c): pass\n"), File("python/x.py", b"task")
    )
    lib = layer("lib.zip", File("python/x.py", b"opt"))
    document = merge([lib], tmp_path / "out", function=code, cache_dir=cache_dir)
    assert (tmp_path / "out/task/app.py").exists()
    assert (tmp_path / "out/task/python/x.py").read_bytes() == b"task"
    assert (tmp_path / "out/opt/python/x.py").read_bytes() == b"opt"
    assert document["shadowed"] == []
    assert [i["id"] for i in document["inputs"]] == ["layer:1", "function"]


def test_layers_only_merge__has_an_empty_task_directory(tmp_path, layer, cache_dir):
    merge([layer("a.zip", File("python/a.py", b"a"))], tmp_path / "out", cache_dir=cache_dir)
    assert list((tmp_path / "out/task").iterdir()) == []


def test_plan__gives_winners_and_shadows_without_extracting(tmp_path, layer, cache_dir):
    first = layer("a.zip", File("python/a.py", b"a"), File("python/b.py", b"b"))
    second = layer("b.zip", File("python/b.py", b"B"), Link("python/c.py", "a.py"))
    code = layer("code.zip", File("app.py", b""))
    result = plan([first, second], function=code)
    assert result.winners["opt/python/a.py"] == ("file", 0)
    assert result.winners["opt/python/b.py"] == ("file", 1)
    assert result.winners["opt/python/c.py"] == ("symlink", 1)
    assert result.winners["task/app.py"] == ("file", 2)
    assert [(s.path, s.lost, s.won) for s in result.shadowed] == [("python/b.py", 0, 1)]
    assert not cache_dir.exists()
    assert stat.S_ISDIR((tmp_path / "zips").stat().st_mode)


def _random_input(rng, index):
    """One archive's final tree, as the cache lists it: sorted, every directory present."""
    tree = Tree()
    for _ in range(rng.randint(1, 12)):
        path = "/".join(rng.choice("abc") for _ in range(rng.randint(1, 3)))
        kind = rng.choice([FILE, FILE, DIR])
        try:
            tree.put(path, Node(kind, index, explicit=True))
        except ValueError:
            pass
    return sorted(tree.nodes.items())


def _shape(result):
    return (
        {p: (n.kind, n.source, n.explicit) for p, n in result.nodes.items()},
        [(s.path, s.kind, s.lost, s.won, s.by) for s in result.shadowed],
    )


def test_bulk_overlay__agrees_with_the_rules_wherever_it_applies():
    rng = random.Random(7)
    bulk_cases = 0
    for _ in range(500):
        inputs = [_random_input(rng, i) for i in range(rng.randint(1, 4))]
        rules = _by_the_rules(inputs, [f"l{i}" for i in range(len(inputs))])
        bulk = _without_conflicts(inputs)
        if bulk is None:
            continue
        bulk_cases += 1
        assert _shape(bulk) == _shape(rules)
        seen = set()
        for path in bulk.nodes:  # parents before children
            parent = path.rpartition("/")[0]
            assert not parent or parent in seen
            seen.add(path)
        assert bulk.empty_directories() == rules.empty_directories()
    assert bulk_cases > 50
