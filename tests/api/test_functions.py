"""Function artifact operations through boto3 against a real `strata serve`, both backend pairs."""

from __future__ import annotations

import base64
import hashlib
import re
import urllib.request

import pytest
from botocore.exceptions import ClientError

from tests.support.functions import ECHO, ROLE, RUNTIME, create, handler_zip, wait_updated

LAST_MODIFIED = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000")


def test_create_function__answers_the_configuration_lambda_returns(lam, account):
    out = create(
        lam,
        "shape",
        MemorySize=256,
        Timeout=7,
        Description="d",
        Environment={"Variables": {"GREETING": "hi"}},
        EphemeralStorage={"Size": 1024},
        Architectures=["arm64"],
        Tags={"team": "core"},
    )
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert out["FunctionArn"] == f"arn:aws:lambda:us-east-1:{account.account_id}:function:shape"
    assert (out["Runtime"], out["Handler"], out["Role"]) == (RUNTIME, "app.handler", ROLE)
    assert (out["MemorySize"], out["Timeout"], out["Description"]) == (256, 7, "d")
    assert out["Environment"] == {"Variables": {"GREETING": "hi"}}
    assert out["EphemeralStorage"] == {"Size": 1024}
    assert out["Architectures"] == ["arm64"]
    assert out["Version"] == "$LATEST"
    assert out["CodeSha256"] == base64.b64encode(hashlib.sha256(ECHO).digest()).decode()
    assert out["CodeSize"] == len(ECHO)
    # Created Pending, as on Lambda; Active once its bundle is prepared (create() waits for it).
    assert (out["State"], out["StateReason"], out["StateReasonCode"]) == (
        "Pending",
        "The function is being created.",
        "Creating",
    )
    assert "LastUpdateStatus" not in out
    assert out["PackageType"] == "Zip"
    settled = lam.get_function_configuration(FunctionName="shape")
    assert (settled["State"], settled["LastUpdateStatus"]) == ("Active", "Successful")
    assert LAST_MODIFIED.fullmatch(out["LastModified"])
    assert lam.get_function(FunctionName="shape")["Tags"] == {"team": "core"}


def test_create_function__defaults_are_lambdas(lam):
    out = lam.create_function(
        FunctionName="defaults",
        Runtime=RUNTIME,
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": ECHO},
    )
    assert (out["MemorySize"], out["Timeout"], out["EphemeralStorage"], out["Architectures"]) == (
        128,
        3,
        {"Size": 512},
        ["x86_64"],
    )
    assert "Environment" not in out and "Layers" not in out


def test_create_function__existing_name_is_a_conflict(lam):
    create(lam, "twice")
    with pytest.raises(lam.exceptions.ResourceConflictException):
        create(lam, "twice")


def test_get_function__by_name_partial_arn_full_arn_and_qualifier(lam, account):
    arn = create(lam, "named")["FunctionArn"]
    partial = f"{account.account_id}:function:named"
    for name in ("named", partial, arn, f"{arn}:$LATEST", "named:$LATEST"):
        assert lam.get_function_configuration(FunctionName=name)["FunctionArn"].startswith(arn)
    assert (
        lam.get_function(FunctionName="named", Qualifier="$LATEST")["Configuration"]["Version"]
        == "$LATEST"
    )
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.get_function(FunctionName="named:1", Qualifier="2")


def test_get_function__code_location_downloads_the_exact_zip(lam):
    code = handler_zip("def handler(e, c):\n    return 'exact'\n")
    create(lam, "located", code)
    location = lam.get_function(FunctionName="located")["Code"]["Location"]
    with urllib.request.urlopen(location, timeout=10) as response:
        assert response.read() == code


def test_get_function__unknown_function_and_other_accounts(lam, strata_server):
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as missing:
        lam.get_function(FunctionName="nowhere")
    assert "function:nowhere" in missing.value.response["Error"]["Message"]
    create(lam, "private")
    other = strata_server.client(strata_server.new_account())
    own_arn = lam.get_function_configuration(FunctionName="private")["FunctionArn"]
    with pytest.raises(ClientError) as denied:
        other.get_function(FunctionName=own_arn)
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"


def test_update_function_code__new_sha_new_revision_and_revision_precondition(lam):
    create(lam, "coded")
    first = lam.get_function_configuration(FunctionName="coded")
    newer = handler_zip("def handler(e, c):\n    return 2\n")
    with pytest.raises(lam.exceptions.PreconditionFailedException):
        lam.update_function_code(FunctionName="coded", ZipFile=newer, RevisionId="not-the-revision")
    out = lam.update_function_code(
        FunctionName="coded", ZipFile=newer, RevisionId=first["RevisionId"]
    )
    assert out["CodeSha256"] == base64.b64encode(hashlib.sha256(newer).digest()).decode()
    assert out["RevisionId"] != first["RevisionId"]
    assert lam.get_function_configuration(FunctionName="coded")["CodeSha256"] == out["CodeSha256"]


def test_update_function_code__invalid_zip_is_refused_and_nothing_changes(lam):
    create(lam, "unharmed")
    first = lam.get_function_configuration(FunctionName="unharmed")
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.update_function_code(FunctionName="unharmed", ZipFile=b"PK\x03\x04 not a zip at all")
    assert (
        lam.get_function_configuration(FunctionName="unharmed")["RevisionId"] == first["RevisionId"]
    )


def test_update_function_code__dry_run_checks_and_answers_but_stores_and_changes_nothing(
    lam, strata_server, account
):
    create(lam, "rehearsed")
    first = lam.get_function_configuration(FunctionName="rehearsed")
    newer = handler_zip("def handler(e, c):\n    return 3\n")
    digest = hashlib.sha256(newer).hexdigest()
    out = lam.update_function_code(FunctionName="rehearsed", ZipFile=newer, DryRun=True)
    assert (out["CodeSha256"], out["CodeSize"]) == (
        base64.b64encode(bytes.fromhex(digest)).decode(),
        len(newer),
    )
    assert (
        lam.get_function_configuration(FunctionName="rehearsed")["RevisionId"]
        == first["RevisionId"]
    )
    assert not strata_server.store().exists(digest)
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.update_function_code(
            FunctionName="rehearsed", ZipFile=b"PK\x03\x04 not a zip at all", DryRun=True
        )
    if strata_server.backend == "pg-s3":
        bucket = strata_server.env["STRATA_S3_BUCKET"]
        key = f"uploads/{account.account_id}/rehearsed.zip"
        strata_server.s3_client().put_object(Bucket=bucket, Key=key, Body=newer)
        out = lam.update_function_code(
            FunctionName="rehearsed", S3Bucket=bucket, S3Key=key, DryRun=True
        )
        assert out["CodeSize"] == len(newer)
        assert not strata_server.store().exists(digest)


def test_update_function_configuration__changes_only_what_is_given(lam):
    create(lam, "configured", MemorySize=256, Environment={"Variables": {"AB": "1x"}})
    first = lam.get_function_configuration(FunctionName="configured")
    out = lam.update_function_configuration(
        FunctionName="configured", Timeout=30, RevisionId=first["RevisionId"]
    )
    assert (out["Timeout"], out["MemorySize"], out["Environment"]) == (
        30,
        256,
        {"Variables": {"AB": "1x"}},
    )
    assert out["RevisionId"] != first["RevisionId"]
    with pytest.raises(lam.exceptions.PreconditionFailedException):
        lam.update_function_configuration(
            FunctionName="configured", Timeout=31, RevisionId=first["RevisionId"]
        )


def test_waiters__function_active_and_updated_return(lam):
    create(lam, "waited")
    lam.update_function_configuration(FunctionName="waited", MemorySize=512)
    config = {"Delay": 1, "MaxAttempts": 3}
    lam.get_waiter("function_active_v2").wait(FunctionName="waited", WaiterConfig=config)
    lam.get_waiter("function_updated_v2").wait(FunctionName="waited", WaiterConfig=config)
    lam.get_waiter("function_active").wait(FunctionName="waited", WaiterConfig=config)
    lam.get_waiter("function_exists").wait(FunctionName="waited", WaiterConfig=config)


@pytest.mark.parametrize(
    "change, words",
    [
        ({"MemorySize": 10241}, "MemorySize must be between 128 and 10240"),
        ({"MemorySize": 32768}, "MemorySize must be between 128 and 10240"),
        ({"Timeout": 901}, "Timeout must be between 1 and 900"),
        (
            {"EphemeralStorage": {"Size": 10241}},
            "EphemeralStorage.Size must be between 512 and 10240",
        ),
        (
            {"Environment": {"Variables": {"AWS_REGION": "x"}}},
            "Reserved keys used in this request: AWS_REGION",
        ),
        ({"Environment": {"Variables": {"BIG": "x" * 4100}}}, "exceeded the 4KB limit"),
        ({"FunctionName": "f" * 65}, "at most 64 characters"),
    ],
)
def test_create_function__limits_botocore_leaves_to_the_server(lam, change, words):
    params = {"FunctionName": "limited", **change}
    name = params.pop("FunctionName")
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as refused:
        create(lam, name, **params)
    assert words in refused.value.response["Error"]["Message"]


@pytest.mark.parametrize(
    "change, at",
    [
        ({"Runtime": "python9.9"}, "runtime"),
        ({"Handler": "a" * 129}, "handler"),
        ({"Handler": "app handler"}, "handler"),
        ({"Role": "not-a-role"}, "role"),
        ({"Architectures": ["x86_64", "arm64"]}, "architectures"),
        ({"Architectures": ["sparc"]}, "architectures"),
        ({"Description": "d" * 257}, "description"),
        ({"Environment": {"Variables": {"1BAD": "x"}}}, "environment.variables"),
        ({"FunctionName": "bad name"}, "functionName"),
    ],
)
def test_create_function__values_the_model_refuses_are_validation_errors(lam, change, at):
    params = {"FunctionName": "limited", **change}
    name = params.pop("FunctionName")
    with pytest.raises(ClientError) as refused:
        create(lam, name, **params)
    error = refused.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert f"at '{at}' failed to satisfy constraint" in error["Message"]
    assert lam.list_functions()["Functions"] == []


def test_list_functions__pages_by_name_and_lists_versions_with_all(lam):
    for name in ("list-a", "list-b", "list-c"):
        create(lam, name)
    lam.publish_version(FunctionName="list-b")
    first = lam.list_functions(MaxItems=2)
    assert [f["FunctionName"] for f in first["Functions"]] == ["list-a", "list-b"]
    second = lam.list_functions(MaxItems=2, Marker=first["NextMarker"])
    assert [f["FunctionName"] for f in second["Functions"]] == ["list-c"]
    assert "NextMarker" not in second
    assert "State" not in first["Functions"][0]  # ListFunctions answers the subset, as Lambda does
    pages = lam.get_paginator("list_functions").paginate(
        FunctionVersion="ALL", PaginationConfig={"PageSize": 1}
    )
    listed = [(f["FunctionName"], f["Version"]) for page in pages for f in page["Functions"]]
    assert listed == [
        ("list-a", "$LATEST"),
        ("list-b", "$LATEST"),
        ("list-b", "1"),
        ("list-c", "$LATEST"),
    ]


def test_delete_function__whole_function_with_versions_and_aliases(lam):
    create(lam, "doomed", Publish=True)
    lam.create_alias(FunctionName="doomed", Name="live", FunctionVersion="1")
    lam.delete_function(FunctionName="doomed")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName="doomed")
    assert create(lam, "doomed", Publish=True)["Version"] == "1"  # a new function


def test_delete_function__one_version_and_not_latest(lam):
    create(lam, "pruned", Publish=True)
    lam.update_function_code(
        FunctionName="pruned", ZipFile=handler_zip("def handler(e, c):\n    return 2\n")
    )
    wait_updated(lam, "pruned")
    lam.publish_version(FunctionName="pruned")
    assert lam.delete_function(FunctionName="pruned", Qualifier="1")["StatusCode"] == 204
    versions = [
        v["Version"] for v in lam.list_versions_by_function(FunctionName="pruned")["Versions"]
    ]
    assert versions == ["$LATEST", "2"]
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.delete_function(FunctionName="pruned", Qualifier="$LATEST")
