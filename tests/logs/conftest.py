"""A log store on a database the migrations made, on SQLite and on PostgreSQL."""

from __future__ import annotations

import itertools
import os

import pytest

_accounts = itertools.count(int.from_bytes(os.urandom(3), "big") * 1000)


@pytest.fixture(params=["sqlite", "postgresql"])
def log_store(request, tmp_path):
    from registry import db as database
    from registry.logs.store import LogStore

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'logs.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    database.upgrade(url)
    db = database.Database(url)
    yield LogStore(db)
    db.dispose()


@pytest.fixture
def new_account():
    return lambda: f"{next(_accounts) % 10**12:012d}"
