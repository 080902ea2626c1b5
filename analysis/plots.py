"""Figures for PLS results (matplotlib). Each function takes ``ax=None``: with no axes
it makes and returns a new figure, otherwise it draws on ``ax`` and returns its figure.

Colours are the Okabe-Ito palette (distinguishable with the common colour-vision
deficiencies). Chinese text renders on any machine: the Noto Sans SC font ships as a
Python dependency (``pylopdf-fonts-zh-cn``, SIL Open Font License 1.1) and is added to
matplotlib by file (``font_manager.addfont``), so neither a system CJK font nor a fresh
matplotlib font cache is needed; a stale cache built before fonts were installed does
not matter either.
"""
from __future__ import annotations

import functools
import warnings

import numpy as np

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
# Tried in order for every glyph (matplotlib's per-glyph fallback); in SVG output the same
# list is the text's CSS font-family, so a browser uses whichever of them the reader has.
CJK_FONTS = ("Noto Sans SC", "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei",
             "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Noto Sans CJK JP")


def shipped_cjk_font() -> str | None:
    """Path of the CJK font installed with the toolkit (None if the package is missing)."""
    try:
        from pylopdf_fonts_zh_cn import sans_path
    except ImportError:
        return None
    path = sans_path()
    return str(path) if path.is_file() else None


@functools.cache
def _register_shipped_font() -> None:
    from matplotlib import font_manager

    path = shipped_cjk_font()
    if path is None:
        return
    try:
        font_manager.fontManager.addfont(path)
    except (OSError, RuntimeError) as exc:  # a damaged install: say so, draw with what exists
        warnings.warn(f"could not load the shipped CJK font {path}: {exc}", RuntimeWarning, stacklevel=3)


def use_cjk_fonts() -> tuple[str, ...]:
    """Register the shipped CJK font with matplotlib (once per process) and put the CJK
    families first in ``font.sans-serif``; returns that list."""
    import matplotlib

    _register_shipped_font()
    current = [f for f in matplotlib.rcParams["font.sans-serif"] if f not in CJK_FONTS]
    matplotlib.rcParams["font.sans-serif"] = list(CJK_FONTS) + current
    matplotlib.rcParams["font.family"] = ["sans-serif"]
    return tuple(matplotlib.rcParams["font.sans-serif"])


def _axes(ax, size):
    import matplotlib.pyplot as plt

    use_cjk_fonts()
    if ax is None:
        figure, ax = plt.subplots(figsize=size)
        return figure, ax
    return ax.figure, ax


def _depths(structure) -> list[int]:
    depth = [0] * len(structure.constructs)
    changed = True
    while changed:
        changed = False
        for j, preds in enumerate(structure.predecessors):
            for k in preds:
                if depth[j] < depth[k] + 1:
                    depth[j] = depth[k] + 1
                    changed = True
    return depth


def path_diagram(results, ax=None, name=None, title=None):
    """Constructs in columns by causal depth; arrows labelled with path coefficients
    (with * when the 95% bootstrap interval excludes 0); R² under each endogenous box.
    Paths that skip a column are drawn as arcs so they do not run through other boxes.
    ``name(construct)`` gives a box's label (default: the name, one word a line);
    ``title`` replaces the English title (a report in another language passes its own)."""
    name = name or (lambda construct: construct.replace("_", "\n"))
    s = results.structure
    depth = _depths(s)
    columns = max(depth) + 1
    width = 2.3 * columns + 1.5
    figure, ax = _axes(ax, (width, 5.6))
    # A wide diagram is shown shrunk to a page's width: its text grows with it to stay legible.
    scale = max(1.0, width / 10)
    positions = {}
    for d in range(columns):
        members = [j for j in range(len(s.constructs)) if depth[j] == d]
        if len(members) == 1:
            # A lone construct alternates above and below the centre line, so a chain
            # becomes a zig-zag and skip paths have room between the boxes.
            positions[members[0]] = (d * 2.4, 0.9 if d % 2 else -0.9)
        else:
            for rank, j in enumerate(members):
                positions[j] = (d * 2.4, (len(members) - 1) / 2 * 1.9 - rank * 1.9)
    xs = [p[0] for p in positions.values()]
    ys = [p[1] for p in positions.values()]
    ax.set_xlim(min(xs) - 1.3, max(xs) + 1.3)
    ax.set_ylim(min(ys) - 2.0, max(ys) + 1.6)
    ax.set_aspect("equal")
    paths = results.path_coefficients
    r2 = results.r_squared
    for row in paths.itertuples(index=False):
        j_from, j_to = s.constructs.index(row[0]), s.constructs.index(row[1])
        a, b = np.array(positions[j_from]), np.array(positions[j_to])
        skip = depth[j_to] - depth[j_from] > 1 or abs(a[1] - b[1]) < 1e-9 and abs(a[0] - b[0]) > 2.5
        # Positive rad bends a left-to-right arc downwards: bend away from the centre line.
        side = (a[1] + b[1]) / 2 or a[1]
        rad = (0.3 if side < 0 else -0.3) if skip else 0.0
        significant = hasattr(row, "ci_low") and (row.ci_low > 0 or row.ci_high < 0)
        colour = OKABE_ITO[0] if row.estimate >= 0 else OKABE_ITO[3]
        ax.annotate("", xy=tuple(b), xytext=tuple(a),
                    arrowprops=dict(arrowstyle="-|>", color=colour, lw=0.8 + 3 * abs(row.estimate), alpha=0.85,
                                    shrinkA=30 * scale, shrinkB=30 * scale, connectionstyle=f"arc3,rad={rad}"))
        delta = b - a
        # Midpoint of matplotlib's arc3 Bezier: the chord's midpoint moved by rad/2 along (dy, -dx).
        middle = (a + b) / 2 + rad / 2 * np.array([delta[1], -delta[0]])
        label = f"{row.estimate:.2f}{'*' if significant else ''}"
        ax.text(*middle, label, ha="center", va="center", fontsize=9 * scale,
                bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.9))
    for j, (x, y) in positions.items():
        construct = s.constructs[j]
        label = name(construct) + (f"\nR² = {r2[construct]:.2f}" if construct in r2.index else "")
        # Regular weight: the shipped CJK font has no bold face, and a faked one is a warning per label.
        ax.text(x, y, label, ha="center", va="center", fontsize=9.5 * scale, linespacing=1.3,
                bbox=dict(boxstyle="round,pad=0.5", fc="#E8F1F8", ec=OKABE_ITO[0], lw=1.2))
    ax.axis("off")
    if title is None:
        boot = results.bootstrap
        note = f"* 95% bootstrap interval excludes 0 ({boot.n_ok} resamples)" if boot is not None else "no bootstrap run"
        title = f"PLS path model ({results.scheme} scheme), n = {results.n_used}\n{note}"
    ax.set_title(title, fontsize=10 * scale)
    return figure


def loadings_chart(results, ax=None):
    """Horizontal bars of outer loadings by construct, with the 0.708 threshold."""
    frame = results.loadings
    figure, ax = _axes(ax, (7, 0.28 * len(frame) + 1.4))
    constructs = list(dict.fromkeys(frame["construct"]))
    colours = [OKABE_ITO[constructs.index(c) % len(OKABE_ITO)] for c in frame["construct"]]
    y = np.arange(len(frame))[::-1]
    ax.barh(y, frame["estimate"], color=colours, height=0.7)
    if "ci_low" in frame:
        ax.errorbar(frame["estimate"], y, xerr=[frame["estimate"] - frame["ci_low"], frame["ci_high"] - frame["estimate"]],
                    fmt="none", ecolor="#333333", lw=0.8, capsize=2)
    ax.set_yticks(y, [f"{c} · {i}" for c, i in zip(frame["construct"], frame["item"])], fontsize=8)
    ax.axvline(0.708, color="#555555", ls="--", lw=0.8)
    ax.text(0.708, y.max() + 0.9, " 0.708", fontsize=8, color="#555555", va="bottom")
    ax.set_xlim(min(0, frame["estimate"].min() - 0.05), 1.05)
    ax.set_xlabel("outer loading (correlation of item with its construct)")
    ax.set_title("Outer loadings")
    figure.tight_layout()
    return figure


def index_bars(results, ax=None):
    """0-100 index per construct with bootstrap intervals when available."""
    frame = results.index_table
    figure, ax = _axes(ax, (7, 0.45 * len(frame) + 1.4))
    y = np.arange(len(frame))[::-1]
    ax.barh(y, frame["estimate"], color=OKABE_ITO[0], height=0.6)
    if "ci_low" in frame:
        ax.errorbar(frame["estimate"], y, xerr=[frame["estimate"] - frame["ci_low"], frame["ci_high"] - frame["estimate"]],
                    fmt="none", ecolor="#000000", lw=1, capsize=3)
    for yy, value in zip(y, frame["estimate"]):
        ax.text(1.5, yy, f"{value:.1f}", va="center", color="white", fontsize=9)
    ax.set_yticks(y, frame["construct"])
    ax.set_xlim(0, 100)
    ax.set_xlabel("index (0 = scale minimum, 100 = scale maximum)")
    interval = f", {int(results.bootstrap.level * 100)}% bootstrap intervals" if results.bootstrap is not None else ""
    ax.set_title(f"CSI index (ACSI method){interval}")
    figure.tight_layout()
    return figure


def simple_slopes(results, term: str, target: str, ax=None):
    """Simple-slope plot of an interaction ``iv:moderator`` on ``target``: the fitted line of
    target on iv (both standardized, -2..+2 SD) with the moderator at -1 SD, its mean and
    +1 SD (see :meth:`analysis.results.PLSResults.simple_slopes`), slopes in the legend
    with bootstrap intervals when available."""
    frame = results.simple_slopes(term, target)
    iv, moderator = frame.attrs["iv"], frame.attrs["moderator"]
    figure, ax = _axes(ax, (6.4, 4.4))
    x = np.linspace(-2, 2, 2)
    styles = ("--", "-", ":")
    names = {-1.0: f"{moderator} −1 SD", 0.0: f"{moderator} mean", 1.0: f"{moderator} +1 SD"}
    for n, row in enumerate(frame.itertuples()):
        label = f"{names.get(row.moderator_sd, f'{moderator} {row.moderator_sd:+g} SD')}: slope {row.slope:.3f}"
        if "slope_low" in frame:
            label += f" [{row.slope_low:.3f}, {row.slope_high:.3f}]"
        ax.plot(x, row.intercept + row.slope * x, styles[n % 3], color=OKABE_ITO[n % len(OKABE_ITO)], lw=2,
                label=label)
    ax.axhline(0, color="#999999", lw=0.6)
    ax.axvline(0, color="#999999", lw=0.6)
    ax.set_xlabel(f"{iv} (standardized)")
    ax.set_ylabel(f"{target} (standardized)")
    ax.set_title(f"Simple slopes of {iv} on {target} by {moderator}")
    ax.legend(fontsize=8, loc="upper left", frameon=False)
    figure.tight_layout()
    return figure
