"""docker-compose.yml wires the services the way the code reads its configuration."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml

from registry.config import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose__has_storage_database_migration_and_app_with_healthchecks():
    services = COMPOSE["services"]
    assert set(services) == {"minio", "postgres", "migrate", "app"}
    for name in ("minio", "postgres", "app"):
        assert "healthcheck" in services[name], name
    assert services["migrate"]["command"] == ["strata", "db", "upgrade"]
    assert services["app"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "app:app" in services["app"]["command"]


def test_image__installs_the_server_extra():
    # A plain `pip install .` is only the client, the merge engine and `strata run`.
    installs = re.findall(r"pip install [^\n]*", (ROOT / "Dockerfile").read_text())
    assert installs and all("[server]" in line for line in installs)


def test_compose__environment_names_are_the_ones_the_code_reads():
    env = COMPOSE["services"]["app"]["environment"]
    read_by_code = set(
        re.findall(r'"(STRATA_[A-Z0-9_]+)"', (ROOT / "registry" / "config.py").read_text())
    )
    assert set(env) <= read_by_code
    settings = Settings.from_env({k: str(v) for k, v in env.items()})
    assert settings.storage == "s3"
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.s3_endpoint.endswith(":9000")
    minio = COMPOSE["services"]["minio"]["environment"]
    assert (minio["MINIO_ROOT_USER"], minio["MINIO_ROOT_PASSWORD"]) == (
        env["STRATA_S3_ACCESS_KEY"],
        env["STRATA_S3_SECRET_KEY"],
    )


def test_compose__readme_configuration_table_names_every_variable():
    readme = (ROOT / "README.md").read_text()
    read_by_code = set(
        re.findall(r'"(STRATA_[A-Z0-9_]+)"', (ROOT / "registry" / "config.py").read_text())
    )
    missing = {name for name in read_by_code if f"`{name}`" not in readme}
    assert not missing, f"README configuration table lacks {sorted(missing)}"


def test_compose__validates_with_docker_compose_when_available():
    tool = shutil.which("docker-compose")
    if tool is None:
        return  # the structural checks above still ran; no engine is needed for `config`
    result = subprocess.run(
        [tool, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_compose__the_migration_uses_the_apps_data_dir_and_so_its_secret_key():
    services = COMPOSE["services"]
    data_dir = services["app"]["environment"]["STRATA_DATA_DIR"]
    app_volume = next(v for v in services["app"]["volumes"] if v.endswith(":" + data_dir))
    assert app_volume in services["migrate"].get("volumes", [])
