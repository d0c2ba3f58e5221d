"""The editors' day chart as plain SVG geometry for the template (no script, no inline style: the
console's CSP allows neither). Lines differ by colour, dash pattern and marker shape, so the
chart does not rely on colour alone; the page shows the same numbers as a table."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.insights.report import DayRow

WIDTH, HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 40
MAX_X_LABELS = 8
MAX_MARKED_DAYS = 31  # more days: lines only, markers would overlap

#: (field of DayRow, label, CSS modifier, marker shape)
SERIES = (
    ("questions", "Vragen", "vragen", "circle"),
    ("fallbacks", "Niet begrepen", "fallback", "square"),
    ("handoffs", "Naar een medewerker", "overdracht", "diamond"),
)


@dataclass(frozen=True)
class Marker:
    x: float
    y: float
    shape: str

    @property
    def diamond(self) -> str:
        r = 5
        x, y = self.x, self.y
        return f"{x:.1f},{y - r:.1f} {x + r:.1f},{y:.1f} {x:.1f},{y + r:.1f} {x - r:.1f},{y:.1f}"


@dataclass(frozen=True)
class Line:
    key: str
    label: str
    modifier: str
    shape: str
    points: str
    markers: tuple[Marker, ...]
    total: int


@dataclass
class Chart:
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM
    top_value: int = 0
    y_ticks: list[tuple[float, int]] = field(default_factory=list)
    x_ticks: list[tuple[float, str]] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    #: For the SVG's description: the busiest day and its number of questions.
    busiest: tuple[str, int] = ("", 0)


def nice_top(value: int, ticks: int = 4) -> int:
    """The axis maximum: ``ticks`` steps of 1, 2, (2.5,) or 5 × 10ⁿ, at least ``value``; whole
    numbers at every tick."""
    if value <= 0:
        return ticks
    raw = value / ticks
    power = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    for step in (1, 2, 2.5, 5, 10) if power >= 10 else (1, 2, 5, 10):
        if step * power >= raw:
            return int(step * power * ticks)
    return int(10 * power * ticks)  # pragma: no cover - the loop always returns


def day_label(day: dt.date) -> str:
    return f"{day.day}-{day.month}"


def day_chart(rows: Sequence[DayRow], ticks: int = 4) -> Chart:
    chart = Chart()
    if not rows:
        return chart
    highest = max(max(r.questions, r.fallbacks, r.handoffs) for r in rows)
    chart.top_value = nice_top(highest, ticks)
    span_x = chart.right - chart.left
    span_y = chart.bottom - chart.top
    n = len(rows)

    def x(i: int) -> float:
        return chart.left + (span_x * i / (n - 1) if n > 1 else span_x / 2)

    def y(v: int) -> float:
        return chart.bottom - span_y * v / chart.top_value

    chart.y_ticks = [(y(chart.top_value * k // ticks), chart.top_value * k // ticks) for k in range(ticks + 1)]
    every = max(1, math.ceil(n / MAX_X_LABELS))
    chart.x_ticks = [(x(i), day_label(r.day)) for i, r in enumerate(rows) if i % every == 0]
    for key, label, modifier, shape in SERIES:
        values = [getattr(r, key) for r in rows]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        markers = tuple(Marker(x(i), y(v), shape) for i, v in enumerate(values)) if n <= MAX_MARKED_DAYS else ()
        chart.lines.append(Line(key, label, modifier, shape, points, markers, sum(values)))
    busiest = max(rows, key=lambda r: (r.questions, r.day))
    chart.busiest = (day_label(busiest.day), busiest.questions)
    return chart
