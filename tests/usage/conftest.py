"""Fixtures of the usage tests: a migrated database of either backend."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """A database brought to head by the migrations, on each backend."""
    from registry.db import upgrade

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'usage.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    upgrade(url)
    return url


@pytest.fixture
def db(database_url):
    from registry.db import Database

    database = Database(database_url)
    yield database
    database.dispose()
