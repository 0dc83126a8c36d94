"""Getting verified zips: cache first, downloads in parallel, and fresh links when one expired."""

import hashlib
from dataclasses import replace

import pytest

from registry.client.cache import BlobCache
from registry.client.errors import HashMismatch, NetworkError
from registry.client.obtain import obtain
from registry.client.progress import PlainProgress
from registry.client.requirements import parse_requirement
from registry.client.resolve import ResolvedLayer
from tests.client.servers import BlobServer


class Lines:
    def __init__(self):
        self.text = ""

    def write(self, text):
        self.text += text

    def flush(self):
        pass


def _layer(server: BlobServer, name: str, data: bytes, path: str | None = None) -> ResolvedLayer:
    path = path or f"/{name}"
    server.blobs[f"/{name}"] = data
    return ResolvedLayer(
        requirement=parse_requirement(f"{name}==1"),
        name=name,
        version=1,
        version_arn=f"arn:aws:lambda:us-east-1:000000000000:layer:{name}:1",
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        location=f"{server.url}{path}?signature=s",
    )


@pytest.fixture
def server():
    with BlobServer() as s:
        yield s


def test_obtain__downloads_in_parallel_then_serves_from_cache(server, tmp_path):
    layers = [_layer(server, f"l{i}", bytes([i]) * 100_000) for i in range(3)]
    cache = BlobCache(tmp_path / "cache")
    log = Lines()
    first = obtain(layers, cache, jobs=3, progress=PlainProgress(log))
    assert (first.downloaded, first.from_cache) == (3, 0)
    assert [p.read_bytes() for p in first.paths] == [bytes([i]) * 100_000 for i in range(3)]
    assert log.text.count("Downloading ") == 3 and log.text.count("Downloaded ") == 3
    second = obtain(layers, cache, jobs=3, progress=PlainProgress(Lines()))
    assert (second.downloaded, second.from_cache) == (0, 3)
    assert len(server.requests) == 3


def test_obtain__same_bytes_twice_download_once(server, tmp_path):
    layer = _layer(server, "twin", b"same" * 1000)
    got = obtain(
        [layer, replace(layer, name="twin2")],
        BlobCache(tmp_path),
        jobs=2,
        progress=PlainProgress(Lines()),
    )
    assert got.downloaded == 1 and got.paths[0] == got.paths[1]


def test_obtain__refused_link_is_resolved_again_once(server, tmp_path):
    stale = _layer(server, "fresh", b"payload" * 1000, path="/expired")
    fresh = replace(stale, location=f"{server.url}/fresh?signature=new")
    got = obtain(
        [stale],
        BlobCache(tmp_path),
        jobs=1,
        progress=PlainProgress(Lines()),
        refresh=lambda layer: fresh,
    )
    assert got.paths[0].read_bytes() == b"payload" * 1000


def test_obtain__refreshed_layer_with_other_bytes_is_refused(server, tmp_path):
    stale = _layer(server, "moved", b"old" * 100, path="/expired")
    changed = replace(stale, sha256="0" * 64, location=f"{server.url}/moved")
    with pytest.raises(HashMismatch, match="changed while it was being installed"):
        obtain(
            [stale],
            BlobCache(tmp_path),
            jobs=1,
            progress=PlainProgress(Lines()),
            refresh=lambda layer: changed,
        )


def test_obtain__refused_link_without_refresh_says_it_may_have_expired(server, tmp_path):
    stale = _layer(server, "gone", b"x" * 10, path="/expired")
    with pytest.raises(NetworkError, match="may have expired"):
        obtain([stale], BlobCache(tmp_path), jobs=1, progress=PlainProgress(Lines()))
