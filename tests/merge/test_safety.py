"""Every rejection names the zip and the entry, and leaves nothing behind: no output directory,
no temporary sibling, no half-extracted cache entry."""

import os
import stat

import pytest

from registry.archive.limits import ZipLimits
from registry.errors import InvalidZip
from registry.merge import MergeInput, OutputExists, merge, plan
from registry.merge.cache import cache_root
from tests.archive.build import WINDOWS, File, Link, Special, replace_name_bytes, zip_bytes


def assert_nothing_left(tmp_path, cache_dir, *, cached_ok: bool):
    """No output, no temporary sibling, no extraction in progress; and unless `cached_ok` (each
    archive was valid alone and only their combination is refused) nothing published."""
    assert sorted(p.name for p in tmp_path.iterdir()) in (["cache", "zips"], ["zips"])
    root = cache_root(cache_dir)
    published = list((root / "extracted").iterdir()) if (root / "extracted").exists() else []
    in_progress = list((root / ".tmp").iterdir()) if (root / ".tmp").exists() else []
    assert in_progress == []
    if not cached_ok:
        assert published == []


def rejected(tmp_path, cache_dir, layers, *, cached_ok=False, **options) -> InvalidZip:
    with pytest.raises(InvalidZip) as caught:
        merge(layers, tmp_path / "out", cache_dir=cache_dir, **options)
    assert_nothing_left(tmp_path, cache_dir, cached_ok=cached_ok)
    return caught.value


@pytest.mark.parametrize(
    "bad",
    [
        File("/etc/cron.d/evil", b"x"),
        File("python/../../evil.py", b"x"),
        File("C:/evil.py", b"x"),
        File("python\\..\\..\\evil.py", b"x", host=WINDOWS),
        File("python\\evil.py", b"x"),  # a backslash from a non-Windows tool is ambiguous
        Special("python/dev", stat.S_IFCHR),
        Special("python/fifo", stat.S_IFIFO),
        Link("python/passwd", "/etc/passwd"),
        Link("python/up", "../../.."),
    ],
    ids=[
        "absolute",
        "dotdot",
        "drive",
        "windows-dotdot",
        "unix-backslash",
        "device",
        "fifo",
        "absolute-symlink",
        "escaping-symlink",
    ],
)
def test_unsafe_entry__rejected_naming_zip_and_entry(tmp_path, layer, cache_dir, bad):
    good = layer("good.zip", File("python/ok.py", b"ok"))
    evil = layer("evil.zip", File("python/fine.py", b"fine"), bad)
    error = rejected(tmp_path, cache_dir, [good, evil])
    assert error.archive == "evil.zip"
    assert error.entry == bad.name


def test_nul_in_a_name__rejected(tmp_path, cache_dir):
    (tmp_path / "zips").mkdir()
    path = tmp_path / "zips" / "nul.zip"
    path.write_bytes(replace_name_bytes(zip_bytes(File("okX.py", b"x")), b"okX.py", b"ok\x00.py"))
    error = rejected(tmp_path, cache_dir, [MergeInput(path)])
    assert "NUL" in str(error) and error.archive == "nul.zip"


def test_symlink_chain_across_layers_escaping__rejected(tmp_path, layer, cache_dir):
    # Each layer is harmless alone; together "a/b/out" resolves through "a/b/up" to the parent of
    # opt/.
    first = layer("one.zip", Link("a/b/up", "../.."))
    second = layer("two.zip", Link("a/b/out", "up/../.."))
    error = rejected(tmp_path, cache_dir, [first, second], cached_ok=True)
    assert (error.archive, error.entry) == ("two.zip", "a/b/out")
    assert "outside the merged tree" in str(error)


def test_write_through_a_symlink_planted_by_an_earlier_layer__rejected(tmp_path, layer, cache_dir):
    planted = layer("planter.zip", File("python/real/x.py", b"x"), Link("python/lib", "real"))
    writer = layer("writer.zip", File("python/lib/evil.py", b"evil"))
    error = rejected(tmp_path, cache_dir, [planted, writer], cached_ok=True)
    assert (error.archive, error.entry) == ("writer.zip", "python/lib")
    assert "through the symlink" in str(error)


def test_a_directory_entry_replaces_an_earlier_symlink(tmp_path, layer, cache_dir):
    from tests.archive.build import Dir

    planted = layer("planter.zip", File("python/real/x.py", b"x"), Link("python/lib", "real"))
    replacer = layer("dir.zip", Dir("python/lib"), File("python/lib/y.py", b"y"))
    document = merge([planted, replacer], tmp_path / "out", cache_dir=cache_dir)
    assert not (tmp_path / "out/opt/python/lib").is_symlink()
    assert not (tmp_path / "out/opt/python/real/y.py").exists()
    assert {
        "path": "opt/python/lib",
        "type": "symlink",
        "lost": "layer:1",
        "won": "layer:2",
        "by": "opt/python/lib",
    } in document["shadowed"]


def test_total_unzipped_size_of_function_and_layers__capped(tmp_path, layer, cache_dir):
    payload = os.urandom(60_000)
    layers = [layer(f"l{i}.zip", File(f"python/{i}.bin", payload)) for i in range(2)]
    code = layer("code.zip", File("app.bin", payload))
    error = rejected(
        tmp_path, cache_dir, layers, function=code, limits=ZipLimits(max_unzipped_bytes=150_000)
    )
    assert "more than the limit of 150000" in str(error)


def test_total_cap_also_holds_for_inputs_already_cached(tmp_path, layer, cache_dir):
    payload = os.urandom(60_000)
    layers = [layer(f"l{i}.zip", File(f"python/{i}.bin", payload)) for i in range(3)]
    merge(layers, tmp_path / "first", cache_dir=cache_dir)
    with pytest.raises(InvalidZip, match="limit of 150000"):
        merge(
            layers,
            tmp_path / "out",
            cache_dir=cache_dir,
            limits=ZipLimits(max_unzipped_bytes=150_000),
        )
    assert not (tmp_path / "out").exists()


def _deep_layer(layer, name: str, top: str, records: int = 10):
    """`records` files, each under 9 directories of its own: 10 nodes a record."""
    return layer(name, *[File(f"{top}{i}/" + "d/" * 8 + "f", b"x") for i in range(records)])


def test_node_cap_holds_for_the_union_of_function_and_layers__before_extracting(
    tmp_path, layer, cache_dir
):
    # Each input holds 100 nodes, within a cap of 250; together they hold 300.
    layers = [_deep_layer(layer, "a.zip", "a"), _deep_layer(layer, "b.zip", "b")]
    code = _deep_layer(layer, "code.zip", "c")
    error = rejected(tmp_path, cache_dir, layers, function=code, limits=ZipLimits(max_entries=250))
    assert "function and layers together hold more than the limit of 250 files, directories" in str(
        error
    )
    assert (
        merge(
            layers[:1],
            tmp_path / "one",
            function=code,
            cache_dir=cache_dir,
            limits=ZipLimits(max_entries=250),
        )["totals"]["directories"]
        == 180
    )


def test_node_cap_counts_shared_directories_once(tmp_path, layer, cache_dir):
    layers = [_deep_layer(layer, f"l{i}.zip", "same") for i in range(3)]  # the same 100 paths
    document = merge(
        layers, tmp_path / "out", cache_dir=cache_dir, limits=ZipLimits(max_entries=100)
    )
    assert document["totals"]["files"] == 10


def test_node_cap_also_holds_for_inputs_already_cached(tmp_path, layer, cache_dir):
    layers = [_deep_layer(layer, "a.zip", "a"), _deep_layer(layer, "b.zip", "b")]
    merge(layers, tmp_path / "first", cache_dir=cache_dir)
    with pytest.raises(InvalidZip, match="limit of 150 files"):
        merge(layers, tmp_path / "out", cache_dir=cache_dir, limits=ZipLimits(max_entries=150))
    assert not (tmp_path / "out").exists()


def test_node_cap_holds_for_a_plan_too(layer):
    layers = [_deep_layer(layer, "a.zip", "a"), _deep_layer(layer, "b.zip", "b")]
    with pytest.raises(InvalidZip, match="limit of 150 files"):
        plan(layers, limits=ZipLimits(max_entries=150))
    assert len(plan(layers, limits=ZipLimits(max_entries=200)).winners) == 200


def test_zip_bomb__rejected(tmp_path, layer, cache_dir):
    bomb = layer("bomb.zip", File("python/zeros", bytes(2 * 1024 * 1024)))
    error = rejected(tmp_path, cache_dir, [bomb])
    assert "ratio" in str(error)


def test_corrupt_layer_among_good_ones__publishes_none_of_them(tmp_path, layer, cache_dir):
    good = layer("good.zip", File("python/ok.py", b"ok" * 1000))
    data = bytearray(zip_bytes(File("python/bad.py", b"hello world" * 10, compress=0)))
    data[data.index(b"hello world")] ^= 0xFF
    (tmp_path / "zips" / "bad.zip").write_bytes(bytes(data))
    error = rejected(tmp_path, cache_dir, [good, MergeInput(tmp_path / "zips" / "bad.zip")])
    assert "CRC" in str(error)


def test_existing_output__refused_unless_overwrite_allowed(tmp_path, layer, cache_dir):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    archive = layer("a.zip", File("python/a.py", b"a"))
    with pytest.raises(OutputExists):
        merge([archive], out, cache_dir=cache_dir)
    assert (out / "keep.txt").read_text() == "mine"
    merge([archive], out, cache_dir=cache_dir, allow_overwrite=True)
    assert not (out / "keep.txt").exists()
    assert (out / "opt/python/a.py").read_bytes() == b"a"


def test_failed_overwrite__keeps_the_previous_bundle(tmp_path, layer, cache_dir):
    out = tmp_path / "out"
    merge([layer("a.zip", File("python/a.py", b"a"))], out, cache_dir=cache_dir)
    evil = layer("evil.zip", File("../evil", b"x"))
    with pytest.raises(InvalidZip):
        merge([evil], out, cache_dir=cache_dir, allow_overwrite=True)
    assert (out / "opt/python/a.py").read_bytes() == b"a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "out", "zips"]


def test_more_than_five_layers__rejected(tmp_path, layer, cache_dir):
    from registry.errors import InvalidParameterValue

    layers = [layer(f"{i}.zip", File(f"{i}.txt", b"x")) for i in range(6)]
    with pytest.raises(InvalidParameterValue, match="at most 5"):
        merge(layers, tmp_path / "out", cache_dir=cache_dir)
