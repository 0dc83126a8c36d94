import json
import subprocess
import sys

SERVER_MODULES = (
    "flask",
    "sqlalchemy",
    "alembic",
    "minio",
    "werkzeug",
    "gunicorn",
    "storage",
    "registry.api",
    "registry.db",
    "registry.models",
    "registry.layers",
    "registry.accounts",
    "registry.commands",
)


def test_client_never_imports_server_code():
    code = (
        "import json, sys\n"
        "import registry.cli, registry.client.cli, registry.client.install\n"
        "import registry.client.publish, registry.client.cli_layers\n"
        "import registry.client.browse, registry.client.fetch_to_dir, registry.client.lockfile\n"
        # install loads the merge engine when it runs; it must stay server-free too.
        "import registry.merge\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    loaded = json.loads(out)
    offenders = [m for m in loaded if m.startswith(SERVER_MODULES)]
    assert offenders == []
