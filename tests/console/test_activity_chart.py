"""The activity chart's geometry: periods placed by time, durations and errors scaled to round
maxima, and nothing drawn for a range without invocations."""

from __future__ import annotations

from registry.console.activity_chart import HEIGHT, Period, layout, round_up

START, PERIOD = 1_800_000_000 - 1_800_000_000 % 86400, 60  # a midnight, UTC
END = START + 3600


def period(minute: int, average: float | None, maximum: float | None, errors: int = 0):
    runs = 0 if maximum is None else 2
    return Period(START + minute * PERIOD, runs, errors, average, maximum)


def test_layout__places_each_period_at_the_middle_of_its_span():
    chart = layout([period(0, 10.0, 20.0), period(59, 10.0, 20.0)], START, END, PERIOD)
    left, _top, right, _bottom = chart.plot
    first, last = (float(p.split(",")[0]) for p in chart.maximum_points.split())
    slot = (right - left) / 60
    assert abs(first - (left + slot / 2)) < 0.1
    assert abs(last - (right - slot / 2)) < 0.1


def test_layout__durations_scale_to_a_round_maximum_from_zero():
    chart = layout([period(10, 40.0, 80.0), period(20, 10.0, 30.0)], START, END, PERIOD)
    _left, top, _right, bottom = chart.plot
    heights = [float(p.split(",")[1]) for p in chart.maximum_points.split()]
    # 80 ms under a 100 ms axis: four fifths of the way up.
    assert abs(heights[0] - (bottom - 0.8 * (bottom - top))) < 0.1
    assert abs(heights[1] - (bottom - 0.3 * (bottom - top))) < 0.1
    assert [t.label for t in chart.duration_ticks] == ["0 ms", "50 ms", "100 ms"]
    averages = [float(p.split(",")[1]) for p in chart.average_points.split()]
    assert averages[0] > heights[0]  # the average lies lower than the maximum (y grows down)


def test_layout__errors_are_bars_on_their_own_axis():
    chart = layout([period(5, 1.0, 2.0, errors=2), period(6, 1.0, 2.0, errors=4)], START, END, 60)
    _left, top, _right, bottom = chart.plot
    small, large = chart.bars
    assert (small.errors, large.errors) == (2, 4)
    assert abs(large.height - (bottom - top) * 4 / 5) < 0.1  # 4 of an axis up to 5
    assert abs(small.height * 2 - large.height) < 0.1
    assert abs(large.y + large.height - bottom) < 0.1  # bars stand on the time axis
    assert [t.label for t in chart.error_ticks] == ["0", "5"]


def test_layout__periods_without_runs_draw_no_line_point():
    chart = layout([period(1, None, None, errors=0), period(2, 5.0, 5.0)], START, END, PERIOD)
    assert len(chart.maximum_points.split()) == 1 and not chart.bars


def test_layout__no_data_is_an_empty_chart_with_its_axes():
    chart = layout([], START, END, PERIOD)
    assert chart.empty
    assert chart.average_points == "" and chart.maximum == [] and chart.bars == []
    assert [t.label for t in chart.duration_ticks] == ["0 ms", "0.5 ms", "1 ms"]
    assert [t.label for t in chart.time_ticks] == ["00:00", "00:15", "00:30", "00:45", "01:00"]
    assert all(0 <= t.position <= HEIGHT for t in chart.duration_ticks)


def test_round_up__one_two_or_five_times_a_power_of_ten():
    assert [round_up(v) for v in (0, 0.3, 1, 1.5, 3, 7, 10, 11, 480, 2001)] == [
        1, 0.5, 1, 2, 5, 10, 10, 20, 500, 5000,
    ]  # fmt: skip
