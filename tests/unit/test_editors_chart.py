"""The editors' day chart: SVG geometry (bot/web/console/chart.py)."""

import datetime as dt

import pytest

from bot.insights.report import DayRow
from bot.web.console.chart import MAX_MARKED_DAYS, MAX_X_LABELS, day_chart, nice_top


@pytest.mark.parametrize(
    "value, top",
    [(0, 4), (1, 4), (4, 4), (5, 8), (9, 20), (37, 40), (41, 80), (120, 200), (999, 1000), (1001, 2000), (4001, 8000)],
)
def test_axis_top_is_a_round_number_at_least_the_highest_value(value, top):
    assert nice_top(value) == top


def rows(n, start=dt.date(2026, 11, 1)):
    return [DayRow(start + dt.timedelta(days=i), questions=i * 3, fallbacks=i, handoffs=i % 2) for i in range(n)]


def test_points_span_the_plot_and_scale_to_the_axis():
    chart = day_chart(rows(5))  # highest 12 → axis 0..20
    assert chart.top_value == 20
    questions = [tuple(map(float, p.split(","))) for p in chart.lines[0].points.split()]
    assert questions[0] == (chart.left, chart.bottom)
    assert questions[-1][0] == chart.right
    assert questions[-1][1] == pytest.approx(chart.bottom - (chart.bottom - chart.top) * 12 / 20, abs=0.1)
    assert [line.total for line in chart.lines] == [30, 10, 2]
    assert [v for _, v in chart.y_ticks] == [0, 5, 10, 15, 20]
    assert chart.busiest == ("5-11", 12)
    assert {m.shape for line in chart.lines for m in line.markers} == {"circle", "square", "diamond"}


def test_long_periods_have_few_labels_and_no_markers():
    chart = day_chart(rows(90))
    assert len(chart.x_ticks) <= MAX_X_LABELS
    assert all(not line.markers for line in chart.lines)
    assert all(len(line.markers) == MAX_MARKED_DAYS for line in day_chart(rows(MAX_MARKED_DAYS)).lines)


def test_one_day_and_no_days():
    one = day_chart(rows(1))
    assert one.lines[0].points == f"{(one.left + one.right) / 2:.1f},{one.bottom:.1f}"
    assert day_chart([]).lines == []
