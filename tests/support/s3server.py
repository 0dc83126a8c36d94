"""moto's S3-protocol server as a subprocess on 127.0.0.1, for the S3 storage backend's tests.

No MinIO binary can be installed where the tests run; moto speaks the same wire protocol (SigV4,
multipart uploads, presigned URLs), which is what the minio SDK needs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import die_with_parent, free_loopback_port, terminate

START_TIMEOUT_S = 30.0
# moto accepts any credentials; these only have to be consistent between client and test.
ACCESS_KEY = "strata-test-access"
SECRET_KEY = "strata-test-secret"


class S3ServerUnavailable(RuntimeError):
    """moto is not installed, or its server did not start."""


@dataclass
class S3Server:
    endpoint: str
    process: subprocess.Popen
    log_dir: Path
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    region: str = "us-east-1"

    @property
    def url(self) -> str:
        return f"http://{self.endpoint}"

    def new_bucket(self) -> str:
        """A bucket name no other test uses; the bucket itself is not created."""
        return f"strata-test-{uuid.uuid4().hex[:16]}"

    def stop(self) -> None:
        terminate(self.process)
        shutil.rmtree(self.log_dir, ignore_errors=True)


# Loopback only: never route the probe through a proxy from the environment.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _answers(url: str) -> bool:
    try:
        with _DIRECT.open(url + "/", timeout=1):
            return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer means the server is serving
    except OSError:
        return False


def start_server(attempts: int = 3) -> S3Server:
    """Start `python -m moto.server` on a free loopback port and wait until it answers HTTP.

    Raises S3ServerUnavailable when the server does not come up (the message carries its log,
    e.g. a ModuleNotFoundError when moto's server extra is not installed).
    """
    log_dir = Path(tempfile.mkdtemp(prefix="strata-s3-"))
    for _ in range(attempts):
        port = free_loopback_port()
        log_path = log_dir / f"moto-{port}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=die_with_parent,
            )
        server = S3Server(endpoint=f"127.0.0.1:{port}", process=process, log_dir=log_dir)
        deadline = time.monotonic() + START_TIMEOUT_S
        while process.poll() is None and time.monotonic() < deadline:
            if _answers(server.url):
                return server
            time.sleep(0.05)
        if process.poll() is None:
            process.kill()
            process.wait()
        log_text = log_path.read_text(errors="replace")
        if "Address already in use" not in log_text:
            shutil.rmtree(log_dir, ignore_errors=True)
            raise S3ServerUnavailable(
                f"moto server did not start on {server.endpoint}: {log_text[-2000:]}"
            )
    shutil.rmtree(log_dir, ignore_errors=True)
    raise S3ServerUnavailable(f"no free port after {attempts} attempts")
