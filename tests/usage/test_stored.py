"""Stored bytes as storage is billed: each distinct blob once per account, whichever layer
versions, functions and published versions hold it; another account holding the same bytes pays
for them too."""

from __future__ import annotations

from datetime import date

from registry.archives import ZipContent
from registry.functions.names import FunctionRef
from registry.functions.service import FunctionService
from registry.invocations.bundles import BundleCache
from registry.invocations.preparation import BundlePreparer
from registry.layers.arns import LayerRef
from registry.usage.report import usage
from registry.usage.stored import sample, stored_bytes
from tests.support.functions import ROLE, RUNTIME, handler_zip
from tests.support.service_fixtures import REGION
from tests.support.zips import layer_zip

SETTINGS = {"runtime": RUNTIME, "handler": "app.handler", "role": ROLE}
NUMPY = layer_zip("numpy", "VALUE = 'n' * 1000\n")
PANDAS = layer_zip("pandas", "VALUE = 'p' * 2000\n")
CODE = handler_zip("def handler(event, context):\n    return 1\n")
NEW_CODE = handler_zip("def handler(event, context):\n    return 2\n")


def publish(layer_service, caller, name: str, content: bytes) -> None:
    layer_service.publish(caller, LayerRef(name, None), ZipContent(zip_file=content))


def test_stored_bytes__each_distinct_blob_once_per_account(
    migrated_registry, layer_service, function_service, new_caller
):
    db = migrated_registry.db
    owner, other = new_caller(), new_caller()
    publish(layer_service, owner, "numpy", NUMPY)
    publish(layer_service, owner, "numpy", NUMPY)  # version 2: the same bytes
    publish(layer_service, owner, "numpy-copy", NUMPY)
    publish(layer_service, owner, "pandas", PANDAS)
    function_service.create(
        owner, FunctionRef("f", None, None), ZipContent(zip_file=CODE), SETTINGS
    )
    function_service.publish_version(owner, FunctionRef("f", None, None))  # same code as $LATEST
    function_service.create(
        owner, FunctionRef("g", None, None), ZipContent(zip_file=NUMPY), SETTINGS
    )
    assert stored_bytes(db, owner.account_id) == {
        owner.account_id: len(NUMPY) + len(PANDAS) + len(CODE)
    }

    publish(layer_service, other, "numpy", NUMPY)  # the other account stores it too
    assert stored_bytes(db, other.account_id) == {other.account_id: len(NUMPY)}
    everyone = stored_bytes(db)
    assert everyone[owner.account_id] == len(NUMPY) + len(PANDAS) + len(CODE)
    assert everyone[other.account_id] == len(NUMPY)


def test_stored_bytes__a_deleted_layer_version_stops_counting_a_published_version_keeps_its_code(
    migrated_registry, layer_service, function_service, new_caller
):
    db = migrated_registry.db
    caller = new_caller()
    publish(layer_service, caller, "pandas", PANDAS)
    layer_service.delete_version(caller, LayerRef("pandas", None), 1)
    ref = FunctionRef("f", None, None)
    function_service.create(caller, ref, ZipContent(zip_file=CODE), SETTINGS, publish=True)
    function_service.update_code(caller, ref, ZipContent(zip_file=NEW_CODE))
    assert stored_bytes(db, caller.account_id) == {caller.account_id: len(CODE) + len(NEW_CODE)}


def test_usage__an_account_that_only_stores_is_listed_with_no_days(
    migrated_registry, layer_service, new_caller
):
    caller = new_caller()
    publish(layer_service, caller, "numpy", NUMPY)
    (figures,) = usage(migrated_registry.db, since=date(2000, 1, 1), account_id=caller.account_id)
    assert (figures.stored_bytes, figures.days) == (len(NUMPY), [])
    assert caller.account_id in {
        a.account_id for a in usage(migrated_registry.db, since=date(2000, 1, 1))
    }


def test_sample__a_day_keeps_its_peak_and_the_next_day_starts_from_what_is_stored(
    migrated_registry, layer_service, new_caller
):
    db = migrated_registry.db
    caller, idle = new_caller(), new_caller()
    publish(layer_service, caller, "numpy", NUMPY)
    publish(layer_service, idle, "numpy", NUMPY)
    day_one = 1_800_000_000.0  # 2027-01-15T08:00:00Z
    sample(db, day_one, [caller.account_id])
    publish(layer_service, caller, "pandas", PANDAS)
    sample(db, day_one + 60, [caller.account_id])
    layer_service.delete_version(caller, LayerRef("pandas", None), 1)
    sample(db, day_one + 120, [caller.account_id])  # less than the day's peak: kept out
    sample(db, day_one + 86400)  # the hourly sample of every account, on the next day

    def days(account_id):
        (figures,) = usage(db, since=date(2027, 1, 1), account_id=account_id)
        return [(d.day.isoformat(), d.stored_bytes, d.invocations) for d in figures.days]

    assert days(caller.account_id) == [
        ("2027-01-15", len(NUMPY) + len(PANDAS), 0),
        ("2027-01-16", len(NUMPY), 0),
    ]
    # An account that wrote nothing that day still has the day's figure from the hourly sample.
    assert days(idle.account_id) == [("2027-01-16", len(NUMPY), 0)]


def test_stored_bytes__the_code_still_running_during_an_update_counts_until_it_is_applied(
    migrated_registry, layer_service, new_caller, tmp_path
):
    db, store = migrated_registry.db, migrated_registry.store
    service = FunctionService(db, store, layer_service, region=REGION)
    preparer = BundlePreparer(
        db, BundleCache(store, tmp_path / "functions", merge_cache_dir=tmp_path)
    )
    caller, ref = new_caller(), FunctionRef("f", None, None)
    service.create(caller, ref, ZipContent(zip_file=CODE), SETTINGS)
    preparer.prepare_all()  # Active: its own code runs
    service.update_code(caller, ref, ZipContent(zip_file=NEW_CODE))  # InProgress, not prepared

    assert stored_bytes(db, caller.account_id) == {caller.account_id: len(CODE) + len(NEW_CODE)}
    preparer.prepare_all()  # Successful: the new code runs, the old one is no longer kept
    assert stored_bytes(db, caller.account_id) == {caller.account_id: len(NEW_CODE)}
