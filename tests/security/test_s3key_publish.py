"""Item 7 (and item 12's S3Key cases): an account publishes from S3 only what it staged under its
own upload prefix; naming another account's upload, Strata's own blobs or a key that resolves
elsewhere is refused with AWS's error shape, never a 500, and yields none of the bytes."""

from __future__ import annotations

import hashlib
import io
import uuid
import zipfile

import pytest
from botocore.exceptions import ClientError

from tests.support.functions import wait_active


def _private_zip(secret: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("python/private.py", f"SECRET = {secret!r}\n")
    return buffer.getvalue()


def _refusal(call, **kwargs) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as refused:
        call(**kwargs)
    response = refused.value.response
    status = response["ResponseMetadata"]["HTTPStatusCode"]
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert headers.get("x-amzn-errortype") == response["Error"]["Code"], "AWS's error shape"
    return status, response["Error"]["Code"], response["Error"].get("Message", "")


def test_publish_naming_another_accounts_upload__is_refused_and_yields_none_of_its_bytes(
    strata_server,
):
    owner, attacker = strata_server.new_account(), strata_server.new_account()
    a, b = owner.account_id, attacker.account_id
    victim, lam = strata_server.client(owner), strata_server.client(attacker)
    secret = uuid.uuid4().hex
    data = _private_zip(secret)
    digest = hashlib.sha256(data).hexdigest()
    bucket = strata_server.env.get("STRATA_S3_BUCKET") or "strata"
    own_key = f"uploads/{a}/private.zip"
    s3_backed = strata_server.backend == "pg-s3"
    if s3_backed:
        strata_server.s3_client().put_object(Bucket=bucket, Key=own_key, Body=data)
        published = victim.publish_layer_version(
            LayerName="private", Content={"S3Bucket": bucket, "S3Key": own_key}
        )
        assert published["Content"]["CodeSize"] == len(data)
    else:  # no object storage: the owner publishes the same bytes directly
        victim.publish_layer_version(LayerName="private", Content={"ZipFile": data})

    denied = [
        own_key,  # the owner's upload, by its exact key
        f"uploads/{a}",
        f"blobs/sha256/{digest[:2]}/{digest}",  # the owner's layer as Strata stores it
        f"staging/{uuid.uuid4().hex}",
        "private.zip",
    ]
    invalid = [
        f"../uploads/{a}/private.zip",
        f"uploads/{b}/../{a}/private.zip",
        f"./uploads/{a}/private.zip",
        f"/uploads/{a}/private.zip",
        f"uploads//{a}/private.zip",
        "./blobs/sha256/..",
        f"./blobs/sha256/{digest[:2]}/{digest}",
    ]
    attempts = [
        (
            lam.publish_layer_version,
            lambda key: {"LayerName": "stolen", "Content": {"S3Bucket": bucket, "S3Key": key}},
        ),
        (
            lam.create_function,
            lambda key: {
                "FunctionName": "stolen",
                "Runtime": "python3.12",
                "Handler": "private.handler",
                "Role": f"arn:aws:iam::{b}:role/x",
                "Code": {"S3Bucket": bucket, "S3Key": key},
            },
        ),
    ]
    for call, arguments in attempts:
        for key in denied:
            status, code, message = _refusal(call, **arguments(key))
            assert (status, code) == (403, "AccessDeniedException"), (key, code, message)
            assert f"uploads/{b}/" in message  # it names where the attacker's own uploads go
            assert secret not in message
        for key in invalid:
            status, code, message = _refusal(call, **arguments(key))
            assert (status, code) == (400, "InvalidParameterValueException"), (key, code, message)
            assert secret not in message
        # A line break has no place in the model's pattern for S3Key: the model refuses it.
        status, code, message = _refusal(call, **arguments(f"uploads/{b}/a\r\nb.zip"))
        assert (status, code) == (400, "ValidationException"), (code, message)
        assert secret not in message

    # The attacker's own prefix, with nothing there (AWS's answer for a missing object), or keys
    # object storage itself would refuse: each a 400, none a 500.
    for key in (
        f"uploads/{b}/missing.zip",
        f"uploads/{b}/a?b#c%d&e=f.zip",
        f"uploads/{b}/" + "\u00e9" * 600,
        f"uploads/{b}/\ud800.zip",
    ):
        status, code, message = _refusal(attempts[0][0], **attempts[0][1](key))
        assert (status, code) == (400, "InvalidParameterValueException"), (key, message)

    # UpdateFunctionCode of the attacker's own function is held to the same rule.
    small = _private_zip("mine")
    lam.create_function(
        FunctionName="mine",
        Runtime="python3.12",
        Handler="private.handler",
        Role=f"arn:aws:iam::{b}:role/x",
        Code={"ZipFile": small},
    )
    wait_active(lam, "mine")
    before = lam.get_function_configuration(FunctionName="mine")
    for key in (own_key, f"blobs/sha256/{digest[:2]}/{digest}"):
        for dry_run in (True, False):
            status, code, _ = _refusal(
                lam.update_function_code,
                FunctionName="mine",
                S3Bucket=bucket,
                S3Key=key,
                DryRun=dry_run,
            )
            assert (status, code) == (403, "AccessDeniedException"), key

    # Nothing the attacker aimed at changed, and it holds nothing of the owner's.
    after = lam.get_function_configuration(FunctionName="mine")
    assert (after["CodeSha256"], after["RevisionId"]) == (
        before["CodeSha256"],
        before["RevisionId"],
    )
    assert lam.list_layers()["Layers"] == []
    assert [f["FunctionName"] for f in lam.list_functions()["Functions"]] == ["mine"]
    assert victim.list_layer_versions(LayerName="private")["LayerVersions"][0]["Version"] == 1
    if s3_backed:
        body = strata_server.s3_client().get_object(Bucket=bucket, Key=own_key)["Body"].read()
        assert body == data
        staged = strata_server.s3_client().list_objects_v2(Bucket=bucket, Prefix=f"uploads/{b}/")
        assert staged["KeyCount"] == 0
