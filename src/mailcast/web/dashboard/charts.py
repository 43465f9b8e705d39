"""Geometry of the delivery page's charts, drawn as server-side SVG: no script, no library.

The functions return plain shapes; the template writes them out as <rect> and <text>.
"""

from __future__ import annotations

from dataclasses import dataclass

from mailcast.domain import StatusCounts, kpis
from mailcast.stats.reports import Series, TimeUnit

WIDTH = 720
_HOURLY_HEIGHT = 200
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 8, 12, 28
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


# How a bucket's start is written under the series' bars, and in a bar's title.
_TICKS = {TimeUnit.MINUTE: "%H:%M", TimeUnit.HOUR: "%d %Hh", TimeUnit.DAY: "%b %d"}
_TITLES = {
    TimeUnit.MINUTE: "%Y-%m-%d %H:%M",
    TimeUnit.HOUR: "%Y-%m-%d %H:00",
    TimeUnit.DAY: "%Y-%m-%d",
}


def series_chart(series: Series) -> Chart:
    """Opens and clicks per minute, hour or day (UTC), side by side."""
    top = max((max(b.opens, b.clicks) for b in series.buckets), default=0)
    if top == 0:
        return Chart(WIDTH, _HOURLY_HEIGHT, [], [], empty=True)
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, _HOURLY_HEIGHT - _TOP - _BOTTOM
    slot = plot_w / len(series.buckets)
    bars: list[Bar] = []
    for i, b in enumerate(series.buckets):
        x = _LEFT + i * slot + slot * 0.1
        when = f"{b.start:{_TITLES[series.unit]}} UTC"
        bars.append(
            _column(x, slot * 0.4, b.opens, top, plot_h, "opens", f"{when}: {b.opens} opens")
        )
        title = f"{when}: {b.clicks} clicks"
        bars.append(_column(x + slot * 0.4, slot * 0.4, b.clicks, top, plot_h, "clicks", title))
    every = max(1, -(-len(series.buckets) // _MAX_TICKS))
    ticks = [
        Label(
            round(_LEFT + i * slot + slot / 2, 1),
            _HOURLY_HEIGHT - 8,
            f"{b.start:{_TICKS[series.unit]}}",
        )
        for i, b in enumerate(series.buckets)
        if i % every == 0
    ]
    return Chart(WIDTH, _HOURLY_HEIGHT, bars, ticks + _value_labels(top, plot_h), empty=False)


def funnel_chart(counts: StatusCounts) -> Chart:
    """To deliver → sent → delivered → opened → clicked: bars over the messages to deliver.

    Each step's percentage has the Deployment block's denominator (domain.kpis): sent over to
    deliver (the progress), delivered over sent, opened and clicked over delivered.
    """
    k = kpis(counts)
    sent_pct = 100 * counts.processed / counts.to_deliver if counts.to_deliver else 0.0
    steps = [
        ("To deliver", counts.to_deliver, ""),
        ("Sent", counts.processed, f"{_pct(round(sent_pct, 2))} of to deliver"),
        ("Delivered", counts.sent, f"{_pct(k.delivered_pct)} of sent"),
        ("Opened", counts.unique_opens, f"{_pct(k.open_rate)} of delivered"),
        ("Clicked", counts.unique_clicks, f"{_pct(k.click_rate)} of delivered"),
    ]
    whole = max(counts.to_deliver, 1)
    plot_w = WIDTH - _FUNNEL_LABEL - 190
    bars, labels = [], []
    for i, (name, value, share) in enumerate(steps):
        y = i * _FUNNEL_ROW + 6
        width = round(plot_w * min(value / whole, 1.0), 1)
        text = f"{value} · {share}" if share else str(value)
        bars.append(
            Bar(_FUNNEL_LABEL, y, max(width, 1.0), _FUNNEL_ROW - 12, "funnel", f"{name}: {text}")
        )
        labels.append(Label(4, y + _FUNNEL_ROW / 2 - 2, name))
        labels.append(Label(_FUNNEL_LABEL + width + 8, y + _FUNNEL_ROW / 2 - 2, text))
    return Chart(WIDTH, len(steps) * _FUNNEL_ROW + 6, bars, labels, empty=counts.to_deliver == 0)


def _pct(value: float) -> str:
    """As the page's cards write a rate: 2 decimals at most (render.pct)."""
    return f"{value:.2f}".rstrip("0").rstrip(".") + " %"


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


def _value_labels(top: int, plot_h: float) -> list[Label]:
    return [Label(4, _TOP + 10, str(top)), Label(4, _TOP + plot_h, "0")]
