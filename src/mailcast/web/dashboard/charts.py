"""Geometry of the delivery page's charts, drawn as server-side SVG: no script, no library.

The functions return plain shapes; the template writes them out as <rect> and <text>.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mailcast.domain import EventKind
from mailcast.stats.report import DeliveryReport, Hour

WIDTH = 720
_HOURLY_HEIGHT = 200
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 8, 12, 28
_MAX_HOURS = 72  # the chart shows the last three days of a longer series
_MAX_TICKS = 12
_FUNNEL_ROW, _FUNNEL_LABEL = 36, 130


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    kind: str  # the CSS class: opens, clicks, funnel
    title: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    labels: list[Label]
    empty: bool


def hourly_chart(report: DeliveryReport) -> Chart:
    """Opens and clicks by people, per hour (UTC), side by side."""
    hours = _continuous(report.hours)[-_MAX_HOURS:]
    series = [
        (h.start, h.counts.get(EventKind.OPENED, 0), h.counts.get(EventKind.CLICKED, 0))
        for h in hours
    ]
    top = max((max(o, c) for _, o, c in series), default=0)
    if top == 0:
        return Chart(WIDTH, _HOURLY_HEIGHT, [], [], empty=True)
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, _HOURLY_HEIGHT - _TOP - _BOTTOM
    slot = plot_w / len(series)
    bars: list[Bar] = []
    for i, (start, opens, clicks) in enumerate(series):
        x = _LEFT + i * slot + slot * 0.1
        hour = f"{start:%Y-%m-%d %H}:00 UTC"
        bars.append(_column(x, slot * 0.4, opens, top, plot_h, "opens", f"{hour}: {opens} opens"))
        bars.append(
            _column(
                x + slot * 0.4,
                slot * 0.4,
                clicks,
                top,
                plot_h,
                "clicks",
                f"{hour}: {clicks} clicks",
            )
        )
    labels = _hour_labels(series, slot) + _value_labels(top, plot_h)
    return Chart(WIDTH, _HOURLY_HEIGHT, bars, labels, empty=False)


def funnel_chart(report: DeliveryReport) -> Chart:
    """To deliver → sent → delivered → opened → clicked, as bars over the messages to deliver."""
    counts = report.counts
    steps = [
        ("To deliver", counts.to_deliver),
        ("Sent", counts.processed),
        ("Delivered", counts.sent),
        ("Opened", counts.unique_opens),
        ("Clicked", counts.unique_clicks),
    ]
    whole = max(counts.to_deliver, 1)
    plot_w = WIDTH - _FUNNEL_LABEL - 120
    bars, labels = [], []
    for i, (name, value) in enumerate(steps):
        y = i * _FUNNEL_ROW + 6
        width = round(plot_w * min(value / whole, 1.0), 1)
        share = f"{100 * value / whole:.1f} %"
        bars.append(
            Bar(
                _FUNNEL_LABEL,
                y,
                max(width, 1.0),
                _FUNNEL_ROW - 12,
                "funnel",
                f"{name}: {value} ({share})",
            )
        )
        labels.append(Label(4, y + _FUNNEL_ROW / 2 - 2, name))
        labels.append(
            Label(_FUNNEL_LABEL + width + 8, y + _FUNNEL_ROW / 2 - 2, f"{value} · {share}")
        )
    return Chart(WIDTH, len(steps) * _FUNNEL_ROW + 6, bars, labels, empty=counts.to_deliver == 0)


def _continuous(hours: list[Hour]) -> list[Hour]:
    """Every hour from the first to the last, the quiet ones included (as zero)."""
    if not hours:
        return []
    by_start = {h.start: h for h in hours}
    filled, moment = [], hours[0].start
    while moment <= hours[-1].start:
        filled.append(by_start.get(moment) or Hour(moment, {}))
        moment += dt.timedelta(hours=1)
    return filled


def _column(
    x: float, width: float, value: int, top: int, plot_h: float, kind: str, title: str
) -> Bar:
    height = plot_h * value / top
    return Bar(
        round(x, 1),
        round(_TOP + plot_h - height, 1),
        round(width, 1),
        round(height, 1),
        kind,
        title,
    )


def _hour_labels(series: list[tuple[dt.datetime, int, int]], slot: float) -> list[Label]:
    every = max(1, -(-len(series) // _MAX_TICKS))
    y = _HOURLY_HEIGHT - 8
    return [
        Label(round(_LEFT + i * slot + slot / 2, 1), y, f"{start:%d %Hh}")
        for i, (start, _, _) in enumerate(series)
        if i % every == 0
    ]


def _value_labels(top: int, plot_h: float) -> list[Label]:
    return [Label(4, _TOP + 10, str(top)), Label(4, _TOP + plot_h, "0")]
