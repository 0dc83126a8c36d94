"""A publish that dies midway never yields a visible version, and `strata gc` reclaims its blob."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import threading
import time

import psycopg
import pytest

from tests.support.server import STRATA, StrataServer, backend_env
from tests.support.zips import layer_zip


class DatabaseLock:
    """Holds the write lock of the server's database: a publish stalls right before it commits."""

    def __init__(self, url: str):
        if url.startswith("sqlite"):
            self._conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            self._conn.execute("BEGIN IMMEDIATE")
        else:
            self._conn = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"))
            self._conn.execute("LOCK TABLE layers IN ACCESS EXCLUSIVE MODE")

    def release(self):
        self._conn.rollback() if hasattr(self._conn, "rollback") else None
        self._conn.close()


@pytest.fixture(params=["sqlite-fs", "pg-s3"])
def own_server(request, tmp_path):
    server = StrataServer(data_dir=tmp_path, env=backend_env(request.param, tmp_path, request))
    server.start()
    yield server
    server.stop(signal.SIGKILL)


def test_publish__killed_midway_leaves_nothing_visible_and_gc_reclaims_its_blob(own_server):
    account = own_server.new_account()
    data = layer_zip(body="CRASH = 1\n")
    digest = hashlib.sha256(data).hexdigest()
    store = own_server.store()

    lock = DatabaseLock(own_server.database_url)
    client = own_server.client(account, read_timeout=60)
    attempt = threading.Thread(
        target=lambda: _ignore_errors(
            lambda: client.publish_layer_version(LayerName="crash", Content={"ZipFile": data})
        ),
        daemon=True,
    )
    attempt.start()
    deadline = time.monotonic() + 20
    while not store.exists(digest):
        assert time.monotonic() < deadline, own_server.log()
        time.sleep(0.05)
    own_server.stop(signal.SIGKILL)  # the whole process group: master and workers
    lock.release()
    attempt.join(10)

    own_server.start()
    lam = own_server.client(account)
    assert lam.list_layer_versions(LayerName="crash")["LayerVersions"] == []
    assert store.exists(digest)

    env = {**os.environ, **own_server.env}
    dry = subprocess.run(
        [STRATA, "gc", "--dry-run", "--grace-minutes", "0"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert digest in dry.stdout and store.exists(digest)
    subprocess.run([STRATA, "gc", "--grace-minutes", "0"], env=env, capture_output=True, check=True)
    assert not store.exists(digest)
    assert lam.publish_layer_version(LayerName="crash", Content={"ZipFile": data})["Version"] == 1


def test_gc__keeps_referenced_and_young_blobs(own_server):
    lam = own_server.client(own_server.new_account())
    data = layer_zip(body="KEEP = 1\n")
    lam.publish_layer_version(LayerName="keep", Content={"ZipFile": data})
    orphan = own_server.store().put_bytes(b"orphan bytes")
    env = {**os.environ, **own_server.env}
    subprocess.run(
        [STRATA, "gc"], env=env, capture_output=True, check=True
    )  # default grace: an hour
    assert own_server.store().exists(orphan.digest)
    subprocess.run([STRATA, "gc", "--grace-minutes", "0"], env=env, capture_output=True, check=True)
    assert not own_server.store().exists(orphan.digest)
    assert own_server.store().exists(hashlib.sha256(data).hexdigest())


def _ignore_errors(call):
    try:
        call()
    except Exception:
        pass
