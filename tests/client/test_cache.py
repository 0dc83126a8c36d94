import hashlib
import os

from registry.client.cache import BlobCache, default_cache_root


def _admit(cache: BlobCache, data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    temp = cache.new_temp()
    temp.write_bytes(data)
    cache.admit(temp, sha)
    return sha


def test_default_cache_root__env_override(monkeypatch, tmp_path):
    monkeypatch.setenv("STRATA_CACHE_DIR", str(tmp_path / "c"))
    assert default_cache_root() == tmp_path / "c"


def test_default_cache_root__follows_xdg_on_linux(monkeypatch, tmp_path):
    monkeypatch.delenv("STRATA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_root() == tmp_path / "strata"


def test_lookup__hit_after_admit(tmp_path):
    cache = BlobCache(tmp_path).ensure()
    sha = _admit(cache, b"layer bytes")
    assert cache.lookup(sha, len(b"layer bytes")) == cache.path_for(sha)
    assert not list(cache.tmp_dir.iterdir()), "the download moved into place, no temp left"


def test_lookup__size_mismatch_drops_the_entry(tmp_path):
    cache = BlobCache(tmp_path).ensure()
    sha = _admit(cache, b"layer bytes")
    assert cache.lookup(sha, 999) is None
    assert not cache.path_for(sha).exists()


def test_lookup__changed_bytes_of_same_size_are_rehashed_and_dropped(tmp_path):
    cache = BlobCache(tmp_path).ensure()
    sha = _admit(cache, b"layer bytes")
    path = cache.path_for(sha)
    path.write_bytes(b"LAYER BYTES")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert cache.lookup(sha, 11) is None
    assert not path.exists()


def test_lookup__touched_but_intact_entry_is_kept(tmp_path):
    cache = BlobCache(tmp_path).ensure()
    sha = _admit(cache, b"layer bytes")
    path = cache.path_for(sha)
    os.utime(path, ns=(1, 1))
    assert cache.lookup(sha, 11) == path


def test_info_and_purge(tmp_path):
    cache = BlobCache(tmp_path / "root").ensure()
    _admit(cache, b"a" * 100)
    _admit(cache, b"b" * 50)
    info = cache.info()
    assert (info.blobs, info.blob_bytes) == (2, 150)
    assert cache.purge() >= 150
    assert not (tmp_path / "root").exists()
