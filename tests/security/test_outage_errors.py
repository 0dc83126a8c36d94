"""Item 15: during a database or S3 outage, error answers reveal nothing internal (addresses,
ports, bucket, blob keys, tracebacks, exception classes); the detail goes to the server log under
the request id the client was given."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from tests.support.server import StrataServer
from tests.support.zips import layer_zip

LEAKY_WORDS = (
    "Traceback",
    "Error:",
    "Exception:",
    "psycopg",
    "sqlalchemy",
    "urllib3",
    "minio",
    "botocore",
    "MaxRetryError",
    "OperationalError",
    "StorageUnavailable",
    "ServiceUnavailable",
    "blobs/",
    "sha256",
)


def _internals(server: StrataServer, s3) -> list[str]:
    database = server.database_url.rsplit("@", 1)[1]  # host:port/name
    host_port, _, name = database.partition("/")
    port = host_port.rsplit(":", 1)[1]
    return [
        host_port,
        port,
        name,
        s3.endpoint,
        s3.endpoint.rsplit(":", 1)[1],
        server.env["STRATA_S3_BUCKET"],
    ]


def _service_error(call) -> tuple[str, str]:
    """(message, request id) of a ServiceException."""
    with pytest.raises(ClientError) as failed:
        call()
    response = failed.value.response
    assert response["Error"]["Code"] == "ServiceException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 500
    return response["Error"]["Message"], response["ResponseMetadata"]["RequestId"]


def _assert_reveals_nothing(text: str, internals: list[str]) -> None:
    for secret in internals + list(LEAKY_WORDS):
        assert secret not in text, f"{secret!r} revealed in {text!r}"


@pytest.mark.slow
def test_outage__error_answers_name_only_the_request_id_and_the_log_has_the_detail(
    own_pg_s3_server, postgres_cluster
):
    server, s3 = own_pg_s3_server
    internals = _internals(server, s3)
    lam = server.client(server.new_account())
    digest_holder = lam.publish_layer_version(LayerName="kept", Content={"ZipFile": layer_zip()})
    assert digest_holder["Version"] == 1

    # S3 down: the publish fails inside the blob store.
    s3.process.terminate()
    s3.process.wait(10)
    message, request_id = _service_error(
        lambda: lam.publish_layer_version(
            LayerName="kept", Content={"ZipFile": layer_zip(body="B = 2\n")}
        )
    )
    _assert_reveals_nothing(message, internals)
    assert request_id in message
    log = server.log()
    detail = [line for line in log.splitlines() if request_id in line]
    assert detail and s3.endpoint.rsplit(":", 1)[1] in log[log.index(request_id) :]

    # Database down: every request fails in the metadata database.
    name = server.database_url.rsplit("/", 1)[1]
    server.db.dispose()
    with postgres_cluster.connect_admin() as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        )
    try:
        message, request_id = _service_error(
            lambda: lam.get_layer_version(LayerName="kept", VersionNumber=1)
        )
        _assert_reveals_nothing(message, internals)
        assert request_id in message
        log = server.log()
        assert request_id in log and name in log[log.index(request_id) :]

        try:
            urllib.request.urlopen(server.url + "/readyz", timeout=10)
            pytest.fail("readiness should fail while the database is down")
        except urllib.error.HTTPError as error:
            assert error.code == 503
            _assert_reveals_nothing(error.read().decode(), internals)
    finally:
        with postgres_cluster.connect_admin() as admin:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    assert lam.get_layer_version(LayerName="kept", VersionNumber=1)["Version"] == 1
