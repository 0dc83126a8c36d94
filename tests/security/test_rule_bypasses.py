"""Item 16, end to end: requests that each differ from a valid one in exactly one security rule
(a signature detail, a grant's reach, a symlink's spelling, a download URL's fields) are refused
by a real server, and what they aimed at (a publish, a private version, a blob) is unchanged.
The unit tests beside the modules pin the same rules one by one."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import stat
import zipfile
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests
from botocore.exceptions import ClientError

from tests.support.zips import layer_zip


def refused(call) -> dict:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response


def zip_with(*entries: tuple[str, bytes, int]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.external_attr = mode << 16
            archive.writestr(info, data)
    return buffer.getvalue()


# -- signatures -----------------------------------------------------------------------------------


def signed_request(
    server,
    account,
    method: str,
    path: str,
    *,
    query: str = "",
    sent_query: str | None = None,
    body: bytes = b"",
    scope_date: str | None = None,
    signed_headers: tuple[str, ...] = ("host", "x-amz-date"),
) -> requests.Response:
    """Sends a request signed by hand, per AWS's specification, over `query` (canonical form) and
    the headers named, with the credential scope's date `scope_date` (default: X-Amz-Date's)."""
    host = urlsplit(server.url).netloc
    amz_date = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    scope_date = scope_date or amz_date[:8]
    headers = {"host": host, "x-amz-date": amz_date, "content-type": "application/json"}
    scope = f"{scope_date}/{server.region}/lambda/aws4_request"
    canonical = "\n".join(
        [
            method,
            path,
            query,
            "".join(f"{name}:{headers[name]}\n" for name in signed_headers),
            ";".join(signed_headers),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = f"AWS4{account.secret_access_key}".encode()
    for part in (scope_date, server.region, "lambda", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    authorization = (
        f"AWS4-HMAC-SHA256 Credential={account.access_key_id}/{scope}, "
        f"SignedHeaders={';'.join(signed_headers)}, Signature={signature}"
    )
    sent = {
        "X-Amz-Date": amz_date,
        "Content-Type": "application/json",
        "Authorization": authorization,
    }
    url = (
        server.url
        + path
        + (f"?{query if sent_query is None else sent_query}" if (sent_query or query) else "")
    )
    return requests.request(method, url, data=body, headers=sent, timeout=10)


def publish_body() -> bytes:
    return json.dumps({"Content": {"ZipFile": base64.b64encode(layer_zip()).decode()}}).encode()


def test_signer__a_correct_hand_signed_publish_is_accepted(strata_server, account, lam):
    response = signed_request(
        strata_server, account, "POST", "/2018-10-31/layers/hand/versions", body=publish_body()
    )
    assert response.status_code == 201, response.text
    assert [v["Version"] for v in lam.list_layer_versions(LayerName="hand")["LayerVersions"]] == [1]


def test_credential_scoped_to_another_day_than_x_amz_date__is_refused_and_publishes_nothing(
    strata_server, account, lam
):
    yesterday = (datetime.now(timezone.utc) - timedelta(days=1)).strftime("%Y%m%d")
    response = signed_request(
        strata_server,
        account,
        "POST",
        "/2018-10-31/layers/dated/versions",
        body=publish_body(),
        scope_date=yesterday,
    )
    assert response.status_code == 403, response.text
    assert response.headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    assert "scoped to the date of X-Amz-Date" in response.text
    assert lam.list_layer_versions(LayerName="dated")["LayerVersions"] == []


def test_signature_that_leaves_host_unsigned__is_refused_and_publishes_nothing(
    strata_server, account, lam
):
    response = signed_request(
        strata_server,
        account,
        "POST",
        "/2018-10-31/layers/hostless/versions",
        body=publish_body(),
        signed_headers=("x-amz-date",),
    )
    assert response.status_code == 403, response.text
    assert response.headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    assert lam.list_layer_versions(LayerName="hostless")["LayerVersions"] == []


@pytest.mark.parametrize("sent", ["MaxItems=10&Marker=", "MaxItems=10&CompatibleRuntime"])
def test_blank_query_parameter_added_to_a_signed_request__is_refused(strata_server, account, sent):
    accepted = signed_request(
        strata_server, account, "GET", "/2018-10-31/layers", query="MaxItems=10"
    )
    assert accepted.status_code == 200, accepted.text
    response = signed_request(
        strata_server, account, "GET", "/2018-10-31/layers", query="MaxItems=10", sent_query=sent
    )
    assert response.status_code == 403, response.text
    assert response.headers["x-amzn-ErrorType"] == "InvalidSignatureException"


# -- grants ---------------------------------------------------------------------------------------


@pytest.fixture
def private_version(strata_server):
    owner = strata_server.client(strata_server.new_account())
    arn = owner.publish_layer_version(LayerName="private", Content={"ZipFile": layer_zip()})[
        "LayerVersionArn"
    ]
    return owner, arn


def test_arn_grant_to_one_account__does_not_let_any_other_account_read_the_version(
    strata_server, private_version
):
    owner, arn = private_version
    friend = strata_server.new_account()
    attackers = [strata_server.new_account(), strata_server.new_account(org="o-abcdefghij")]
    owner.add_layer_version_permission(
        LayerName="private",
        VersionNumber=1,
        StatementId="friend",
        Action="lambda:GetLayerVersion",
        Principal=f"arn:aws:iam::{friend.account_id}:root",
    )
    assert strata_server.client(friend).get_layer_version_by_arn(Arn=arn)["Version"] == 1
    for attacker in attackers:
        client = strata_server.client(attacker)
        assert (
            refused(lambda client=client: client.get_layer_version_by_arn(Arn=arn))["Error"]["Code"]
            == "AccessDeniedException"
        )
        assert client.list_layer_versions(LayerName=arn.rsplit(":", 1)[0])["LayerVersions"] == []
    policy = json.loads(
        owner.get_layer_version_policy(LayerName="private", VersionNumber=1)["Policy"]
    )
    assert policy == {
        "Version": "2012-10-17",
        "Id": "default",
        "Statement": [
            {
                "Sid": "friend",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{friend.account_id}:root"},
                "Action": "lambda:GetLayerVersion",
                "Resource": arn,
            },
        ],
    }


def test_public_grant__also_reaches_accounts_that_belong_to_an_organization(
    strata_server, private_version
):
    owner, arn = private_version
    owner.add_layer_version_permission(
        LayerName="private",
        VersionNumber=1,
        StatementId="public",
        Action="lambda:GetLayerVersion",
        Principal="*",
    )
    for account in (strata_server.new_account(org="o-abcdefghij"), strata_server.new_account()):
        assert strata_server.client(account).get_layer_version_by_arn(Arn=arn)["Version"] == 1


def test_organization_grant__its_policy_document_names_the_organization(
    strata_server, private_version
):
    owner, arn = private_version
    owner.add_layer_version_permission(
        LayerName="private",
        VersionNumber=1,
        StatementId="org",
        Action="lambda:GetLayerVersion",
        Principal="*",
        OrganizationId="o-abcdefghij",
    )
    outsider = strata_server.client(strata_server.new_account())
    assert (
        refused(lambda: outsider.get_layer_version_by_arn(Arn=arn))["Error"]["Code"]
        == "AccessDeniedException"
    )
    policy = json.loads(
        owner.get_layer_version_policy(LayerName="private", VersionNumber=1)["Policy"]
    )
    assert policy["Statement"] == [
        {
            "Sid": "org",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "lambda:GetLayerVersion",
            "Resource": arn,
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}},
        },
    ]


def test_arn_grant_naming_a_user_instead_of_the_account_root__is_refused(
    strata_server, private_version
):
    owner, _arn = private_version
    response = refused(
        lambda: owner.add_layer_version_permission(
            LayerName="private",
            VersionNumber=1,
            StatementId="user",
            Action="lambda:GetLayerVersion",
            Principal="arn:aws:iam::123456789012:user/anyone",
        )
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert refused(lambda: owner.get_layer_version_policy(LayerName="private", VersionNumber=1))[
        "Error"
    ]["Code"] == ("ResourceNotFoundException")


# -- zip names and symlinks -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "./../../x",
        "a//../../../x",
        "./../../../etc/passwd",
        "//etc/passwd",
        "C:/x",
        "x\\..\\..\\y",
        "",
    ],
)
def test_symlink_spelled_to_leave_the_root__is_refused_and_publishes_nothing(lam, target):
    data = zip_with(
        ("python/mod.py", b"VALUE = 1\n", stat.S_IFREG | 0o644),
        ("python/link", target.encode(), stat.S_IFLNK | 0o777),
    )
    response = refused(
        lambda: lam.publish_layer_version(LayerName="escape", Content={"ZipFile": data})
    )
    assert response["Error"]["Code"] == "InvalidParameterValueException"
    assert "python/link" in response["Error"]["Message"]
    assert lam.list_layer_versions(LayerName="escape")["LayerVersions"] == []


@pytest.mark.parametrize(
    "name",
    ["d/" * 129 + "f", "a" * 256, "/".join(["a" * 250] * 17)],
    ids=["depth-129", "component-256-bytes", "path-4266-bytes"],
)
def test_entry_name_past_the_depth_component_or_path_limit__is_refused_and_publishes_nothing(
    lam, name
):
    data = zip_with((name, b"x", stat.S_IFREG | 0o644))
    response = refused(
        lambda: lam.publish_layer_version(LayerName="long", Content={"ZipFile": data})
    )
    assert response["Error"]["Code"] == "InvalidParameterValueException"
    assert lam.list_layer_versions(LayerName="long")["LayerVersions"] == []


# -- download URLs --------------------------------------------------------------------------------


# Only the filesystem backend signs its own download URLs; the S3 server checks presigned ones.
@pytest.mark.parametrize("strata_server", ["sqlite-fs"], indirect=True)
def test_download_url_with_a_field_changed__serves_nothing(strata_server, lam):
    data = layer_zip(body="SECRET = 'private bytes'\n")
    lam.publish_layer_version(LayerName="dl", Content={"ZipFile": data})
    location = lam.get_layer_version(LayerName="dl", VersionNumber=1)["Content"]["Location"]
    parts = urlsplit(location)
    query = dict(parse_qsl(parts.query))
    base = f"{strata_server.url}{parts.path}"
    assert requests.get(f"{base}?{urlencode(query)}", timeout=10).content == data
    other_digest = hashlib.sha256(b"other").hexdigest()
    for url in (
        f"{base}?{urlencode({**query, 'expires': str(int(query['expires']) + 86400)})}",
        f"{base}?{urlencode({**query, 'signature': '0' * 64})}",
        f"{base}?{urlencode({**query, 'filename': 'other.zip'})}",
        f"{base}?{urlencode({k: v for k, v in query.items() if k != 'signature'})}",
        f"{base.rsplit('/', 1)[0]}/{other_digest}?{urlencode(query)}",
    ):
        response = requests.get(url, timeout=10)
        assert response.status_code == 403, url
        assert response.headers["x-amzn-ErrorType"] == "AccessDeniedException"
        assert data not in response.content
