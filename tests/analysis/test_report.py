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
                bulk_insert_responses(engine, survey, wave, simulate_responses(q, 250, seed=seed, shift=shift))
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
    assert html.count("data:image/png;base64,") >= 5
    assert not re.search(r"\bnan\b", re.sub(r"<img[^>]+>", "", html).lower())
    for section in ("Measurement quality", "Drivers and priorities", "Segments", "Satisfaction and loyalty",
                    "Customer delivered value", "Sample and missing data", "Method notes", "Net Promoter Score"):
        assert section in html, section
    assert "permutation test" in html and "MICOM" in html
    # "significant" rests on Holm-adjusted p, shown beside the raw p, and the method says so.
    assert f"Holm p = {year['p_adjusted']:.3f}" in html and "Holm-adjusted p (Holm 1979)" in html


def test_chinese_report_and_legible_figures(engine):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = build_report(engine, "ccsi-mobile", "2026Q4", language="zh-CN", n_boot=100, n_perm=100)
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message) or "Glyph" in str(w.message)]
    from matplotlib import font_manager
    cjk = any("CJK" in f.name for f in font_manager.fontManager.ttflist)
    if cjk:
        assert not missing, missing[:3]
    elif os.environ.get("CSI_REQUIRE_BROWSER"):
        pytest.fail("no CJK font installed (.ci/run installs fonts-noto-cjk)")
    html = report.html()
    assert '<html lang="zh-CN">' in html
    for text in ("顾客满意度报告", "顾客满意度指数", "测量质量", "方法说明", "顾客忠诚"):
        assert text in html, text


def test_pdf_of_the_same_report(english, tmp_path):
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        if os.environ.get("CSI_REQUIRE_BROWSER"):
            pytest.fail("chromium is missing but CSI_REQUIRE_BROWSER is set")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    path = english.write_pdf(tmp_path / "report.pdf")
    data = path.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 50_000


@pytest.mark.parametrize("wave, compare, message", [("2030Q1", None, "no wave '2030Q1'.*its waves: 2025Q4, 2026Q3, 2026Q4"),
                                                    ("2026Q4", "1999Q1", "cannot compare with wave '1999Q1'")])
def test_unknown_waves_are_named(engine, wave, compare, message):
    with pytest.raises(ReportError, match=message):
        build_report(engine, "acsi-retail", wave, compare=compare, n_boot=0, n_perm=19)


def test_a_wave_with_too_few_responses_says_so(engine):
    with Session(engine) as session:
        from models.storage import find_wave
        survey = find_wave(session, "acsi-retail", "2026Q4").survey
        create_wave(session, survey, "2027Q1")
        session.commit()
    with pytest.raises(ReportError, match="wave '2027Q1' has 0 complete responses"):
        build_report(engine, "acsi-retail", "2027Q1", n_boot=0, n_perm=19)
