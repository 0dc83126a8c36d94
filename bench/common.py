"""Shared pieces of the benchmarks: starting servers on loopback and signing requests."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

BIN = Path(sys.executable).parent
CREDENTIALS = Credentials("test", "test")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def start_strata(
    data_dir: Path, *, workers: int = 2, threads: int = 4, env: dict | None = None
) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [
            str(BIN / "strata"),
            "serve",
            "--dev",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--workers",
            str(workers),
            "--threads",
            str(threads),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    wait_ready(url + "/healthz", process)
    return process, url


def dev_client(url: str, service: str = "lambda", **config):
    """A client of the dev account that sends each request once: a retry would hide what a
    request costs."""
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=CREDENTIALS.access_key,
        aws_secret_access_key=CREDENTIALS.secret_key,
        config=Config(retries={"max_attempts": 1}, **config),
    )


def start_moto() -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    wait_ready(url + "/moto-api/", process)
    return process, url


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def signed_headers(
    url: str, method: str = "GET", body: bytes = b"", headers: dict | None = None
) -> dict:
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    SigV4Auth(CREDENTIALS, "lambda", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def proc_status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def wrk(
    url: str, headers: dict, seconds: int, *, method: str = "GET", body: bytes = b""
) -> tuple[float, float]:
    """(requests/s, p50 ms) of `wrk` with 8 connections replaying one pre-signed request."""
    args = ["wrk", "-t2", "-c8", f"-d{seconds}s", "--latency"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        if method != "GET" or body:
            script.write(
                f"wrk.method = {json.dumps(method)}\nwrk.body = {json.dumps(body.decode())}\n"
            )
            script.flush()
            args += ["-s", script.name]
        for key, value in headers.items():
            args += ["-H", f"{key}: {value}"]
        out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise RuntimeError(f"{url}: {non2xx.group(1)} failed responses under load")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    return rps, float(p50.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p50.group(2)]
