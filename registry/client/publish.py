"""`strata publish`: a zip or a directory (zipped deterministically) as a new layer version."""

from __future__ import annotations

import base64
import re
import tempfile
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import BotoCoreError
from botocore.exceptions import ClientError as BotoClientError

from registry.client.cache import sha256_file
from registry.client.errors import ClientError
from registry.client.resolve import translate_error
from registry.client.zipdir import zip_directory
from registry.limits import MAX_DIRECT_UPLOAD_BYTES

# The server publishes from S3 only keys under the caller's own upload prefix (its documented
# contract); on AWS any key of a readable bucket works, so the same layout serves both.
UPLOAD_PREFIX = "uploads/{account_id}/"
_FUNCTION_ARN_ACCOUNT = re.compile(r"arn:[\w-]+:lambda:[\w-]*:(\d{12}):function:")


@dataclass(frozen=True)
class LayerSpec:
    name: str
    description: str | None = None
    license_info: str | None = None
    runtimes: tuple[str, ...] = ()
    architectures: tuple[str, ...] = ()


def publish(
    path: Path,
    spec: LayerSpec,
    *,
    client,
    s3_client_factory=None,
    s3_bucket: str | None = None,
    direct_upload_limit: int = MAX_DIRECT_UPLOAD_BYTES,
) -> dict:
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="strata-publish-") as tmp:
        zip_path = _as_zip(path, Path(tmp))
        sha256 = sha256_file(zip_path)
        size = zip_path.stat().st_size
        kwargs = _request(spec)
        if size <= direct_upload_limit:
            response = _publish(
                client, path, spec, {**kwargs, "Content": {"ZipFile": zip_path.read_bytes()}}
            )
        elif s3_bucket:
            staged = _Staged(s3_bucket, zip_path, sha256, size)
            response = _publish_through_s3(client, s3_client_factory, staged, path, spec, kwargs)
        else:
            raise ClientError(
                f"{path}: the zip is {size / 2**20:.1f} MB, over the "
                f"{direct_upload_limit / 2**20:.0f} MB direct-upload limit; pass --s3-bucket "
                "BUCKET (a bucket the server reads layers from)"
            )
    _check_code_sha256(response, sha256, path)
    response.pop("ResponseMetadata", None)
    return response


def _request(spec: LayerSpec) -> dict:
    """PublishLayerVersion's parameters, without Content and without the optional ones unset."""
    kwargs = {"LayerName": spec.name}
    optional = {
        "Description": spec.description,
        "LicenseInfo": spec.license_info,
        "CompatibleRuntimes": list(spec.runtimes) or None,
        "CompatibleArchitectures": list(spec.architectures) or None,
    }
    kwargs.update({k: v for k, v in optional.items() if v is not None})
    return kwargs


@dataclass(frozen=True)
class _Staged:
    bucket: str
    zip_path: Path
    sha256: str
    size: int


def _publish_through_s3(
    client, s3_client_factory, staged: _Staged, path: Path, spec: LayerSpec, kwargs: dict
) -> dict:
    """Stage the zip under the caller's upload prefix, publish from there, remove the copy."""
    prefix = UPLOAD_PREFIX.format(account_id=account_id(client))
    key = f"{prefix}{spec.name}/{staged.sha256}-{uuid.uuid4().hex[:12]}.zip"
    s3_bucket = staged.bucket
    s3 = s3_client_factory()
    try:
        with open(staged.zip_path, "rb") as body:
            s3.put_object(Bucket=s3_bucket, Key=key, Body=body, ContentLength=staged.size)
    except (BotoClientError, BotoCoreError) as exc:
        raise translate_error(exc, f"upload of {path} to s3://{s3_bucket}/{key}") from None
    # The published version keeps its own copy: the staged object is only a vehicle, and
    # is removed whether or not the publish took it.
    try:
        response = _publish(
            client, path, spec, {**kwargs, "Content": {"S3Bucket": s3_bucket, "S3Key": key}}
        )
    except BaseException:
        _remove_staged(s3, s3_bucket, key, quiet=True)
        raise
    _remove_staged(s3, s3_bucket, key)
    return response


def _check_code_sha256(response: dict, sha256: str, path: Path) -> None:
    expected = base64.b64encode(bytes.fromhex(sha256)).decode()
    reported = (response.get("Content") or {}).get("CodeSha256")
    if reported != expected:
        raise ClientError(
            f"publish of {path}: the server reports CodeSha256 {reported} but the uploaded zip has "
            f"{expected}; the upload was altered on the way, do not use "
            f"{response.get('LayerVersionArn')}"
        )


def _publish(client, path: Path, spec: LayerSpec, kwargs: dict) -> dict:
    try:
        return client.publish_layer_version(**kwargs)
    except (BotoClientError, BotoCoreError) as exc:
        raise translate_error(exc, f"publish of {path} as {spec.name}") from None


def _remove_staged(s3, bucket: str, key: str, *, quiet: bool = False) -> None:
    try:
        s3.delete_object(Bucket=bucket, Key=key)
    except (BotoClientError, BotoCoreError) as exc:
        if not quiet:  # else the publish's own failure is the one to report
            raise translate_error(
                exc, f"removal of the staged s3://{bucket}/{key} after the publish"
            ) from None


def account_id(client) -> str:
    """The caller's account id, which names its upload prefix.

    No Lambda operation returns it as such, but a function's ARN holds it and a GetFunction of a
    function that does not exist answers with that ARN (AWS, moto and Strata alike); a name no
    one would choose makes that the answer. AWS names the ARN too when IAM denies the call.
    """
    probe = f"strata-account-probe-{uuid.uuid4().hex}"
    try:
        found = client.get_function(FunctionName=probe)["Configuration"]["FunctionArn"]
    except BotoClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in (
            "ResourceNotFoundException",
            "AccessDeniedException",
        ):
            raise translate_error(exc, "finding your account id") from None
        found = exc.response.get("Error", {}).get("Message", "")
    except BotoCoreError as exc:
        raise translate_error(exc, "finding your account id") from None
    match = _FUNCTION_ARN_ACCOUNT.search(found)
    if match is None:
        raise ClientError(
            "cannot find your account id, which names the upload prefix (uploads/ACCOUNT-ID/) the "
            f"zip is staged under; the server answered: {found[:200]}"
        )
    return match[1]


def _as_zip(path: Path, tmp: Path) -> Path:
    if path.is_dir():
        out = tmp / "layer.zip"
        zip_directory(path, out)
        return out
    if not path.is_file():
        raise ClientError(
            f"{path}: no such file or directory; give a layer zip or a directory to zip"
        )
    if not zipfile.is_zipfile(path):
        raise ClientError(f"{path}: is not a zip file; give a layer zip or a directory to zip")
    return path
