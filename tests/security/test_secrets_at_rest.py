"""Item 5: access keys' secrets at rest. A local user cannot read the data directory, the
database or the key files; the database holds no plaintext secret; a key pair can be rotated,
after which the old secret is refused; a database from before sealing is sealed by the migration.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from registry.db import upgrade
from tests.support import require_service
from tests.support.functions import create, invoke
from tests.support.server import StrataServer, backend_env

STRATA = str(Path(sys.executable).with_name("strata"))
NOBODY = 65534


@pytest.fixture(params=["sqlite-fs", "pg-s3"])
def server(request):
    """A server not started yet, whose data dir sits in a directory every local user can enter
    (as /var/lib is), and was left 0755 as an earlier release made it."""
    parent = Path(tempfile.mkdtemp(prefix="strata-secrets-"))
    parent.chmod(0o755)
    data_dir = parent / "data"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    server = StrataServer(data_dir=data_dir, env=backend_env(request.param, data_dir, request))
    server.backend = request.param
    try:
        yield server
    finally:
        server.stop(signal.SIGKILL)
        shutil.rmtree(parent, ignore_errors=True)


def strata_cli(server: StrataServer, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [STRATA, *args],
        env={**os.environ, **server.env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def as_nobody(paths: list[Path]) -> dict[str, str]:
    """What uid 65534 gets trying to list or read each path: "ok" or the error's name."""
    probe = (
        "import json, os, sys\n"
        "out = {}\n"
        "for p in sys.argv[1:]:\n"
        "    try:\n"
        "        os.listdir(p) if os.path.isdir(p) else open(p, 'rb').read(1)\n"
        "        out[p] = 'ok'\n"
        "    except OSError as e:\n"
        "        out[p] = type(e).__name__\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run(
        [
            "setpriv",
            f"--reuid={NOBODY}",
            f"--regid={NOBODY}",
            "--clear-groups",
            "/usr/bin/python3",
            "-c",
            probe,
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        cwd="/",
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def stored_secret(server: StrataServer, access_key_id: str) -> str | None:
    with server.db.connect() as connection:
        return connection.execute(
            text("SELECT secret_access_key FROM access_keys WHERE access_key_id = :k"),
            {"k": access_key_id},
        ).scalar()


def test_local_user__cannot_read_the_data_dir_the_database_or_the_key_files(server):
    require_service(os.geteuid() == 0, "acting as another local user needs root")
    server.start()
    lam = server.client(server.new_account())
    create(lam, "still-runs")  # sandboxes reach their bundles through the private data dir
    _, result = invoke(lam, "still-runs", {"n": 1})
    assert result["echo"] == {"n": 1}

    data_dir = server.data_dir
    secret_files = [data_dir / "secret.key"]
    if server.backend == "sqlite-fs":
        secret_files += [
            data_dir / "signing.key",
            data_dir / "strata.db",
            data_dir / "strata.db-wal",
            data_dir / "strata.db-shm",
        ]
    for path in secret_files:
        assert path.exists(), path
    assert os.stat(data_dir).st_mode & 0o777 == 0o700
    assert {path.name: os.stat(path).st_mode & 0o777 for path in secret_files} == {
        path.name: 0o600 for path in secret_files
    }
    # Even knowing the names, a local user reaches none of it.
    seen = as_nobody([data_dir, *secret_files])
    assert seen == {str(path): "PermissionError" for path in [data_dir, *secret_files]}
    # ...while the directory above is open to them: the data dir's own mode is what stops them.
    assert as_nobody([data_dir.parent]) == {str(data_dir.parent): "ok"}


def test_local_user__without_bubblewrap_still_cannot_read_the_database_the_keys_or_the_blobs(
    server,
):
    """As root without bubblewrap, handlers run as their own uid against the real paths of their
    bundles in the cache, so others may pass through the data dir, but reach nothing secret."""
    require_service(os.geteuid() == 0, "acting as another local user needs root")
    server.env["STRATA_EXECUTOR_DISABLE"] = "bwrap"
    server.start()
    lam = server.client(server.new_account())
    create(lam, "runs-unwrapped")
    _, result = invoke(lam, "runs-unwrapped", {"n": 2})
    assert result["echo"] == {"n": 2}

    data_dir = server.data_dir
    assert os.stat(data_dir).st_mode & 0o777 == 0o711
    secret = [data_dir / "secret.key"]
    if server.backend == "sqlite-fs":
        secret += [
            data_dir / "signing.key",
            data_dir / "strata.db",
            data_dir / "strata.db-wal",
            data_dir / "blobs",
        ]
    seen = as_nobody([data_dir, *secret])
    assert seen == {str(path): "PermissionError" for path in [data_dir, *secret]}


def test_copy_of_the_database__holds_no_plaintext_secret(server):
    server.start()
    created = strata_cli(server, "accounts", "create", "--json", "--data-dir", str(server.data_dir))
    assert created.returncode == 0, created.stderr
    credentials = json.loads(created.stdout)
    secret = credentials["secret_access_key"]
    lam = server.client((credentials["access_key_id"], secret))
    assert lam.list_layers()["Layers"] == []  # the sealed secret still authenticates

    stored = stored_secret(server, credentials["access_key_id"])
    assert stored.startswith("v1:") and secret not in stored
    if server.backend == "sqlite-fs":
        server.stop()  # everything checkpointed or not: the files, byte for byte
        raw = b"".join(p.read_bytes() for p in server.data_dir.glob("strata.db*"))
        assert credentials["access_key_id"].encode() in raw  # the row is in what we read
        assert secret.encode() not in raw
    else:
        with server.db.connect() as connection:
            dump = connection.execute(
                text("SELECT string_agg(t::text, '|') FROM access_keys t")
            ).scalar()
        assert credentials["access_key_id"] in dump and secret not in dump


def test_rotated_key__the_old_secret_stops_authenticating_and_the_new_one_works(server):
    server.start()
    old = server.new_account()
    old_client = server.client(old)
    assert old_client.list_layers()["Layers"] == []  # cached by the server now

    rotated = strata_cli(
        server,
        "accounts",
        "rotate-key",
        "--access-key-id",
        old.access_key_id,
        "--json",
        "--data-dir",
        str(server.data_dir),
    )
    assert rotated.returncode == 0, rotated.stderr
    new = json.loads(rotated.stdout)
    assert new["account_id"] == old.account_id and new["access_key_id"] != old.access_key_id

    new_client = server.client((new["access_key_id"], new["secret_access_key"]))
    new_client.publish_layer_version(LayerName="after-rotation", Content={"ZipFile": _zip()})
    deadline = time.monotonic() + 10
    while True:  # every app process lets its cached record go within seconds
        try:
            old_client.list_layers()
        except old_client.exceptions.ClientError as error:
            assert error.response["Error"]["Code"] == "UnrecognizedClientException"
            assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403
            break
        assert time.monotonic() < deadline, "the old key still authenticates"
        time.sleep(0.2)
    for _ in range(4):  # refused by every worker, not only the one that asked first
        with pytest.raises(old_client.exceptions.ClientError):
            old_client.list_layers()
    # The new key acts for the same account: it sees what the account owns.
    assert [layer["LayerName"] for layer in new_client.list_layers()["Layers"]] == [
        "after-rotation"
    ]
    assert stored_secret(server, old.access_key_id) is None


def test_plaintext_database_from_before__is_sealed_by_the_migration_and_its_keys_still_work(server):
    upgrade(server.database_url, "0002")  # the schema of the release that stored plaintext
    secret = "plaintext-secret-from-an-earlier-release-0123"
    engine = create_engine(server.database_url)
    now = datetime.now(timezone.utc)
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO accounts (id, created_at) VALUES ('111122223333', :now)"),
            {"now": now},
        )
        connection.execute(
            text(
                "INSERT INTO access_keys "
                "(access_key_id, account_id, secret_access_key, created_at) "
                "VALUES ('AKIAOLDRELEASE00001', '111122223333', :secret, :now)"
            ),
            {"secret": secret, "now": now},
        )
    engine.dispose()

    server.start()  # `strata serve --migrate` brings the schema to head with the server's key
    stored = stored_secret(server, "AKIAOLDRELEASE00001")
    assert stored.startswith("v1:") and secret not in stored
    lam = server.client(("AKIAOLDRELEASE00001", secret))
    assert lam.list_layers()["Layers"] == []
    with pytest.raises(lam.exceptions.ClientError) as wrong:
        server.client(("AKIAOLDRELEASE00001", stored)).list_layers()  # the stored value is no key
    assert wrong.value.response["Error"]["Code"] == "InvalidSignatureException"


def _zip() -> bytes:
    from tests.support.zips import layer_zip

    return layer_zip()
