import hashlib
import os

import pytest

from registry.client.download import LinkRefused, RetryPolicy, fetch, make_pool
from registry.client.errors import HashMismatch, NetworkError
from tests.client.servers import BlobServer

FAST = RetryPolicy(retries=3, resumes=3, backoff=0.01)
BODY = os.urandom(3 * 1024 * 1024 + 17)
SHA = hashlib.sha256(BODY).hexdigest()


@pytest.fixture
def blobs():
    with BlobServer() as server:
        server.blobs["/blob"] = BODY
        yield server


def _fetch(server, dest, **overrides):
    args = dict(sha256=SHA, size=len(BODY), subject="numpy==3", pool=make_pool(2), policy=FAST)
    args.update(overrides)
    fetch(server.url + "/blob?X-Signature=secret", dest, **args)


def test_fetch__streams_and_verifies(blobs, tmp_path):
    seen = []
    _fetch(blobs, tmp_path / "out", on_bytes=seen.append)
    assert (tmp_path / "out").read_bytes() == BODY
    assert sum(seen) == len(BODY)


def test_fetch__sends_no_aws_credentials_to_the_location(blobs, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDLEAK")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "leak")
    _fetch(blobs, tmp_path / "out")
    headers = {k.lower() for k in blobs.requests[0]["headers"]}
    assert "authorization" not in headers
    assert not any(h.startswith("x-amz-") for h in headers)


def test_fetch__cut_stream_resumes_with_range_and_verifies(blobs, tmp_path):
    blobs.faults = ["cut"]
    _fetch(blobs, tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == BODY
    first, second = blobs.gets("/blob")
    assert "Range" not in first["headers"]
    assert (
        second["headers"]["Range"].startswith("bytes=") and second["headers"]["Range"] != "bytes=0-"
    )
    assert second["headers"]["If-Range"] == '"v1"'


def test_fetch__weak_etag_is_not_used_for_if_range(blobs, tmp_path):
    blobs.faults = ["cut"]
    blobs.etag = 'W/"v1"'
    _fetch(blobs, tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == BODY
    resumed = blobs.gets("/blob")[1]["headers"]
    assert "Range" in resumed and "If-Range" not in resumed


def test_fetch__restarts_when_the_resource_changed_under_the_range(blobs, tmp_path):
    blobs.faults = ["cut"]
    blobs.etag = '"v1"'

    state = {"done": False}

    def change_etag(_n):
        if not state["done"]:
            blobs.etag = '"v2"'  # the If-Range validator no longer matches: full body comes back
            state["done"] = True

    _fetch(blobs, tmp_path / "out", on_bytes=change_etag)
    assert (tmp_path / "out").read_bytes() == BODY


def test_fetch__server_ignoring_range_restarts_from_zero(blobs, tmp_path):
    blobs.faults = ["cut", "ignore-range"]
    _fetch(blobs, tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == BODY


def test_fetch__retries_5xx_with_backoff(blobs, tmp_path):
    blobs.faults = ["503", "503"]
    _fetch(blobs, tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == BODY
    assert len(blobs.gets("/blob")) == 3


def test_fetch__gives_up_after_the_retry_budget(blobs, tmp_path):
    blobs.faults = ["503"] * 10
    with pytest.raises(NetworkError) as err:
        _fetch(blobs, tmp_path / "out")
    assert "numpy==3" in err.value.message
    assert "secret" not in err.value.message, "signed query strings stay out of messages"
    assert len(blobs.gets("/blob")) == FAST.retries + 1


def test_fetch__hash_mismatch_names_expected_and_got(blobs, tmp_path):
    wrong = hashlib.sha256(b"other").hexdigest()
    with pytest.raises(HashMismatch) as err:
        _fetch(blobs, tmp_path / "out", sha256=wrong)
    assert wrong in err.value.message and SHA in err.value.message


def test_fetch__longer_body_than_announced_is_a_mismatch(blobs, tmp_path):
    with pytest.raises(HashMismatch):
        _fetch(blobs, tmp_path / "out", size=len(BODY) - 1)


def test_fetch__missing_blob_is_not_retried(blobs, tmp_path):
    with pytest.raises(NetworkError, match="HTTP 404") as err:
        fetch(
            blobs.url + "/missing",
            tmp_path / "out",
            sha256=SHA,
            size=1,
            subject="x",
            pool=make_pool(1),
            policy=FAST,
        )
    assert not isinstance(err.value, LinkRefused)
    assert len(blobs.gets("/missing")) == 1


def test_fetch__refused_link_is_reported_as_such(blobs, tmp_path):
    with pytest.raises(LinkRefused, match="HTTP 403"):
        fetch(
            blobs.url + "/expired",
            tmp_path / "out",
            sha256=SHA,
            size=1,
            subject="x",
            pool=make_pool(1),
            policy=FAST,
        )
    assert len(blobs.gets("/expired")) == 1


def test_fetch__unreachable_host_fails_after_retries(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(NetworkError, match="failed after 3 retries"):
        fetch(
            f"http://127.0.0.1:{port}/b",
            tmp_path / "out",
            sha256=SHA,
            size=1,
            subject="x",
            pool=make_pool(1),
            policy=FAST,
        )


def test_fetch__non_http_location_is_explained(tmp_path):
    with pytest.raises(NetworkError, match="not an HTTP"):
        fetch("s3://", tmp_path / "out", sha256=SHA, size=1, subject="x", pool=make_pool(1))
