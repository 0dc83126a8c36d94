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
APP_NODES = ("app", "app2")
HAPROXY_CONFIG = ROOT / "deploy" / "haproxy.cfg"


def test_compose__has_storage_database_migration_two_app_nodes_and_a_balancer():
    services = COMPOSE["services"]
    assert set(services) == {"minio", "postgres", "migrate", "app", "app2", "balancer"}
    for name in ("minio", "postgres", *APP_NODES):
        assert "healthcheck" in services[name], name
    assert services["migrate"]["command"] == ["strata", "db", "upgrade"]
    for name in APP_NODES:
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert "app:app" in services[name]["command"]


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


def test_compose__the_nodes_share_database_storage_and_secret_key_but_not_their_data_dirs():
    services = COMPOSE["services"]
    first, second = (services[name] for name in APP_NODES)
    assert first["environment"] == second["environment"]
    assert first["environment"]["STRATA_SECRET_KEY"]  # else each node makes a key of its own
    assert first["command"] == second["command"]
    data_dir = first["environment"]["STRATA_DATA_DIR"]
    volumes = [
        next(v.split(":")[0] for v in services[name]["volumes"] if v.endswith(":" + data_dir))
        for name in APP_NODES
    ]
    assert len(set(volumes)) == len(APP_NODES)


def test_compose__a_stopping_node_may_finish_lambdas_longest_invocation():
    from registry.limits import TIMEOUT_S

    for name in APP_NODES:
        command = COMPOSE["services"][name]["command"]
        graceful = int(command[command.index("--graceful-timeout") + 1])
        assert graceful > TIMEOUT_S[1]
        grace = COMPOSE["services"][name]["stop_grace_period"]
        assert grace.endswith("s") and int(grace[:-1]) > graceful


def test_compose__the_balancer_runs_the_repositorys_configuration_over_every_node():
    balancer = COMPOSE["services"]["balancer"]
    mounted = {v.split(":")[0]: v.split(":")[1] for v in balancer["volumes"]}
    assert mounted["./deploy/haproxy.cfg"] in balancer["command"]
    env = balancer["environment"]
    used = set(re.findall(r"\$\{(\w+)\}", HAPROXY_CONFIG.read_text()))
    assert used == set(env)
    nodes = {value for name, value in env.items() if name.startswith("STRATA_NODE")}
    assert nodes == {f"{name}:8000" for name in APP_NODES}
    for name in APP_NODES:
        assert balancer["depends_on"][name]["condition"] == "service_healthy"
        assert "ports" not in COMPOSE["services"][name]  # clients go through the balancer
    assert balancer["ports"] == ["127.0.0.1:8000:8000"]


def test_compose__haproxy_accepts_the_configuration_when_available():
    from tests.support.balancer import haproxy_binary

    tool = haproxy_binary()
    if tool is None:
        return  # the balancer's tests (tests/cluster) require it under CI
    # As compose gives it: the nodes' names do not resolve here, which leaves them out until
    # they do rather than failing the start.
    env = {"PATH": "/usr/sbin:/usr/bin:/bin", **COMPOSE["services"]["balancer"]["environment"]}
    result = subprocess.run(
        [tool, "-c", "-f", str(HAPROXY_CONFIG)], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose__the_nodes_trust_exactly_the_balancers_fixed_address():
    import ipaddress

    balancer = COMPOSE["services"]["balancer"]
    fixed = ipaddress.ip_address(balancer["networks"]["default"]["ipv4_address"])
    (subnet,) = (
        ipaddress.ip_network(pool["subnet"])
        for pool in COMPOSE["networks"]["default"]["ipam"]["config"]
    )
    assert fixed in subnet
    for name in APP_NODES:
        env = COMPOSE["services"][name]["environment"]
        trusted = Settings.from_env({k: str(v) for k, v in env.items()}).trusted_proxies
        assert trusted == (ipaddress.ip_network(fixed),), name
        # The nodes are on the balancer's network, where it reaches them from that address.
        assert set(COMPOSE["services"][name].get("networks", ["default"])) == {"default"}
    # The balancer adds the X-Forwarded-For line the nodes read.
    defaults = HAPROXY_CONFIG.read_text().split("\ndefaults\n", 1)[1].split("\n\n", 1)[0]
    assert re.search(r"^\s+option forwardfor\s*$", defaults, re.MULTILINE)
