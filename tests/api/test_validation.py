"""Inputs botocore does not check are validated by the server; rejected publishes leave nothing."""

from __future__ import annotations

import hashlib
import stat

import pytest
from botocore.exceptions import ClientError

from tests.support.zips import (
    bomb_zip,
    layer_zip,
    lying_size_zip,
    make_zip,
    special_file_zip,
    symlink_zip,
)

MALFORMED = {
    "not a zip": b"this is not a zip archive at all",
    "truncated": layer_zip()[:-30],
    "absolute path": make_zip({"/etc/passwd": "x"}),
    "dot-dot path": make_zip({"python/../../escape.py": "x"}),
    "device entry": special_file_zip("python/dev", stat.S_IFCHR),
    "fifo entry": special_file_zip("python/fifo", stat.S_IFIFO),
    "escaping symlink": symlink_zip("python/link", "../../../etc/passwd"),
    "over 250 MB unzipped": bomb_zip(),
    "size header that lies": lying_size_zip(),
}


def rejected(call) -> ClientError:
    with pytest.raises(ClientError) as refused:
        call()
    return refused.value


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_publish__malformed_zip_is_rejected_with_nothing_stored(kind, lam, strata_server):
    data = MALFORMED[kind]
    error = rejected(lambda: lam.publish_layer_version(LayerName="bad", Content={"ZipFile": data}))
    assert error.response["Error"]["Code"] == "InvalidParameterValueException", error.response
    assert error.response["Error"]["Message"]
    assert lam.list_layer_versions(LayerName="bad")["LayerVersions"] == []
    assert lam.list_layers()["Layers"] == []
    assert not strata_server.store().exists(hashlib.sha256(data).hexdigest())
    # The rejected publish spent no number.
    assert (
        lam.publish_layer_version(LayerName="bad", Content={"ZipFile": layer_zip()})["Version"] == 1
    )


@pytest.mark.parametrize(
    "params, field",
    [
        ({"LayerName": "bad name!"}, "LayerName"),
        ({"LayerName": "x" * 141}, "LayerName"),
        ({"Description": "d" * 257}, "Description"),
        ({"LicenseInfo": "l" * 513}, "LicenseInfo"),
        ({"CompatibleRuntimes": ["bogus"]}, "CompatibleRuntimes"),
        ({"CompatibleRuntimes": ["python3.12"] * 16}, "CompatibleRuntimes"),
        ({"CompatibleArchitectures": ["sparc"]}, "CompatibleArchitectures"),
        ({"CompatibleArchitectures": ["x86_64", "arm64", "x86_64"]}, "CompatibleArchitectures"),
        ({"Content": {}}, "Content"),
        ({"Content": {"ZipFile": b"PK", "S3Bucket": "bkt", "S3Key": "k"}}, "Content"),
    ],
)
def test_publish__invalid_parameter_names_the_field(params, field, lam):
    call = {"LayerName": "valid", "Content": {"ZipFile": layer_zip()}, **params}
    error = rejected(lambda: lam.publish_layer_version(**call))
    assert error.response["Error"]["Code"] == "InvalidParameterValueException"
    assert field in error.response["Error"]["Message"]


@pytest.mark.parametrize(
    "call",
    [
        lambda lam: lam.list_layers(CompatibleRuntime="cobol"),
        lambda lam: lam.list_layers(MaxItems=51),
        lambda lam: lam.list_layers(Marker="%%%not-a-marker"),
        lambda lam: lam.get_layer_version_by_arn(
            Arn="arn:aws:lambda:us-east-1:123456789012:layer:x"
        ),
        lambda lam: lam.add_layer_version_permission(
            LayerName="v",
            VersionNumber=1,
            StatementId="s",
            Action="lambda:InvokeFunction",
            Principal="*",
        ),
        lambda lam: lam.add_layer_version_permission(
            LayerName="v",
            VersionNumber=1,
            StatementId="s",
            Action="lambda:GetLayerVersion",
            Principal="someone",
        ),
        lambda lam: lam.add_layer_version_permission(
            LayerName="v",
            VersionNumber=1,
            StatementId="s",
            Action="lambda:GetLayerVersion",
            Principal="*",
            OrganizationId="org-1",
        ),
    ],
)
def test_requests__invalid_values_are_invalid_parameter_value(call, lam):
    lam.publish_layer_version(LayerName="v", Content={"ZipFile": layer_zip()})
    error = rejected(lambda: call(lam))
    assert error.response["Error"]["Code"] == "InvalidParameterValueException"


def test_errors__unknown_path_is_an_aws_shaped_error(strata_server):
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(strata_server.url + "/nothing-here", timeout=5)
    assert refused.value.code == 404
    assert refused.value.headers["x-amzn-ErrorType"] == "UnknownOperationException"
