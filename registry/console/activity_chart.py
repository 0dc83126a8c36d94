"""The activity chart's geometry: a function's duration (average and maximum) as two lines and
its errors as bars, per period, in SVG user units. The template draws it; no script runs in the
browser."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone

WIDTH = 720
HEIGHT = 240
LEFT, RIGHT, TOP, BOTTOM = 64, 48, 16, 32  # room for the axes' labels


@dataclass(frozen=True)
class Period:
    start: int  # epoch seconds
    invocations: int
    errors: int
    average_ms: float | None  # None: nothing ran in the period
    maximum_ms: float | None


@dataclass(frozen=True)
class Tick:
    position: float  # x for the time axis, y for the value axes
    label: str


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    errors: int


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    plot: tuple[float, float, float, float]  # left, top, right, bottom
    average: list[tuple[float, float]]  # (x, y) of each period that ran
    maximum: list[tuple[float, float]]
    bars: list[Bar] = field(default_factory=list)
    duration_ticks: list[Tick] = field(default_factory=list)
    error_ticks: list[Tick] = field(default_factory=list)
    time_ticks: list[Tick] = field(default_factory=list)

    @property
    def average_points(self) -> str:
        """An SVG polyline's points."""
        return _points(self.average)

    @property
    def maximum_points(self) -> str:
        return _points(self.maximum)

    @property
    def empty(self) -> bool:
        return not self.average and not self.bars


def layout(periods: list[Period], start: int, end: int, period: int) -> Chart:
    """Each period's figures placed at the middle of its span of [start, end): duration on the
    left axis, errors on the right, both from zero to a round maximum."""
    left, top, right, bottom = LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM
    span = max(end - start, 1)
    slot = (right - left) * period / span

    def x(at: int) -> float:
        return left + (at - start + period / 2) / span * (right - left)

    ran = [p for p in periods if p.maximum_ms is not None]
    duration_top = round_up(max((p.maximum_ms for p in ran), default=0.0))
    error_top = round_up(max((p.errors for p in periods), default=0))

    def y(value: float, scale: float) -> float:
        return bottom - value / scale * (bottom - top)

    def points(values) -> list[tuple[float, float]]:
        return [(round(x(p.start), 1), round(y(v, duration_top), 1)) for p, v in values]

    bars = [
        Bar(
            x=x(p.start) - slot * 0.3,
            y=y(p.errors, error_top),
            width=slot * 0.6,
            height=bottom - y(p.errors, error_top),
            errors=p.errors,
        )
        for p in periods
        if p.errors
    ]
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        plot=(left, top, right, bottom),
        average=points((p, p.average_ms) for p in ran),
        maximum=points((p, p.maximum_ms) for p in ran),
        bars=bars,
        duration_ticks=[Tick(y(v, duration_top), f"{v:g} ms") for v in _thirds(duration_top)],
        error_ticks=[Tick(y(v, error_top), f"{v:g}") for v in (0.0, error_top)],
        time_ticks=[
            Tick(left + (at - start) / span * (right - left), _clock(at))
            for at in range(start, end + 1, max(span // 4, 1))
        ],
    )


def round_up(value: float) -> float:
    """The smallest of 1, 2 or 5 times a power of ten at or above `value` (1 for nothing)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def _points(marks: list[tuple[float, float]]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in marks)


def _thirds(top: float) -> list[float]:
    return [0.0, top / 2, top]


def _clock(at: int) -> str:
    return datetime.fromtimestamp(at, timezone.utc).strftime("%H:%M")
