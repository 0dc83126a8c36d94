"""/readyz with substance: the database, the blob store, the executor (isolation tier and room
left) and the Event queue's lag, each with a status and its figures. Only the database and the
blob store decide readiness; a full executor or a lagging queue is reported, still 200."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from registry.api.readiness import DEGRADED, OK, UNAVAILABLE, Finding, answer
from registry.config import Settings
from registry.models import Function, FunctionEvent
from tests.metrics.scrape import scrape
from tests.support.functions import create, handler_zip
from tests.support.server import StrataServer, backend_env

STATUSES = {OK, DEGRADED, UNAVAILABLE}


def readiness(server) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(server.url + "/readyz", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_readyz__reports_each_dependency_with_a_status_and_its_figures(strata_server):
    status, text = readiness(strata_server)
    body = json.loads(text)
    assert status == 200 and body["status"] == "ok"
    assert set(body["checks"]) == {"database", "storage", "executor", "events"}
    assert body["checks"]["database"] in (OK, DEGRADED)
    assert body["checks"]["storage"] in (OK, DEGRADED)
    details = body["details"]
    assert details["database"]["latency_ms"] >= 0 and details["storage"]["latency_ms"] >= 0
    executor = details["executor"]
    assert executor["isolation"] == body["isolation"]["level"]
    assert executor["runtime_api"] == body["isolation"]["runtime_api"]
    assert executor["memory_budget_mb"] > 0
    assert executor["memory_free_mb"] == executor["memory_budget_mb"] - executor["memory_used_mb"]
    assert executor["environments"] >= executor["environments_busy"] >= 0
    assert details["events"]["waiting"] >= 0 and details["events"]["oldest_wait_s"] >= 0
    # HAProxy's check (deploy/haproxy.cfg) looks for this text anywhere in the answer: only the
    # top level may carry it.
    assert text.count('"status": "ok"') == 1


def test_readiness__only_the_database_and_storage_take_the_node_out():
    isolation = {"level": "best-effort"}
    body, ready = answer(
        {
            "database": Finding(DEGRADED, {"latency_ms": 400.0}),
            "storage": Finding(OK, {"latency_ms": 2.0}),
            "executor": Finding(DEGRADED, {"memory_free_mb": 0}),
            "events": Finding(UNAVAILABLE, {"reason": "failed"}),
        },
        isolation,
    )
    assert ready and body["status"] == "ok"
    body, ready = answer(
        {
            "database": Finding(OK, {"latency_ms": 1.0}),
            "storage": Finding(UNAVAILABLE, {"reason": "no answer within 0.5 s"}),
        },
        isolation,
    )
    assert not ready and body["status"] == "unavailable"
    assert body["checks"] == {"database": OK, "storage": UNAVAILABLE}
    assert '"status": "ok"' not in json.dumps(body)


@pytest.fixture
def own_server(tmp_path, request):
    servers = []

    def start(**env) -> StrataServer:
        data_dir = tmp_path / f"server-{len(servers)}"
        data_dir.mkdir()
        server = StrataServer(data_dir=data_dir, env=backend_env("sqlite-fs", data_dir, request))
        server.env.update(env)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop(signal.SIGKILL)


def test_readyz__an_executor_without_room_for_the_smallest_function_is_degraded_and_ready(
    own_server,
):
    server = own_server(STRATA_MEMORY_BUDGET_MB="100")
    status, text = readiness(server)
    body = json.loads(text)
    assert status == 200 and body["status"] == "ok"
    assert body["checks"]["executor"] == DEGRADED
    assert body["details"]["executor"]["memory_budget_mb"] == 100
    assert body["details"]["executor"]["memory_free_mb"] == 100


def test_readyz__an_event_waiting_a_minute_for_a_worker_is_degraded_and_ready(own_server):
    # One event worker per process, each kept busy by a slow event: what else is due waits.
    server = own_server(STRATA_EVENT_WORKERS="1")
    lam = server.client(server.new_account())
    create(
        lam,
        "slow",
        handler_zip("import time\n\ndef handler(event, context):\n    time.sleep(20)\n"),
        Timeout=30,
    )
    for _ in range(2):
        lam.invoke(FunctionName="slow", InvocationType="Event", Payload=b"{}")
    deadline = time.monotonic() + 30
    while _leased(server) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _leased(server) == 2, server.log()[-3000:]
    status, text = readiness(server)
    assert json.loads(text)["checks"]["events"] == OK

    with server.db.write() as session:
        function_id = session.scalar(select(Function.id).where(Function.name == "slow"))
        session.add(
            FunctionEvent(
                function_id=function_id,
                qualifier="$LATEST",
                request_id=str(uuid.uuid4()),
                payload=b"{}",
                status="pending",
                attempts=0,
                not_before=time.time() - 120,  # due two minutes ago
                created_at=datetime.now(timezone.utc),
            )
        )
    status, text = readiness(server)
    body = json.loads(text)
    assert status == 200 and body["status"] == "ok"
    assert body["checks"]["events"] == DEGRADED
    assert body["details"]["events"]["waiting"] == 1
    assert 120 <= body["details"]["events"]["oldest_wait_s"] < 180


def _leased(server) -> int:
    with server.db.read() as session:
        return session.scalar(
            select(func.count())
            .select_from(FunctionEvent)
            .where(FunctionEvent.status == "pending", FunctionEvent.lease_owner.is_not(None))
        )


def test_readyz__a_draining_node_answers_503_and_counts_it_with_the_other_answers(own_server):
    server = own_server(STRATA_DRAIN_ACCEPT_SECONDS=str(Settings().drain_accept))
    os.killpg(server.process.pid, signal.SIGTERM)  # as a service manager stops it
    deadline = time.monotonic() + 3
    while readiness(server)[0] != 503:
        assert time.monotonic() < deadline, "readiness never failed while draining"
        time.sleep(0.05)

    counted = scrape(server.url).value(
        "strata_http_requests_total", service="strata", operation="readyz", status="503"
    )
    assert counted == 1  # the one this test was given
