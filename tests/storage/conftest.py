"""The `backend` fixture runs a test once per storage backend (filesystem, then S3 on moto)."""

from __future__ import annotations

import pytest

from storage.base import BlobStore
from tests.storage.backends import Backend, filesystem_backend, s3_backend


@pytest.fixture(params=["filesystem", pytest.param("s3", marks=pytest.mark.s3)])
def backend(request, tmp_path) -> Backend:
    if request.param == "filesystem":
        return filesystem_backend(tmp_path / "blobs")
    return s3_backend(request.getfixturevalue("s3_server"))


@pytest.fixture
def store(backend: Backend) -> BlobStore:
    return backend.store
