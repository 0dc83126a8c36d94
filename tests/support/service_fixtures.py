"""pytest plugin: the layer and function services called directly, without HTTP, on a database made
the way a server makes it (Alembic migrations, never create_all) and a blob directory.

One database per test module (the services are module-scoped); tests keep apart by each using
accounts of their own from `new_caller`.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest

# The registry is imported inside the fixtures: this plugin loads in every test process, and the
# client's tests must not need the server's packages.

REGION = "us-east-1"
# Random start, so account ids differ between modules and runs (ARNs in failures tell them apart).
_ids = itertools.count(int.from_bytes(os.urandom(3), "big") * 1000)


@dataclass(frozen=True)
class MigratedRegistry:
    db: object  # registry.db.Database
    store: object  # storage.filesystem.FilesystemBlobStore


@pytest.fixture(scope="module")
def migrated_registry(tmp_path_factory) -> Iterator[MigratedRegistry]:
    """A SQLite database brought to head by the migrations, and a blob directory beside it."""
    from registry import db as database
    from storage.filesystem import FilesystemBlobStore

    root = tmp_path_factory.mktemp("registry")
    url = f"sqlite:///{root / 'strata.db'}"
    database.upgrade(url)
    db = database.Database(url)
    try:
        yield MigratedRegistry(db, FilesystemBlobStore(root / "blobs", signing_key=b"k"))
    finally:
        db.dispose()


@pytest.fixture(scope="module")
def layer_service(migrated_registry: MigratedRegistry):
    from registry.layers.service import LayerService

    return LayerService(migrated_registry.db, migrated_registry.store, region=REGION)


@pytest.fixture(scope="module")
def function_service(migrated_registry: MigratedRegistry, layer_service, tmp_path_factory):
    """The function service with its bundles prepared as each change is made (in the caller's
    thread, where a server prepares them in the background), so every change has settled when
    the next call comes."""
    from registry.functions.service import FunctionService
    from registry.invocations.bundles import BundleCache
    from registry.invocations.preparation import BundlePreparer

    service = FunctionService(
        migrated_registry.db, migrated_registry.store, layer_service, region=REGION
    )
    cache = tmp_path_factory.mktemp("bundles")
    preparer = BundlePreparer(
        migrated_registry.db,
        BundleCache(migrated_registry.store, cache / "functions", merge_cache_dir=cache),
    )
    service.prepare_with(preparer.prepare_all)
    return service


@pytest.fixture
def new_caller(migrated_registry: MigratedRegistry):
    """new_caller(organization_id=None) -> a Caller for a fresh account in the database."""

    from registry.accounts import Caller
    from registry.models import Account

    def make(organization_id: str | None = None) -> Caller:
        account_id = f"{next(_ids) % 10**12:012d}"
        with migrated_registry.db.write() as session:
            session.add(
                Account(
                    id=account_id,
                    organization_id=organization_id,
                    created_at=datetime.now(timezone.utc),
                )
            )
        return Caller(account_id, organization_id)

    return make
