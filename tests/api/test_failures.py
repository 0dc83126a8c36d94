"""Outages and broken clients: AWS-shaped 5xx errors, never tracebacks, nothing half-published."""

from __future__ import annotations

import os
import signal
import socket
import time
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from tests.support.zips import layer_zip


def service_error(call) -> dict:
    with pytest.raises(ClientError) as failed:
        call()
    response = failed.value.response
    assert response["Error"]["Code"] == "ServiceException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert "Traceback" not in response["Error"]["Message"]
    return response


def readiness(server) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(server.url + "/readyz", timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_storage_down__publish_is_a_service_error_and_readiness_fails(own_pg_s3_server):
    server, s3 = own_pg_s3_server
    lam = server.client(server.new_account())
    s3.stop()
    service_error(
        lambda: lam.publish_layer_version(LayerName="down", Content={"ZipFile": layer_zip()})
    )
    status, body = readiness(server)
    assert status == 503 and '"storage"' in body
    assert lam.list_layer_versions(LayerName="down")["LayerVersions"] == []


def test_database_down__requests_are_service_errors_and_readiness_fails(
    own_pg_s3_server, postgres_cluster
):
    server, _ = own_pg_s3_server
    lam = server.client(server.new_account())
    lam.publish_layer_version(LayerName="db", Content={"ZipFile": layer_zip()})
    name = server.database_url.rsplit("/", 1)[1]
    server.db.dispose()
    postgres_cluster.allow_connections(name, False)
    try:
        service_error(
            lambda: lam.publish_layer_version(LayerName="db", Content={"ZipFile": layer_zip()})
        )
        service_error(lambda: lam.get_layer_version(LayerName="db", VersionNumber=1))
        assert readiness(server)[0] == 503
    finally:
        postgres_cluster.allow_connections(name, True)
    assert lam.get_layer_version(LayerName="db", VersionNumber=1)["Version"] == 1


def test_database_down__a_worker_started_meanwhile_comes_up_and_serves_once_it_is_back(
    own_pg_s3_server, postgres_cluster
):
    """A worker gunicorn starts again while the database is away must not fail to boot: gunicorn
    stops the whole server when one does, taking the worker that still serves with it."""
    server, _ = own_pg_s3_server
    lam = server.client(server.new_account())
    lam.publish_layer_version(LayerName="db", Content={"ZipFile": layer_zip()})
    name = server.database_url.rsplit("/", 1)[1]
    (worker, *_) = _children(server.process.pid)
    postgres_cluster.allow_connections(name, False)
    try:
        os.kill(worker, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while worker in _children(server.process.pid) or len(_children(server.process.pid)) < 2:
            assert time.monotonic() < deadline, server.log()[-3000:]
            time.sleep(0.1)
        time.sleep(3)  # a worker failing to boot would have stopped the server by now
        assert server.process.poll() is None, server.log()[-3000:]
        assert readiness(server)[0] == 503
    finally:
        postgres_cluster.allow_connections(name, True)
    for _ in range(6):  # new clients and connections, so that both workers answer some
        assert server.client(server.new_account()).list_layers()["Layers"] == []
    assert lam.get_layer_version(LayerName="db", VersionNumber=1)["Version"] == 1


def _children(pid: int) -> list[int]:
    children = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as listing:
            children.extend(int(child) for child in listing.read().split())
    return children


def test_client_disconnect_midway__publishes_nothing(strata_server, lam):
    data = layer_zip(body="HALF = 1\n" * 5000)
    import base64
    import json

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    body = json.dumps({"Content": {"ZipFile": base64.b64encode(data).decode()}}).encode()
    url = f"{strata_server.url}/2018-10-31/layers/half/versions"
    signed = AWSRequest(
        method="POST", url=url, data=body, headers={"Content-Type": "application/json"}
    )
    credentials = lam._request_signer._credentials
    SigV4Auth(
        Credentials(credentials.access_key, credentials.secret_key), "lambda", "us-east-1"
    ).add_auth(signed)
    head = (
        "POST /2018-10-31/layers/half/versions HTTP/1.1\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in signed.headers.items())
        + f"Content-Length: {len(body)}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", strata_server.port)) as sock:
        sock.sendall(head.encode() + body[: len(body) // 2])
    assert lam.list_layer_versions(LayerName="half")["LayerVersions"] == []
    assert lam.publish_layer_version(LayerName="half", Content={"ZipFile": data})["Version"] == 1
