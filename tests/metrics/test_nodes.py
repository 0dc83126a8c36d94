"""Several nodes on one database: each serves its own figures, and the cluster-wide ones alike,
so that a dashboard sums the first over nodes and takes the second from any one."""

from __future__ import annotations

import secrets

import pytest

from tests.metrics.scrape import scrape, scrape_until
from tests.support.functions import ECHO, create


@pytest.fixture(scope="module")
def nodes(request, tmp_path_factory):
    from tests.support.server import StrataServer, backend_env

    root = tmp_path_factory.mktemp("strata-metrics-nodes")
    shared = backend_env("pg-s3", root, request)
    # Every node must open the access keys' secrets that any node sealed.
    shared["STRATA_SECRET_KEY"] = secrets.token_hex(32)
    started = []
    try:
        for name in ("node1", "node2"):
            data_dir = root / name
            data_dir.mkdir()
            node = StrataServer(data_dir=data_dir, env={**shared, "STRATA_DATA_DIR": str(data_dir)})
            started.append(node)
            node.start()
        yield started
    finally:
        for node in started:
            node.stop()


def test_each_node__counts_the_invocations_it_ran_and_no_other(nodes):
    first, second = nodes
    account = first.new_account()
    lam = first.client(account)
    create(lam, "here", ECHO)
    for _ in range(3):
        lam.invoke(FunctionName="here", Payload=b"{}")

    labels = {"account": account.account_id, "function": "here"}
    assert scrape(first.url).total("strata_invocations_total", **labels) == 3
    assert scrape(second.url).total("strata_invocations_total", **labels) == 0


def test_cluster_wide_figures__are_the_same_on_every_node(nodes):
    first = nodes[0]
    account = first.new_account()
    lam = first.client(account)
    create(lam, "parked", ECHO)
    lam.put_function_concurrency(FunctionName="parked", ReservedConcurrentExecutions=0)
    for _ in range(2):
        lam.invoke(FunctionName="parked", InvocationType="Event")
    used = lam.get_account_settings()["AccountUsage"]["TotalCodeSize"]
    me = account.account_id
    try:
        for node in nodes:
            samples = scrape_until(
                node.url,
                lambda s: (
                    s.value("strata_event_queue_events", account=me) == 2
                    and s.value("strata_stored_bytes", account=me) == used
                ),
            )
            assert samples.value("strata_event_queue_events", account=me) == 2
            assert samples.value("strata_stored_bytes", account=me) == used
    finally:
        lam.delete_function(FunctionName="parked")
