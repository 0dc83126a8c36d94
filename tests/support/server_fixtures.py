"""pytest plugin: a real Strata server per backend pair, and per-test accounts and clients."""

from __future__ import annotations

import pytest

BACKENDS = ["sqlite-fs", "pg-s3"]


@pytest.fixture(scope="session", params=BACKENDS)
def strata_server(request, tmp_path_factory):
    """A running `strata serve` with the dev account, once per backend pair: "sqlite-fs" (SQLite +
    blob directory) and "pg-s3" (PostgreSQL + S3 server)."""
    from tests.support.server import StrataServer, backend_env

    data_dir = tmp_path_factory.mktemp(f"strata-{request.param}")
    server = StrataServer(data_dir=data_dir, env=backend_env(request.param, data_dir, request))
    server.backend = request.param
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def account(strata_server):
    """A fresh account on the server, so tests never see each other's layers."""
    return strata_server.new_account()


@pytest.fixture
def lam(strata_server, account):
    """A boto3 Lambda client signed as `account`."""
    return strata_server.client(account)


@pytest.fixture
def own_pg_s3_server(request, tmp_path):
    """A server on PostgreSQL and an S3 server of its own, so a test may take either down."""
    from tests.support.s3server import start_server
    from tests.support.server import StrataServer, backend_env

    s3 = start_server()
    server = StrataServer(data_dir=tmp_path, env=backend_env("pg-s3", tmp_path, request))
    server.env.update(
        STRATA_S3_ENDPOINT=s3.endpoint,
        STRATA_S3_ACCESS_KEY=s3.access_key,
        STRATA_S3_SECRET_KEY=s3.secret_key,
    )
    server.start()
    yield server, s3
    server.stop()
    s3.stop()
