"""Item 12: input crafted to break the server's parsing gets a 4xx in AWS's error shape, never a
500 with a traceback, and leaves everything as it was."""

from __future__ import annotations

import base64
import re

import pytest
import requests
from botocore.exceptions import ClientError

from tests.support.functions import create, invoke
from tests.support.zips import layer_zip

HUGE_VERSION = "1" * 30
TAMPERED_MARKERS = [
    base64.urlsafe_b64encode(b"a\x00b").decode(),  # NUL: PostgreSQL refuses it in text
    base64.urlsafe_b64encode("\u00b2".encode()).decode(),  # a digit to str.isdigit, not to int()
    base64.urlsafe_b64encode(b"9" * 30).decode(),  # past a 64-bit version number
    base64.urlsafe_b64encode(b"-" + b"9" * 25).decode(),
    base64.urlsafe_b64encode(b"\xff\xfe").decode(),  # not UTF-8
]


def client_error(call) -> dict:
    with pytest.raises(ClientError) as failed:
        call()
    response = failed.value.response
    status = response["ResponseMetadata"]["HTTPStatusCode"]
    assert 400 <= status < 500, response
    assert response["Error"]["Code"].endswith("Exception")
    assert (
        response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == response["Error"]["Code"]
    )
    assert "Traceback" not in response["Error"]["Message"]
    return response


@pytest.mark.parametrize("huge", [HUGE_VERSION, str(2**31)], ids=["30-digits", "past-32-bit"])
def test_huge_version_number__is_a_client_error_on_every_operation(lam, huge):
    create(lam, "numbered", Publish=True)
    lam.publish_layer_version(LayerName="numbered", Content={"ZipFile": layer_zip()})
    own = lam.get_layer_version(LayerName="numbered", VersionNumber=1)["LayerArn"]
    calls = [
        lambda: lam.get_function(FunctionName="numbered", Qualifier=huge),
        lambda: lam.get_function_configuration(FunctionName=f"numbered:{huge}"),
        lambda: lam.invoke(FunctionName="numbered", Qualifier=huge, Payload=b"{}"),
        lambda: lam.delete_function(FunctionName="numbered", Qualifier=huge),
        lambda: lam.create_alias(FunctionName="numbered", Name="big", FunctionVersion=huge),
        lambda: lam.get_provisioned_concurrency_config(FunctionName="numbered", Qualifier=huge),
        lambda: lam.get_layer_version(LayerName="numbered", VersionNumber=int(huge)),
        lambda: lam.get_layer_version_by_arn(Arn=f"{own}:{huge}"),
        lambda: lam.delete_layer_version(LayerName="numbered", VersionNumber=int(huge)),
        lambda: lam.get_layer_version_policy(LayerName="numbered", VersionNumber=int(huge)),
    ]
    for call in calls:
        assert client_error(call)["Error"]["Code"] == "InvalidParameterValueException"
    assert invoke(lam, "numbered", Qualifier="1")[1]["version"] == "1"
    assert [
        v["Version"] for v in lam.list_versions_by_function(FunctionName="numbered")["Versions"]
    ] == ["$LATEST", "1"]
    assert lam.get_layer_version(LayerName="numbered", VersionNumber=1)["Version"] == 1


@pytest.mark.parametrize("marker", TAMPERED_MARKERS)
def test_tampered_list_marker__is_never_a_server_error(lam, marker):
    create(lam, "listed")
    lam.publish_layer_version(LayerName="listed", Content={"ZipFile": layer_zip()})
    calls = [
        lambda: lam.list_functions(Marker=marker),
        lambda: lam.list_versions_by_function(FunctionName="listed", Marker=marker),
        lambda: lam.list_aliases(FunctionName="listed", Marker=marker),
        lambda: lam.list_layers(Marker=marker),
        lambda: lam.list_layer_versions(LayerName="listed", Marker=marker),
    ]
    for call in calls:
        try:
            call()  # a marker that could have been a name is only a place in the list
        except ClientError:
            assert client_error(call)["Error"]["Code"] == "InvalidParameterValueException"
    assert [f["FunctionName"] for f in lam.list_functions()["Functions"]] == ["listed"]


def test_marker_with_nul__is_invalid_parameter_value_on_every_list(lam):
    create(lam, "listed")
    lam.publish_layer_version(LayerName="listed", Content={"ZipFile": layer_zip()})
    marker = TAMPERED_MARKERS[0]
    calls = [
        lambda: lam.list_functions(Marker=marker),
        lambda: lam.list_versions_by_function(FunctionName="listed", Marker=marker),
        lambda: lam.list_aliases(FunctionName="listed", Marker=marker),
        lambda: lam.list_layers(Marker=marker),
        lambda: lam.list_layer_versions(LayerName="listed", Marker=marker),
    ]
    for call in calls:
        assert client_error(call)["Error"]["Code"] == "InvalidParameterValueException"


# Only the filesystem backend's download URLs are this server's own (S3 hands out presigned URLs).
@pytest.mark.parametrize("strata_server", ["sqlite-fs"], indirect=True)
@pytest.mark.parametrize("expires", ["\u00b2", "9" * 400, "-1", "1e9"])
def test_download_url_with_forged_expiry__is_refused_and_the_real_one_still_works(
    strata_server, lam, expires
):
    data = layer_zip()
    location = lam.publish_layer_version(LayerName="dl", Content={"ZipFile": data})["Content"][
        "Location"
    ]
    assert location.startswith(strata_server.url)
    forged = re.sub(r"expires=\d+", "expires=" + requests.utils.quote(expires), location)

    refused = requests.get(forged, timeout=10)

    assert refused.status_code == 403
    assert refused.headers["x-amzn-ErrorType"] == "AccessDeniedException"
    assert "Traceback" not in refused.text
    assert requests.get(location, timeout=10).content == data


def test_nul_characters_in_members_and_parameters__are_invalid_parameter_value(lam):
    create(lam, "nul")
    lam.create_alias(FunctionName="nul", Name="live", FunctionVersion="$LATEST")
    lam.publish_layer_version(LayerName="nul", Content={"ZipFile": layer_zip()})
    calls = [
        lambda: lam.publish_layer_version(
            LayerName="nul", Description="a\x00b", Content={"ZipFile": layer_zip()}
        ),
        lambda: lam.publish_layer_version(
            LayerName="nul", LicenseInfo="a\x00b", Content={"ZipFile": layer_zip()}
        ),
        lambda: lam.update_alias(FunctionName="nul", Name="live", Description="a\x00b"),
        lambda: lam.update_function_configuration(FunctionName="nul", Description="a\x00b"),
        lambda: lam.add_layer_version_permission(
            LayerName="nul",
            VersionNumber=1,
            StatementId="s",
            Action="lambda:GetLayerVersion",
            Principal="*",
            RevisionId="r\x00",
        ),
    ]
    for call in calls:
        assert client_error(call)["Error"]["Code"] == "InvalidParameterValueException"
    # Where the model's pattern has no room for a NUL, the model refuses it first.
    for call in (
        lambda: create(lam, "nul-tags", Tags={"k\x00": "v"}),
        lambda: lam.list_aliases(FunctionName="nul", FunctionVersion="1\x00"),
    ):
        assert client_error(call)["Error"]["Code"] == "ValidationException"
    assert lam.get_alias(FunctionName="nul", Name="live")["Description"] == ""
    assert [v["Version"] for v in lam.list_layer_versions(LayerName="nul")["LayerVersions"]] == [1]


def test_body_nested_past_the_parser_and_non_ascii_max_items__are_client_errors(
    strata_server, account
):
    from tests.security.test_http_contract_fuzz import SigV4

    auth = SigV4(account.access_key_id, account.secret_access_key, strata_server.region)
    session = requests.Session()
    session.trust_env = False
    for body in (b"[" * 100000 + b"]" * 100000, b'{"a":' * 50000 + b"1" + b"}" * 50000):
        answer = session.post(
            f"{strata_server.url}/2018-10-31/layers/deep/versions",
            data=body,
            auth=auth,
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        assert (
            answer.status_code == 400
            and answer.headers["x-amzn-ErrorType"] == "InvalidRequestContentException"
        )
    for query in ("MaxItems=%C2%B2", "FunctionVersion=ALL&MaxItems=%C2%B2"):
        answer = session.get(
            f"{strata_server.url}/2015-03-31/functions?{query}", auth=auth, timeout=30
        )
        assert (
            answer.status_code == 400
            and answer.headers["x-amzn-ErrorType"] == "InvalidParameterValueException"
        )
