"""The AWS CLIs the suite drives: v1 from PyPI (in the virtualenv) and v2 as Debian packages it
(/usr/bin/aws, 2.9), whose botocore sends some operations on older paths."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.support import require_service


@dataclass(frozen=True)
class AwsCli:
    name: str
    executable: str
    # v2 base64-decodes blob arguments such as --payload unless told they are raw.
    extra_args: tuple[str, ...] = ()
    # v2 is its own Python program: the virtualenv's packages must not reach it.
    isolated: bool = False

    def require(self) -> None:
        require_service(Path(self.executable).exists(), f"AWS CLI {self.name} not installed")

    def environment(self) -> dict:
        if not self.isolated:
            return dict(os.environ)
        venv_bin = str(Path(sys.executable).parent)
        path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p != venv_bin]
        keep = {k: v for k, v in os.environ.items() if k in ("HOME", "LANG", "TMPDIR")}
        return {**keep, "PATH": os.pathsep.join(["/usr/bin", "/bin", *path])}


V1 = AwsCli("v1", str(Path(sys.executable).with_name("aws")))
V2 = AwsCli(
    "v2", "/usr/bin/aws", extra_args=("--cli-binary-format", "raw-in-base64-out"), isolated=True
)


def run(cli: AwsCli, server, credentials, *args: str, service: str = "lambda") -> dict:
    """`aws SERVICE ARGS` against `server` as `credentials`; its JSON output."""
    env = {
        **cli.environment(),
        "AWS_ACCESS_KEY_ID": credentials.access_key_id,
        "AWS_SECRET_ACCESS_KEY": credentials.secret_access_key,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_PAGER": "",
    }
    result = subprocess.run(
        [
            cli.executable,
            "--endpoint-url",
            server.url,
            "--region",
            "us-east-1",
            "--output",
            "json",
            *cli.extra_args,
            service,
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else {}
