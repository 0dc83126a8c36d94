"""Item 4 replayed through boto3 against a real `strata serve` whose executor may not enter the
sandboxes' network namespaces (STRATA_EXECUTOR_DISABLE=netns): every environment's Runtime API
then listens on the host's loopback. Another account's function scans those ports for
someone else's next event; each connection not made by the environment's own uid is refused."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.request
import uuid

import pytest

from tests.functions.conftest import create, handler_zip
from tests.support import require_service
from tests.support.server import StrataServer, backend_env

VICTIM = handler_zip("""
    import os
    def handler(event, context):
        return {"api": os.environ["AWS_LAMBDA_RUNTIME_API"], "event": event}
""")

# Connects to every port listening on 127.0.0.1 (bounded), asks each for its next invocation and
# posts an answer for anything it gets, then reports what every port did.
SCANNER = handler_zip(r'''
    import os, socket, time

    NEXT = b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n"

    def listening_ports():
        ports = set()
        for name in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                lines = open(name).read().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                local, state = line.split()[1], line.split()[3]
                address, port = local.rsplit(":", 1)
                if state == "0A" and address in ("0100007F", "00000000"):
                    ports.add(int(port, 16))
        return sorted(ports)

    def handler(event, context):
        own = int(os.environ["AWS_LAMBDA_RUNTIME_API"].rpartition(":")[2])
        ports = [p for p in listening_ports() if p != own][:400]
        conns = {}
        for port in ports:
            sock = socket.socket()
            sock.settimeout(0.2)
            try:
                sock.connect(("127.0.0.1", port))
                sock.sendall(NEXT)
                conns[port] = sock
            except OSError:
                sock.close()
        outcome, stolen = {}, []
        deadline = time.monotonic() + event["wait"]
        for port, sock in conns.items():
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = sock.recv(65536)
                outcome[port] = "answered" if data else "closed"
            except socket.timeout:
                outcome[port] = "waiting"
                data = b""
            except OSError:
                outcome[port] = "closed"
                data = b""
            for line in data.decode("latin-1").split("\r\n"):
                if line.lower().startswith("lambda-runtime-aws-request-id:"):
                    request_id = line.split(":", 1)[1].strip()
                    stolen.append(data.decode("latin-1"))
                    sock.sendall(b"POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\n"
                                 b"Content-Length: 9\r\n\r\n\"stolen!\"" % request_id.encode())
            sock.close()
        return {"scanned": ports, "outcome": outcome, "stolen": stolen}
''')


@pytest.fixture(scope="module")
def server(tmp_path_factory, request):
    require_service(os.geteuid() == 0, "a uid per environment needs root")
    data_dir = tmp_path_factory.mktemp("strata-no-netns")
    env = {**backend_env("sqlite-fs", data_dir, request), "STRATA_EXECUTOR_DISABLE": "netns"}
    server = StrataServer(data_dir=data_dir, env=env)
    server.start("--workers", "1")
    try:
        yield server
    finally:
        server.stop()


def _payload(response) -> dict:
    assert "FunctionError" not in response, response["Payload"].read()
    return json.loads(response["Payload"].read())


def test_function_scanning_loopback_for_runtime_apis__cannot_take_another_accounts_event(server):
    victim, attacker = server.client(server.new_account()), server.client(server.new_account())
    create(victim, "waits-for-events", VICTIM)
    create(attacker, "scans-loopback", SCANNER, Timeout=15)
    victim_port = int(_payload(victim.invoke(FunctionName="waits-for-events"))["api"].rpartition(":")[2])
    scan = {}

    # The scanner's GETs wait at every Runtime API it reaches while the victim's next event arrives.
    def attack():
        scan.update(_payload(attacker.invoke(FunctionName="scans-loopback",
                                             Payload=json.dumps({"wait": 5}).encode())))

    thread = threading.Thread(target=attack)
    thread.start()
    time.sleep(2.5)
    secret = f"account-a-only-{uuid.uuid4()}"
    answer = _payload(victim.invoke(FunctionName="waits-for-events",
                                    Payload=json.dumps({"secret": secret}).encode()))
    thread.join(30)

    assert answer["event"] == {"secret": secret}  # the victim's own runtime answered it
    assert victim_port in scan["scanned"]  # the scanner found the victim's Runtime API...
    assert scan["outcome"][str(victim_port)] == "closed"  # ...and was turned away unanswered
    assert scan["stolen"] == [] and secret not in json.dumps(scan)


def test_readyz__says_which_runtime_api_isolation_the_node_gives(server):
    with urllib.request.urlopen(server.url + "/readyz", timeout=5) as response:
        isolation = json.loads(response.read())["isolation"]

    assert isolation == {"level": "best-effort", "runtime_api": "peer-uid", "tenants_separated": True,
                         "detail": isolation["detail"]}
    assert "only this environment" in isolation["detail"]
