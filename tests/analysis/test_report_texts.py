"""The report's section on what customers wrote: themes with shares, sentiment, the link to
satisfaction and verbatim examples, in both languages; the same from the stored analysis."""
import re

import numpy as np
import pytest
from sqlalchemy.orm import Session

import questionnaires
from analysis.report import build_report
from analysis.simulate import simulate_responses
from analysis.stored import compute_analysis
from models import load_questionnaire
from models.storage import bulk_insert_responses, create_wave, make_engine, register_questionnaire, upgrade

LOW = ["结账排队太久，收银太慢", "排队半小时，收银员太少", "收银排队太慢了"]
HIGH = ["店员很热情，服务周到", "店员热情耐心，服务很好", "服务热情，店员专业"]


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('texts') / 'r.sqlite3'}")
    upgrade(engine)
    q = load_questionnaire(questionnaires.path("acsi_retail"))
    with Session(engine) as session:
        survey = register_questionnaire(session, q)
        for seed, name in enumerate(("2026Q3", "2026Q4")):
            wave = create_wave(session, survey, name)
            session.commit()
            frame = simulate_responses(q, 220, seed=seed)
            level = frame[["sat_overall", "sat_vs_expectations", "sat_vs_ideal"]].mean(axis=1).rank(pct=True)
            rng = np.random.default_rng(seed)
            frame["comments"] = [str(rng.choice(LOW if share < 0.5 else HIGH)) for share in level]
            bulk_insert_responses(engine, survey, wave, frame)
    yield engine
    engine.dispose()


def section(html: str) -> str:
    found = re.search(r'<section id="open-texts">(.*?)</section>', html, re.S)
    assert found, "the report has an open-text section"
    return found.group(1)


@pytest.mark.parametrize("language, heading", [("en", "What customers wrote"), ("zh-CN", "顾客留言")])
def test_report_shows_themes_linked_to_satisfaction(engine, language, heading):
    html = build_report(engine, "acsi-retail", "2026Q4", language=language, n_boot=60, n_perm=60).html()
    assert heading in html
    body = section(html)
    rows = re.findall(r"<tr><td class=\"name\">(.*?)</td>.*?</tr>", body, re.S)
    assert any("排队" in r or "收银" in r for r in rows) and any("店员" in r or "热情" in r for r in rows)
    # Queue complaints come from the less satisfied half: their "with" mean is below "without".
    queue_row = next(m for m in re.findall(r"<tr>(.*?)</tr>", body, re.S) if "排队" in m or "收银" in m.split("</td>")[0])
    with_mean, without_mean = map(float, re.search(r"([\d.]+) / ([\d.]+) \(", queue_row).groups())
    assert with_mean < without_mean


def test_the_stored_analysis_gives_the_same_section(engine):
    fresh = section(build_report(engine, "acsi-retail", "2026Q4", n_boot=60, n_perm=60).html())
    compute_analysis(engine, "acsi-retail", "2026Q4", n_boot=60, n_perm=60)
    from models.storage.analyses import load_stored
    assert "comments" in load_stored(engine, "acsi-retail", "2026Q4").summary["texts"]
    stored = section(build_report(engine, "acsi-retail", "2026Q4", n_boot=60, n_perm=60).html())
    labels = lambda s: re.findall(r'<td class="name">(.*?)</td>', s)  # noqa: E731
    assert labels(stored) and set(labels(stored)) == set(labels(fresh))
