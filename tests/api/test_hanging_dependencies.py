"""Dependencies that hang (accept connections, never answer): requests fail within a bound with a
ServiceException, /readyz answers 503 within a second, and the registry keeps answering.

The S3 server is paused with SIGSTOP (its kernel still accepts connections, nothing answers); the
database is made to hang by holding an ACCESS EXCLUSIVE lock on the layer tables, which stalls
every statement that reads them exactly as a migration or a VACUUM FULL would.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request

import boto3
import psycopg
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.support.zips import layer_zip

# What a request promises against a dependency that hangs, with room for a loaded machine: a few
# seconds for a storage call (one read timeout, or a connect timeout retried once) and for a
# statement waiting on a lock (the lock timeout).
STORAGE_BOUND_S = 9.0
DATABASE_BOUND_S = 6.0
READINESS_BOUND_S = 1.0
PUBLISHES = 8  # as many as the server has request threads (2 workers x 4 threads)


def client(server, account):
    """A Lambda client that sends each request once: botocore retries a 5xx by default, which
    would double every wait measured here."""
    return boto3.client(
        "lambda",
        endpoint_url=server.url,
        region_name=server.region,
        aws_access_key_id=account.access_key_id,
        aws_secret_access_key=account.secret_access_key,
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


def readiness(server) -> tuple[int, dict, float]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(server.url + "/readyz", timeout=10) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    return status, json.loads(body), time.monotonic() - started


def timed_service_error(call) -> float:
    """Seconds until `call` failed with a 5xx ServiceException."""
    started = time.monotonic()
    with pytest.raises(ClientError) as failed:
        call()
    elapsed = time.monotonic() - started
    response = failed.value.response
    assert response["Error"]["Code"] == "ServiceException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] >= 500
    return elapsed


@contextlib.contextmanager
def paused(process):
    os.kill(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(process.pid, signal.SIGCONT)


def wait_ready(server, within: float = 15.0) -> dict:
    deadline = time.monotonic() + within
    while True:
        status, body, _ = readiness(server)
        if status == 200 or time.monotonic() > deadline:
            return body
        time.sleep(0.2)


def test_storage_that_hangs__a_publish_fails_within_the_bound_and_readiness_within_a_second(
    own_pg_s3_server,
):
    server, s3 = own_pg_s3_server
    lam = client(server, server.new_account())
    with paused(s3.process):
        # Asked again and again while storage hangs, /readyz waits on the storage probe still in
        # flight instead of queueing new ones, which would hold up the database's probe too.
        for _ in range(3):
            status, body, readiness_s = readiness(server)
            assert status == 503 and readiness_s < READINESS_BOUND_S, readiness_s
            assert body["checks"]["database"] == "ok"
            assert body["checks"]["storage"] == "unavailable"
            assert s3.endpoint not in json.dumps(body)
        publish_s = timed_service_error(
            lambda: lam.publish_layer_version(LayerName="alone", Content={"ZipFile": layer_zip()})
        )
    assert publish_s < STORAGE_BOUND_S, publish_s
    assert wait_ready(server)["status"] == "ok"
    assert lam.publish_layer_version(LayerName="alone", Content={"ZipFile": layer_zip()})


@pytest.mark.slow
def test_storage_that_hangs__publishes_fail_within_the_bound_and_reads_keep_answering(
    own_pg_s3_server,
):
    server, s3 = own_pg_s3_server
    account = server.new_account()
    lam = client(server, account)
    lam.publish_layer_version(LayerName="kept", Content={"ZipFile": layer_zip()})
    clients = [client(server, account) for _ in range(PUBLISHES)]
    failures: list[float] = []

    def publish(lam_client, n: int) -> None:
        content = {"ZipFile": layer_zip(body=f"N = {n}\n")}
        failures.append(
            timed_service_error(
                lambda: lam_client.publish_layer_version(LayerName="stuck", Content=content)
            )
        )

    with paused(s3.process):
        publishes = [
            threading.Thread(target=publish, args=(lam_client, n))
            for n, lam_client in enumerate(clients)
        ]
        for thread in publishes:
            thread.start()
        time.sleep(0.5)  # the publishes now hold every request thread, waiting on storage
        # Health checks have threads of their own: a load balancer hears "not ready" in time.
        status, _, readiness_s = readiness(server)
        assert status == 503 and readiness_s < READINESS_BOUND_S, readiness_s
        started = time.monotonic()
        assert lam.get_layer_version(LayerName="kept", VersionNumber=1)["Version"] == 1
        layer_read_s = time.monotonic() - started
        for thread in publishes:
            thread.join(STORAGE_BOUND_S * 3)
    print(f"GetLayerVersion behind {PUBLISHES} publishes on hung storage: {layer_read_s:.2f} s")
    print("publishes failed after", sorted(round(s, 2) for s in failures))
    # The front spreads connections over its workers unevenly, so a request may queue behind one
    # round of publishes holding its worker's threads before it runs: at most two bounds. The
    # read answers while storage still hangs, however long that lasts.
    assert layer_read_s < 2 * STORAGE_BOUND_S
    assert len(failures) == PUBLISHES and max(failures) < 2 * STORAGE_BOUND_S, failures

    assert wait_ready(server)["status"] == "ok"
    published = lam.publish_layer_version(LayerName="stuck", Content={"ZipFile": layer_zip()})
    assert published["Version"] == 1


def test_database_that_hangs__requests_fail_within_the_bound_and_readiness_says_so(
    own_pg_s3_server, postgres_cluster
):
    server, _ = own_pg_s3_server
    lam = client(server, server.new_account())
    lam.publish_layer_version(LayerName="locked", Content={"ZipFile": layer_zip()})
    name = server.database_url.rsplit("/", 1)[1]

    with psycopg.connect(
        host=postgres_cluster.host,
        port=postgres_cluster.port,
        user=postgres_cluster.user,
        dbname=name,
    ) as admin:
        admin.execute("LOCK TABLE layers, layer_versions IN ACCESS EXCLUSIVE MODE")

        read_s = timed_service_error(
            lambda: lam.get_layer_version(LayerName="locked", VersionNumber=1)
        )
        publish_s = timed_service_error(
            lambda: lam.publish_layer_version(LayerName="locked", Content={"ZipFile": layer_zip()})
        )
        status, body, readiness_s = readiness(server)
        admin.rollback()
    assert read_s < DATABASE_BOUND_S and publish_s < DATABASE_BOUND_S, (read_s, publish_s)
    assert status == 503 and readiness_s < READINESS_BOUND_S
    assert body["checks"]["database"] == "unavailable"
    assert body["checks"]["storage"] == "ok"

    assert wait_ready(server)["status"] == "ok"
    assert lam.get_layer_version(LayerName="locked", VersionNumber=1)["Version"] == 1
    assert (
        lam.publish_layer_version(LayerName="locked", Content={"ZipFile": layer_zip()})["Version"]
        == 2
    )
