"""A node's cache keeps what rows need and loses what no row has needed for the grace period, so
an account that publishes, uses and deletes over and over cannot grow a node's disk for good."""

from __future__ import annotations

import fcntl
import os
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest

from registry.archives import ZipContent
from registry.cache_sweep import CacheSweeper, sweep, swept_at
from registry.functions.names import FunctionRef
from registry.functions.overlay import FunctionOverlays
from registry.functions.service import FunctionService
from registry.invocations.bundles import BundleCache
from registry.invocations.preparation import BundlePreparer
from registry.layers.arns import LayerRef
from registry.layers.contents import LayerContents
from tests.support.functions import ROLE, RUNTIME, handler_zip
from tests.support.server import STRATA, StrataServer, backend_env
from tests.support.service_fixtures import REGION
from tests.support.zips import layer_zip

HOUR = 3600.0
GRACE = timedelta(hours=1)
SETTINGS = {"runtime": RUNTIME, "handler": "app.handler", "role": ROLE}


class Node:
    """The services of one node whose cache is `cache`, with bundles prepared as changes are made,
    and the console's documents computed for every function it creates."""

    def __init__(self, registry, layer_service, cache: Path):
        self.db, self.cache, self.layers = registry.db, cache, layer_service
        self.functions = FunctionService(registry.db, registry.store, layer_service, region=REGION)
        bundles = BundleCache(registry.store, cache / "functions", merge_cache_dir=cache)
        self.functions.prepare_with(BundlePreparer(registry.db, bundles).prepare_all)
        self.contents = LayerContents(registry.store, cache)
        self.overlays = FunctionOverlays(registry.store, cache, self.contents.packages)

    def layer(self, caller, name: str, body: str) -> str:
        view = self.layers.publish(
            caller, LayerRef(name, None), ZipContent(zip_file=layer_zip(name, body))
        )
        self.contents.files(view.digest)
        return view.layer_version_arn

    def function(self, caller, name: str, body: str, layers: list[str]) -> None:
        code = handler_zip(f"def handler(event, context):\n    return {body!r}\n")
        view = self.functions.create(
            caller,
            FunctionRef(name, None, None),
            ZipContent(zip_file=code),
            SETTINGS,
            layers=layers,
        )
        self.overlays.of(view)

    def entries(self) -> set[str]:
        return {
            path.relative_to(self.cache).as_posix()
            for place in (
                "functions/archives",
                "functions/bundles",
                "merge/v1/extracted",
                "layer-contents",
                "function-overlays",
            )
            for path in (self.cache / place).glob("*")
            if not path.name.startswith(".")
        }


@pytest.fixture
def node(migrated_registry, layer_service, tmp_path) -> Node:
    return Node(migrated_registry, layer_service, tmp_path / "cache")


def test_sweep__publish_use_delete_over_and_over_leaves_only_what_rows_need(node, new_caller):
    caller = new_caller()
    kept_layer = node.layer(caller, "kept", "KEPT = 1\n")
    node.function(caller, "kept", "kept", [kept_layer])
    needed = node.entries()
    for attempt in range(3):  # the attack: each round leaves a layer's and a function's copies
        arn = node.layer(caller, "junk", f"JUNK = {attempt}\n")
        node.function(caller, "junk", f"junk {attempt}", [arn, kept_layer])
        node.functions.delete(caller, FunctionRef("junk", None, None))
        node.layers.delete_version(caller, LayerRef("junk", None), attempt + 1)
    left = node.entries() - needed
    kinds = {entry.rsplit("/", 1)[0] for entry in left}
    assert kinds == {
        "functions/archives",
        "functions/bundles",
        "merge/v1/extracted",
        "layer-contents",
        "function-overlays",
    }
    assert len([e for e in left if e.startswith("functions/bundles/")]) == 3

    now = time.time()
    first = sweep(node.db, node.cache, grace=GRACE, now=now)
    assert (first.removed, first.waiting) == ([], len(left))
    assert sweep(node.db, node.cache, grace=GRACE, now=now + HOUR - 1).removed == []
    last = sweep(node.db, node.cache, grace=GRACE, now=now + HOUR)
    assert sorted(last.removed) == sorted(left)
    assert node.entries() == needed
    assert last.kept == len(needed)


def test_sweep__keeps_a_deleted_layer_version_while_a_function_still_uses_it(node, new_caller):
    caller = new_caller()
    arn = node.layer(caller, "shared", "SHARED = 1\n")
    node.function(caller, "user", "user", [arn])
    node.layers.delete_version(caller, LayerRef("shared", None), 1)
    before = node.entries()
    now = time.time()
    sweep(node.db, node.cache, grace=GRACE, now=now)
    assert sweep(node.db, node.cache, grace=GRACE, now=now + 2 * HOUR).removed == []
    assert node.entries() == before


def test_sweep__an_entry_needed_again_starts_its_grace_period_over(node, new_caller):
    caller = new_caller()
    node.function(caller, "again", "same code", [])
    node.functions.delete(caller, FunctionRef("again", None, None))
    unneeded = node.entries()
    now = time.time()
    sweep(node.db, node.cache, grace=GRACE, now=now)
    node.function(caller, "again", "same code", [])  # the same bytes: the same entries
    assert sweep(node.db, node.cache, grace=GRACE, now=now + HOUR).removed == []
    node.functions.delete(caller, FunctionRef("again", None, None))
    assert sweep(node.db, node.cache, grace=GRACE, now=now + 1.5 * HOUR).removed == []
    removed = sweep(node.db, node.cache, grace=GRACE, now=now + 2.5 * HOUR).removed
    assert set(removed) == unneeded


def test_sweep__leaves_names_it_did_not_make_and_never_follows_a_symlink(node, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_text("keep")
    bundles = node.cache / "functions" / "bundles"
    bundles.mkdir(parents=True)
    (bundles / "notes.txt").write_text("not ours")
    os.symlink(outside, bundles / ("ab" * 32))
    sweep(node.db, node.cache, grace=timedelta(0))
    assert (bundles / "notes.txt").exists()
    assert (bundles / ("ab" * 32)).is_symlink()
    assert (outside / "precious").read_text() == "keep"


def test_sweep__one_process_of_a_node_at_a_time(node, new_caller):
    caller = new_caller()
    node.function(caller, "gone", "gone", [])
    node.functions.delete(caller, FunctionRef("gone", None, None))
    (node.cache / ".sweep").mkdir(parents=True)
    with open(node.cache / ".sweep" / "lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert sweep(node.db, node.cache, grace=timedelta(0)) is None
        assert node.entries() != set()
    assert sweep(node.db, node.cache, grace=timedelta(0)).removed != []
    assert node.entries() == set()


def test_sweep__a_dry_run_changes_nothing(node, new_caller):
    caller = new_caller()
    node.function(caller, "dry", "dry", [])
    node.functions.delete(caller, FunctionRef("dry", None, None))
    before = node.entries()
    report = sweep(node.db, node.cache, grace=timedelta(0), dry_run=True)
    assert set(report.removed) == before
    assert node.entries() == before
    assert swept_at(node.cache) is None


def test_cache_sweeper__sweeps_on_its_own(node):
    sweeper = CacheSweeper(node.db, node.cache, every_seconds=0.2)
    sweeper.start()
    try:
        deadline = time.monotonic() + 10
        while swept_at(node.cache) is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        sweeper.stop()


@pytest.fixture
def own_server(request, tmp_path):
    server = StrataServer(data_dir=tmp_path, env=backend_env("sqlite-fs", tmp_path, request))
    server.start()
    yield server
    server.stop()


def test_gc_command__sweeps_the_nodes_cache_of_a_deleted_function(own_server):
    lam = own_server.client(own_server.new_account())
    code = handler_zip("def handler(event, context):\n    return 'gone soon'\n")
    lam.create_function(
        FunctionName="gone",
        Runtime=RUNTIME,
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": code},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName="gone")
    assert lam.invoke(FunctionName="gone")["StatusCode"] == 200
    bundles = own_server.data_dir / "cache" / "functions" / "bundles"
    assert len(list(bundles.iterdir())) == 1
    lam.delete_function(FunctionName="gone")
    env = {**os.environ, **own_server.env}
    run = subprocess.run(
        [STRATA, "gc", "--grace-minutes", "0"], env=env, capture_output=True, text=True, check=True
    )
    assert "cache: deleted" in run.stderr, run.stderr
    assert list(bundles.iterdir()) == []
