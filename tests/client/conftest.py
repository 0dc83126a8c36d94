"""Fixtures for the client: a CLI runner wired to a registry account, layers published into it."""

from __future__ import annotations

import io
import os
import shlex
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from registry.cli import main

_CLEARED = (
    "AWS_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_LAMBDA",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_SESSION_TOKEN",
)


@dataclass
class Cli:
    """Runs `strata ...` in-process with the environment a user would set."""

    env: dict[str, str]
    cwd: Path
    calls: list = field(default_factory=list)

    def __call__(self, *args: str | os.PathLike, expect: int = 0):
        argv = [str(a) for a in args]
        result = CliRunner().invoke(main, argv, env=self.env, catch_exceptions=False)
        self.calls.append(result)
        assert result.exit_code == expect, (
            f"strata {shlex.join(argv)} exited {result.exit_code}, expected {expect}\n"
            f"stdout: {result.stdout}\nstderr: {result.stderr}"
        )
        return result


def make_cli(
    tmp_path: Path, endpoint: str, key: str, secret: str, region: str = "us-east-1"
) -> Cli:
    env = {name: None for name in _CLEARED}
    env.update(
        STRATA_ENDPOINT_URL=endpoint,
        STRATA_CACHE_DIR=str(tmp_path / "cache"),
        # Commands that fall back to the data directory (e.g. `strata merge`) stay inside the test.
        STRATA_DATA_DIR=str(tmp_path / "data"),
        AWS_ACCESS_KEY_ID=key,
        AWS_SECRET_ACCESS_KEY=secret,
        AWS_DEFAULT_REGION=region,
        AWS_REGION=region,
        AWS_CONFIG_FILE=str(tmp_path / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-aws-credentials"),
    )
    return Cli(env=env, cwd=tmp_path)


def build_zip(files: dict[str, bytes | str], modes: dict[str, int] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (stat.S_IFREG | (modes or {}).get(name, 0o644)) << 16
            archive.writestr(info, data)
    return buffer.getvalue()


@pytest.fixture
def cli(tmp_path, strata_server, account) -> Cli:
    """`strata` as the test's own account on the real server."""
    return make_cli(
        tmp_path,
        strata_server.url,
        account.access_key_id,
        account.secret_access_key,
        strata_server.region,
    )


@pytest.fixture
def publish(lam, tmp_path):
    """Publish a layer version from files; returns (response, path of the zip)."""

    def _publish(name: str, files: dict[str, bytes | str], modes=None, **kwargs):
        data = build_zip(files, modes)
        response = lam.publish_layer_version(LayerName=name, Content={"ZipFile": data}, **kwargs)
        path = tmp_path / "zips" / f"{name}-{response['Version']}.zip"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        return response, path

    return _publish
