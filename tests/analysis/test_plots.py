import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from analysis import fit  # noqa: E402


@pytest.fixture(scope="module")
def results(ecsi_mobi_model, mobi):
    return fit(ecsi_mobi_model, mobi, n_boot=200, workers=1, progress=False)


@pytest.mark.parametrize("method", ["plot_paths", "plot_loadings", "plot_index"])
def test_figures_render_to_png(results, method, tmp_path):
    figure = getattr(results, method)()
    path = tmp_path / f"{method}.png"
    figure.savefig(path, dpi=60)
    assert path.stat().st_size > 5000
    plt.close(figure)


def test_drawing_on_given_axes_returns_that_figure(results):
    figure, (a, b) = plt.subplots(1, 2)
    assert results.plot_index(ax=a) is figure
    assert results.plot_loadings(ax=b) is figure
    labels = [t.get_text() for t in a.get_yticklabels()]
    assert labels == list(results.index_table["construct"])  # first construct drawn at the top
    plt.close(figure)


def test_path_diagram_labels_every_path_with_its_coefficient(results):
    figure = results.plot_paths()
    texts = [t.get_text() for t in figure.axes[0].texts]
    for value in results.path_coefficients["estimate"]:
        assert any(t.startswith(f"{value:.2f}") for t in texts), value
    assert sum("R² =" in t for t in texts) == len(results.r_squared)
    plt.close(figure)


# ---- Chinese on a machine without a CJK font ------------------------------------------
# The first child process builds matplotlib's font cache and then rewrites it to list only
# matplotlib's own fonts: the cache a machine has when it was built before any CJK font was
# installed (a stale cache), or on a machine that has none. The second child draws with it.
STALE_CACHE = r'''
import os, matplotlib
from matplotlib import font_manager as fm
own = os.path.join(matplotlib.get_data_path(), "fonts")
fm.fontManager.ttflist = [f for f in fm.fontManager.ttflist if f.fname.startswith(own)]
fm.fontManager.afmlist = [f for f in fm.fontManager.afmlist if f.fname.startswith(own)]
fm.json_dump(fm.fontManager, os.path.join(matplotlib.get_cachedir(), f"fontlist-v{fm.FontManager.__version__}.json"))
'''
DRAW = r'''
import io, json, sys, warnings
import numpy as np
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib import font_manager

def draw(text, fmt="png"):
    figure = plt.figure(figsize=(1.2, 0.6), dpi=100)
    figure.text(0.5, 0.5, text, ha="center", va="center", fontsize=20)
    buffer = io.BytesIO()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with plt.rc_context({"svg.fonttype": "none"}):
            figure.savefig(buffer, format=fmt)
    plt.close(figure)
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    data = buffer.getvalue()
    if fmt == "png":
        data = (plt.imread(io.BytesIO(data))[..., :3] * 255).astype(int).tolist()
    elif fmt == "svg":
        data = data.decode()
    else:
        data = data.decode("latin-1")
    return data, missing

out = {"fonts": sorted({f.name for f in font_manager.fontManager.ttflist})}
out["before_a"], out["before_missing"] = draw("满")
out["before_b"], _ = draw("意")
from analysis.plots import use_cjk_fonts
use_cjk_fonts()
out["after_a"], out["after_missing"] = draw("满")
out["after_b"], _ = draw("意")
out["pdf"], out["pdf_missing"] = draw("顾客满意度指数", "pdf")
out["svg"], out["svg_missing"] = draw("顾客满意度指数", "svg")
# A report figure in Chinese, written the ways a report or `csi fit --plot` writes it.
import pandas as pd
from analysis.loyalty import SatisfactionLoyalty
from analysis.report_plots import loyalty_chart
curve = pd.DataFrame({"level": [1, 2, 3], "label": ["不满意", "一般", "满意"], "n": [10, 20, 30], "share": [.2, .3, .5],
                      "loyal": [1, 5, 20], "loyal_share": [.1, .25, .67], "ci_low": [.02, .1, .5], "ci_high": [.4, .47, .8]})
out["chart_missing"] = []
for fmt in ("png", "pdf", "svg"):
    figure = loyalty_chart(SatisfactionLoyalty("sat", "loy", 3, curve, .5, .67, .25), ("忠诚顾客比例", "受访者比例", "各满意度水平的忠诚度"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figure.savefig(io.BytesIO(), format=fmt)
    out["chart_missing"] += [str(w.message) for w in caught if "missing from font" in str(w.message)]
json.dump(out, sys.stdout)
'''


@pytest.fixture(scope="module")
def fontless(tmp_path_factory):
    """What a child process draws with a font cache that knows no CJK font."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    home = tmp_path_factory.mktemp("fontless")
    fontconfig = home / "fonts.conf"  # a fontconfig that lists no font directory at all
    fontconfig.write_text('<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig></fontconfig>')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MPL", "FONTCONFIG", "XDG_"))}
    env.update(MPLCONFIGDIR=str(home / "mpl"), FONTCONFIG_FILE=str(fontconfig), HOME=str(home),
               XDG_DATA_HOME=str(home / "data"), XDG_CACHE_HOME=str(home / "cache"),
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    for script in (STALE_CACHE, DRAW):
        done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=240)
        assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_the_child_sees_no_cjk_font(fontless):
    # The premise: without the shipped font, Chinese comes out as boxes with warnings.
    assert not any("CJK" in name or name.endswith(" SC") for name in fontless["fonts"]), fontless["fonts"]
    assert fontless["before_missing"]
    assert fontless["before_a"] == fontless["before_b"]  # two different characters, the same tofu box


def test_shipped_font_renders_chinese_without_missing_glyphs(fontless):
    import numpy as np

    assert not fontless["after_missing"], fontless["after_missing"][:3]
    after_a, after_b = np.array(fontless["after_a"]), np.array(fontless["after_b"])
    assert (after_a < 128).any(), "nothing drawn"
    assert not np.array_equal(after_a, after_b)  # real glyphs: each character its own shape
    assert not np.array_equal(after_a, np.array(fontless["before_a"]))  # and not the tofu box


def test_a_chinese_report_figure_has_every_glyph(fontless):
    assert not fontless["chart_missing"], fontless["chart_missing"][:3]


def test_pdf_embeds_the_shipped_font_and_svg_keeps_text(fontless):
    assert not fontless["pdf_missing"] and not fontless["svg_missing"]
    assert "NotoSansSC" in fontless["pdf"]
    assert "顾客满意度指数</text>" in fontless["svg"] and "Noto Sans SC" in fontless["svg"]


# ---- report figures: legible labels, honest axes ----------------------------------------
def _tick_boxes(figure, axis="x"):
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    ax = figure.axes[0]
    labels = ax.get_xticklabels() if axis == "x" else ax.get_yticklabels()
    return [label.get_window_extent(renderer) for label in labels if label.get_text()]


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_seven_point_loyalty_labels_do_not_overlap(language):
    """The 7-point scale's labels (the longest English ones wrap) each keep their own space."""
    import pandas as pd

    from analysis.loyalty import SatisfactionLoyalty
    from analysis.report_plots import loyalty_chart
    labels = {"en": ["Completely dissatisfied", "Very dissatisfied", "Somewhat dissatisfied",
                     "Neither satisfied nor dissatisfied", "Somewhat satisfied", "Very satisfied", "Completely satisfied"],
              "zh-CN": ["非常不满意", "不满意", "有点不满意", "一般", "有点满意", "满意", "非常满意"]}[language]
    curve = pd.DataFrame({"level": range(1, 8), "label": labels, "n": [5, 10, 20, 40, 60, 50, 15],
                          "share": [.025, .05, .1, .2, .3, .25, .075], "loyal": [0, 1, 3, 10, 25, 30, 12],
                          "loyal_share": [0, .1, .15, .25, .42, .6, .8], "ci_low": [0, .02, .05, .14, .3, .46, .55],
                          "ci_high": [.43, .4, .36, .4, .54, .72, .93]})
    figure = loyalty_chart(SatisfactionLoyalty("sat", "loy", 6, curve, .075, .8, .6))
    boxes = _tick_boxes(figure)
    assert len(boxes) == 7
    for left, right in zip(boxes, boxes[1:]):
        assert left.x1 < right.x0, "tick labels overlap"
    plt.close(figure)


def test_index_axes_span_at_least_twenty_points():
    """Differences inside the intervals are not magnified: 0-100 axes show at least 20 points."""
    from analysis.report_plots import MIN_SPAN, index_range
    for values in ([71.0, 73.5], [0.5, 2.0], [98.0, 99.5], [40.0, 90.0]):
        low, high = index_range(values)
        assert high - low >= MIN_SPAN and 0 <= low <= min(values) and max(values) <= high <= 100
    assert index_range([40.0, 90.0]) == (38.0, 92.0)  # a wide spread keeps its own range


def test_ipma_labels_of_close_drivers_do_not_overlap():
    """Two drivers almost on one spot (the demo's perceived quality and value) keep legible labels."""
    import pandas as pd

    from analysis.report_plots import ipma_chart
    table = pd.DataFrame({"construct": ["brand_image", "expected_quality", "perceived_quality", "perceived_value"],
                          "importance": [0.612, 0.430, 0.292, 0.278], "performance": [72.7, 73.2, 72.5, 72.8],
                          "quadrant": ["Concentrate here", "Keep up the good work", "Low priority", "Low priority"]})
    # ipma()'s 95% intervals of importance and performance, drawn as error bars
    table["ci_low"], table["ci_high"] = table["importance"] - 0.05, table["importance"] + 0.05
    table["performance_low"], table["performance_high"] = table["performance"] - 0.8, table["performance"] + 0.8
    figure = ipma_chart(table, "satisfaction")
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    ax = figure.axes[0]
    boxes = [t.get_window_extent(renderer) for t in ax.texts if t.get_text() in set(table["construct"])]
    assert len(boxes) == 4
    assert not any(a.overlaps(b) for k, a in enumerate(boxes) for b in boxes[k + 1:])
    import numpy as np

    # Nor does a label sit on an error bar or a marker: every drawn bar, sampled at each
    # pixel along its length in display coordinates, stays out of every label.
    from matplotlib.container import ErrorbarContainer
    segments = [segment for container in ax.containers if isinstance(container, ErrorbarContainer)
                for lines in container.lines[2] for segment in lines.get_segments()]
    assert len(segments) == 8
    for segment in segments:
        (x0, y0), (x1, y1) = ax.transData.transform(segment)
        steps = int(max(abs(x1 - x0), abs(y1 - y0))) + 2
        for x, y in zip(np.linspace(x0, x1, steps), np.linspace(y0, y1, steps)):
            assert not any(box.x0 < x < box.x1 and box.y0 < y < box.y1 for box in boxes), (segment, x, y)
    for x, y in ax.transData.transform(table[["importance", "performance"]].to_numpy()):
        assert not any(box.x0 - 5 < x < box.x1 + 5 and box.y0 - 5 < y < box.y1 + 5 for box in boxes)
    frame = ax.get_window_extent(renderer)
    assert all(frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1 for box in boxes)
    plt.close(figure)


# ---- The path diagram: routes and labels clear of boxes ----------------------------------
def _diagram_geometry(figure):
    """In display coordinates: {construct: box}, [(source, target, arrow points)],
    [(source, target, label box)], found by the artists' labels ("_path:a->b", ...).
    Each arrow, curves flattened, is sampled every pixel."""
    import numpy as np

    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    ax = figure.axes[0]
    boxes = {t.get_label().split(":", 1)[1]: t.get_bbox_patch().get_window_extent(renderer)
             for t in ax.texts if t.get_label().startswith("_construct:")}
    labels = [(*t.get_label().split(":", 1)[1].split("->"), t.get_bbox_patch().get_window_extent(renderer))
              for t in ax.texts if t.get_label().startswith("_coefficient:")]
    arrows = []
    for patch in ax.patches:
        if not patch.get_label().startswith("_path:"):
            continue
        path = patch.get_transform().transform_path(patch.get_path())
        points = []
        for polygon in path.to_polygons(closed_only=False):
            for (x0, y0), (x1, y1) in zip(polygon[:-1], polygon[1:]):
                steps = int(max(abs(x1 - x0), abs(y1 - y0))) + 2
                points.append(np.column_stack([np.linspace(x0, x1, steps), np.linspace(y0, y1, steps)]))
        arrows.append((*patch.get_label().split(":", 1)[1].split("->"), np.concatenate(points)))
    return boxes, arrows, labels


def _assert_readable_diagram(figure, results):
    import numpy as np

    boxes, arrows, labels = _diagram_geometry(figure)
    paths = {(row[0], row[1]) for row in results.path_coefficients.itertuples(index=False)}
    assert set(boxes) == set(results.structure.constructs)
    assert {(s, t) for s, t, _ in arrows} == paths and len(arrows) == len(paths)
    assert {(s, t) for s, t, _ in labels} == paths and len(labels) == len(paths)
    tips = {}
    for source, target, points in arrows:
        for construct, box in boxes.items():
            if construct in (source, target):
                continue
            inside = (points[:, 0] > box.x0) & (points[:, 0] < box.x1) & (points[:, 1] > box.y0) & (points[:, 1] < box.y1)
            assert not inside.any(), f"{source} -> {target} runs through the box of {construct}"
        box = boxes[target]
        gap = np.hypot(np.maximum(0, np.maximum(box.x0 - points[:, 0], points[:, 0] - box.x1)),
                       np.maximum(0, np.maximum(box.y0 - points[:, 1], points[:, 1] - box.y1)))
        assert gap.min() < 8, f"{source} -> {target} stops short of its target's box"  # a stroked tip: lw/2/sin
        tips.setdefault(target, []).append((source, points[int(np.argmin(gap))]))
    for target, ends in tips.items():  # arrowheads of different sources arrive at distinct points
        for k, (source, tip) in enumerate(ends):
            for other, other_tip in ends[k + 1:]:
                assert np.hypot(*(tip - other_tip)) > 15, f"{source} and {other} arrive at one point of {target}"
    for k, (source, target, label) in enumerate(labels):
        for construct, box in boxes.items():
            assert not label.overlaps(box), f"the label of {source} -> {target} covers the box of {construct}"
        for other_source, other_target, other in labels[k + 1:]:
            assert not label.overlaps(other), f"labels of {source} -> {target} and {other_source} -> {other_target} overlap"


@pytest.fixture(scope="module")
def shipped_fits():
    import questionnaires
    from analysis.simulate import simulate_responses
    from models import load_questionnaire

    out = {}
    for name in ("acsi_retail", "ccsi_mobile"):
        q = load_questionnaire(questionnaires.path(name))
        out[name] = q, fit(q.csi_model(), simulate_responses(q, 300, seed=5), questionnaire=q, n_boot=30, workers=1,
                           progress=False, seed=1)
    return out


@pytest.mark.parametrize("language", ["en", "zh-CN"])
@pytest.mark.parametrize("questionnaire", ["acsi_retail", "ccsi_mobile"])
def test_path_diagram_arrows_avoid_other_boxes_and_labels_stay_readable(shipped_fits, questionnaire, language):
    """The defect: expectations -> satisfaction ran behind the perceived value box, its label hidden."""
    from analysis.plots import path_diagram
    from analysis.report import _box_label, _names

    q, results = shipped_fits[questionnaire]
    figure = path_diagram(results, name=_box_label(_names(q, language).construct, language))
    _assert_readable_diagram(figure, results)
    plt.close(figure)


def test_path_diagram_of_a_model_in_lavaan_syntax_is_readable(results):
    figure = results.plot_paths()  # what `csi fit --model M --plot P` draws
    _assert_readable_diagram(figure, results)
    plt.close(figure)


@pytest.mark.parametrize("quadrants, keyed", [
    (["Concentrate here", "Keep up the good work"], True), (["About average", "Low priority"], False)])
def test_ipma_key_to_red_diamonds_only_where_one_is_drawn(quadrants, keyed):
    import pandas as pd

    from analysis.report_plots import ipma_chart
    table = pd.DataFrame({"construct": ["a", "b"], "importance": [0.6, 0.3], "performance": [70.0, 75.0],
                          "quadrant": quadrants, "ci_low": [0.5, 0.2], "ci_high": [0.7, 0.4],
                          "performance_low": [69.0, 74.0], "performance_high": [71.0, 76.0]})
    key = "red diamonds: concentrate here"
    figure = ipma_chart(table, "satisfaction", labels=("x", "y", "IPMA", key))
    assert (key in [t.get_text() for t in figure.axes[0].texts]) is keyed
    plt.close(figure)

