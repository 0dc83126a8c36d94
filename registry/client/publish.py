"""`strata publish`: a zip or a directory (zipped deterministically) as a new layer version."""

from __future__ import annotations

import base64
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError as BotoClientError

from registry.client.cache import sha256_file
from registry.client.errors import ClientError
from registry.client.resolve import translate_error
from registry.client.zipdir import zip_directory

# AWS's limit for a zip sent inline (base64 in the JSON body); bigger ones go through S3.
DIRECT_UPLOAD_LIMIT = 50 * 1024 * 1024


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
    direct_upload_limit: int = DIRECT_UPLOAD_LIMIT,
) -> dict:
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="strata-publish-") as tmp:
        zip_path = _as_zip(path, Path(tmp))
        sha256 = sha256_file(zip_path)
        size = zip_path.stat().st_size
        if size <= direct_upload_limit:
            content = {"ZipFile": zip_path.read_bytes()}
        elif s3_bucket:
            key = f"strata-publish/{spec.name}/{sha256}.zip"
            s3 = s3_client_factory()
            try:
                with open(zip_path, "rb") as body:
                    s3.put_object(Bucket=s3_bucket, Key=key, Body=body, ContentLength=size)
            except (BotoClientError, BotoCoreError) as exc:
                raise translate_error(exc, f"upload of {path} to s3://{s3_bucket}/{key}") from None
            content = {"S3Bucket": s3_bucket, "S3Key": key}
        else:
            raise ClientError(
                f"{path}: the zip is {size / 2**20:.1f} MB, over the {direct_upload_limit / 2**20:.0f} MB "
                "direct-upload limit; pass --s3-bucket BUCKET (a bucket the server reads layers from)"
            )
        kwargs = {"LayerName": spec.name, "Content": content}
        optional = {
            "Description": spec.description,
            "LicenseInfo": spec.license_info,
            "CompatibleRuntimes": list(spec.runtimes) or None,
            "CompatibleArchitectures": list(spec.architectures) or None,
        }
        kwargs.update({k: v for k, v in optional.items() if v is not None})
        try:
            response = client.publish_layer_version(**kwargs)
        except (BotoClientError, BotoCoreError) as exc:
            raise translate_error(exc, f"publish of {path} as {spec.name}") from None
    expected = base64.b64encode(bytes.fromhex(sha256)).decode()
    reported = (response.get("Content") or {}).get("CodeSha256")
    if reported != expected:
        raise ClientError(
            f"publish of {path}: the server reports CodeSha256 {reported} but the uploaded zip has "
            f"{expected}; the upload was altered on the way, do not use {response.get('LayerVersionArn')}"
        )
    response.pop("ResponseMetadata", None)
    return response


def _as_zip(path: Path, tmp: Path) -> Path:
    if path.is_dir():
        out = tmp / "layer.zip"
        zip_directory(path, out)
        return out
    if not path.is_file():
        raise ClientError(f"{path}: no such file or directory; give a layer zip or a directory to zip")
    if not zipfile.is_zipfile(path):
        raise ClientError(f"{path}: is not a zip file; give a layer zip or a directory to zip")
    return path
