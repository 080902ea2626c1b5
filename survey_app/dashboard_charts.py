"""Charts of the survey dashboard as inline SVG, drawn on the server (no script, no CDN).

Every chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` that reads
out its numbers, and writes each value as text beside its bar or point. Horizontal
positions are percentages of the SVG's width and text sizes are pixels, so a chart
stretches from a 360-px phone to a desktop without its text growing or shrinking
(a viewBox would scale the text with the width). Colours come from the page's CSS
classes (``static/dashboard.css``).

All text arrives translated from the caller; this module only formats numbers.
"""
from __future__ import annotations

import math
from itertools import count
from typing import Iterable, Sequence

from markupsafe import Markup, escape

_ids = count(1)


def _num(value: float | None, digits: int = 1) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def interval_text(estimate: float | None, low: float | None, high: float | None) -> str:
    """``74.2 (72.1–76.0)``: an estimate with its interval (``–`` for a missing number)."""
    if low is None or high is None:
        return _num(estimate)
    return f"{_num(estimate)} ({_num(low)}–{_num(high)})"


def index_range(values: Iterable[float | None]) -> tuple[float, float]:
    """The axis of 0-100 indices: whole tens around every value, at least 20 points wide,
    within 0-100 (a narrower axis would magnify differences smaller than the intervals)."""
    seen = [v for v in values if v is not None and math.isfinite(v)]
    if not seen:
        return 0.0, 100.0
    low = max(0.0, math.floor((min(seen) - 2) / 10) * 10)
    high = min(100.0, math.ceil((max(seen) + 2) / 10) * 10)
    while high - low < 20:
        low, high = (max(0.0, low - 10), high) if low > 0 else (low, min(100.0, high + 10))
    return low, high


def _open(title: str, desc: str, height: int, css: str) -> tuple[str, str]:
    uid = f"chart{next(_ids)}"
    head = (f'<svg class="chart {css}" role="img" width="100%" height="{height}" '
            f'aria-labelledby="{uid}-t {uid}-d" xmlns="http://www.w3.org/2000/svg">'
            f'<title id="{uid}-t">{escape(title)}</title><desc id="{uid}-d">{escape(desc)}</desc>')
    return uid, head


def _pct(value: float) -> str:
    return f"{value:.2f}%"


def interval_chart(rows: Sequence[dict], title: str, *, missing: str = "not estimated",
                   axis: tuple[float, float] | None = None, axis_word: str = "Axis") -> Markup:
    """One row per estimate: its label and ``estimate (low–high)`` on a line, below them
    the interval as a band on the axis and the estimate as a dot. ``rows``: dicts with
    label, estimate, ci_low, ci_high (None: ``missing`` is written instead)."""
    low, high = axis or index_range([r.get(k) for r in rows for k in ("estimate", "ci_low", "ci_high")])
    span = high - low
    row_height, top = 40, 4
    height = top + row_height * len(rows) + 22

    def x(value: float) -> str:
        return _pct(max(0.0, min(100.0, (value - low) / span * 100)))
    desc = "; ".join(f"{r['label']}: " + (interval_text(r.get("estimate"), r.get("ci_low"), r.get("ci_high"))
                                          if r.get("estimate") is not None else missing) for r in rows)
    _, out = _open(title, f"{desc}. {axis_word} {low:.0f}–{high:.0f}.", height, "intervals")
    for k, row in enumerate(rows):
        y = top + k * row_height
        estimate = row.get("estimate")
        shown = interval_text(estimate, row.get("ci_low"), row.get("ci_high")) if estimate is not None else missing
        out += (f'<text class="label" x="0" y="{y + 13}">{escape(row["label"])}</text>'
                f'<text class="value" x="100%" y="{y + 13}" text-anchor="end">{escape(shown)}</text>'
                f'<line class="track" x1="0" x2="100%" y1="{y + 27}" y2="{y + 27}"/>')
        if estimate is None:
            continue
        if row.get("ci_low") is not None and row.get("ci_high") is not None:
            left, right = x(row["ci_low"]), x(row["ci_high"])
            width = max(0.0, float(right[:-1]) - float(left[:-1]))
            out += f'<rect class="band" x="{left}" y="{y + 21}" width="{_pct(width)}" height="12" rx="3"/>'
        out += f'<circle class="dot" cx="{x(estimate)}" cy="{y + 27}" r="5"/>'
    out += _axis(low, high, top + row_height * len(rows) + 14)
    return Markup(out + "</svg>")


def _axis(low: float, high: float, y: int) -> str:
    step = 10 if high - low <= 50 else 20
    ticks = [low + step * k for k in range(int((high - low) // step) + 1)]
    out = ""
    for tick in ticks:
        share = (tick - low) / (high - low) * 100
        anchor = "start" if share < 1 else "end" if share > 99 else "middle"
        out += f'<text class="tick" x="{_pct(share)}" y="{y}" text-anchor="{anchor}">{tick:.0f}</text>'
    return out


def trend_chart(points: Sequence[dict], title: str, *, missing: str = "not computed", axis_word: str = "Axis") -> Markup:
    """The index per wave, oldest first: a dot with its interval as a vertical band, the
    value written above it, consecutive computed waves joined. ``points``: dicts with
    label (the wave), estimate, ci_low, ci_high (estimate None: not computed)."""
    low, high = index_range([p.get(k) for p in points for k in ("estimate", "ci_low", "ci_high")])
    top, bottom, height = 30, 170, 226
    n = len(points)

    def x(k: int) -> float:
        # 12-88 %: a wave's name centred on the first or last point stays inside a 360-px phone.
        return 50.0 if n == 1 else 12 + 76 * k / (n - 1)

    def y(value: float) -> float:
        return bottom - (value - low) / (high - low) * (bottom - top)
    desc = "; ".join(f"{p['label']}: " + (interval_text(p.get("estimate"), p.get("ci_low"), p.get("ci_high"))
                                          if p.get("estimate") is not None else missing) for p in points)
    _, out = _open(title, f"{desc}. {axis_word} {low:.0f}–{high:.0f}.", height, "trend")
    step = 10 if high - low <= 50 else 20
    tick = low
    while tick <= high:
        out += (f'<line class="grid" x1="0" x2="100%" y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>'
                f'<text class="tick" x="0" y="{y(tick) - 3:.1f}">{tick:.0f}</text>')
        tick += step
    previous = None
    for k, point in enumerate(points):
        estimate = point.get("estimate")
        if estimate is not None and previous is not None:
            out += (f'<line class="link" x1="{_pct(x(previous[0]))}" y1="{y(previous[1]):.1f}" '
                    f'x2="{_pct(x(k))}" y2="{y(estimate):.1f}"/>')
        previous = (k, estimate) if estimate is not None else None
    for k, point in enumerate(points):
        estimate = point.get("estimate")
        out += (f'<text class="label" x="{_pct(x(k))}" y="{bottom + 24}" text-anchor="middle">'
                f'{escape(point["label"])}</text>')
        if estimate is None:  # under the wave's name, clear of the axis' numbers
            out += (f'<text class="missing" x="{_pct(x(k))}" y="{bottom + 42}" text-anchor="middle">'
                    f'{escape(missing)}</text>')
            continue
        upper = estimate
        if point.get("ci_low") is not None and point.get("ci_high") is not None:
            upper = point["ci_high"]
            out += (f'<rect class="band" x="{_pct(x(k))}" transform="translate(-6 0)" y="{y(point["ci_high"]):.1f}" '
                    f'width="12" height="{max(1.0, y(point["ci_low"]) - y(point["ci_high"])):.1f}" rx="3"/>')
        out += (f'<circle class="dot{"" if point.get("current", True) else " stale"}" cx="{_pct(x(k))}" '
                f'cy="{y(estimate):.1f}" r="5"/>'
                f'<text class="value" x="{_pct(x(k))}" y="{y(upper) - 6:.1f}" text-anchor="middle">'
                f'{_num(estimate)}</text>')
    return Markup(out + "</svg>")


def bar_chart(rows: Sequence[tuple[str, float, str]], title: str, *, label_share: float = 24.0,
              value_share: float = 30.0, maximum: float | None = None) -> Markup:
    """Horizontal bars: ``(label, value, text)`` each, the label on the left, the bar in
    the middle (proportional to ``value`` over ``maximum``, default the largest value),
    ``text`` on the right. Shares are percentages of the width for the label and value columns."""
    top, row_height = 2, 24
    height = top + row_height * len(rows) + 2
    largest = maximum if maximum is not None else max([v for _, v, _ in rows] + [0])
    room = 100 - label_share - value_share
    desc = "; ".join(f"{label}: {text}" for label, _, text in rows)
    _, out = _open(title, desc + ".", height, "bars")
    for k, (label, value, text) in enumerate(rows):
        y = top + k * row_height
        width = room * value / largest if largest else 0.0
        out += (f'<text class="label" x="0" y="{y + 16}">{escape(label)}</text>'
                f'<rect class="track" x="{_pct(label_share)}" y="{y + 5}" width="{_pct(room)}" height="14" rx="2"/>'
                f'<rect class="bar" x="{_pct(label_share)}" y="{y + 5}" width="{_pct(width)}" height="14" rx="2"/>'
                f'<text class="value" x="100%" y="{y + 16}" text-anchor="end">{escape(text)}</text>')
    return Markup(out + "</svg>")
