"""Two `strata serve` nodes behind the load balancer (deploy/haproxy.cfg, as docker-compose runs
it), sharing one PostgreSQL database and one S3 bucket, each with a data directory of its own for
its caches. Clients speak only to the balancer; its log says which node served each request."""

from __future__ import annotations

import json
import os
import secrets
import signal
import threading
import time
import urllib.request
from dataclasses import dataclass

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectionClosedError
from sqlalchemy import select

from registry.config import Settings
from registry.console.signin_limits import SignInLimits
from registry.executor import HostCapabilities
from registry.executor.owners import process_start
from registry.executor.processes import descendants
from registry.models import FunctionEvent
from tests.console.web import visitor_from
from tests.support import require_service
from tests.support.balancer import Balancer, haproxy_binary, start_balancer
from tests.support.functions import create, handler_zip, invoke
from tests.support.leftovers import left_by, wait_for
from tests.support.server import REGION, StrataServer, backend_env
from tests.support.zips import layer_zip

pytestmark = [pytest.mark.postgres, pytest.mark.s3, pytest.mark.slow]

# Sleeps as long as its event asks: the same function is quick for finding its node and slow
# when a node must die or drain under it.
SLEEPER = handler_zip(
    """
    import time

    def handler(event, context):
        time.sleep(event.get("sleep", 0))
        return {"slept": event.get("sleep", 0)}
    """
)


@dataclass
class Cluster:
    nodes: dict[str, StrataServer]
    balancer: Balancer

    def client(self, credentials, **config):
        """A Lambda client of the balancer; botocore's retries only when `config` asks."""
        config.setdefault("retries", {"total_max_attempts": 1})
        return boto3.client(
            "lambda",
            endpoint_url=self.balancer.url,
            region_name=REGION,
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
            config=Config(**config),
        )

    def direct_client(self, credentials, node: str):
        """A Lambda client of one node, past the balancer."""
        return boto3.client(
            "lambda",
            endpoint_url=self.nodes[node].url,
            region_name=REGION,
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
            config=Config(retries={"total_max_attempts": 1}),
        )

    def new_account(self):
        return self.nodes["node1"].new_account()

    def nodes_of(self, function: str, count: int, status: int = 200) -> list[str]:
        """The nodes that answered the function's first `count` invocations with `status`
        through the balancer, in the order they finished (the balancer logs a request once it
        has answered it)."""
        path = f"/2015-03-31/functions/{function}/invocations"

        def logged():
            served = self.balancer.served()
            found = [s.server for s in served if s.path == path and s.status == status]
            return found if len(found) >= count else None

        found = wait_for(logged, 5)
        assert found, self.balancer.log()[-3000:]
        return found[:count]

    def workers(self, node: str) -> set[int]:
        return set(descendants(self.nodes[node].process.pid))

    def restart(self, node: str) -> None:
        """Start a node that was stopped or killed, and wait until the balancer sends it work."""
        self.nodes[node].start()
        assert wait_for(lambda: self.balancer.says_up(f"invocations/{node}"), 10)

    def other(self, node: str) -> str:
        return next(name for name in self.nodes if name != node)


@pytest.fixture(scope="module")
def cluster(request, tmp_path_factory):
    require_service(haproxy_binary() is not None, "HAProxy is not installed (scripts/test does)")
    root = tmp_path_factory.mktemp("cluster")
    shared = backend_env("pg-s3", root, request)
    # Every node must open the access keys' secrets that any node sealed.
    shared["STRATA_SECRET_KEY"] = secrets.token_hex(32)
    shared["STRATA_DRAIN_ACCEPT_SECONDS"] = str(Settings().drain_accept)
    # The balancer reaches the nodes from 127.0.0.1; clients come from other loopback addresses.
    shared["STRATA_TRUSTED_PROXIES"] = "127.0.0.1"
    nodes: dict[str, StrataServer] = {}
    balancer = None
    try:
        for name in ("node1", "node2"):
            data_dir = root / name
            data_dir.mkdir()
            node = StrataServer(data_dir=data_dir, env={**shared, "STRATA_DATA_DIR": str(data_dir)})
            nodes[name] = node
            node.start()
            node.fixed_port = node.port
        balancer = start_balancer([f"127.0.0.1:{nodes[n].port}" for n in ("node1", "node2")], root)
        yield Cluster(nodes, balancer)
    finally:
        if balancer is not None:
            balancer.stop()
        for node in nodes.values():
            node.stop()


@pytest.fixture(autouse=True)
def every_node_up(cluster):
    """Each test starts with both nodes serving, whatever the one before it left."""
    for name, node in cluster.nodes.items():
        if not _ready(node):
            node.stop()  # a node still draining
            cluster.restart(name)


def test_one_functions_invocations_stay_on_one_node_and_both_nodes_serve(cluster):
    lam = cluster.client(cluster.new_account())
    names = [f"spread-{index}" for index in range(8)]
    for name in names:
        create(lam, name)
    for round_ in range(3):
        for name in names:
            assert invoke(lam, name, {"round": round_})[1]["echo"] == {"round": round_}

    served = cluster.balancer.served()
    nodes_of = {
        name: {s.server for s in served if s.path == f"/2015-03-31/functions/{name}/invocations"}
        for name in names
    }
    assert all(len(nodes) == 1 for nodes in nodes_of.values()), nodes_of
    assert set().union(*nodes_of.values()) == {"node1", "node2"}, nodes_of
    # Everything else takes turns.
    for _ in range(4):
        lam.get_function(FunctionName=names[0])
    gets = [s for s in cluster.balancer.served() if s.path.endswith(f"/functions/{names[0]}")]
    assert {(s.backend, s.server, s.status) for s in gets[-4:]} == {
        ("registry", "node1", 200),
        ("registry", "node2", 200),
    }


def test_a_killed_node_loses_no_event_the_other_serves_meanwhile_and_its_restart_reaps(cluster):
    account = cluster.new_account()
    lam = cluster.client(account)
    create(lam, "durable", SLEEPER, Timeout=30)
    lam.publish_layer_version(LayerName="kept", Content={"ZipFile": layer_zip()})
    invoke(lam, "durable")
    (victim,) = cluster.nodes_of("durable", 1)
    node = cluster.nodes[victim]
    workers = cluster.workers(victim)

    accepted = [send_event(lam, "durable", {"sleep": 2, "n": n}) for n in range(8)]
    held = wait_for(lambda: _leased_by(node, accepted, workers), 15)
    assert held, "the node to be killed never ran one of the events"
    os.killpg(node.process.pid, signal.SIGKILL)  # master, workers, and no cleanup
    node.process.wait()
    assert wait_for(lambda: not any(process_start(pid) for pid in workers))
    # Its sandboxes' leftovers (any executor starting on the host meanwhile may reap some).
    assert left_by(workers) or not _sandboxed()

    # The other node serves on its own, the killed node's functions included.
    for n in range(3):
        assert invoke(lam, "durable", {"n": n})[1] == {"slept": 0}
        assert lam.get_layer_version(LayerName="kept", VersionNumber=1)["Version"] == 1
    assert cluster.nodes_of("durable", 1 + 3)[1:] == [cluster.other(victim)] * 3
    # Every accepted event runs: those the killed node held once their lease has expired.
    for request_id in accepted:
        assert _wait_for_status(node, request_id, "succeeded", 60)

    # What its sandboxes left is gone once it is back (its start reaps it, if no other executor
    # starting on this host did so first).
    cluster.restart(victim)
    assert wait_for(lambda: not left_by(workers)), left_by(workers)


def test_a_node_dying_mid_invocation_is_a_service_exception_or_a_retry_elsewhere(cluster):
    account = cluster.new_account()
    kept_alive = cluster.client(account)
    create(kept_alive, "doomed", SLEEPER, Timeout=30)
    invoke(kept_alive, "doomed")  # leaves its connection open for the next request
    (victim,) = cluster.nodes_of("doomed", 1)
    node = cluster.nodes[victim]
    workers = cluster.workers(victim)
    clients = {
        "first": (cluster.client(account), 20),
        "kept-alive": (kept_alive, 20),
        # botocore's standard retries, as most SDK users have them.
        "retried": (cluster.client(account, retries={"mode": "standard", "max_attempts": 3}), 3),
    }
    outcomes: dict[str, tuple] = {}

    def call(key):
        client, sleep = clients[key]
        try:
            outcomes[key] = (invoke(client, "doomed", {"sleep": sleep})[1], None)
        except (ClientError, BotoCoreError) as error:
            outcomes[key] = (None, error)

    threads = [threading.Thread(target=call, args=(key,)) for key in clients]
    for thread in threads:
        thread.start()
    time.sleep(1)  # all three are running: a warm start takes milliseconds, a cold one a tenth
    killed_at = time.monotonic()
    os.killpg(node.process.pid, signal.SIGKILL)
    node.process.wait()
    for thread in threads[:2]:
        thread.join(10)
    answered = time.monotonic() - killed_at
    threads[2].join(20)

    # No hang: the 20 s invocations are answered as soon as their node dies.
    assert answered < 5 and len(outcomes) == 3, outcomes
    # The first request of a connection: the balancer's own 502, AWS-shaped.
    payload, error = outcomes["first"]
    assert payload is None and isinstance(error, ClientError), outcomes
    assert error.response["Error"]["Code"] == "ServiceException"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 502
    assert "went away before answering" in error.response["Error"]["Message"]
    # A later request of a kept-alive connection: the balancer closes the connection without an
    # answer, as the node would have, for the client to retry (botocore does, by default).
    payload, error = outcomes["kept-alive"]
    assert payload is None and isinstance(error, ConnectionClosedError), outcomes
    # A client that retries gets its answer from the node that is left.
    assert outcomes["retried"] == ({"slept": 3}, None)
    assert cluster.nodes_of("doomed", 2, status=502) == [victim, victim]
    assert cluster.nodes_of("doomed", 2) == [victim, cluster.other(victim)]

    cluster.restart(victim)
    assert wait_for(lambda: not left_by(workers)), left_by(workers)


def test_a_draining_node_finishes_its_invocation_then_exits_leaving_nothing(cluster):
    lam = cluster.client(cluster.new_account())
    create(lam, "drained", SLEEPER, Timeout=10)
    create(lam, "bystander")
    invoke(lam, "drained")
    (victim,) = cluster.nodes_of("drained", 1)
    node = cluster.nodes[victim]
    workers = cluster.workers(victim)

    outcome = {}

    def call():
        outcome["answer"] = invoke(lam, "drained", {"sleep": 3})
        outcome["at"] = time.monotonic()

    in_flight = threading.Thread(target=call)
    in_flight.start()
    assert wait_for(lambda: left_by(workers).get("process", []), 15)
    os.killpg(node.process.pid, signal.SIGTERM)
    # Every invocation sent meanwhile is answered: by the draining node while the balancer still
    # sends it work, then by the other one once the draining node's readiness probe has failed.
    other = cluster.other(victim)
    sent = 1
    while True:
        assert invoke(lam, "drained", {"sleep": 0})[1] == {"slept": 0}
        sent += 1
        if cluster.nodes_of("drained", sent)[-1] == other:
            break
        assert sent < 40, cluster.balancer.log()[-3000:]
        time.sleep(0.1)
    assert invoke(lam, "bystander", {"k": 1})[1]["echo"] == {"k": 1}
    in_flight.join(15)

    response, payload = outcome["answer"]
    assert response["StatusCode"] == 200 and "FunctionError" not in response
    assert payload == {"slept": 3}
    assert node.process.wait(15) == 0
    assert not left_by(workers) and not left_by(workers).get("process", [])
    path = "/2015-03-31/functions/drained/invocations"
    assert not [s for s in cluster.balancer.served() if s.path == path and s.status >= 500]
    cluster.restart(victim)


def test_reserved_concurrency_holds_across_both_nodes(cluster):
    account = cluster.new_account()
    lam = cluster.client(account)
    create(lam, "reserved", SLEEPER, Timeout=10)
    lam.put_function_concurrency(FunctionName="reserved", ReservedConcurrentExecutions=2)
    # Two callers through the balancer (both reach the function's node) and two straight to each
    # node: a bound kept per node would let four run.
    clients = [lam, lam, *(cluster.direct_client(account, node) for node in ("node1", "node2"))]
    callers = [clients[0], clients[1], clients[2], clients[2], clients[3], clients[3]]
    start = threading.Barrier(len(callers))
    outcomes = []

    def call(client):
        start.wait()
        began = time.monotonic()
        try:
            payload = invoke(client, "reserved", {"sleep": 2})[1]
            outcomes.append(("ran", payload, began, time.monotonic()))
        except ClientError as error:
            outcomes.append(("throttled", error.response, began, time.monotonic()))

    threads = [threading.Thread(target=call, args=(client,)) for client in callers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    ran = [o for o in outcomes if o[0] == "ran"]
    throttled = [o for o in outcomes if o[0] == "throttled"]
    assert (len(ran), len(throttled)) == (2, 4), outcomes
    assert all(payload == {"slept": 2} for _, payload, _, _ in ran)
    assert max(began for *_, began, _ in ran) < min(ended for *_, ended in ran)  # at once
    for _, response, began, ended in throttled:
        assert response["Error"]["Code"] == "TooManyRequestsException"
        assert response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
        assert ended - began < 2  # answered at once, not after waiting for a unit
    # The units go back when the executions end, whichever node held them.
    for client in clients[1:]:
        assert invoke(client, "reserved")[1] == {"slept": 0}


def test_a_client_locked_out_of_the_console_is_not_every_client_behind_the_balancer(cluster):
    account = cluster.new_account()
    hostile = visitor_from(cluster.balancer.url, "127.0.0.2")
    per_address = SignInLimits().per_address
    hostile.get("/console/sign-in")  # one form: every failed sign-in keeps its session
    # A new key id each time: the address's limit locks it out, not a key's. Each node counts
    # failures of its own and the balancer takes turns, so both refuse after twice the limit.
    statuses = []
    while statuses[-2:] != [429, 429]:
        assert len(statuses) < 2 * per_address + 4, statuses
        wrong = {"access_key_id": f"AKIANOSUCHKEY{len(statuses)}", "secret_access_key": "wrong"}
        statuses.append(hostile.post("/console/sign-in", wrong).status_code)

    def answers_to_hostile():
        served = [
            (s.server, s.status)
            for s in cluster.balancer.served()
            if s.client == "127.0.0.2" and (s.method, s.path) == ("POST", "/console/sign-in")
        ]
        return served if len(served) == len(statuses) else None

    answered = wait_for(answers_to_hostile, 5)
    assert answered, cluster.balancer.log()[-3000:]
    for node in cluster.nodes:
        assert [status for server, status in answered if server == node][: per_address + 1] == [
            401
        ] * per_address + [429], answered

    # Naming another address does not get it out, not even with the right key.
    right = {
        "access_key_id": account.access_key_id,
        "secret_access_key": account.secret_access_key,
    }
    for _ in cluster.nodes:
        forged = hostile.post("/console/sign-in", right, headers={"X-Forwarded-For": "127.0.0.9"})
        assert forged.status_code == 429 and int(forged.headers["Retry-After"]) > 0

    # Its neighbour behind the same balancer signs in as ever.
    neighbour = visitor_from(cluster.balancer.url, "127.0.0.3")
    signed_in = neighbour.sign_in(account.access_key_id, account.secret_access_key)
    assert signed_in.status_code == 303, signed_in.text
    assert neighbour.get("/console/layers").status_code == 200


# ---- helpers -----------------------------------------------------------------------------------


def send_event(lam, name: str, event: dict) -> str:
    response = lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps(event))
    assert response["StatusCode"] == 202
    return response["ResponseMetadata"]["RequestId"]


def _events(node: StrataServer, request_ids: list[str]) -> list[FunctionEvent]:
    with node.db.read() as session:
        return list(
            session.scalars(select(FunctionEvent).where(FunctionEvent.request_id.in_(request_ids)))
        )


def _leased_by(node: StrataServer, request_ids: list[str], workers: set[int]) -> list[str]:
    return [
        row.request_id
        for row in _events(node, request_ids)
        if row.lease_owner and int(row.lease_owner.split("-", 1)[0]) in workers
    ]


def _wait_for_status(node: StrataServer, request_id: str, status: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = _events(node, [request_id])
        if rows and rows[0].status == status:
            return True
        time.sleep(0.2)
    return False


def _sandboxed() -> bool:
    host = HostCapabilities.detect()
    return bool(host.root and host.bwrap and host.cgroup_memory and host.loop_tmp)


def _ready(node: StrataServer) -> bool:
    if node.process is None or node.process.poll() is not None:
        return False
    try:
        with urllib.request.urlopen(f"{node.url}/readyz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False
