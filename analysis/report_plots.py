"""Figures of the quarterly report (matplotlib; Okabe-Ito colours; CJK fonts as in
:mod:`analysis.plots`), written as SVG with their text kept as text, so the reader's
browser sets it in its own fonts and the words stay searchable and selectable.

Axes of 0-100 indices span at least :data:`MIN_SPAN` points: a range fitted tightly to
the data makes a difference well inside the intervals look like a cliff.
"""
from __future__ import annotations

import io
import re
import textwrap

import numpy as np

from .plots import OKABE_ITO, _axes

MIN_SPAN = 20.0  # index points shown at least on a 0-100 axis


def index_range(values, min_span: float = MIN_SPAN, margin: float = 2.0) -> tuple[float, float]:
    """An axis range on the 0-100 scale holding ``values`` (estimates and interval ends),
    at least ``min_span`` wide, centred on the data, clipped to 0-100."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if not finite.size:
        return 0.0, 100.0
    low, high = finite.min() - margin, finite.max() + margin
    if high - low < min_span:
        middle = (low + high) / 2
        low, high = middle - min_span / 2, middle + min_span / 2
    if low < 0:
        low, high = 0.0, max(high - low, min_span)
    if high > 100:
        low, high = min(low - (high - 100), 100 - min_span), 100.0
    return max(0.0, low), min(100.0, high)


def trend_chart(trend, constructs, name=lambda c: c, title="CSI index per wave"):
    """Index per wave (x) for each construct, with 95% intervals as error bars."""
    figure, ax = _axes(None, (8, 4.4))
    waves = list(trend.waves)
    x = np.arange(len(waves))
    table = trend.index_table
    offsets = np.linspace(-0.12, 0.12, max(1, len(constructs)))
    markers = "osD^vP*X"
    shown = []
    for k, construct in enumerate(constructs):
        rows = table[table["construct"] == construct].set_index("wave").reindex(waves)
        est = rows["estimate"].to_numpy(dtype=float)
        low, high = rows["ci_low"].to_numpy(dtype=float), rows["ci_high"].to_numpy(dtype=float)
        shown += [est, low, high]
        ax.errorbar(x + offsets[k], est, yerr=np.clip([est - low, high - est], 0, None), color=OKABE_ITO[k % len(OKABE_ITO)],
                    marker=markers[k % len(markers)], capsize=3, lw=1.6, label=name(construct))
    ax.set_xticks(x, waves)
    ax.set_ylim(*index_range(np.concatenate(shown) if shown else []))
    ax.set_ylabel("0-100")
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=9, frameon=False)
    figure.tight_layout()
    return figure


def ipma_chart(table, target, name=lambda c: c,
               labels=("importance (total effect: index points per point of the driver)", "performance (0-100 index)",
                       "Importance-performance map"),
               title=None):
    """The IPMA of :func:`analysis.drivers.ipma` with each driver's 95% intervals as error
    bars; hollow markers are "about average" (an interval covers a line)."""
    figure, ax = _axes(None, (7, 5))
    shown = table.dropna(subset=["importance", "performance"])
    if shown.empty:
        ax.text(0.5, 0.5, "-", ha="center")
        return figure
    # The lines ipma() split at (mean importance of these drivers, mean performance of all drivers).
    mi = table.attrs.get("importance_line", shown["importance"].mean())
    mp = table.attrs.get("performance_line", shown["performance"].mean())
    ax.axvline(mi, color="#777777", ls="--", lw=0.8)
    ax.axhline(mp, color="#777777", ls="--", lw=0.8)
    # Importance from 0, so a driver twice as important sits twice as far out; both axes hold
    # the intervals drawn below.
    top = max(np.nanmax(np.r_[shown["importance"], shown["ci_high"]]), 0.05)
    ax.set_xlim(min(0.0, np.nanmin(np.r_[shown["importance"], shown["ci_low"]]) * 1.15), top * 1.25)
    ax.set_ylim(*index_range(np.r_[shown["performance"], shown["performance_low"], shown["performance_high"], mp]))
    for row in shown.itertuples(index=False):
        urgent = row.quadrant == "Concentrate here"
        colour = OKABE_ITO[3] if urgent else OKABE_ITO[0]
        # 95% bootstrap intervals of importance (x) and performance (y): a bar crossing a line
        # is why that driver is "about average" rather than in a quadrant.
        xerr = [[max(row.importance - row.ci_low, 0)], [max(row.ci_high - row.importance, 0)]] \
            if np.isfinite(row.ci_low) and np.isfinite(row.ci_high) else None
        yerr = [[max(row.performance - row.performance_low, 0)], [max(row.performance_high - row.performance, 0)]] \
            if np.isfinite(row.performance_low) and np.isfinite(row.performance_high) else None
        ax.errorbar(row.importance, row.performance, xerr=xerr, yerr=yerr, fmt="none", ecolor=colour, elinewidth=1.2,
                    capsize=3, alpha=0.8, zorder=2)
        ax.scatter(row.importance, row.performance, s=140, color=colour if row.quadrant != "About average" else "white",
                   marker="D" if urgent else "o", zorder=3, edgecolor=colour if row.quadrant == "About average" else "black",
                   lw=1.2 if row.quadrant == "About average" else 0.6)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title(title or f"{labels[2]}: {name(target)}")
    figure.tight_layout()  # the axes' final place, so the labels below are placed in it
    _place_labels(ax, shown, name)
    if len(labels) > 3 and (shown["quadrant"] == "Concentrate here").any():  # the key only where a red diamond is
        ax.text(0.99, 0.02, labels[3], transform=ax.transAxes, ha="right", fontsize=8, color=OKABE_ITO[3])
    return figure


LABEL_SPOTS = tuple((dx, dy, "left" if dx > 0 else "right")  # offset (points) from the marker, alignment
                    for distance in (1, 2) for dx, dy in ((8, 6), (-8, 6), (-8, -14), (8, -14), (8, 18), (-8, 18),
                                                          (8, -26), (-8, -26))
                    for dx, dy in [(dx * distance, dy + (distance - 1) * (6 if dy > 0 else -6))])


def _place_labels(ax, shown, name) -> None:
    """Name each IPMA driver beside its marker, in the first of :data:`LABEL_SPOTS` that
    covers no other label, marker or error bar and stays inside the axes; failing that,
    the spot that covers least (labels count double: two names on top of each other are
    unreadable, a name over a thin bar is not). Drivers of similar importance and
    performance sit close together, and their long bars cross each other's spots."""
    from matplotlib.transforms import Bbox

    figure = ax.figure
    renderer = figure.canvas.get_renderer()
    to_display = ax.transData.transform
    pixels = figure.dpi / 72  # display pixels per point
    # Half the marker (s=140 square points: 12 points across) and of an error bar with its caps.
    half_marker, half_bar = 6 * pixels, 3 * pixels

    def box(x0, y0, x1, y1, pad):
        (a, b), (c, d) = to_display((x0, y0)), to_display((x1, y1))
        return Bbox.from_extents(min(a, c) - pad, min(b, d) - pad, max(a, c) + pad, max(b, d) + pad)

    obstacles = []
    for row in shown.itertuples(index=False):
        obstacles.append(box(row.importance, row.performance, row.importance, row.performance, half_marker))
        if np.isfinite(row.ci_low) and np.isfinite(row.ci_high):
            obstacles.append(box(row.ci_low, row.performance, row.ci_high, row.performance, half_bar))
        if np.isfinite(row.performance_low) and np.isfinite(row.performance_high):
            obstacles.append(box(row.importance, row.performance_low, row.importance, row.performance_high, half_bar))
    frame = ax.get_window_extent(renderer)

    def covered(a, b) -> float:
        width = min(a.x1, b.x1) - max(a.x0, b.x0)
        height = min(a.y1, b.y1) - max(a.y0, b.y0)
        return width * height if width > 0 and height > 0 else 0.0

    placed = []
    for row in shown.sort_values("importance", ascending=False).itertuples(index=False):
        # The label is measured once, at the first spot; every other spot's box is that box
        # moved (laying text out again per spot cost half the figure's drawing time).
        first_dx, first_dy, _ = LABEL_SPOTS[0]
        label = ax.annotate(name(row.construct), (row.importance, row.performance), textcoords="offset points",
                            xytext=(first_dx, first_dy), ha="left", fontsize=9, zorder=4)
        measured = label.get_window_extent(renderer)
        best = None
        for dx, dy, ha in LABEL_SPOTS:
            shift_x = (dx - first_dx) * pixels - (measured.width if ha == "right" else 0.0)
            extent = measured.translated(shift_x, (dy - first_dy) * pixels)
            outside = extent.width * extent.height - covered(extent, frame)
            cost = (2 * sum(covered(extent, other) for other in placed)
                    + sum(covered(extent, other) for other in obstacles) + 4 * outside)
            if best is None or cost < best[0]:
                best = (cost, dx, dy, ha, extent)
            if cost == 0:
                break
        _, dx, dy, ha, extent = best
        label.set_position((dx, dy))
        label.set_horizontalalignment(ha)
        placed.append(extent)


def _wrap(label: str, width: int) -> str:
    """Break a tick label into lines of about ``width`` characters (Chinese: characters)."""
    if re.search(r"[\u3000-\u9fff]", label):
        return "\n".join(label[k:k + width // 2] for k in range(0, len(label), width // 2))
    return "\n".join(textwrap.wrap(label, width, break_long_words=False)) or label


def loyalty_chart(result, labels=("share loyal", "share of respondents", "Loyalty by satisfaction level")):
    """Loyal share (line, Wilson intervals) and share of respondents (bars) per satisfaction
    level; each level's label under its number, wrapped so neighbours never touch."""
    curve = result.curve
    levels = len(curve)
    figure, ax = _axes(None, (max(7.0, 1.05 * levels), 4.4))
    x = np.arange(levels)
    ax.bar(x, curve["share"], color="#CCCCCC", width=0.6, label=labels[1])
    est = curve["loyal_share"].to_numpy(dtype=float)
    yerr = np.clip([est - curve["ci_low"].to_numpy(dtype=float), curve["ci_high"].to_numpy(dtype=float) - est], 0, None)
    ax.errorbar(x, est, yerr=yerr, color=OKABE_ITO[0], marker="o", lw=2, capsize=3, label=labels[0])
    ticks = [f"{lv}\n{_wrap(str(lab), 11)}" if str(lab) != str(lv) else str(lv)
             for lv, lab in zip(curve["level"], curve["label"])]
    ax.set_xticks(x, ticks, fontsize=8, linespacing=1.15)
    ax.set_xlim(-0.6, levels - 0.4)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.legend(loc="upper left", fontsize=9, frameon=False)
    ax.set_title(labels[2])
    figure.tight_layout()
    return figure


def segment_chart(analysis, construct, name=lambda c: c, title=None, level=lambda s: s):
    """Dots with 95% intervals per segment (orange: below the minimum sample size), on a
    range of at least :data:`MIN_SPAN` points."""
    table = analysis.index_table
    rows = table[table["construct"] == construct].sort_values("estimate")
    figure, ax = _axes(None, (7, 0.5 * max(len(rows), 1) + 1.5))
    y = np.arange(len(rows))
    est = rows["estimate"].to_numpy(dtype=float)
    low, high = rows["ci_low"].to_numpy(dtype=float), rows["ci_high"].to_numpy(dtype=float)
    for k, small in enumerate(rows["small"]):
        colour = OKABE_ITO[1] if small else OKABE_ITO[0]
        ax.errorbar(est[k], y[k], xerr=np.clip([[est[k] - low[k]], [high[k] - est[k]]], 0, None), fmt="D" if small else "o",
                    color=colour, ms=8, capsize=4, lw=1.6)
        ax.text(high[k] + 0.3, y[k], f"{est[k]:.1f}", va="center", fontsize=9)
    ax.set_yticks(y, [f"{level(s)} (n={n})" for s, n in zip(rows["segment"], rows["n"])])
    ax.set_xlim(*index_range(np.concatenate([est, low, high]), margin=3.0))
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.grid(axis="x", alpha=0.3)
    ax.set_xlabel("0-100")
    ax.set_title(title or f"Index by segment: {name(construct)}")
    figure.tight_layout()
    return figure


def svg(figure, key: str = "figure", label: str = "") -> str:
    """The figure as an inline ``<svg>`` element: text as text (``svg.fonttype: none``),
    sized by its viewBox to the column's width, ids prefixed by ``key`` so several
    figures share one page, and ``label`` as its accessible name."""
    import matplotlib.pyplot as plt
    from markupsafe import escape

    buffer = io.StringIO()
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": key}):
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(figure)
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    width = re.search(r'<svg[^>]*?\swidth="([\d.]+)pt"', text)
    text = re.sub(r'(<svg[^>]*?)\swidth="[\d.]+pt" height="[\d.]+pt"',
                  rf'\1 class="figure" role="img" aria-label="{escape(label)}" '
                  rf'style="max-width:{float(width[1]) if width else 600:.0f}pt"', text, count=1)
    return text


def png(figure, dpi: int = 110) -> bytes:
    import matplotlib.pyplot as plt
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()
