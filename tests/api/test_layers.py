"""The nine layer operations through boto3 against a real `strata serve`, on both backend pairs."""

from __future__ import annotations

import base64
import hashlib
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.zips import layer_zip, make_zip

CREATED_DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000")


def publish(lam, name="numpy", data=None, **kwargs):
    return lam.publish_layer_version(
        LayerName=name, Content={"ZipFile": data or layer_zip()}, **kwargs
    )


def download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def test_publish__response_has_arns_content_and_metadata(lam, account, strata_server):
    data = layer_zip(body="import math\n")
    out = publish(
        lam,
        "numpy",
        data,
        CompatibleRuntimes=["python3.11", "python3.12"],
        CompatibleArchitectures=["x86_64"],
        Description="numpy 2.1",
        LicenseInfo="MIT",
    )
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert out["LayerArn"] == f"arn:aws:lambda:us-east-1:{account.account_id}:layer:numpy"
    assert out["LayerVersionArn"] == out["LayerArn"] + ":1"
    assert out["Version"] == 1
    assert out["Description"] == "numpy 2.1"
    assert out["LicenseInfo"] == "MIT"
    assert out["CompatibleRuntimes"] == ["python3.11", "python3.12"]
    assert out["CompatibleArchitectures"] == ["x86_64"]
    assert CREATED_DATE.fullmatch(out["CreatedDate"])
    assert out["Content"]["CodeSha256"] == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert out["Content"]["CodeSize"] == len(data)


def test_get_layer_version__location_downloads_the_exact_bytes(lam):
    data = layer_zip(body="X = 42\n")
    publish(lam, "exact", data)
    out = lam.get_layer_version(LayerName="exact", VersionNumber=1)
    assert download(out["Content"]["Location"]) == data
    by_arn = lam.get_layer_version_by_arn(Arn=out["LayerVersionArn"])
    assert by_arn["Content"]["CodeSha256"] == out["Content"]["CodeSha256"]
    by_layer_arn = lam.get_layer_version(LayerName=out["LayerArn"], VersionNumber=1)
    assert by_layer_arn["LayerVersionArn"] == out["LayerVersionArn"]


def test_get_layer_version__location_is_signed_for_ten_minutes(lam, strata_server):
    publish(lam, "tamper")
    location = lam.get_layer_version(LayerName="tamper", VersionNumber=1)["Content"]["Location"]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
    if strata_server.backend == "pg-s3":
        # A presigned GET: the S3 server checks signature and expiry (moto's test server does not).
        assert query["X-Amz-Expires"] == ["600"] and "X-Amz-Signature" in query
        return
    assert 595 <= int(query["expires"][0]) - time.time() <= 600
    tampered = re.sub(
        r"(signature=)([0-9a-f])", lambda m: m[1] + ("0" if m[2] != "0" else "1"), location, count=1
    )
    for forged in (tampered, location.replace("filename=tamper-1.zip", "filename=evil.zip")):
        assert forged != location
        with pytest.raises(urllib.error.HTTPError) as refused:
            download(forged)
        assert refused.value.code == 403


def test_get_layer_version__missing_version_is_resource_not_found(lam):
    publish(lam, "present")
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as missing:
        lam.get_layer_version(LayerName="present", VersionNumber=7)
    assert "present:7" in missing.value.response["Error"]["Message"]


def test_publish__numbers_never_reused(lam):
    assert [publish(lam, "counter")["Version"] for _ in range(3)] == [1, 2, 3]
    lam.delete_layer_version(LayerName="counter", VersionNumber=3)
    lam.delete_layer_version(LayerName="counter", VersionNumber=2)
    assert publish(lam, "counter")["Version"] == 4
    versions = [v["Version"] for v in lam.list_layer_versions(LayerName="counter")["LayerVersions"]]
    assert versions == [4, 1]


def test_delete_layer_version__gone_from_get_and_list_and_idempotent(lam):
    publish(lam, "gone")
    lam.delete_layer_version(LayerName="gone", VersionNumber=1)
    lam.delete_layer_version(LayerName="gone", VersionNumber=1)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_layer_version(LayerName="gone", VersionNumber=1)
    assert lam.list_layer_versions(LayerName="gone")["LayerVersions"] == []
    assert "gone" not in [layer["LayerName"] for layer in lam.list_layers()["Layers"]]


def test_list_layers__latest_matching_version_per_layer_with_filters(lam):
    publish(lam, "alpha", CompatibleRuntimes=["python3.12"], CompatibleArchitectures=["x86_64"])
    publish(lam, "alpha", CompatibleRuntimes=["python3.11"], CompatibleArchitectures=["arm64"])
    publish(lam, "beta", CompatibleRuntimes=["python3.12"], CompatibleArchitectures=["arm64"])
    everything = {
        layer["LayerName"]: layer["LatestMatchingVersion"]["Version"]
        for layer in lam.list_layers()["Layers"]
    }
    assert everything == {"alpha": 2, "beta": 1}
    py312 = lam.list_layers(CompatibleRuntime="python3.12")["Layers"]
    assert {layer["LayerName"]: layer["LatestMatchingVersion"]["Version"] for layer in py312} == {
        "alpha": 1,
        "beta": 1,
    }
    arm = lam.list_layers(CompatibleRuntime="python3.12", CompatibleArchitecture="arm64")["Layers"]
    assert [layer["LayerName"] for layer in arm] == ["beta"]


def test_list_layer_versions__filters_by_runtime_and_architecture(lam):
    publish(lam, "multi", CompatibleRuntimes=["python3.12"], CompatibleArchitectures=["x86_64"])
    publish(
        lam, "multi", CompatibleRuntimes=["python3.11"], CompatibleArchitectures=["x86_64", "arm64"]
    )
    listed = lam.list_layer_versions(LayerName="multi", CompatibleArchitecture="arm64")[
        "LayerVersions"
    ]
    assert [v["Version"] for v in listed] == [2]
    listed = lam.list_layer_versions(LayerName="multi", CompatibleRuntime="python3.12")[
        "LayerVersions"
    ]
    assert [v["Version"] for v in listed] == [1]


def test_list__pagination_marks_only_when_more_remain(lam):
    for name in ("p1", "p2", "p3"):
        publish(lam, name)
    first = lam.list_layers(MaxItems=2)
    assert [layer["LayerName"] for layer in first["Layers"]] == ["p1", "p2"]
    second = lam.list_layers(MaxItems=2, Marker=first["NextMarker"])
    assert [layer["LayerName"] for layer in second["Layers"]] == ["p3"]
    assert "NextMarker" not in second
    for _ in range(4):
        publish(lam, "paged")
    pages = lam.get_paginator("list_layer_versions").paginate(
        LayerName="paged", PaginationConfig={"PageSize": 3}
    )
    assert [v["Version"] for page in pages for v in page["LayerVersions"]] == [4, 3, 2, 1]


def test_list_layer_versions__unknown_layer_lists_nothing(lam):
    assert lam.list_layer_versions(LayerName="never-published")["LayerVersions"] == []


def test_publish__identical_bytes_make_two_versions_and_one_blob(lam, strata_server):
    data = layer_zip(body="DEDUP = True\n")
    first, second = publish(lam, "dedup", data), publish(lam, "dedup", data)
    assert (first["Version"], second["Version"]) == (1, 2)
    digest = hashlib.sha256(data).hexdigest()
    store = strata_server.store()
    assert [b.digest for b in store.iter_blobs()].count(digest) == 1


def test_publish__twenty_concurrent_publishes_get_one_to_twenty(strata_server, account):
    data = layer_zip(body="CONCURRENT = 1\n")

    def one(_):
        return strata_server.client(account).publish_layer_version(
            LayerName="race", Content={"ZipFile": data}
        )["Version"]

    with ThreadPoolExecutor(20) as pool:
        versions = list(pool.map(one, range(20)))
    assert sorted(versions) == list(range(1, 21))


def test_publish__s3_content_from_the_configured_bucket(lam, strata_server, account):
    prefix = f"uploads/{account.account_id}/"
    if strata_server.backend != "pg-s3":
        with pytest.raises(lam.exceptions.InvalidParameterValueException) as refused:
            lam.publish_layer_version(
                LayerName="s3", Content={"S3Bucket": "any-bucket", "S3Key": f"{prefix}l.zip"}
            )
        assert "STRATA_STORAGE=s3" in refused.value.response["Error"]["Message"]
        return
    data = make_zip({"python/big.py": "BIG = 1\n" * 1000})
    s3 = strata_server.s3_client()
    bucket = strata_server.env["STRATA_S3_BUCKET"]
    s3.put_object(Bucket=bucket, Key=f"{prefix}big.zip", Body=data)
    out = lam.publish_layer_version(
        LayerName="s3", Content={"S3Bucket": bucket, "S3Key": f"{prefix}big.zip"}
    )
    assert out["Content"]["CodeSize"] == len(data)
    assert (
        download(lam.get_layer_version(LayerName="s3", VersionNumber=1)["Content"]["Location"])
        == data
    )
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as missing:
        lam.publish_layer_version(
            LayerName="s3", Content={"S3Bucket": bucket, "S3Key": f"{prefix}missing.zip"}
        )
    assert "does not exist" in missing.value.response["Error"]["Message"]
