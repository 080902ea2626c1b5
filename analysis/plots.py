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


def _box_extents(ax, texts, pad_points):
    """Each text's rounded box as (x0, y0, x1, y1) in data coordinates (axes equal-aspect):
    its laid-out extent grown by the box's pad."""
    figure = ax.figure
    renderer = figure.canvas.get_renderer()
    ax.apply_aspect()
    to_data = ax.transData.inverted()
    out = []
    for text, pad in zip(texts, pad_points):
        extent = text.get_window_extent(renderer)
        grow = pad * figure.dpi / 72
        (x0, y0), (x1, y1) = to_data.transform([(extent.x0 - grow, extent.y0 - grow), (extent.x1 + grow, extent.y1 + grow)])
        out.append((x0, y0, x1, y1))
    return np.array(out)


def _inside(points, box, margin=0.0):
    """Which of ``points`` (..., 2) lie in ``box`` (x0, y0, x1, y1) grown by ``margin``."""
    x0, y0, x1, y1 = box
    x, y = points[..., 0], points[..., 1]
    return (x > x0 - margin) & (x < x1 + margin) & (y > y0 - margin) & (y < y1 + margin)


def _overlap(a, b, margin=0.0):
    """Whether boxes ``a`` and ``b`` (x0, y0, x1, y1) come within ``margin`` of each other."""
    return a[0] < b[2] + margin and b[0] < a[2] + margin and a[1] < b[3] + margin and b[1] < a[3] + margin


_T = np.linspace(0.0, 1.0, 61)
# The arcs tried for each arrow: quadratic Beziers whose control point sits ``rad`` x the
# chord's length off the chord's midpoint (matplotlib's arc3 convention) and ``shift`` x
# the chord along it (an arc bulging nearer one end); the simplest first.
_BENDS = np.array(sorted(((r, s) for r in (0.0, 0.12, -0.12, 0.25, -0.25, 0.38, -0.38, 0.5, -0.5, 0.65, -0.65, 0.8, -0.8)
                          for s in (0.0, 0.2, -0.2, 0.35, -0.35, 0.5, -0.5)), key=lambda bend: abs(bend[0]) + 0.5 * abs(bend[1])))


def _bezier(a, c, b, t):
    t = t[:, None]
    return (1 - t) ** 2 * a + 2 * (1 - t) * t * c + t ** 2 * b


def _crossing(outside, inside, box):
    """Where the segments from the points ``outside`` (N, 2) of ``box`` to ``inside`` it
    enter it (the larger of the two axes' entering fractions)."""
    x0, y0, x1, y1 = box
    step = inside - outside
    with np.errstate(divide="ignore", invalid="ignore"):
        fx = np.where(outside[:, 0] < x0, (x0 - outside[:, 0]) / step[:, 0],
                      np.where(outside[:, 0] > x1, (x1 - outside[:, 0]) / step[:, 0], 0.0))
        fy = np.where(outside[:, 1] < y0, (y0 - outside[:, 1]) / step[:, 1],
                      np.where(outside[:, 1] > y1, (y1 - outside[:, 1]) / step[:, 1], 0.0))
    fraction = np.clip(np.nan_to_num(np.maximum(fx, fy)), 0.0, 1.0)
    return outside + fraction[:, None] * step


def _route(a, b, source_box, target_box, others, placed, arrivals, departures, limits, unit):
    """The arc (control point, t leaving the source's box, t entering the target's, visible
    samples) for an arrow between the box centres ``a`` and ``b``: the simplest of
    ``_BENDS`` whose visible part crosses no other box, stays inside ``limits``, keeps away
    from arrows already placed and leaves and arrives at points of its boxes apart from
    the other arrows' ones. All candidates are scored at once (numpy), so routing costs
    about a millisecond an arrow."""
    delta = b - a
    normal = np.array([delta[1], -delta[0]])
    controls = (a + b) / 2 + _BENDS[:, :1] * normal + _BENDS[:, 1:] * delta          # (K, 2)
    t = _T[None, :, None]
    points = (1 - t) ** 2 * a + 2 * (1 - t) * t * controls[:, None, :] + t ** 2 * b  # (K, T, 2)
    n = len(_T)
    first = np.argmax(~_inside(points, source_box, 0.02 * unit), axis=1)
    last = n - 1 - np.argmax(~_inside(points, target_box, 0.02 * unit)[:, ::-1], axis=1)
    index = np.arange(n)[None, :]
    visible = (index >= first[:, None]) & (index <= last[:, None])                   # (K, T)
    cost = np.abs(_BENDS[:, 0]) + 0.5 * np.abs(_BENDS[:, 1]) + 1000.0 * (last <= first)
    for box in others:
        cost += 100 * (_inside(points, box, 0.12 * unit) & visible).sum(axis=1)
    x0, x1, y0, y1 = limits
    outside = (points[..., 0] < x0) | (points[..., 0] > x1) | (points[..., 1] < y0) | (points[..., 1] > y1)
    cost += 100 * (outside & visible).sum(axis=1)
    rows = np.arange(len(_BENDS))
    # Where each candidate crosses its boxes' borders, between the samples either side.
    heads = _crossing(points[rows, last], points[rows, np.minimum(last + 1, n - 1)], target_box)
    tails = _crossing(points[rows, first], points[rows, np.maximum(first - 1, 0)], source_box)
    for p in arrivals:
        cost += 60 * (np.hypot(*(heads - p).T) < 0.35 * unit)  # heads together read as one arrow
    for p in departures:
        cost += 5 * (np.hypot(*(tails - p).T) < 0.3 * unit)
    for curve in placed:  # keep off the middle of shorter arrows, where their coefficients go
        spot = curve[len(curve) // 2]
        cost += 30 * ((((points - spot) ** 2).sum(axis=2) < (0.4 * unit) ** 2) & visible).any(axis=1)
    if placed:
        # Running alongside placed arrows costs at most 31: only the cheapest few can still win.
        few = np.argsort(cost)[:8]
        near = np.concatenate([curve[::3] for curve in placed])                         # (M, 2)
        gaps = points[few, ::2, None, :] - near[None, None, :, :]                        # (8, T/2, M, 2)
        close = (gaps ** 2).sum(axis=3).min(axis=2) < (0.15 * unit) ** 2
        cost = cost[few] + (close & visible[few, ::2]).sum(axis=1)
        rows = few
    best = rows[int(np.argmin(cost))]
    cost = cost[int(np.argmin(cost))]
    return cost, controls[best], _T[first[best]], _T[last[best]], points[best][visible[best]]


def path_diagram(results, ax=None, name=None, title=None):
    """Constructs in columns by causal depth; arrows labelled with path coefficients
    (with * when the 95% bootstrap interval excludes 0); R² under each endogenous box.
    Each arrow is the simplest of a set of arcs that crosses no other construct's box and arrives at
    its own point of the target's box; each coefficient sits on its arrow where it covers
    no box and no other coefficient.
    ``name(construct)`` gives a box's label (default: the name, one word a line);
    ``title`` replaces the English title (a report in another language passes its own)."""
    from matplotlib.patches import FancyArrowPatch
    from matplotlib.path import Path

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
    limits = (min(xs) - 1.3, max(xs) + 1.3, min(ys) - 2.0, max(ys) + 1.6)
    ax.set_xlim(*limits[:2])
    ax.set_ylim(*limits[2:])
    # Arcs stay clear of the title above and the page's edges.
    limits = (limits[0] + 0.1, limits[1] - 0.1, limits[2] + 0.15, limits[3] - 0.45)
    ax.set_aspect("equal")
    r2 = results.r_squared
    order = sorted(positions)
    boxes_text = []
    for j in order:
        x, y = positions[j]
        construct = s.constructs[j]
        label = name(construct) + (f"\nR² = {r2[construct]:.2f}" if construct in r2.index else "")
        # Regular weight: the shipped CJK font has no bold face, and a faked one is a warning per label.
        # The artists' labels ("_": no legend, not written to SVG) say what they draw, for checks.
        boxes_text.append(ax.text(x, y, label, ha="center", va="center", fontsize=9.5 * scale, linespacing=1.3,
                                  bbox=dict(boxstyle="round,pad=0.5", fc="#E8F1F8", ec=OKABE_ITO[0], lw=1.2),
                                  zorder=3, label=f"_construct:{construct}"))
    extents = _box_extents(ax, boxes_text, [0.5 * 9.5 * scale] * len(boxes_text))
    box = dict(zip(order, extents))
    rows = list(results.path_coefficients.itertuples(index=False))
    ends = [(s.constructs.index(row[0]), s.constructs.index(row[1])) for row in rows]
    # Short arrows first: they get the straight routes, longer ones bend around them.
    sequence = sorted(range(len(rows)), key=lambda k: (abs(depth[ends[k][1]] - depth[ends[k][0]]),
                                                       np.hypot(*np.subtract(positions[ends[k][1]], positions[ends[k][0]]))))
    placed, arrivals, departures, routes = [], {}, {}, {}
    for k in sequence:
        j_from, j_to = ends[k]
        a, b = np.array(positions[j_from], float), np.array(positions[j_to], float)
        others = [box[j] for j in order if j not in (j_from, j_to)]
        cost, control, t0, t1, visible = _route(a, b, box[j_from], box[j_to], others, placed,
                                                arrivals.get(j_to, []), departures.get(j_from, []), limits, 1.0)
        t0 = _edge(a, control, b, box[j_from], t0 - _T[1], t0, leaving=True)
        t1 = _edge(a, control, b, box[j_to], t1, t1 + _T[1], leaving=False)
        routes[k] = (a, control, b, t0, t1)
        placed.append(visible)
        start, end = _bezier(a, control, b, np.array([t0, t1]))
        arrivals.setdefault(j_to, []).append(end)
        departures.setdefault(j_from, []).append(start)
    # Coefficients keep off boxes, other coefficients and arrowheads.
    taken = list(extents) + [(x - 0.15, y - 0.15, x + 0.15, y + 0.15) for tips in arrivals.values() for x, y in tips]
    label_texts = []
    for k in sequence:
        row = rows[k]
        a, control, b, t0, t1 = routes[k]
        significant = hasattr(row, "ci_low") and (row.ci_low > 0 or row.ci_high < 0)
        colour = OKABE_ITO[0] if row.estimate >= 0 else OKABE_ITO[3]
        # The visible stretch t0..t1 of the Bezier is itself a quadratic Bezier.
        start, end = _bezier(a, control, b, np.array([t0, t1]))
        middle = start + (t1 - t0) * ((1 - t0) * (control - a) + t0 * (b - control))
        path = Path([start, middle, end], [Path.MOVETO, Path.CURVE3, Path.CURVE3])
        # add_artist, not add_patch: the limits are set, and a patch's data limits cost time.
        ax.add_artist(FancyArrowPatch(path=path, arrowstyle="-|>", color=colour, lw=0.8 + 3 * abs(row.estimate),
                                     alpha=0.85, mutation_scale=10 * scale, zorder=2,
                                     label=f"_path:{row[0]}->{row[1]}"))
        label_texts.append((k, ax.text(0, 0, f"{row.estimate:.2f}{'*' if significant else ''}", ha="center",
                                       va="center", fontsize=9 * scale, zorder=4, label=f"_coefficient:{row[0]}->{row[1]}",
                                       bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.9))))
    # Digits are equally wide: labels of one shape ("0.00*", "-0.00") are measured once.
    shapes = {}
    for _, text in label_texts:
        shapes.setdefault("".join("0" if c.isdigit() else c for c in text.get_text()), text)
    measured = dict(zip(shapes, _box_extents(ax, list(shapes.values()), [0.15 * 9 * scale] * len(shapes))))
    sizes = [measured["".join("0" if c.isdigit() else c for c in text.get_text())] for _, text in label_texts]
    for (k, text), size in zip(label_texts, sizes):
        a, control, b, t0, t1 = routes[k]
        half = (size[2] - size[0]) / 2, (size[3] - size[1]) / 2
        best = None
        for f in (0.5, 0.42, 0.58, 0.34, 0.66, 0.26, 0.74, 0.18):
            centre = _bezier(a, control, b, np.array([t0 + f * (t1 - t0)]))[0]
            extent = (centre[0] - half[0], centre[1] - half[1], centre[0] + half[0], centre[1] + half[1])
            clashes = sum(_overlap(extent, other, 0.03) for other in taken)
            # Samples of the other arrows are up to 0.2 apart: the margin catches one passing between them.
            crossings = sum(int(_inside(curve, extent, 0.12).sum()) for n, curve in enumerate(placed) if sequence[n] != k)
            cost = 100 * clashes + crossings + abs(f - 0.5)
            if best is None or cost < best[0]:
                best = (cost, centre, extent)
            if cost < 1:
                break
        text.set_position(best[1])
        taken.append(best[2])
    ax.axis("off")
    if title is None:
        boot = results.bootstrap
        note = f"* 95% bootstrap interval excludes 0 ({boot.n_ok} resamples)" if boot is not None else "no bootstrap run"
        title = f"PLS path model ({results.scheme} scheme), n = {results.n_used}\n{note}"
    ax.set_title(title, fontsize=10 * scale)
    return figure


def _edge(a, control, b, box, low, high, leaving):
    """The parameter where the Bezier crosses ``box``'s border between ``low`` and ``high``
    (bisection), so an arrow starts and ends on its boxes' edges."""
    low, high = max(low, 0.0), min(high, 1.0)
    for _ in range(12):
        mid = (low + high) / 2
        inside = bool(_inside(_bezier(a, control, b, np.array([mid])), box)[0])
        if inside == leaving:
            low = mid
        else:
            high = mid
    return high if leaving else low


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
