"""Owner-only data directory, database and key files."""

from __future__ import annotations

import os
import sqlite3

from registry.private_files import key_file, private_data_dir, private_dir, private_sqlite_file


def mode(path) -> int:
    return os.stat(path).st_mode & 0o777


def test_private_dir__is_created_0700_and_an_open_one_is_tightened(tmp_path):
    assert mode(private_dir(tmp_path / "new" / "data")) == 0o700
    loose = tmp_path / "loose"
    loose.mkdir()
    loose.chmod(0o755)
    private_dir(loose)
    assert mode(loose) == 0o700


def test_private_sqlite_file__the_database_and_the_journals_sqlite_makes_are_0600(tmp_path):
    path = tmp_path / "data" / "strata.db"
    private_sqlite_file(path)
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE t (x)")
    connection.execute("INSERT INTO t VALUES (1)")
    connection.commit()
    made = sorted(p.name for p in path.parent.iterdir())
    assert made == ["strata.db", "strata.db-shm", "strata.db-wal"]
    assert {name: mode(path.parent / name) for name in made} == {name: 0o600 for name in made}
    connection.close()


def loose_data_dir(tmp_path):
    """A data dir as an earlier release left it: everything readable by everyone."""
    data_dir = tmp_path / "data"
    (data_dir / "cache" / "bundle").mkdir(parents=True)
    (data_dir / "cache" / "bundle" / "app.py").write_text("")
    (data_dir / "blobs" / "sha256").mkdir(parents=True)
    for name in ("strata.db", "strata.db-wal", "signing.key"):
        (data_dir / name).write_text("")
        (data_dir / name).chmod(0o644)
    for directory in (data_dir, data_dir / "cache", data_dir / "blobs"):
        directory.chmod(0o755)
    return data_dir


def test_private_data_dir__tightens_its_files_and_blobs_but_not_its_caches(tmp_path):
    data_dir = loose_data_dir(tmp_path)
    private_data_dir(data_dir, sandbox_traversal=False)
    assert mode(data_dir) == 0o700
    assert [mode(data_dir / name) for name in ("strata.db", "strata.db-wal", "signing.key")] == [
        0o600
    ] * 3
    assert mode(data_dir / "blobs") == 0o700
    assert (
        mode(data_dir / "cache") == 0o755
        and mode(data_dir / "cache" / "bundle" / "app.py") == 0o644
    )


def test_private_data_dir__sandbox_traversal_lets_others_pass_through_but_not_list(tmp_path):
    data_dir = loose_data_dir(tmp_path)
    private_data_dir(data_dir, sandbox_traversal=True)
    assert mode(data_dir) == 0o711
    assert mode(data_dir / "strata.db") == 0o600 and mode(data_dir / "blobs") == 0o700
    # The commands keep what the running server chose, and never loosen.
    private_data_dir(data_dir)
    assert mode(data_dir) == 0o711
    private_data_dir(data_dir, sandbox_traversal=False)
    private_data_dir(data_dir)
    assert mode(data_dir) == 0o700


def test_key_file__generated_once_0600_and_read_back(tmp_path):
    calls = []

    def generate():
        calls.append(1)
        return "generated-key\n"

    assert key_file(tmp_path / "x.key", generate) == "generated-key"
    assert key_file(tmp_path / "x.key", generate) == "generated-key"
    assert calls == [1] and mode(tmp_path / "x.key") == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["x.key"]  # no temporary left behind
