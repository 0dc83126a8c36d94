"""Whose event a worker takes next: turns across accounts, then functions, and a share cap."""

from __future__ import annotations

from registry.invocations.events import EventQueue


def queue(workers: int = 3) -> EventQueue:
    # Only the choosing is exercised here: no database or invoker is touched.
    return EventQueue(db=None, invoker=None, workers=workers)


def served(events: EventQueue, account: str, function: int) -> None:
    events._turn += 1
    events._turns[account] = events._turns[(account, function)] = events._turn


def test_in_turn__the_account_served_least_recently_goes_first_whatever_its_event_age():
    events = queue()
    served(events, "A", 1)
    heads = [("A", 1, 1), ("B", 2, 50)]  # A's backlog is older
    assert [head[0] for head in events._in_turn(heads)] == ["B", "A"]
    served(events, "B", 2)
    assert [head[0] for head in events._in_turn(heads)] == ["A", "B"]


def test_in_turn__within_an_account_its_functions_take_turns():
    events = queue()
    served(events, "A", 1)
    served(events, "B", 9)
    served(events, "A", 2)
    assert events._in_turn([("A", 1, 1), ("A", 2, 2), ("A", 3, 3)]) == [
        ("A", 3, 3),
        ("A", 1, 1),
        ("A", 2, 2),
    ]


def test_in_turn__an_account_never_holds_every_worker_of_a_process():
    events = queue(workers=3)
    events._running["A"] = 2
    assert events._in_turn([("A", 1, 1), ("B", 2, 2)]) == [("B", 2, 2)]
    events._running["B"] = 2
    assert events._in_turn([("A", 1, 1), ("B", 2, 2)]) == []
    single = queue(workers=1)  # one worker: it is everyone's, one event at a time
    assert single._in_turn([("A", 1, 1)]) == [("A", 1, 1)]
