"""An invocation's log text split into events, one per line, with their timestamps."""

from __future__ import annotations

from registry.logs import events

TEXT = (
    "init line before the invocation\n"
    "START RequestId: r1 Version: $LATEST\n"
    "one\n"
    "two\n"
    "three\n"
    "END RequestId: r1\n"
    "REPORT RequestId: r1\tDuration: 1.00 ms\n"
)


def test_split__one_event_per_line_in_order():
    split = events.split(TEXT, 100.0, 100.4)
    assert [e.message for e in split] == TEXT.splitlines()


def test_split__start_at_the_start_end_and_report_at_the_end():
    split = events.split(TEXT, 100.0, 100.4)
    stamps = [e.timestamp_ms for e in split]
    assert stamps[:2] == [100_000, 100_000]
    assert stamps[-2:] == [100_400, 100_400]


def test_split__lines_between_are_spread_and_never_go_down():
    stamps = [e.timestamp_ms for e in events.split(TEXT, 100.0, 100.4)]
    assert stamps == sorted(stamps)
    assert 100_000 < stamps[2] < stamps[4] < 100_400


def test_split__platform_lines_after_end_keep_the_end_time():
    text = TEXT + "2026-12-03T00:00:00Z r1 Task timed out after 3.00 seconds\n"
    assert events.split(text, 1.0, 4.0)[-1].timestamp_ms == 4_000


def test_split__blank_lines_are_no_events():
    assert events.split("\n\nSTART RequestId: r\n\n", 1.0, 1.0)[0].message.startswith("START")
    assert len(events.split("\n\nSTART RequestId: r\n\n", 1.0, 1.0)) == 1


def test_split__a_line_longer_than_an_event_is_cut_to_cloudwatchs_limit():
    [event] = events.split("é" * 200_000, 1.0, 1.0)
    assert event.size <= events.MAX_EVENT_BYTES
    assert event.message.endswith(events.TRUNCATED_MARK)


def test_size__counts_utf8_bytes_and_cloudwatchs_overhead():
    assert events.Event(0, "héllo").size == 6 + 26
