"""The log store: groups made on first use, reads by time range with stable tokens, one
account's groups invisible to another."""

from __future__ import annotations

import pytest

from registry.logs.errors import LogInvalidParameter, LogResourceAlreadyExists, LogResourceNotFound
from registry.logs.events import Event
from registry.logs.patterns import parse
from registry.logs.store import Batch

GROUP = "/aws/lambda/orders"
EVERYTHING = parse(None)


def events(start_ms: int, count: int, text: str = "line") -> list[Event]:
    return [Event(start_ms + i, f"{text} {i}") for i in range(count)]


def test_append__creates_the_group_and_stream_on_first_use(log_store, new_account):
    account = new_account()
    log_store.append([Batch(account, GROUP, "s1", events(1_000, 3))])

    [group], _ = log_store.groups(account)
    [stream], _ = log_store.streams(account, GROUP)
    assert group.name == GROUP and group.stored_bytes == sum(e.size for e in events(1_000, 3))
    assert (stream.name, stream.first_event_ms, stream.last_event_ms) == ("s1", 1_000, 1_002)


def test_filter__interleaves_streams_in_time_order(log_store, new_account):
    account = new_account()
    log_store.append(
        [
            Batch(account, GROUP, "a", [Event(10, "a1"), Event(30, "a2")]),
            Batch(account, GROUP, "b", [Event(20, "b1"), Event(40, "b2")]),
        ]
    )
    page = log_store.filter_events(account, GROUP, pattern=EVERYTHING)
    assert [(e.stream, e.message) for e in page.events] == [
        ("a", "a1"), ("b", "b1"), ("a", "a2"), ("b", "b2"),
    ]  # fmt: skip
    assert page.next_token is None


def test_filter__pages_by_token_without_gaps_or_repeats(log_store, new_account):
    account = new_account()
    log_store.append([Batch(account, GROUP, "s", [Event(5, f"m{i}") for i in range(25)])])
    seen, token = [], None
    while True:
        page = log_store.filter_events(account, GROUP, pattern=EVERYTHING, limit=10, token=token)
        seen += [e.message for e in page.events]
        token = page.next_token
        if token is None:
            break
    assert seen == [f"m{i}" for i in range(25)]


def test_filter__the_same_token_gives_the_same_page(log_store, new_account):
    account = new_account()
    log_store.append([Batch(account, GROUP, "s", events(0, 30))])
    token = log_store.filter_events(account, GROUP, pattern=EVERYTHING, limit=7).next_token
    first = log_store.filter_events(account, GROUP, pattern=EVERYTHING, limit=7, token=token)
    again = log_store.filter_events(account, GROUP, pattern=EVERYTHING, limit=7, token=token)
    assert [e.id for e in first.events] == [e.id for e in again.events]


def test_filter__time_range_is_inclusive_at_both_ends(log_store, new_account):
    account = new_account()
    log_store.append([Batch(account, GROUP, "s", events(100, 10))])
    page = log_store.filter_events(account, GROUP, pattern=EVERYTHING, start_ms=103, end_ms=105)
    assert [e.timestamp_ms for e in page.events] == [103, 104, 105]


def test_filter__pattern_and_stream_names_select_events(log_store, new_account):
    account = new_account()
    log_store.append(
        [
            Batch(account, GROUP, "2026/12/03/[1]aa", [Event(1, "ERROR one"), Event(2, "ok")]),
            Batch(account, GROUP, "2026/12/03/[2]bb", [Event(3, "ERROR two")]),
        ]
    )
    errors = log_store.filter_events(account, GROUP, pattern=parse("ERROR"))
    assert [e.message for e in errors.events] == ["ERROR one", "ERROR two"]
    only_two = log_store.filter_events(
        account, GROUP, pattern=parse("ERROR"), stream_prefix="2026/12/03/[2]"
    )
    assert [e.message for e in only_two.events] == ["ERROR two"]
    named = log_store.filter_events(
        account, GROUP, pattern=EVERYTHING, stream_names=["2026/12/03/[1]aa"]
    )
    assert [e.message for e in named.events] == ["ERROR one", "ok"]


def test_filter__a_rare_match_answers_a_partial_page_with_a_token(log_store, new_account):
    from registry.logs import reads as store_module

    account = new_account()
    log_store.append([Batch(account, GROUP, "s", events(0, 120, "noise"))])
    log_store.append([Batch(account, GROUP, "s", [Event(500, "needle")])])
    scan, store_module.FILTER_SCAN_ROWS = store_module.FILTER_SCAN_ROWS, 50
    try:
        first = log_store.filter_events(account, GROUP, pattern=parse("needle"))
        assert first.events == [] and first.next_token
        found, token = [], first.next_token
        while token:
            page = log_store.filter_events(account, GROUP, pattern=parse("needle"), token=token)
            found += page.events
            token = page.next_token
    finally:
        store_module.FILTER_SCAN_ROWS = scan
    assert [e.message for e in found] == ["needle"]


def test_filter__a_forged_token_is_an_invalid_parameter(log_store, new_account):
    account = new_account()
    log_store.append([Batch(account, GROUP, "s", events(0, 1))])
    with pytest.raises(LogInvalidParameter, match="nextToken"):
        log_store.filter_events(account, GROUP, pattern=EVERYTHING, token="e/not-base64!")


def test_get_events__newest_page_by_default_and_tokens_walk_both_ways(log_store, new_account):
    account = new_account()
    log_store.append([Batch(account, GROUP, "s", events(0, 10))])
    newest = log_store.get_events(account, GROUP, "s", limit=3)
    assert [e.timestamp_ms for e in newest.events] == [7, 8, 9]
    older = log_store.get_events(account, GROUP, "s", limit=3, token=newest.backward_token)
    assert [e.timestamp_ms for e in older.events] == [4, 5, 6]
    head = log_store.get_events(account, GROUP, "s", limit=4, from_head=True)
    assert [e.timestamp_ms for e in head.events] == [0, 1, 2, 3]
    nxt = log_store.get_events(account, GROUP, "s", limit=4, token=head.forward_token)
    assert [e.timestamp_ms for e in nxt.events] == [4, 5, 6, 7]


def test_get_events__at_the_end_the_forward_token_comes_back_unchanged(log_store, new_account):
    account = new_account()
    log_store.append([Batch(account, GROUP, "s", events(0, 2))])
    page = log_store.get_events(account, GROUP, "s", from_head=True)
    end = log_store.get_events(account, GROUP, "s", token=page.forward_token)
    assert end.events == [] and end.forward_token == page.forward_token
    log_store.append([Batch(account, GROUP, "s", [Event(9, "later")])])
    later = log_store.get_events(account, GROUP, "s", token=page.forward_token)
    assert [e.message for e in later.events] == ["later"]


def test_another_account__sees_none_of_the_groups(log_store, new_account):
    owner, other = new_account(), new_account()
    log_store.append([Batch(owner, GROUP, "s", events(0, 3))])
    assert log_store.groups(other) == ([], None)
    with pytest.raises(LogResourceNotFound):
        log_store.filter_events(other, GROUP, pattern=EVERYTHING)
    with pytest.raises(LogResourceNotFound):
        log_store.get_events(other, GROUP, "s")
    with pytest.raises(LogResourceNotFound):
        log_store.delete_group(other, GROUP)
    # The same name in another account is a group of its own.
    log_store.create_group(other, GROUP)
    assert log_store.filter_events(other, GROUP, pattern=EVERYTHING).events == []


def test_create_group__twice_is_already_exists(log_store, new_account):
    account = new_account()
    log_store.create_group(account, "/app/one")
    with pytest.raises(LogResourceAlreadyExists):
        log_store.create_group(account, "/app/one")


def test_delete_group__takes_its_streams_and_events(log_store, new_account):
    account = new_account()
    log_store.append([Batch(account, GROUP, "s", events(0, 3))])
    log_store.delete_group(account, GROUP)
    assert log_store.groups(account) == ([], None)
    # Logging on after the delete makes the group again, as Lambda does.
    log_store.append([Batch(account, GROUP, "s", events(10, 1))], cache={})
    assert len(log_store.filter_events(account, GROUP, pattern=EVERYTHING).events) == 1


def test_append__a_cached_stream_deleted_meanwhile_is_made_again(log_store, new_account):
    account = new_account()
    cache: dict = {}
    log_store.append([Batch(account, GROUP, "s", events(0, 1))], cache)
    log_store.delete_group(account, GROUP)
    log_store.append([Batch(account, GROUP, "s", events(5, 2))], cache)
    assert [
        e.timestamp_ms for e in log_store.filter_events(account, GROUP, pattern=EVERYTHING).events
    ] == [5, 6]


def test_groups__list_by_prefix_and_page_by_name(log_store, new_account):
    account = new_account()
    for name in ("/aws/lambda/a", "/aws/lambda/b", "/aws/lambda/c", "/other"):
        log_store.create_group(account, name)
    first, token = log_store.groups(account, prefix="/aws/lambda/", limit=2)
    rest, end = log_store.groups(account, prefix="/aws/lambda/", limit=2, token=token)
    assert [g.name for g in first + rest] == ["/aws/lambda/a", "/aws/lambda/b", "/aws/lambda/c"]
    assert end is None


def test_retention__only_cloudwatchs_values_are_accepted(log_store, new_account):
    account = new_account()
    log_store.create_group(account, GROUP)
    with pytest.raises(LogInvalidParameter, match="retentionInDays"):
        log_store.set_retention(account, GROUP, 2)
    log_store.set_retention(account, GROUP, 14)
    assert log_store.groups(account)[0][0].retention_days == 14


def test_groups__a_name_pattern_matches_anywhere_in_any_case(log_store, new_account):
    account = new_account()
    for name in ("/aws/lambda/Orders-api", "/aws/lambda/payments", "/orders/audit"):
        log_store.create_group(account, name)
    groups, _ = log_store.groups(account, contains="ORDERS")
    assert [g.name for g in groups] == ["/aws/lambda/Orders-api", "/orders/audit"]


def test_create_group__past_the_accounts_bound_is_limit_exceeded(
    log_store, new_account, monkeypatch
):
    from registry.logs import store as store_module
    from registry.logs.errors import LogLimitExceeded

    monkeypatch.setattr(store_module, "MAX_GROUPS_PER_ACCOUNT", 2)
    account, other = new_account(), new_account()
    log_store.create_group(account, "/one")
    log_store.create_group(account, "/two")
    with pytest.raises(LogLimitExceeded):
        log_store.create_group(account, "/three")
    log_store.create_group(other, "/three")  # another account's bound is its own


def test_delete_stream__takes_its_events_and_leaves_the_others(log_store, new_account):
    account = new_account()
    log_store.append(
        [Batch(account, GROUP, "gone", events(0, 2)), Batch(account, GROUP, "kept", events(5, 1))]
    )
    log_store.delete_stream(account, GROUP, "gone")
    page = log_store.filter_events(account, GROUP, pattern=EVERYTHING)
    assert [e.stream for e in page.events] == ["kept"]
    with pytest.raises(LogResourceNotFound, match="log stream"):
        log_store.delete_stream(account, GROUP, "gone")
