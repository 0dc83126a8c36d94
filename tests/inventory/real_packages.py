"""Layers built from real packages' metadata: the dist-info of distributions installed in this
test environment, and package.json files of the npm that Debian installs (scripts/test installs
it when missing)."""

from __future__ import annotations

import io
import stat
import zipfile
from importlib import metadata
from pathlib import Path

from tests.support import require_service

NPM_MODULES = Path("/usr/lib/node_modules/npm/node_modules")
PYTHON_DISTRIBUTIONS = ("rich", "click", "urllib3")
NODE_PACKAGES = ("semver", "@npmcli/fs")


def python_files(names=PYTHON_DISTRIBUTIONS, prefix="python") -> dict[str, bytes]:
    files = {}
    for name in names:
        dist = metadata.distribution(name)
        directory = f"{prefix}/{dist.metadata['Name'].replace('-', '_')}-{dist.version}.dist-info"
        files[f"{directory}/METADATA"] = dist.read_text("METADATA").encode()
        files[f"{directory}/RECORD"] = (dist.read_text("RECORD") or "").encode()
    return files


def node_files(names=NODE_PACKAGES) -> dict[str, bytes]:
    require_service(NPM_MODULES.is_dir(), f"no npm packages at {NPM_MODULES}")
    return {
        f"nodejs/node_modules/{name}/package.json": (
            NPM_MODULES / name / "package.json"
        ).read_bytes()
        for name in names
    }


def layer_zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            archive.writestr(info, data)
    return buffer.getvalue()
