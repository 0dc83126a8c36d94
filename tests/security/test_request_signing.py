"""Item 14: a signature is valid only for the server's region, and download URLs are built on the
configured public address, not on whatever Host header a client sends."""

from __future__ import annotations

import json

import boto3
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.support.server import StrataServer, backend_env
from tests.support.zips import layer_zip

PUBLIC_URL = "https://strata.example.com"


def test_signature_scoped_to_another_region__is_refused_and_publishes_nothing(
    strata_server, account, lam
):
    evil = boto3.client(
        "lambda",
        endpoint_url=strata_server.url,
        region_name="xx-evil-9",
        aws_access_key_id=account.access_key_id,
        aws_secret_access_key=account.secret_access_key,
        config=Config(retries={"max_attempts": 1}),
    )
    with pytest.raises(ClientError) as refused:
        evil.publish_layer_version(LayerName="elsewhere", Content={"ZipFile": layer_zip()})
    assert refused.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert (
        "Credential should be scoped to a valid region"
        in refused.value.response["Error"]["Message"]
    )
    assert lam.list_layer_versions(LayerName="elsewhere")["LayerVersions"] == []


@pytest.fixture
def public_url_server(request, tmp_path):
    server = StrataServer(
        data_dir=tmp_path,
        env={**backend_env("sqlite-fs", tmp_path, request), "STRATA_PUBLIC_URL": PUBLIC_URL + "/"},
    )
    server.start()
    yield server
    server.stop()


def _signed_get(server: StrataServer, account, path: str, host: str) -> requests.Response:
    signed = AWSRequest(method="GET", url=server.url + path, headers={"Host": host})
    SigV4Auth(
        Credentials(account.access_key_id, account.secret_access_key), "lambda", server.region
    ).add_auth(signed)
    return requests.get(server.url + path, headers=dict(signed.headers.items()), timeout=10)


def test_forged_host_header__download_location_stays_on_the_public_url(public_url_server):
    server = public_url_server
    account = server.new_account()
    data = layer_zip()
    server.client(account).publish_layer_version(LayerName="hosted", Content={"ZipFile": data})

    response = _signed_get(
        server, account, "/2018-10-31/layers/hosted/versions/1", host="attacker.example:8443"
    )

    assert response.status_code == 200, response.text
    location = json.loads(response.text)["Content"]["Location"]
    assert location.startswith(PUBLIC_URL + "/_strata/blobs/")
    assert "attacker" not in location
    # The URL is a working one once the public address reaches this server.
    download = requests.get(server.url + location.removeprefix(PUBLIC_URL), timeout=10)
    assert download.status_code == 200 and download.content == data
