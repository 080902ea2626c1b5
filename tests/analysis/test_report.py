"""The quarterly report on a database with simulated waves: the numbers it prints are
the estimators' numbers, the Chinese report is Chinese (and its figures have every
glyph), the PDF prints, and wrong requests get errors naming what exists."""
import os
import re
import shutil
import warnings

import pytest
from sqlalchemy.orm import Session

import questionnaires
from analysis import fit
from analysis.report import ReportError, build_report
from analysis.simulate import simulate_responses
from analysis.waves import wave_trend
from models import load_questionnaire
from models.storage import (bulk_insert_responses, create_wave, load_wave_frame, make_engine, register_questionnaire,
                            upgrade)

WAVES = (("2025Q4", 0.0), ("2026Q3", 0.0), ("2026Q4", 0.3))


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('report') / 'r.sqlite3'}")
    upgrade(engine)
    for name in ("acsi_retail", "ccsi_mobile"):
        q = load_questionnaire(questionnaires.path(name))
        with Session(engine) as session:
            survey = register_questionnaire(session, q)
            for seed, (wave_name, shift) in enumerate(WAVES):
                wave = create_wave(session, survey, wave_name)
                session.commit()
                # 10 responses per wave flagged for a call-back, 6 of them with a contact (the report's follow-up section).
                bulk_insert_responses(engine, survey, wave, simulate_responses(q, 250, seed=seed, shift=shift),
                                      follow_up=[k < 10 for k in range(250)],
                                      contacts=[{"phone": "+86 138 0000 0000", "consent": True} if k < 6 else None
                                                for k in range(250)])
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def english(engine):
    return build_report(engine, "acsi-retail", "2026Q4", n_boot=200, n_perm=200, seed=5)


def test_headline_and_changes_are_the_estimators_numbers(engine, english):
    q = load_questionnaire(questionnaires.path("acsi_retail"))
    html = english.html()
    direct = fit(q.csi_model(), load_wave_frame(engine, "acsi-retail", "2026Q4"), questionnaire=q)
    assert f'{direct.index["satisfaction"]:.1f}' in re.search(r'id="headline".*?</section>', html, re.S).group(0)
    frames = {w: load_wave_frame(engine, "acsi-retail", w) for w, _ in WAVES}
    trend = wave_trend(q.csi_model(), frames, questionnaire=q, n_boot=200, n_perm=200, seed=5)
    changes = trend.changes_for("2026Q4").set_index(["construct", "reference"])
    # The previous wave (2026Q3) and the same quarter a year earlier (2025Q4) are both compared.
    assert set(changes.index.get_level_values("reference")) == {"2026Q3", "2025Q4"}
    year = changes.loc[("satisfaction", "2025Q4")]
    assert f"{year['change']:+.1f}" in html and "change from a year earlier (2025Q4)" in html
    assert year["significant"]  # the simulated shift of 0.3 SD is large at n = 250
    # Figures inline as SVG with their words as text (the reader's browser sets them in its fonts).
    assert len(re.findall(r'<svg[^>]*class="figure"', html)) >= 5 and "data:image/png" not in html
    assert re.search(r"<text[^>]*>Satisfaction and loyalty|<text[^>]*>Loyalty by satisfaction level", html)
    assert not re.search(r"\bnan\b", re.sub(r"<svg.*?</svg>", "", html, flags=re.S).lower())
    for section in ("Measurement quality", "Drivers and priorities", "Segments", "Satisfaction and loyalty",
                    "Customer delivered value", "Sample and missing data", "Method notes", "Net Promoter Score"):
        assert section in html, section
    assert "permutation test" in html and "MICOM" in html
    for table in ("paths", "r-squared", "effects", "quality", "outer", "htmt"):
        assert f'<table id="{table}">' in html, table
    # "significant" rests on Holm-adjusted p, shown beside the raw p, and the method says so.
    assert f"Holm p = {year['p_adjusted']:.3f}" in html and "Holm-adjusted p (Holm 1979)" in html


@pytest.fixture(scope="module")
def chinese(engine):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = build_report(engine, "ccsi-mobile", "2026Q4", language="zh-CN", n_boot=100, n_perm=100)
    return report, [str(w.message) for w in caught]


def test_constructs_carry_the_questionnaires_own_names(english):
    """acsi_retail names ACSI's complaints construct "complaint handling" (model.names): the
    report writes that name, in the path diagram too, in both languages."""
    from analysis.report_text import construct_label
    q = load_questionnaire(questionnaires.path("acsi_retail"))
    assert construct_label("complaints", "en", q) == "complaint handling"
    assert construct_label("complaints", "zh-CN", q) == "投诉处理"
    assert construct_label("complaints", "zh-CN") == "顾客抱怨"  # a questionnaire with no name of its own
    assert construct_label("perceived_value", "en", q) == "perceived value"
    html = english.html()
    paths = re.search(r'<svg[^>]*aria-label="[^"]*path[^"]*".*?</svg>', html, re.S | re.I).group(0)
    # (English box labels put a word on a line)
    assert re.search(r">complaint<", paths) and re.search(r">handling", paths) and "complaints" not in paths
    assert "complaint handling" in re.sub(r"<svg.*?</svg>", "", html, flags=re.S)


def test_chinese_report_and_legible_figures(chinese):
    report, caught = chinese
    # The CJK font ships with the toolkit: no machine draws boxes, whatever fonts it has.
    assert not [m for m in caught if "missing from font" in m or "Glyph" in m], caught[:3]
    html = report.html()
    assert '<html lang="zh-CN">' in html
    for text in ("顾客满意度报告", "顾客满意度指数", "测量质量", "方法说明", "顾客忠诚", "路径系数", "载荷与权重"):
        assert text in html, text
    # The path diagram names constructs in Chinese, in text the browser sets.
    paths = re.search(r'<svg[^>]*aria-label="路径模型".*?</svg>', html, re.S).group(0)
    assert re.search(r"<text[^>]*>品牌形象", paths) and "brand" not in paths


CHROMIUM = "/usr/bin/chromium"


def _need_chromium():
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        if os.environ.get("CSI_REQUIRE_BROWSER"):
            pytest.fail("chromium is missing but CSI_REQUIRE_BROWSER is set")
        pytest.skip("chromium is not installed (apt-get install chromium)")


@pytest.mark.parametrize("which", ["english", "chinese"])
def test_pdf_is_a4_with_page_headers(english, chinese, which, tmp_path):
    """Every page A4, its header naming the survey, the wave and the page of how many."""
    _need_chromium()
    import pypdf

    report = english if which == "english" else chinese[0]
    path = report.write_pdf(tmp_path / "report.pdf")
    assert path.read_bytes().startswith(b"%PDF")
    pages = pypdf.PdfReader(path).pages
    assert len(pages) >= 4
    title = report.context["title"]
    for number, page in enumerate(pages, start=1):
        assert float(page.mediabox.width) == pytest.approx(595.3, abs=1.5)   # A4: 210 x 297 mm in points
        assert float(page.mediabox.height) == pytest.approx(841.9, abs=1.5)
        # The text layer as printed, no normalization: Chromium wrote 页 and 手 as the radicals
        # ⻚ and ⼿ (same glyph) until analysis.pdf_text repaired it.
        text = re.sub(r"\s+", " ", page.extract_text())
        assert not re.search("[\u2e80-\u2fdf]", text), re.findall("[\u2e80-\u2fdf]", text)
        header = (f"{re.escape(title)} · Wave 2026Q4 page {number} of {len(pages)}" if which == "english"
                  else f"{re.escape(title)} · 调查期 2026Q4 第 {number} 页[,，]共 {len(pages)} 页")
        assert re.search(header, text), text[:200]


@pytest.fixture(scope="module")
def browser():
    _need_chromium()
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium") or CHROMIUM,
                                             args=["--headless=new", "--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


# Cells whose text is laid out on more than one line (a number, an interval or a name broken).
# Headings may wrap between words; with word-break: keep-all a Chinese heading wraps only at
# its punctuation. A new line starts where a text box begins below the bottom of the boxes before it (a
# subscript overlaps its line, a wrapped word does not).
BROKEN_CELLS = """() => [...document.querySelectorAll("td.num, td.name")].filter(cell => !cell.querySelector("br"))
  .filter(cell => { const range = document.createRange(); range.selectNodeContents(cell);
    const boxes = [...range.getClientRects()].filter(r => r.width > 0).sort((a, b) => a.top - b.top);
    let lines = 0, bottom = -Infinity;
    for (const box of boxes) { if (box.top >= bottom - 1) lines += 1; bottom = Math.max(bottom, box.bottom); }
    return lines > 1; }).map(cell => cell.textContent.trim())"""


@pytest.mark.parametrize("which", ["english", "chinese"])
@pytest.mark.parametrize("layout", ["phone", "desktop", "print"])
def test_tables_never_break_a_number_or_word(browser, english, chinese, which, layout, tmp_path):
    """On a 360-px phone, a desktop and the A4 print column no number, interval or
    construct name is split across lines, and the page never scrolls sideways."""
    report = english if which == "english" else chinese[0]
    page_file = report.write_html(tmp_path / "report.html")
    width = {"phone": 360, "desktop": 1280, "print": 688}[layout]  # 688 px: A4 minus the page margins
    page = browser.new_page(viewport={"width": width, "height": 900})
    if layout == "print":
        page.emulate_media(media="print")
    page.goto(page_file.as_uri())
    assert page.evaluate(BROKEN_CELLS) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    folder = os.environ.get("CSI_SCREENSHOTS")
    if folder:
        page.screenshot(path=os.path.join(folder, f"report-{which}-{layout}.png"), full_page=True)
    page.close()


@pytest.mark.parametrize("wave, compare, message", [("2030Q1", None, "no wave '2030Q1'.*its waves: 2025Q4, 2026Q3, 2026Q4"),
                                                    ("2026Q4", "1999Q1", "cannot compare with wave '1999Q1'")])
def test_unknown_waves_are_named(engine, wave, compare, message):
    with pytest.raises(ReportError, match=message):
        build_report(engine, "acsi-retail", wave, compare=compare, n_boot=0, n_perm=19)


def test_a_wave_with_too_few_responses_says_so(engine):
    with Session(engine) as session:
        from models.storage import find_wave
        survey = find_wave(session, "acsi-retail", "2026Q4").questionnaire_version
        create_wave(session, survey, "2027Q1")
        session.commit()
    with pytest.raises(ReportError, match="wave '2027Q1' has 0 complete responses"):
        build_report(engine, "acsi-retail", "2027Q1", n_boot=0, n_perm=19)


def _visible_text(html: str) -> str:
    """What a reader sees: text nodes, the SVG figures' words included; no markup, styles or metadata."""
    import html as html_module
    html = re.sub(r"<(style|metadata|title)\b.*?</\1>", " ", html, flags=re.S)
    return html_module.unescape(re.sub(r"<[^>]+>", " ", html))


# Words that stay as they are in a Chinese report: method and statistic names, authors cited,
# units, and the wording of ids (questionnaire, items) that the report prints as codes.
ALLOWED_LATIN = {"PLS", "ACSI", "CSI", "MICOM", "HTMT", "VIF", "AVE", "NPS", "IPMA", "UTC", "Chin", "Dibbern",
                 "Henseler", "Ringle", "Sarstedt", "Hair", "et", "al", "Holm"}


@pytest.mark.parametrize("survey", ["ccsi-mobile", "acsi-retail"])
def test_chinese_report_has_no_english_left(engine, survey, chinese):
    report = chinese[0] if survey == "ccsi-mobile" else build_report(engine, survey, "2026Q4", language="zh-CN",
                                                                       n_boot=60, n_perm=60)
    q = load_questionnaire(questionnaires.path(survey.replace("-", "_")))
    ids = {part for name in [q.id, *(x.id for x in q.questions)] for part in re.split(r"[-_]", name)}
    text = _visible_text(report.html())
    words = set(re.findall(r"[A-Za-z]{2,}", text))
    assert not words - ALLOWED_LATIN - ids, sorted(words - ALLOWED_LATIN - ids)
    # Segment levels are option labels, not codes; verdicts and notes are Chinese too.
    if survey == "acsi-retail":
        assert "实体门店" in text and "网上商城" in text
        assert "部分不变" in text or "完全不变" in text or "不具组成不变性" in text


@pytest.mark.parametrize("survey", ["ccsi-mobile", "acsi-retail"])
def test_english_report_has_no_chinese(engine, english, survey):
    report = english if survey == "acsi-retail" else build_report(engine, survey, "2026Q4", language="en",
                                                                    n_boot=60, n_perm=60)
    text = _visible_text(report.html())
    assert not re.findall(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]", text)
    if survey == "acsi-retail":
        assert "In a store" in text and "Online" in text


def test_follow_up_section_in_both_languages(english, chinese, engine):
    import html as html_module

    section = re.search(r'<section id="follow-up">(.*?)</section>', english.html(), re.S)
    text = html_module.unescape(re.sub(r"<[^>]+>", " ", section.group(1)))
    assert "10 responses were flagged for a call-back; 6 of these customers left contact details" in text
    assert "6 are open, 0 being called and 0 closed" in text and "no case yet" in text
    chinese_report = build_report(engine, "acsi-retail", "2026Q4", language="zh-CN", n_boot=60, n_perm=60)
    assert "共有10份答卷被标记为需要回访；其中6位顾客同意并留下了联系方式" in chinese_report.html()


def test_tables_hold_the_fits_numbers(engine, english):
    """Every reviewer table row is the fit's own estimate, interval and bootstrap p-value."""
    import numpy as np

    from analysis.report_tables import bootstrap_p
    html = english.html()
    q = load_questionnaire(questionnaires.path("acsi_retail"))
    frames = {w: load_wave_frame(engine, "acsi-retail", w) for w, _ in WAVES}
    results = wave_trend(q.csi_model(), frames, questionnaire=q, n_boot=200, n_perm=200, seed=5).fits["2026Q4"]
    tables = english.context["tables"]
    paths = results.path_coefficients
    assert len(tables["paths"]) == len(paths)
    for row, (_, expected) in zip(tables["paths"], paths.iterrows()):
        assert (row["from"], row["to"]) == (expected["from"], expected["to"])
        assert row["estimate"] == pytest.approx(expected["estimate"], abs=1e-12)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((expected["ci_low"], expected["ci_high"]), abs=1e-12)
        column = results.bootstrap.samples[:, results.layout.labels.index(("path", row["from"], row["to"]))]
        by_hand = min(1, 2 * (1 + min((column <= 0).sum(), (column >= 0).sum())) / (1 + len(column)))
        assert row["p"] == pytest.approx(by_hand) == bootstrap_p(results, "path", row["from"], row["to"])
        assert f"[{expected['ci_low']:.3f}, {expected['ci_high']:.3f}]" in html
    quality = results.quality
    for row in tables["quality"]:
        for key in ("alpha", "rho_a", "rho_c", "ave"):
            assert row[key] == pytest.approx(quality.loc[row["construct"], key], abs=1e-12)
    htmt = results.htmt
    assert [(r["a"], r["b"]) for r in tables["htmt"]] == list(zip(htmt["construct_a"], htmt["construct_b"]))
    assert np.allclose([r["ci_high"] for r in tables["htmt"]], htmt["ci_high"])
    assert {r["construct"]: r["estimate"] for r in tables["r_squared"]} == pytest.approx(results.r_squared.to_dict())
    assert [r["total"] for r in tables["effects"]] == pytest.approx(list(results.effects["total"]))
    assert len(tables["outer"]) == len(results.loadings)


def test_p_value_of_a_path_with_no_effect_is_large():
    """The bootstrap p-value: a coefficient whose resamples straddle 0 evenly has p near 1."""
    import numpy as np

    from analysis.report_tables import bootstrap_p

    class Fit:  # the two attributes bootstrap_p reads, on a known distribution
        class layout:
            labels = (("path", "a", "b"),)

        class bootstrap:
            n_ok = 1001
            samples = np.linspace(-1, 1, 1001)[:, None]

    assert bootstrap_p(Fit, "path", "a", "b") == 1.0  # 2 * (1 + 501) / 1002, capped at 1
    Fit.bootstrap.samples = np.linspace(0.1, 1, 1001)[:, None]
    assert bootstrap_p(Fit, "path", "a", "b") == pytest.approx(2 / 1002)


@pytest.mark.parametrize("title", ['Q4 "best" \\ survey', "</style><script>alert(1)</script>", "满意度'调查\n第二行"])
def test_page_header_title_cannot_leave_its_css_string(title):
    """The survey title goes into the print style sheet's page header as a CSS string:
    quotes, backslashes, angle brackets and line breaks are escaped, so a hostile title
    can neither end the string nor the style element."""
    from analysis.report import _css_string
    literal = str(_css_string(title))
    inner = literal[1:-1]
    assert literal[0] == literal[-1] == '"'
    assert not set(inner) & set("\"'<>\n\r&")
    # Every backslash starts a hex escape, which CSS reads back as the title's own character.
    assert re.fullmatch(r"(?:[^\\]|\\[0-9A-F]+ )*", inner)
    assert re.sub(r"\\([0-9A-F]+) ", lambda m: chr(int(m[1], 16)), inner) == title
