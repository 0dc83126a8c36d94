"""Item 3 replayed through boto3 against a real `strata serve`: a handler speaks raw HTTP to its
own Runtime API with framing built to make the executor read without end (Content-Length -1, a
gigabyte declared, a gigabyte chunk, endless chunks, garbled lengths). Each is refused from its
head, the invocation ends with Lambda's error, and the executor's peak memory stays flat."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.support import require_service
from tests.support.functions import create, handler_zip
from tests.support.server import StrataServer, backend_env

SEND_CAP = 256 << 20  # what the handler would send if nothing stopped it
GROWTH_MB = 40

FLOODER = handler_zip(
    rf"""
    import os, select, socket, time

    HOST, _, PORT = os.environ["AWS_LAMBDA_RUNTIME_API"].rpartition(":")

    def flood(path, headers, chunked=False, first_chunk=None, cap={SEND_CAP}, seconds=3.0):
        sock = socket.create_connection((HOST, int(PORT)), timeout=10)
        head = "POST /2018-06-01/runtime/%s HTTP/1.1\r\nHost: x\r\n%s\r\n" % (
            path, "".join(h + "\r\n" for h in headers))
        sock.sendall(head.encode() + (first_chunk or b""))
        piece = b"x" * 65536
        if chunked and first_chunk is None:
            piece = b"10000\r\n" + piece + b"\r\n"
        sent, answer = 0, b""
        deadline = time.monotonic() + seconds
        try:
            while sent < cap and time.monotonic() < deadline:
                if select.select([sock], [], [], 0)[0]:
                    break  # answered early, as curl stops an upload the server refused
                sock.sendall(piece)
                sent += len(piece)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        try:
            answer = sock.recv(4096)
        except OSError:
            pass
        sock.close()
        status = int(answer.split()[1]) if answer.startswith(b"HTTP/1.1 ") else None
        return {{"status": status, "sent": sent}}

    INIT = flood("init/error", ["Content-Length: -1"]) if os.environ.get("FLOOD_INIT") else None

    def handler(event, context):
        response = "invocation/%s/response" % context.aws_request_id
        kind = event["kind"]
        if kind == "init":
            return INIT
        if kind == "minus-one":
            return flood(response, ["Content-Length: -1"])
        if kind == "declared-gigabytes":
            return flood(response, ["Content-Length: %d" % (2 << 30)])
        if kind == "gigabyte-chunk":
            return flood(response, ["Transfer-Encoding: chunked"], first_chunk=b"40000000\r\n")
        if kind == "endless-chunks":
            return flood(response, ["Transfer-Encoding: chunked"], chunked=True)
        if kind == "garbled":
            return [flood(response, h, cap=1 << 20)["status"] for h in (
                ["Content-Length: 12abc"], ["Content-Length: 5", "Content-Length: 50000000"],
                ["Content-Length: 5", "Transfer-Encoding: chunked"])]
"""
)


@pytest.fixture(scope="module")
def server(tmp_path_factory, request):
    require_service(os.geteuid() == 0, "resetting the executor's peak RSS (clear_refs) needs root")
    data_dir = tmp_path_factory.mktemp("strata-runtime-flood")
    server = StrataServer(data_dir=data_dir, env=backend_env("sqlite-fs", data_dir, request))
    server.start("--workers", "1")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def lam(server):
    lam = server.client(server.new_account())
    create(
        lam,
        "floods-runtime-api",
        FLOODER,
        Timeout=20,
        Environment={"Variables": {"FLOOD_INIT": "1"}},
    )
    return lam


def _executors(server) -> list[int]:
    """The server's own python processes (master and worker): whoever owns the pool."""
    python = os.path.realpath(sys.executable)
    found, frontier = [], [server.process.pid]
    while frontier:
        pid = frontier.pop()
        try:
            if os.path.realpath(f"/proc/{pid}/exe") == python:
                found.append(pid)
            for task in Path(f"/proc/{pid}/task").iterdir():
                frontier += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    assert found, "no server process found"
    return found


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} missing")


class PeakGrowth:
    """The largest rise of any executor process's peak RSS (VmHWM) over its RSS at the start."""

    def __init__(self, server):
        self.pids = _executors(server)
        self.base = {}
        for pid in self.pids:
            Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := current RSS
            self.base[pid] = _status_kb(pid, "VmRSS")

    def mb(self) -> float:
        return max(_status_kb(pid, "VmHWM") - self.base[pid] for pid in self.pids) / 1024


def _invoke(lam, kind: str) -> tuple[dict, object]:
    response = lam.invoke(
        FunctionName="floods-runtime-api", Payload=json.dumps({"kind": kind}).encode()
    )
    return response, json.loads(response["Payload"].read())


def test_init_error_with_content_length_minus_one__is_refused_and_init_goes_on(server, lam):
    growth = PeakGrowth(server)  # the first invocation runs the init and its flood
    response, payload = _invoke(lam, "init")

    assert "FunctionError" not in response
    assert payload["status"] == 400 and payload["sent"] < SEND_CAP
    assert growth.mb() < GROWTH_MB


def test_response_with_content_length_minus_one__is_refused_not_read_to_eof(server, lam):
    _invoke(lam, "garbled")  # warm
    growth = PeakGrowth(server)

    response, payload = _invoke(lam, "minus-one")

    assert "FunctionError" not in response  # refused unanswered: the handler's own return answers
    assert payload["status"] == 400 and payload["sent"] < SEND_CAP
    assert growth.mb() < GROWTH_MB


@pytest.mark.parametrize("kind", ["declared-gigabytes", "gigabyte-chunk", "endless-chunks"])
def test_response_streaming_gigabytes__ends_as_response_size_too_large_without_buffering(
    server, lam, kind
):
    _invoke(lam, "garbled")  # warm
    growth = PeakGrowth(server)

    response, payload = _invoke(lam, kind)

    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Function.ResponseSizeTooLarge"
    assert growth.mb() < GROWTH_MB
    # The environment stays usable, as after any function error.
    assert _invoke(lam, "garbled")[1] == [400, 400, 400]


def test_garbled_content_lengths__are_refused(server, lam):
    response, statuses = _invoke(lam, "garbled")

    assert "FunctionError" not in response and statuses == [400, 400, 400]
