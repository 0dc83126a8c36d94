"""registry.blobs: the registry's blob store from its Settings, and the filesystem signing key."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from registry.blobs import SIGNING_KEY_FILE, load_signing_key, open_store
from registry.config import Settings
from storage.errors import ConfigError
from storage.filesystem import FilesystemBlobStore
from storage.s3 import S3BlobStore

REPO_ROOT = Path(__file__).resolve().parents[1]


def _query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def test_open_store__filesystem_is_the_default_and_lives_in_the_data_dir(tmp_path):
    store = open_store(Settings.from_env({"STRATA_DATA_DIR": str(tmp_path)}))

    digest = store.put_bytes(b"default").digest

    assert isinstance(store, FilesystemBlobStore)
    assert (tmp_path / "blobs" / "sha256" / digest[:2] / digest).is_file()


@pytest.mark.s3
def test_open_store__s3_from_the_environment(s3_server):
    env = {
        "STRATA_STORAGE": "s3",
        "STRATA_S3_ENDPOINT": s3_server.url,
        "STRATA_S3_ACCESS_KEY": s3_server.access_key,
        "STRATA_S3_SECRET_KEY": s3_server.secret_key,
        "STRATA_S3_BUCKET": s3_server.new_bucket(),
    }
    store = open_store(Settings.from_env(env))

    digest = store.put_bytes(b"from env").digest

    assert isinstance(store, S3BlobStore)
    assert store.stat(digest).size == 8


def test_open_store__unknown_backend_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError) as caught:
        open_store(Settings(data_dir=tmp_path, storage="minio"))

    assert "STRATA_STORAGE" in str(caught.value)
    assert "filesystem, s3" in str(caught.value)


def test_open_store__s3_without_endpoint_or_keys_names_what_is_missing(tmp_path):
    with pytest.raises(ConfigError) as caught:
        open_store(Settings(data_dir=tmp_path, storage="s3", s3_access_key="k"))

    assert "STRATA_S3_ENDPOINT" in str(caught.value)
    assert "STRATA_S3_SECRET_KEY" in str(caught.value)
    assert "STRATA_S3_ACCESS_KEY" not in str(caught.value)


def test_open_store__configured_signing_key_is_used_and_nothing_is_written(tmp_path):
    first = open_store(Settings(data_dir=tmp_path, signing_key="configured"))
    digest = first.put_bytes(b"x").digest
    url = first.download_url(digest, base_url="http://127.0.0.1:8000")

    FilesystemBlobStore(tmp_path, signing_key=b"configured").verify_download(digest, _query(url))
    assert not (tmp_path / SIGNING_KEY_FILE).exists()


def test_open_store__generated_signing_key_survives_a_restart(tmp_path):
    first = open_store(Settings(data_dir=tmp_path))
    digest = first.put_bytes(b"x").digest
    url = first.download_url(digest, base_url="http://127.0.0.1:8000")

    open_store(Settings(data_dir=tmp_path)).verify_download(digest, _query(url))
    assert stat.S_IMODE((tmp_path / SIGNING_KEY_FILE).stat().st_mode) == 0o600


def test_load_signing_key__processes_racing_to_create_it_agree(tmp_path):
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; from pathlib import Path; import registry.blobs; "
                "print(registry.blobs.load_signing_key(Path(sys.argv[1])).decode())",
                str(tmp_path),
            ],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    keys = {child.communicate(timeout=30)[0].strip() for child in children}

    assert keys == {load_signing_key(tmp_path).decode()}
    assert len(keys.pop()) == 64
    assert sorted(p.name for p in tmp_path.iterdir()) == [SIGNING_KEY_FILE]


def test_load_signing_key__refuses_an_empty_key_file(tmp_path):
    (tmp_path / SIGNING_KEY_FILE).write_text("")

    with pytest.raises(ConfigError):
        load_signing_key(tmp_path)
