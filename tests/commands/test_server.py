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
    return subprocess.run(
        [STRATA, *args, "--data-dir", str(data_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_accounts_create__prints_credentials_that_the_key_directory_knows(tmp_path):
    assert strata(tmp_path, "db", "upgrade").returncode == 0
    created = strata(
        tmp_path, "accounts", "create", "--id", "123456789012", "--org", "o-abcdefghij", "--json"
    )
    assert created.returncode == 0, created.stderr
    credentials = json.loads(created.stdout)
    assert set(credentials) == {"account_id", "access_key_id", "secret_access_key"}
    assert credentials["account_id"] == "123456789012"
    db = Database(f"sqlite:///{tmp_path / 'strata.db'}")
    record = KeyDirectory(db, SecretBox.from_settings(Settings(data_dir=tmp_path))).find(
        credentials["access_key_id"]
    )
    assert record.secret_access_key == credentials["secret_access_key"]
    assert (record.caller.account_id, record.caller.organization_id) == (
        "123456789012",
        "o-abcdefghij",
    )
    db.dispose()


def test_accounts_create__duplicate_or_malformed_id_is_refused(tmp_path):
    strata(tmp_path, "db", "upgrade")
    assert strata(tmp_path, "accounts", "create", "--id", "123456789012").returncode == 0
    duplicate = strata(tmp_path, "accounts", "create", "--id", "123456789012")
    assert duplicate.returncode == 1 and duplicate.stderr.startswith("error: ")
    assert "already exists" in duplicate.stderr
    malformed = strata(tmp_path, "accounts", "create", "--id", "12345")
    assert malformed.returncode == 1 and "12 digits" in malformed.stderr


def test_accounts_rotate_key__keep_old_then_delete_key(tmp_path):
    assert strata(tmp_path, "db", "upgrade").returncode == 0
    old = json.loads(strata(tmp_path, "accounts", "create", "--json").stdout)
    rotated = strata(
        tmp_path,
        "accounts",
        "rotate-key",
        "--access-key-id",
        old["access_key_id"],
        "--keep-old",
        "--json",
    )
    assert rotated.returncode == 0, rotated.stderr
    new = json.loads(rotated.stdout)
    assert new["account_id"] == old["account_id"] and new["access_key_id"] != old["access_key_id"]
    db = Database(f"sqlite:///{tmp_path / 'strata.db'}")
    keys = KeyDirectory(db, SecretBox.from_settings(Settings(data_dir=tmp_path)), ttl_seconds=0)
    assert keys.find(old["access_key_id"]).secret_access_key == old["secret_access_key"]
    assert keys.find(new["access_key_id"]).secret_access_key == new["secret_access_key"]

    assert (
        strata(
            tmp_path, "accounts", "delete-key", "--access-key-id", old["access_key_id"]
        ).returncode
        == 0
    )
    assert keys.find(old["access_key_id"]) is None and keys.find(new["access_key_id"]) is not None
    unknown = strata(tmp_path, "accounts", "rotate-key", "--access-key-id", old["access_key_id"])
    assert unknown.returncode == 1 and "does not exist" in unknown.stderr
    db.dispose()


def test_db_upgrade__leaves_the_data_dir_and_everything_secret_in_it_owner_only(tmp_path):
    data_dir = tmp_path / "data"
    assert strata(data_dir, "db", "upgrade").returncode == 0
    assert os.stat(data_dir).st_mode & 0o777 == 0o700
    for name in ("strata.db", "secret.key"):
        assert os.stat(data_dir / name).st_mode & 0o777 == 0o600, name


def test_serve__a_metrics_address_that_is_not_host_and_port_is_refused(tmp_path):
    refused = strata(tmp_path, "serve", "--metrics-bind", "9464")

    assert refused.returncode == 2
    assert "--metrics-bind must be HOST:PORT" in refused.stderr
