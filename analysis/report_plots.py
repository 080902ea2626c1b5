"""Figures of the quarterly report (matplotlib; Okabe-Ito colours; CJK-capable fonts)."""
from __future__ import annotations

import numpy as np

from .plots import OKABE_ITO, _axes


def trend_chart(trend, constructs, name=lambda c: c, title="CSI index per wave"):
    """Index per wave (x) for each construct, with 95% intervals as error bars."""
    figure, ax = _axes(None, (8, 4.4))
    waves = list(trend.waves)
    x = np.arange(len(waves))
    table = trend.index_table
    offsets = np.linspace(-0.12, 0.12, max(1, len(constructs)))
    markers = "osD^vP*X"
    for k, construct in enumerate(constructs):
        rows = table[table["construct"] == construct].set_index("wave").reindex(waves)
        est = rows["estimate"].to_numpy(dtype=float)
        low, high = rows["ci_low"].to_numpy(dtype=float), rows["ci_high"].to_numpy(dtype=float)
        ax.errorbar(x + offsets[k], est, yerr=np.clip([est - low, high - est], 0, None), color=OKABE_ITO[k % len(OKABE_ITO)],
                    marker=markers[k % len(markers)], capsize=3, lw=1.6, label=name(construct))
    ax.set_xticks(x, waves)
    ax.set_ylabel("0-100")
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=9, frameon=False)
    figure.tight_layout()
    return figure


def ipma_chart(table, target, name=lambda c: c, labels=("importance (total effect, 0-100 points)",
                                                       "performance (0-100 index)", "Importance-performance map")):
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
    for k, row in enumerate(shown.itertuples(index=False)):
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
        ax.annotate(name(row.construct), (row.importance, row.performance), textcoords="offset points",
                    xytext=(8, 6), fontsize=9)
    lo_i = np.nanmin(np.r_[shown["importance"], shown["ci_low"], mi])
    hi_i = np.nanmax(np.r_[shown["importance"], shown["ci_high"], mi])
    lo_p = np.nanmin(np.r_[shown["performance"], shown["performance_low"], mp])
    hi_p = np.nanmax(np.r_[shown["performance"], shown["performance_high"], mp])
    span_i, span_p = max(hi_i - lo_i, 0.05), max(hi_p - lo_p, 2)
    ax.set_xlim(lo_i - 0.15 * span_i, hi_i + 0.45 * span_i)
    ax.set_ylim(lo_p - 0.2 * span_p, hi_p + 0.2 * span_p)
    ax.text(0.99, 0.02, labels[3] if len(labels) > 3 else "", transform=ax.transAxes, ha="right", fontsize=8,
            color=OKABE_ITO[3])
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title(f"{labels[2]}: {name(target)}")
    figure.tight_layout()
    return figure


def loyalty_chart(result, labels=("share loyal", "share of respondents", "Loyalty by satisfaction level")):
    curve = result.curve
    figure, ax = _axes(None, (7, 4.2))
    x = np.arange(len(curve))
    ax.bar(x, curve["share"], color="#CCCCCC", width=0.6, label=labels[1])
    est = curve["loyal_share"].to_numpy(dtype=float)
    yerr = np.clip([est - curve["ci_low"].to_numpy(dtype=float), curve["ci_high"].to_numpy(dtype=float) - est], 0, None)
    ax.errorbar(x, est, yerr=yerr,
                color=OKABE_ITO[0], marker="o", lw=2, capsize=3, label=labels[0])
    ax.set_xticks(x, [f"{lv}\n{lab}" if str(lab) != str(lv) else str(lv) for lv, lab in zip(curve["level"], curve["label"])],
                  fontsize=8)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.legend(loc="upper left", fontsize=9, frameon=False)
    ax.set_title(labels[2])
    figure.tight_layout()
    return figure


def segment_chart(analysis, construct, name=lambda c: c, title="Index by segment"):
    """Dots with 95% intervals per segment (orange: below the minimum sample size), on a
    range fitted to the data so real differences are visible; the axis says where it starts."""
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
    ax.set_yticks(y, [f"{s} (n={n})" for s, n in zip(rows["segment"], rows["n"])])
    finite = np.concatenate([low[np.isfinite(low)], high[np.isfinite(high)]])
    if finite.size:
        ax.set_xlim(max(0, finite.min() - 3), min(100, finite.max() + 4))
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.grid(axis="x", alpha=0.3)
    ax.set_xlabel("0-100")
    ax.set_title(f"{title}: {name(construct)}")
    figure.tight_layout()
    return figure


def png(figure, dpi: int = 110) -> bytes:
    import io
    import matplotlib.pyplot as plt
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()
