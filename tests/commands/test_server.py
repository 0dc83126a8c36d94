"""The server-side commands: accounts, db upgrade."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from registry.accounts import KeyDirectory
from registry.config import Settings
from registry.db import Database
from registry.secret_box import SecretBox

STRATA = str(Path(sys.executable).with_name("strata"))


def strata(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "STRATA_DATA_DIR": "", "STRATA_DATABASE_URL": ""}
    return subprocess.run([STRATA, *args, "--data-dir", str(data_dir)], env=env, capture_output=True, text=True, timeout=60)


def test_accounts_create__prints_credentials_that_the_key_directory_knows(tmp_path):
    assert strata(tmp_path, "db", "upgrade").returncode == 0
    created = strata(tmp_path, "accounts", "create", "--id", "123456789012", "--org", "o-abcdefghij", "--json")
    assert created.returncode == 0, created.stderr
    credentials = json.loads(created.stdout)
    assert set(credentials) == {"account_id", "access_key_id", "secret_access_key"}
    assert credentials["account_id"] == "123456789012"
    db = Database(f"sqlite:///{tmp_path / 'strata.db'}")
    record = KeyDirectory(db, SecretBox.from_settings(Settings(data_dir=tmp_path))).find(credentials["access_key_id"])
    assert record.secret_access_key == credentials["secret_access_key"]
    assert (record.caller.account_id, record.caller.organization_id) == ("123456789012", "o-abcdefghij")
    db.dispose()


def test_accounts_create__duplicate_or_malformed_id_is_refused(tmp_path):
    strata(tmp_path, "db", "upgrade")
    assert strata(tmp_path, "accounts", "create", "--id", "123456789012").returncode == 0
    duplicate = strata(tmp_path, "accounts", "create", "--id", "123456789012")
    assert duplicate.returncode != 0 and "already exists" in duplicate.stderr
    malformed = strata(tmp_path, "accounts", "create", "--id", "12345")
    assert malformed.returncode != 0 and "12 digits" in malformed.stderr
