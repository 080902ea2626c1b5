"""A change is read as significant only where MICOM finds compositional invariance
(Henseler, Ringle & Sarstedt 2016), and the report, the API and the console's wave page
say the same: in 2026Q4 one perceived-value item measures something else (60% of its
answers reshuffled), so perceived value is "none" against every other wave while its
permutation test is significant; the other indices changed for real ("partial").
MICOM notes name their comparisons, one note per verdict and constructs. Real stored analyses, SQLite and PostgreSQL."""
import re

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from analysis.simulate import simulate_responses
from models.storage import bulk_insert_responses, create_wave, find_wave
from models.storage.tables import QuestionnaireVersion

from .conftest import https_client
from .test_admin import accounts, admin_client  # noqa: F401  (fixtures)

ITEM = "value_time_effort"


@pytest.fixture
def stored(engine, acsi):
    """Waves 2025Q4, 2026Q3 and 2026Q4 (300 each) and their stored analyses."""
    from analysis.stored import compute_analysis

    with Session(engine) as session:
        survey = session.scalar(select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == "acsi-retail"))
        year_ago = create_wave(session, survey, "2025Q4")
        year_ago.closed = True
        session.commit()
        for name, shift, seed in (("2025Q4", -0.1, 1), ("2026Q3", -0.1, 3), ("2026Q4", 0.3, 2)):
            answers = simulate_responses(acsi, 300, seed=seed, shift=shift)
            if name == "2026Q4":
                rng = np.random.default_rng(5)
                answers[ITEM] = np.where(rng.random(len(answers)) < 0.6, rng.permutation(answers[ITEM].to_numpy()),
                                         answers[ITEM])
            bulk_insert_responses(engine, survey, find_wave(session, "acsi-retail", name), answers)
        session.commit()
        wave_id = find_wave(session, "acsi-retail", "2026Q4").id
    for name in ("2025Q4", "2026Q3", "2026Q4"):
        result = compute_analysis(engine, "acsi-retail", name, n_boot=40, n_perm=300)
    return {"wave_id": wave_id, "analysis": result}


def rows_of(changes, reference):
    return {row["construct"]: row for row in changes if row["reference"] == reference}


def test_the_api_keeps_the_test_and_reads_a_non_invariant_change_as_not_comparable(app, stored, accounts):
    api = https_client(app).get("/api/v1/surveys/acsi-retail/waves/2026Q4/indices",
                                headers={"Authorization": f"Bearer {accounts['token']}"})
    assert api.status_code == 200
    rows = rows_of(api.json["changes"], "2025Q4")
    value = rows["perceived_value"]
    assert value["invariance"] == "none" and value["significant"] is True and value["p_adjusted"] < 0.05
    assert value["reading"] == "not comparable"
    satisfaction = rows["satisfaction"]
    assert (satisfaction["invariance"], satisfaction["significant"], satisfaction["reading"]) == ("partial", True,
                                                                                                 "significant")
    assert "not comparable" in api.json["reading_rule"]
    # Every change row has a reading, and it follows the rule.
    for row in api.json["changes"]:
        expected = ("not comparable" if row["invariance"] == "none"
                    else "significant" if row["significant"] else "not significant")
        assert row["reading"] == expected


def test_the_report_does_not_colour_a_change_whose_levels_are_not_comparable(engine, stored):
    from analysis.report import build_report

    report = build_report(engine, "acsi-retail", "2026Q4")
    change = report.context["changes"][("perceived_value", "2025Q4")]
    assert (change["significant"], change["invariance"], change["reading"]) == (True, "none", "not comparable")
    html = report.html()
    table = html[html.index('id="index-table"'):html.index("</table>", html.index('id="index-table"'))]
    name = report.context["cname"]
    value_row = next(r for r in table.split("<tr>") if f'"name">{name("perceived_value")}<' in r)
    cells = re.findall(r'<td class="num ?([a-z]*)"[^>]*>([+-]\d+\.\d)(<br><span class="muted not-comparable">'
                       r'not comparable</span>)?</td>', value_row)
    changes = report.context["changes"]
    # no change of perceived value in orange; the one against 2025Q4 says in the cell (printed
    # too, not only on hover) that it is not comparable
    assert cells == [("", f"{changes[('perceived_value', ref)]['change']:+.1f}",
                      '<br><span class="muted not-comparable">not comparable</span>'
                      if changes[("perceived_value", ref)]["reading"] == "not comparable" else "")
                     for ref in report.context["references"]]
    assert any(cell[2] for cell in cells)
    sat_row = next(r for r in table.split("<tr>") if f'"name">{name("satisfaction")}<' in r)
    assert re.findall(r'<td class="num ([a-z]*)"[^>]*>[+-]\d+\.\d</td>', sat_row) == ["sig", "sig"]
    assert "not comparable (MICOM: no compositional invariance)" in title_of(value_row)
    assert "is never marked significant" in html
    zh = build_report(engine, "acsi-retail", "2026Q4", language="zh-CN").html()
    assert "无论p值多少，变化都不标为显著" in zh and "不可比较（MICOM：不具组成不变性）" in zh


def title_of(row: str) -> str:
    return " ".join(re.findall(r'title="([^"]*)"', row))


def test_micom_notes_name_their_comparison_once(engine, stored):
    from analysis.report import build_report

    report = build_report(engine, "acsi-retail", "2026Q4")
    notes = [n for n in report.context["notes"] if "MICOM" in n]
    assert notes and all(re.search(r"\d{4}Q\d vs \d{4}Q\d", n) for n in notes), notes
    failing = [n for n in notes if "compositional invariance fails" in n]
    value = report.context["cname"]("perceived_value")
    assert failing == [f"MICOM: compositional invariance fails for {value} in 2026Q4 vs 2026Q3; 2026Q4 vs 2025Q4: "
                       "the items weigh differently in the two groups, so these indices' levels are not comparable "
                       "and their changes are not read as significant, whatever p"]
    partial = [n for n in notes if "partial invariance" in n]
    # One note per list of constructs: comparisons with the same constructs share it.
    listed = [re.match(r"MICOM: partial invariance for (.+?) in ", n)[1] for n in partial]
    assert len(listed) == len(set(listed))
    named = [c for n in partial for c in re.match(r".+? in (.+?) \(composites", n)[1].split("; ")]
    assert len(named) == len(set(named)) and {"2026Q4 vs 2026Q3", "2026Q4 vs 2025Q4"} <= set(named)


def test_the_wave_page_shows_holm_adjusted_p_and_the_reading(admin_client, stored):
    summary = stored["analysis"].summary()
    page = admin_client.get(f"/admin/waves/{stored['wave_id']}").get_data(as_text=True)
    assert "change from 2025Q4 (Holm-adjusted p)" in page and "change from 2026Q3 (Holm-adjusted p)" in page
    value = rows_of(summary["changes"], "2025Q4")["perceived_value"]
    assert (f'data-reading="not comparable">{value["change"]:+.1f} ({value["p_adjusted"]:.3f}, '
            "not comparable: no MICOM compositional invariance)") in page
    satisfaction = rows_of(summary["changes"], "2025Q4")["satisfaction"]
    assert (f'<td class="num change sig" data-reading="significant">{satisfaction["change"]:+.1f} '
            f'({satisfaction["p_adjusted"]:.3f}, significant)') in page
    assert f"({satisfaction['p_value']:.3f})" not in page  # the raw p alone no longer
    assert "p is Holm-adjusted across the indices of each comparison" in page
