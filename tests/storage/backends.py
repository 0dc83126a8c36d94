"""Backends under test, described by plain JSON specs so a child process can rebuild them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import boto3

from storage.base import BlobStore
from storage.filesystem import FilesystemBlobStore
from storage.s3 import S3BlobStore
from tests.support.s3server import S3Server

SIGNING_KEY = "test-signing-key"


def build_store(spec: dict) -> BlobStore:
    """The store a spec describes: {"kind": "filesystem", "root"} or {"kind": "s3", ...}."""
    options = {k: v for k, v in spec.items() if k != "kind"}
    if spec["kind"] == "filesystem":
        return FilesystemBlobStore(options["root"], signing_key=SIGNING_KEY.encode())
    return S3BlobStore(**options)


@dataclass
class Backend:
    spec: dict
    store: BlobStore
    # Every key stored, staging included, read without going through the store under test.
    all_keys: Callable[[], list[str]]


def filesystem_backend(root: Path) -> Backend:
    spec = {"kind": "filesystem", "root": str(root)}

    def all_keys() -> list[str]:
        return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())

    return Backend(spec, build_store(spec), all_keys)


def s3_client(server: S3Server):
    """A boto3 client on the test server: an observer independent of the minio-based store."""
    return boto3.client(
        "s3",
        endpoint_url=server.url,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
        region_name=server.region,
    )


def s3_spec(server: S3Server, bucket: str, endpoint: str | None = None) -> dict:
    return {
        "kind": "s3",
        "endpoint": endpoint or server.endpoint,
        "access_key": server.access_key,
        "secret_key": server.secret_key,
        "bucket": bucket,
    }


def s3_backend(server: S3Server) -> Backend:
    spec = s3_spec(server, server.new_bucket())
    client = s3_client(server)

    def all_keys() -> list[str]:
        if spec["bucket"] not in {b["Name"] for b in client.list_buckets()["Buckets"]}:
            return []
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=spec["bucket"])
        return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))

    return Backend(spec, build_store(spec), all_keys)
