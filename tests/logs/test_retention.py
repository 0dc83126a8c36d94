"""The retention sweep and the per-account quota: old events go, in bounded batches, and the
stored bytes follow."""

from __future__ import annotations

from registry.logs.events import Event
from registry.logs.patterns import parse
from registry.logs.store import Batch

DAY_MS = 86_400_000
NOW = 1_000 * DAY_MS


def messages(store, account, group):
    return [e.message for e in store.filter_events(account, group, pattern=parse(None)).events]


def test_sweep__deletes_events_past_the_default_retention_only(log_store, new_account):
    account = new_account()
    log_store.append(
        [Batch(account, "/g", "s", [Event(NOW - 31 * DAY_MS, "old"), Event(NOW - DAY_MS, "new")])]
    )
    assert log_store.expire(30, now=NOW) == 1
    assert messages(log_store, account, "/g") == ["new"]
    [group], _ = log_store.groups(account)
    assert group.stored_bytes == Event(0, "new").size


def test_sweep__a_groups_retention_policy_wins_over_the_default(log_store, new_account):
    account = new_account()
    log_store.append([Batch(account, "/short", "s", [Event(NOW - 2 * DAY_MS, "two days")])])
    log_store.append([Batch(account, "/long", "s", [Event(NOW - 40 * DAY_MS, "forty days")])])
    log_store.set_retention(account, "/short", 1)
    log_store.set_retention(account, "/long", 60)
    log_store.expire(30, now=NOW)
    assert messages(log_store, account, "/short") == []
    assert messages(log_store, account, "/long") == ["forty days"]


def test_sweep__deletes_in_bounded_batches_until_done(log_store, new_account):
    account = new_account()
    old = [Event(NOW - 40 * DAY_MS + i, f"e{i}") for i in range(25)]
    log_store.append([Batch(account, "/g", "s", [*old, Event(NOW, "kept")])])
    assert log_store.expire(30, now=NOW, batch=10) == 25
    assert messages(log_store, account, "/g") == ["kept"]


def test_sweep__an_emptied_stream_past_retention_goes_too(log_store, new_account):
    account = new_account()
    log_store.append([Batch(account, "/g", "gone", [Event(NOW - 40 * DAY_MS, "x")])])
    log_store.append([Batch(account, "/g", "live", [Event(NOW, "y")])])
    log_store.expire(30, now=NOW)
    assert [s.name for s in log_store.streams(account, "/g")[0]] == ["live"]


def test_quota__evicting_frees_the_accounts_oldest_events_first(log_store, new_account):
    account, other = new_account(), new_account()
    batch = [Event(i, f"event {i:03d}") for i in range(100)]
    log_store.append([Batch(account, "/a", "s", batch[:50]), Batch(account, "/b", "s", batch[50:])])
    log_store.append([Batch(other, "/a", "s", batch)])
    size = batch[0].size
    freed = log_store.evict_oldest(account, 60 * size, batch=25)
    assert freed >= 60 * size
    left = messages(log_store, account, "/a") + messages(log_store, account, "/b")
    assert left == [f"event {i:03d}" for i in range(75, 100)]
    assert log_store.account_bytes(account) == 25 * size
    assert len(messages(log_store, other, "/a")) == 100
