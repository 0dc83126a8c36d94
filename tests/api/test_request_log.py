"""The request log: one line per request, as JSON (`--log-format json`) or text (the default),
naming the request id the client was given, the account, the operation, the status, the time
taken and the bytes each way; never a secret, a signature or a payload."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from tests.support.functions import create
from tests.support.server import StrataServer, backend_env
from tests.support.zips import layer_zip

SECRET_VALUE = "env-secret-value-4b1d"
PAYLOAD_VALUE = "payload-value-9c2e"


@pytest.fixture(scope="module")
def json_server(tmp_path_factory, request):
    data_dir = tmp_path_factory.mktemp("request-log")
    server = StrataServer(data_dir=data_dir, env=backend_env("sqlite-fs", data_dir, request))
    server.start("--log-format", "json")
    yield server
    server.stop()


def log_entries(server) -> list[dict]:
    """Every line of the server's log, each of which must be a JSON object."""
    return [json.loads(line) for line in server.log().splitlines() if line.strip()]


def request_line(server, request_id: str) -> dict:
    lines = [
        entry
        for entry in log_entries(server)
        if entry["logger"] == "strata.requests" and entry.get("request_id") == request_id
    ]
    assert len(lines) == 1, lines
    return lines[0]


def request_id_of(response: dict) -> str:
    return response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]


def test_request_log__a_json_line_per_request_names_the_request_id_the_client_was_given(
    json_server,
):
    account = json_server.new_account()
    lam = json_server.client(account)
    listed = lam.list_functions()
    entry = request_line(json_server, request_id_of(listed))
    assert entry["level"] == "INFO"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["time"])
    assert entry["account"] == account.account_id
    assert (entry["service"], entry["operation"]) == ("lambda", "ListFunctions")
    assert (entry["method"], entry["status"]) == ("GET", 200)
    assert entry["duration_ms"] > 0
    assert entry["bytes_in"] == 0
    assert entry["bytes_out"] == int(listed["ResponseMetadata"]["HTTPHeaders"]["content-length"])


def test_request_log__a_refused_request_is_logged_with_its_status(json_server):
    lam = json_server.client(json_server.new_account())
    with pytest.raises(ClientError) as failed:
        lam.get_function(FunctionName="never-created")
    entry = request_line(json_server, failed.value.response["ResponseMetadata"]["RequestId"])
    assert (entry["operation"], entry["status"]) == ("GetFunction", 404)


def test_request_log__an_unsigned_request_has_no_account(json_server):
    unknown = json_server.client(("AKIDNOTAKEY", "not-a-secret"))
    with pytest.raises(ClientError) as failed:
        unknown.list_layers()
    entry = request_line(json_server, failed.value.response["ResponseMetadata"]["RequestId"])
    assert entry["account"] is None
    assert (entry["operation"], entry["status"]) == ("ListLayers", 403)


def test_request_log__extension_endpoints_are_named_by_their_purpose(json_server):
    with urllib.request.urlopen(json_server.url + "/readyz", timeout=5) as response:
        entry = request_line(json_server, response.headers["x-amzn-RequestId"])
    assert (entry["service"], entry["operation"], entry["status"]) == ("strata", "readyz", 200)
    assert entry["account"] is None


def test_request_log__counts_the_bytes_of_a_body_and_of_a_download(json_server):
    lam = json_server.client(json_server.new_account())
    data = layer_zip(body="X = 1\n" * 2000)
    published = lam.publish_layer_version(LayerName="sized", Content={"ZipFile": data})
    entry = request_line(json_server, request_id_of(published))
    assert entry["operation"] == "PublishLayerVersion" and entry["status"] == 201
    assert entry["bytes_in"] > len(data)  # base64 inside JSON

    with urllib.request.urlopen(published["Content"]["Location"], timeout=10) as response:
        body = response.read()
        entry = request_line(json_server, response.headers["x-amzn-RequestId"])
    assert body == data
    assert (entry["operation"], entry["status"]) == ("download_blob", 200)
    assert entry["bytes_out"] == len(data)


def test_request_log__holds_no_secret_signature_header_or_payload(json_server):
    account = json_server.new_account()
    lam = json_server.client(account)
    create(
        lam,
        "logged-quietly",
        Environment={"Variables": {"TOKEN": SECRET_VALUE}},
    )
    invoked = lam.invoke(FunctionName="logged-quietly", Payload=json.dumps({"v": PAYLOAD_VALUE}))
    assert PAYLOAD_VALUE in invoked["Payload"].read().decode()
    entry = request_line(json_server, request_id_of(invoked))
    assert (entry["operation"], entry["status"]) == ("Invoke", 200)
    location = lam.publish_layer_version(LayerName="signed", Content={"ZipFile": layer_zip()})[
        "Content"
    ]["Location"]
    signature = re.search(r"signature=([0-9a-f]+)", location).group(1)
    urllib.request.urlopen(location, timeout=10).read()

    log = json_server.log()
    for secret in (account.secret_access_key, SECRET_VALUE, PAYLOAD_VALUE, signature):
        assert secret not in log, secret
    request_lines = json.dumps(
        [entry for entry in log_entries(json_server) if entry["logger"] == "strata.requests"]
    )
    for header in ("Signature=", "Authorization", "AWS4-HMAC-SHA256", "Credential="):
        assert header not in request_lines, header
    assert any(
        entry.get("operation") == "download_blob" and entry["path"].startswith("/_strata/blobs/")
        for entry in log_entries(json_server)
    )


def test_request_log__a_path_a_client_made_up_cannot_forge_a_line(json_server):
    forged = '/x%0A{"logger":"strata.requests","request_id":"forged"}'
    try:
        urllib.request.urlopen(json_server.url + forged, timeout=5)
    except urllib.error.HTTPError as error:
        assert error.code == 404
    assert not [e for e in log_entries(json_server) if e.get("request_id") == "forged"]


def test_request_log__every_server_line_is_json_under_the_json_format(json_server):
    loggers = {entry["logger"] for entry in log_entries(json_server)}
    assert {"strata.server", "gunicorn.error", "strata.requests"} <= loggers


def test_request_log__text_by_default_one_line_with_its_fields(strata_server, lam, account):
    listed = lam.list_layers()
    request_id = request_id_of(listed)
    lines = [line for line in strata_server.log().splitlines() if request_id in line]
    assert len(lines) == 1, lines
    line = lines[0]
    assert " INFO strata.requests: request " in line
    for field in (
        f"request_id={request_id}",
        f"account={account.account_id}",
        "service=lambda",
        "operation=ListLayers",
        "method=GET",
        "status=200",
        "bytes_in=0",
    ):
        assert field in line.split(), (field, line)
    assert re.search(r" duration_ms=\d+(\.\d+)? ", line)
    assert not line.lstrip().startswith("{")


def test_request_log__in_text_a_made_up_path_stays_inside_its_line(strata_server):
    forged = "/x%0A2026-01-01T00:00:00.000Z%20[1]%20INFO%20strata.requests:%20forged"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(strata_server.url + forged, timeout=5)
    request_id = refused.value.headers["x-amzn-RequestId"]
    lines = [line for line in strata_server.log().splitlines() if request_id in line]
    assert len(lines) == 1 and 'path="/x\\n2026' in lines[0], lines
    assert not any(line.startswith("2026-01-01") for line in strata_server.log().splitlines())


def test_request_log__another_aws_service_at_the_endpoint_is_named_by_its_operation(json_server):
    account = json_server.new_account()
    logs = json_server.client(account, service="logs")
    described = logs.describe_log_groups()
    entry = request_line(json_server, request_id_of(described))
    assert (entry["service"], entry["operation"]) == ("logs", "DescribeLogGroups")
    assert (entry["account"], entry["status"]) == (account.account_id, 200)


def test_request_log__cloudwatch_is_named_by_its_operation_whatever_its_protocol(json_server):
    account = json_server.new_account()
    cloudwatch = json_server.client(account, service="cloudwatch")
    listed = cloudwatch.list_metrics(Namespace="AWS/Lambda")
    entry = request_line(json_server, request_id_of(listed))
    assert (entry["service"], entry["operation"]) == ("monitoring", "ListMetrics")
    assert (entry["account"], entry["status"]) == (account.account_id, 200)
