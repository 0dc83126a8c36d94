"""Item 4 replayed through boto3 against a real `strata serve` whose executor may not enter the
sandboxes' network namespaces (STRATA_EXECUTOR_DISABLE=netns): every environment's Runtime API
then listens on the host's loopback. Another account's function scans those ports for
someone else's next event; each connection not made by the environment's own uid is refused.
Without root (simulated on the executor's pool) each API lives in its own sandbox's network
namespace, and where neither bubblewrap nor a uid per environment exists, every result and
/readyz say the loopback is shared and strict refuses."""

from __future__ import annotations

import dataclasses
import json
import os
import textwrap
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from registry.executor import EnvironmentPool, FunctionSpec, HostCapabilities, IsolationUnavailable
from tests.support import require_service
from tests.support.functions import create, handler_zip
from tests.support.server import StrataServer, backend_env

VICTIM_SOURCE = """
    import os
    def handler(event, context):
        return {"api": os.environ["AWS_LAMBDA_RUNTIME_API"], "event": event}
"""
VICTIM = handler_zip(VICTIM_SOURCE)

# Connects to every port listening on 127.0.0.1 (bounded), asks each for its next invocation and
# posts an answer for anything it gets, then reports what every port did.
SCANNER_SOURCE = r"""
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
"""
SCANNER = handler_zip(SCANNER_SOURCE)


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
    victim_port = int(
        _payload(victim.invoke(FunctionName="waits-for-events"))["api"].rpartition(":")[2]
    )
    scan = {}

    # The scanner's GETs wait at every Runtime API it reaches while the victim's next event arrives.
    def attack():
        scan.update(
            _payload(
                attacker.invoke(
                    FunctionName="scans-loopback", Payload=json.dumps({"wait": 5}).encode()
                )
            )
        )

    thread = threading.Thread(target=attack)
    thread.start()
    time.sleep(2.5)
    secret = f"account-a-only-{uuid.uuid4()}"
    response = victim.invoke(
        FunctionName="waits-for-events", Payload=json.dumps({"secret": secret}).encode()
    )
    answer = _payload(response)
    thread.join(30)
    # Separated tenants: the invocation carries no isolation warning.
    assert "x-strata-isolation-warning" not in response["ResponseMetadata"]["HTTPHeaders"]

    assert answer["event"] == {"secret": secret}  # the victim's own runtime answered it
    assert victim_port in scan["scanned"]  # the scanner found the victim's Runtime API...
    assert scan["outcome"][str(victim_port)] == "closed"  # ...and was turned away unanswered
    assert scan["stolen"] == [] and secret not in json.dumps(scan)


def test_readyz__says_which_runtime_api_isolation_the_node_gives(server):
    with urllib.request.urlopen(server.url + "/readyz", timeout=5) as response:
        isolation = json.loads(response.read())["isolation"]

    assert isolation == {
        "level": "best-effort",
        "runtime_api": "peer-uid",
        "tenants_separated": True,
        "detail": isolation["detail"],
    }
    assert "only this environment" in isolation["detail"]


# ---- the tiers without root, simulated on the executor's pool --------------------------------


def _bundle(root: Path, source: str) -> Path:
    (root / "task").mkdir(parents=True)
    (root / "task" / "app.py").write_text(textwrap.dedent(source))
    for path in [root.parent, root, *root.rglob("*")]:
        path.chmod(0o755)
    return root


def _unprivileged(host: HostCapabilities, *off: str) -> HostCapabilities:
    """What a deployment without root detects: no cgroups, loop devices or namespaces entered,
    and no uid of its own per environment."""
    return dataclasses.replace(
        host.without("cgroups", "loop", "netns", "overlay", *off), root=False
    )


def _scan_during_victims_event(pool, victim, scanner) -> tuple[dict, dict, object]:
    first = json.loads(pool.invoke(victim, b"{}").payload)
    scan = {}

    def attack():
        scan["result"] = pool.invoke(scanner, json.dumps({"wait": 3}).encode())

    thread = threading.Thread(target=attack)
    thread.start()
    time.sleep(1.5)
    secret = f"account-a-only-{uuid.uuid4()}"
    answer = pool.invoke(victim, json.dumps({"secret": secret}).encode())
    thread.join(30)
    assert json.loads(answer.payload)["event"] == {"secret": secret}
    result = scan["result"]
    assert result.outcome == "success", result.payload
    return first, json.loads(result.payload), result


def test_function_scanning_loopback_without_root__finds_no_other_sandboxes_runtime_api(tmp_path):
    host = HostCapabilities.detect()
    require_service(host.bwrap is not None, "the unprivileged sandbox tier needs bubblewrap")
    victim = FunctionSpec(
        bundle_dir=_bundle(tmp_path / "a" / "victim", VICTIM_SOURCE),
        handler="app.handler",
        runtime="python3.11",
    )
    scanner = FunctionSpec(
        bundle_dir=_bundle(tmp_path / "b" / "scanner", SCANNER_SOURCE),
        handler="app.handler",
        runtime="python3.11",
        timeout_s=15,
    )
    with EnvironmentPool(host=_unprivileged(host), workdir=tmp_path) as pool:
        first, scan, result = _scan_during_victims_event(pool, victim, scanner)

    # Each API lives in its own sandbox's network namespace: nothing of the victim's is in reach.
    assert first["api"] == "127.0.0.1:9001"
    assert scan["outcome"] == {} and scan["stolen"] == []
    assert "only this environment" in result.mechanisms["runtime_api"]


def test_runtime_api_on_a_shared_loopback__is_reported_in_every_result_and_refused_by_strict(
    tmp_path,
):
    host = _unprivileged(HostCapabilities.detect(), "bwrap")
    victim = FunctionSpec(
        bundle_dir=_bundle(tmp_path / "a" / "victim", VICTIM_SOURCE),
        handler="app.handler",
        runtime="python3.11",
    )
    strict = dataclasses.replace(victim, isolation="strict")
    with EnvironmentPool(host=host, workdir=tmp_path) as pool:
        results = [pool.invoke(victim, b"{}") for _ in range(2)]
        with pytest.raises(IsolationUnavailable) as refused:
            pool.invoke(strict, b"{}")

    for result in results:
        assert result.outcome == "success"
        assert result.mechanisms["runtime_api"].startswith("shared loopback: other environments")
    assert "runtime_api" in refused.value.missing
