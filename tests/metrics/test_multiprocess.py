"""One server's gunicorn workers are counted as one: whichever worker answers a scrape reports
what all of them did, and a worker that exits takes its live gauges with it."""

from __future__ import annotations

import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.mmap_dict import MmapedDict

from tests.metrics.scrape import get, scrape, scrape_until
from tests.support.functions import ECHO, create


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from tests.support.server import StrataServer, backend_env

    data_dir = tmp_path_factory.mktemp("strata-metrics-workers")
    server = StrataServer(data_dir=data_dir, env=backend_env("sqlite-fs", data_dir, None))
    server.start()
    yield server
    server.stop()


def workers_of(server) -> list[int]:
    master = server.process.pid
    with open(f"/proc/{master}/task/{master}/children") as children:
        return [int(pid) for pid in children.read().split()]


def healthz_counted_by(pid: int) -> float:
    """The health checks one worker counted, read from its own file of counters."""
    maps = Path(f"/proc/{pid}/maps").read_text().split()
    files = {path for path in maps if path.endswith(f"/counter_{pid}.db")}
    total = 0.0
    for path in files:
        for key, value, *_ in MmapedDict.read_all_values_from_file(path):
            _, sample, labels, _ = json.loads(key)
            if sample == "strata_http_requests_total" and labels.get("operation") == "healthz":
                total += value
    return total


def test_every_scrape__counts_the_requests_of_every_worker(server):
    labels = {"service": "strata", "operation": "healthz", "status": "200"}
    before = scrape(server.url).value("strata_http_requests_total", **labels)

    sent = 0
    with ThreadPoolExecutor(4) as pool:
        # Each on a connection of its own, taken by whichever worker, until both have served
        # some: only then could figures kept per worker fall short of the total.
        while sent < 1000 and not all(healthz_counted_by(pid) for pid in workers_of(server)):
            statuses = list(pool.map(lambda _: get(f"{server.url}/healthz")[0], range(20)))
            assert statuses == [200] * 20
            sent += 20
    assert all(healthz_counted_by(pid) for pid in workers_of(server)), "a worker counted none"

    for _ in range(6):  # as many scrapes, answered by either worker
        assert scrape(server.url).value("strata_http_requests_total", **labels) - before == sent


def test_a_worker_that_exits__takes_its_live_gauges_but_not_its_counts(server):
    lam = server.client()
    create(lam, "warm-then-gone", ECHO)
    for _ in range(4):
        lam.invoke(FunctionName="warm-then-gone", Payload=b"{}")
    invoked = {"account": server.dev_account_id, "function": "warm-then-gone"}
    warm = scrape_until(server.url, lambda s: s.value("strata_environments", state="idle") >= 1)
    assert warm.value("strata_environments", state="idle") >= 1
    counted = warm.total("strata_invocations_total", **invoked)
    assert counted == 4

    old = workers_of(server)
    for pid in old:
        os.kill(pid, signal.SIGTERM)  # gunicorn starts another in its place
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (
        set(workers_of(server)) & set(old) or len(workers_of(server)) < 2
    ):
        time.sleep(0.1)
    assert not set(workers_of(server)) & set(old)

    after = scrape_until(server.url, lambda s: s.value("strata_environments", state="idle") == 0)
    assert after.value("strata_environments", state="idle") == 0
    assert after.value("strata_environments_memory_bytes") == 0
    assert after.total("strata_invocations_total", **invoked) == counted


def test_a_restarted_server__counts_from_zero_again(server):
    labels = {"service": "strata", "operation": "healthz", "status": "200"}
    for _ in range(3):
        assert get(f"{server.url}/healthz")[0] == 200
    assert scrape(server.url).value("strata_http_requests_total", **labels) >= 3

    server.restart()

    assert scrape(server.url).value("strata_http_requests_total", **labels) == 0
