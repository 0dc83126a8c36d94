"""`pip install .` is the client, the merge engine and `strata run`; the server is the `server`
extra. The client side must therefore work in a process that cannot import the server's packages.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.archive.build import File, make_zip

REPO = Path(__file__).resolve().parents[1]

# Distribution name -> the top-level module it installs (werkzeug comes with flask).
SERVER_PACKAGES = {
    "flask": ("flask", "werkzeug"),
    "sqlalchemy": ("sqlalchemy",),
    "alembic": ("alembic",),
    "minio": ("minio",),
    "gunicorn": ("gunicorn",),
    "psycopg": ("psycopg",),
    "pybase64": ("pybase64",),
    "cryptography": ("cryptography",),
    "packaging": ("packaging",),
    "prometheus-client": ("prometheus_client",),
    "cbor2": ("cbor2",),
}
REFUSED = sorted(module for modules in SERVER_PACKAGES.values() for module in modules)

# Runs `strata ARGS...` (or, with no arguments, imports the whole client side) in a process where
# importing any server package fails as it would where only the base dependencies are installed.
_WITHOUT_SERVER = """
import sys

REFUSED = set(sys.argv[1].split(","))


class RefuseServerPackages:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in REFUSED:
            message = f"No module named {name!r} (server package refused)"
            raise ModuleNotFoundError(message, name=name)
        return None


sys.meta_path.insert(0, RefuseServerPackages())
args = sys.argv[2:]
if args:
    from registry.cli import main

    main(args, prog_name="strata")
else:
    import importlib, pkgutil

    import registry.cli, registry.config, registry.errors, registry.parallel

    for package in ("registry.client", "registry.merge", "registry.executor", "registry.archive"):
        root = importlib.import_module(package)
        for module in pkgutil.walk_packages(root.__path__, package + "."):
            importlib.import_module(module.name)
    print("imported")
"""


def strata_without_server(*args, cwd=REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", _WITHOUT_SERVER, ",".join(REFUSED), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_refusing_hook_refuses():
    code = _WITHOUT_SERVER.replace("args = sys.argv[2:]", "import flask\nargs = sys.argv[2:]")
    result = subprocess.run(
        [sys.executable, "-c", code, ",".join(REFUSED)], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "server package refused" in result.stderr


def test_every_client_merge_and_executor_module_imports_without_the_server_packages():
    result = strata_without_server()

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "imported"


@pytest.mark.parametrize(
    "command",
    ["install", "download", "lock", "publish", "layers", "cache", "merge", "run"],
)
def test_client_commands_start_without_the_server_packages(command):
    result = strata_without_server(command, "--help")

    assert result.returncode == 0, result.stderr
    assert "Usage: strata " + command in result.stdout


@pytest.mark.parametrize("command", [["db", "upgrade"], ["gc"], ["serve"]])
def test_server_commands_without_the_server_packages__say_what_to_install(command, tmp_path):
    result = strata_without_server(*command, "--data-dir", tmp_path)

    assert result.returncode == 1, result.stderr
    assert "pip install 'strata[server]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_merge_and_run_a_bundle_without_the_server_packages(tmp_path):
    layer = make_zip(tmp_path / "layer.zip", File("python/greeting.py", b"WORD = 'hello'\n"))
    code = make_zip(
        tmp_path / "code.zip",
        File("app.py", b"from greeting import WORD\ndef handler(e, c):\n    return WORD\n"),
    )
    runtime = f"python{sys.version_info.major}.{sys.version_info.minor}"
    # The sandbox's unprivileged uid must reach the bundle, which pytest's private tmp_path denies.
    shared = Path(tempfile.mkdtemp(prefix="strata-test-client-"))
    shared.chmod(0o755)
    bundle = shared / "bundle"

    try:
        merged = strata_without_server(
            "merge", "--function", code, "--layer", layer, "-o", bundle, "--cache-dir",
            tmp_path / "cache", "--runtime", runtime,
        )  # fmt: skip
        assert merged.returncode == 0, merged.stderr
        ran = strata_without_server(
            "run", bundle, "--handler", "app.handler", "--runtime", runtime, "--isolation", "none"
        )
    finally:
        shutil.rmtree(shared, ignore_errors=True)

    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == "hello"


def _names(requirements: list[str]) -> set[str]:
    return {re.match(r"[A-Za-z0-9_.-]+", r).group(0).lower() for r in requirements}


def test_server_packages_are_declared_only_in_the_server_extra():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]

    assert _names(project["dependencies"]) & set(SERVER_PACKAGES) == set()
    assert _names(extras["server"]) == set(SERVER_PACKAGES)
    for name, requirements in extras.items():
        if name != "server":
            assert _names(requirements) & set(SERVER_PACKAGES) == set(), name
    # The test suite runs the server.
    assert "strata[server]" in extras["test"]


def test_bootstrap_installs_the_server():
    bootstrap = (REPO / "scripts" / "bootstrap").read_text()

    assert 'extras="[server]"' in bootstrap
    assert 'extras="[server,test]"' in bootstrap
