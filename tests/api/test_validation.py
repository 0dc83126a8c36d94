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
    "params, at",
    [
        ({"LayerName": "bad name!"}, "layerName"),
        ({"LayerName": "x" * 141}, "layerName"),
        ({"Description": "d" * 257}, "description"),
        ({"LicenseInfo": "l" * 513}, "licenseInfo"),
        ({"CompatibleRuntimes": ["bogus"]}, "compatibleRuntimes"),
        ({"CompatibleRuntimes": ["python3.12"] * 16}, "compatibleRuntimes"),
        ({"CompatibleArchitectures": ["sparc"]}, "compatibleArchitectures"),
        ({"CompatibleArchitectures": ["x86_64", "arm64", "x86_64"]}, "compatibleArchitectures"),
    ],
)
def test_publish__a_value_the_model_refuses_is_a_validation_error_naming_it(params, at, lam):
    call = {"LayerName": "valid", "Content": {"ZipFile": layer_zip()}, **params}
    error = rejected(lambda: lam.publish_layer_version(**call))
    assert error.response["Error"]["Code"] == "ValidationException"
    assert f"at '{at}' failed to satisfy constraint" in error.response["Error"]["Message"]
    assert lam.list_layers()["Layers"] == []


@pytest.mark.parametrize(
    "content",
    [{}, {"ZipFile": b"PK", "S3Bucket": "bkt", "S3Key": "k"}],
    ids=["empty", "zip and s3"],
)
def test_publish__content_that_is_not_one_source_is_invalid_parameter_value(content, lam):
    error = rejected(lambda: lam.publish_layer_version(LayerName="valid", Content=content))
    assert error.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "Content" in error.response["Error"]["Message"]


@pytest.mark.parametrize(
    "call, at",
    [
        (lambda lam: lam.list_layers(CompatibleRuntime="cobol"), "compatibleRuntime"),
        (lambda lam: lam.list_layers(MaxItems=51), "maxItems"),
        (
            lambda lam: lam.get_layer_version_by_arn(
                Arn="arn:aws:lambda:us-east-1:123456789012:layer:x"
            ),
            "arn",
        ),
        (
            lambda lam: lam.add_layer_version_permission(
                LayerName="v",
                VersionNumber=1,
                StatementId="s",
                Action="lambda:InvokeFunction",
                Principal="*",
            ),
            "action",
        ),
        (
            lambda lam: lam.add_layer_version_permission(
                LayerName="v",
                VersionNumber=1,
                StatementId="s",
                Action="lambda:GetLayerVersion",
                Principal="someone",
            ),
            "principal",
        ),
        (
            lambda lam: lam.add_layer_version_permission(
                LayerName="v",
                VersionNumber=1,
                StatementId="s",
                Action="lambda:GetLayerVersion",
                Principal="*",
                OrganizationId="org-1",
            ),
            "organizationId",
        ),
    ],
)
def test_requests__values_the_model_refuses_are_validation_errors(call, at, lam):
    lam.publish_layer_version(LayerName="v", Content={"ZipFile": layer_zip()})
    error = rejected(lambda: call(lam))
    assert error.response["Error"]["Code"] == "ValidationException"
    assert f"at '{at}' failed to satisfy constraint" in error.response["Error"]["Message"]


def test_requests__a_marker_this_server_did_not_hand_out_is_invalid_parameter_value(lam):
    error = rejected(lambda: lam.list_layers(Marker="%%%not-a-marker"))
    assert error.response["Error"]["Code"] == "InvalidParameterValueException"


def test_errors__unknown_path_is_an_aws_shaped_error(strata_server):
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(strata_server.url + "/nothing-here", timeout=5)
    assert refused.value.code == 404
    assert refused.value.headers["x-amzn-ErrorType"] == "UnknownOperationException"


def test_list_layers__a_runtime_of_the_model_that_no_layer_declares_matches_nothing(lam):
    lam.publish_layer_version(
        LayerName="v", Content={"ZipFile": layer_zip()}, CompatibleRuntimes=["python3.12"]
    )
    assert lam.list_layers(CompatibleRuntime="python3.15")["Layers"] == []
    assert lam.list_layers(CompatibleRuntime="python3.12")["Layers"][0]["LayerName"] == "v"
