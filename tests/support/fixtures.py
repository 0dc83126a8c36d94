"""pytest plugin with the shared test services: a PostgreSQL cluster and an S3-protocol server.

Loaded by tests/conftest.py (`pytest_plugins = ["tests.support.fixtures"]`). Each service starts
on first request, once per pytest process (so once per xdist worker), and stops at the end of the
session. When a service cannot start, its tests skip on a developer machine and fail under CI=true.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.support import require_service
from tests.support.postgres import PostgresCluster, PostgresUnavailable, start_cluster
from tests.support.s3server import S3Server, S3ServerUnavailable, start_server


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """The running throwaway cluster (host, port, admin connections)."""
    try:
        cluster = start_cluster()
    except PostgresUnavailable as exc:
        require_service(False, f"PostgreSQL test cluster unavailable: {exc}")
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def postgres_server(postgres_cluster: PostgresCluster) -> str:
    """SQLAlchemy URL of the cluster's maintenance database, as the superuser."""
    return postgres_cluster.admin_url


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """SQLAlchemy URL (postgresql+psycopg) of a fresh empty database, dropped after the test."""
    name = f"strata_test_{uuid.uuid4().hex}"
    with postgres_cluster.connect_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield (
            f"postgresql+psycopg://{postgres_cluster.user}@{postgres_cluster.host}:"
            f"{postgres_cluster.port}/{name}"
        )
    finally:
        with postgres_cluster.connect_admin() as admin:
            # FORCE terminates connections a test's engine or server subprocess left open.
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server: .endpoint (host:port), .url, .access_key, .secret_key, .new_bucket()."""
    try:
        server = start_server()
    except S3ServerUnavailable as exc:
        require_service(False, f"S3 test server unavailable: {exc}")
    try:
        yield server
    finally:
        server.stop()
