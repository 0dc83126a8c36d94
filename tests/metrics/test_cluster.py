"""Figures of the whole cluster, read from the shared database when a scrape asks for them."""

from __future__ import annotations

from tests.metrics.scrape import scrape_until
from tests.support.functions import ECHO, create
from tests.support.zips import make_zip


def test_event_queue__depth_and_oldest_age_by_account(strata_server, lam, account):
    create(lam, "parked", ECHO)
    # Reserved concurrency 0: its events wait in the queue, retried without spending attempts.
    lam.put_function_concurrency(FunctionName="parked", ReservedConcurrentExecutions=0)
    for _ in range(3):
        assert lam.invoke(FunctionName="parked", InvocationType="Event")["StatusCode"] == 202
    me = account.account_id
    try:
        samples = scrape_until(
            strata_server.url,
            lambda s: (
                s.value("strata_event_queue_events", account=me) == 3
                and s.value("strata_event_queue_oldest_age_seconds", account=me) > 0
            ),
        )
        assert samples.value("strata_event_queue_events", account=me) == 3
        assert 0 < samples.value("strata_event_queue_oldest_age_seconds", account=me) < 60
    finally:
        lam.delete_function(FunctionName="parked")  # and with it, its events


def test_stored_bytes__are_what_account_settings_count(strata_server, lam, account):
    for content in (b"one", b"two"):
        lam.publish_layer_version(
            LayerName="lib", Content={"ZipFile": make_zip({"python/lib.py": content})}
        )
    create(lam, "stored", ECHO)
    lam.publish_version(FunctionName="stored")
    used = lam.get_account_settings()["AccountUsage"]["TotalCodeSize"]
    assert used > 0
    me = account.account_id

    samples = scrape_until(
        strata_server.url, lambda s: s.value("strata_stored_bytes", account=me) == used
    )

    assert samples.value("strata_stored_bytes", account=me) == used
    assert "Cluster-wide" in samples.text
