"""Accounts and access keys: sealed storage, lookups, rotation and deletion."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from registry.account_settings import account_settings, set_concurrency_limit
from registry.accounts import (
    KeyDirectory,
    add_access_key,
    create_account,
    delete_access_key,
    rotate_access_key,
    seed_dev_account,
)
from registry.config import DEV_ACCESS_KEY_ID, DEV_ACCOUNT_ID, DEV_SECRET_ACCESS_KEY
from registry.db import Database, upgrade
from registry.errors import InvalidParameterValue, ResourceNotFound, SecretsUnreadable
from registry.models import AccessKey
from registry.secret_box import SecretBox

BOX = SecretBox("a-test-key-that-is-long-enough-0123456789")


@pytest.fixture
def db(tmp_path):
    url = f"sqlite:///{tmp_path / 'strata.db'}"
    upgrade(url)
    database = Database(url)
    yield database
    database.dispose()


def stored(db, access_key_id: str) -> str | None:
    with db.read() as session:
        return session.scalar(
            select(AccessKey.secret_access_key).where(AccessKey.access_key_id == access_key_id)
        )


def test_create_account__stores_the_secret_sealed_and_the_directory_opens_it(db):
    credentials = create_account(db, box=BOX, organization_id="o-abcdefghij")
    assert credentials.secret_access_key not in stored(db, credentials.access_key_id)
    record = KeyDirectory(db, BOX).find(credentials.access_key_id)
    assert record.secret_access_key == credentials.secret_access_key
    assert (record.caller.account_id, record.caller.organization_id) == (
        credentials.account_id,
        "o-abcdefghij",
    )


def test_key_directory__a_secret_sealed_with_another_key_is_a_service_error_not_a_match(db):
    credentials = create_account(db, box=BOX)
    with pytest.raises(SecretsUnreadable):
        KeyDirectory(db, SecretBox("another-key-entirely-0123456789abcdef")).find(
            credentials.access_key_id
        )


def test_rotate__replaces_the_key_pair_of_the_same_account(db):
    old = create_account(db, box=BOX)
    new = rotate_access_key(db, box=BOX, access_key_id=old.access_key_id)
    assert new.account_id == old.account_id
    assert (new.access_key_id, new.secret_access_key) != (old.access_key_id, old.secret_access_key)
    keys = KeyDirectory(db, BOX, ttl_seconds=0)
    assert keys.find(old.access_key_id) is None
    assert keys.find(new.access_key_id).secret_access_key == new.secret_access_key


def test_rotate_keeping_the_old_key__both_work_until_the_old_one_is_deleted(db):
    old = create_account(db, box=BOX)
    new = rotate_access_key(db, box=BOX, access_key_id=old.access_key_id, keep_old=True)
    keys = KeyDirectory(db, BOX, ttl_seconds=0)
    assert keys.find(old.access_key_id) is not None and keys.find(new.access_key_id) is not None
    delete_access_key(db, old.access_key_id)
    assert keys.find(old.access_key_id) is None and keys.find(new.access_key_id) is not None


def test_rotate_or_delete__an_unknown_key_is_not_found_and_changes_nothing(db):
    account = create_account(db, box=BOX)
    with pytest.raises(ResourceNotFound):
        rotate_access_key(db, box=BOX, access_key_id="AKIANOSUCHKEY")
    with pytest.raises(ResourceNotFound):
        delete_access_key(db, "AKIANOSUCHKEY")
    with pytest.raises(ResourceNotFound):
        add_access_key(db, box=BOX, account_id="999999999999")
    with db.read() as session:
        assert session.scalars(select(AccessKey.access_key_id)).all() == [account.access_key_id]


def test_key_directory__a_deleted_key_is_refused_once_the_cache_period_passes(db, monkeypatch):
    credentials = create_account(db, box=BOX)
    clock = [1000.0]
    monkeypatch.setattr("registry.accounts.time.monotonic", lambda: clock[0])
    keys = KeyDirectory(db, BOX, ttl_seconds=2.0)
    assert keys.find(credentials.access_key_id) is not None
    delete_access_key(db, credentials.access_key_id)
    clock[0] += 1.9
    assert keys.find(credentials.access_key_id) is not None  # within the cache period
    clock[0] += 0.2
    assert keys.find(credentials.access_key_id) is None


def test_seed_dev_account__brings_test_test_back_after_its_key_was_rotated_away(db):
    seed_dev_account(db, BOX)
    rotate_access_key(db, box=BOX, access_key_id=DEV_ACCESS_KEY_ID)
    assert KeyDirectory(db, BOX, ttl_seconds=0).find(DEV_ACCESS_KEY_ID) is None
    seed_dev_account(db, BOX)
    record = KeyDirectory(db, BOX, ttl_seconds=0).find(DEV_ACCESS_KEY_ID)
    assert (record.caller.account_id, record.secret_access_key) == (
        DEV_ACCOUNT_ID,
        DEV_SECRET_ACCESS_KEY,
    )


def test_account_settings__a_new_account_may_run_1000_at_once_and_uses_nothing(db):
    account = create_account(db, box=BOX)
    settings = account_settings(db, account.account_id)
    assert (settings.concurrency_limit, settings.unreserved_concurrency) == (1000, 1000)
    assert (settings.code_size_used, settings.function_count) == (0, 0)


def test_set_concurrency_limit__refuses_less_than_100_and_unknown_accounts(db):
    account = create_account(db, box=BOX)
    with pytest.raises(InvalidParameterValue, match="at least 100"):
        set_concurrency_limit(db, account.account_id, 99)
    with pytest.raises(ResourceNotFound):
        set_concurrency_limit(db, "999999999999", 500)
    set_concurrency_limit(db, account.account_id, 100)
    assert account_settings(db, account.account_id).concurrency_limit == 100


def test_strata_accounts_set_concurrency_limit__on_a_sqlite_data_dir(tmp_path):
    def strata(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(Path(sys.executable).with_name("strata")), *args, "--data-dir", str(tmp_path)],
            env={**os.environ, "STRATA_DATA_DIR": "", "STRATA_DATABASE_URL": ""},
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert strata("db", "upgrade").returncode == 0
    assert strata("accounts", "create", "--id", "123456789012").returncode == 0
    refused = strata("accounts", "set-concurrency-limit", "123456789012", "99")
    assert refused.returncode == 1 and "at least 100" in refused.stderr
    done = strata("accounts", "set-concurrency-limit", "123456789012", "3000")
    assert done.returncode == 0, done.stderr
    database = Database(f"sqlite:///{tmp_path / 'strata.db'}")
    assert account_settings(database, "123456789012").concurrency_limit == 3000
    database.dispose()
