"""The console's live wave view with real numbers, on SQLite and PostgreSQL: a
conditional item is counted over those asked it, an incomplete share never reads
"100%", numeric items get a histogram and median, text items their latest answers
(escaped)."""
import html
import re
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from analysis.simulate import simulate_responses
from models.storage import bulk_insert_responses, find_wave
from models.storage.console import histogram, share_text, weighted_median
from models.storage.tables import QuestionnaireVersion

from .test_admin import accounts, admin_client  # noqa: F401  (fixtures)

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


def insert(engine, frame, status="complete", starts=None, ends=None):
    with Session(engine) as session:
        survey = session.scalar(select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == "acsi-retail"))
        wave = find_wave(session, "acsi-retail", "2026Q4")
        wave_id = wave.id
        bulk_insert_responses(engine, survey, wave, frame, status=status, started_at=starts, completed_at=ends)
    return wave_id


def item_html(view: str, question_id: str) -> str:
    start = view.index(f'id="item-{question_id}"')
    return view[start:view.index("</details>", start)]


def bars(section: str) -> list[int]:
    return [int(n) for n in re.findall(r'<progress max="\d+" value="(\d+)"></progress>', section)]


def test_conditional_item_is_counted_over_those_asked(admin_client, engine, acsi):
    # The simulated answers leave complaint_resolved empty (NaN) for everyone who did not
    # complain, as the demo stores them: those rows are no answers.
    answers = simulate_responses(acsi, 300, seed=7)
    complained = int((answers["complained"] == "yes").sum())
    resolved = answers["complaint_resolved"].dropna().value_counts()
    assert 0 < complained < 300 and resolved.sum() == complained
    wave_id = insert(engine, answers)
    with engine.begin() as connection:  # stored: no empty rows
        stored = connection.execute(text("SELECT count(*) FROM answers WHERE question_id = 'complaint_resolved'"))
        assert stored.scalar() == complained
        # Rows without a value, as earlier versions wrote them (NULL; NaN on PostgreSQL), are no answers either.
        ids = [r[0] for r in connection.execute(text("SELECT id FROM responses ORDER BY id"))]
        missing = [i for i, c in zip(ids, answers["complained"]) if c != "yes"]
        nan = float("nan") if engine.dialect.name == "postgresql" else None
        connection.execute(text("INSERT INTO answers (response_id, question_id, value_num, value_text) "
                                "VALUES (:r, 'complaint_resolved', :n, NULL)"), [{"r": i, "n": nan} for i in missing])
    view = admin_client.get(f"/admin/waves/{wave_id}").get_data(as_text=True)
    section = item_html(view, "complaint_resolved")
    assert f"({complained} answered of {complained} asked, 100%)" in section
    assert bars(section) == [int(resolved.get(v, 0)) for v in ("yes", "partly", "no")]
    assert sum(bars(section)) == complained
    assert f"({300} answered of {300} asked, 100%)" in item_html(view, "complained")


def test_partial_responses_are_asked_only_what_they_reached(admin_client, engine, acsi):
    answers = simulate_responses(acsi, 10, seed=8)
    wave_id = insert(engine, answers)
    insert(engine, answers.iloc[:3][["exp_overall"]], status="partial")  # on the first pages still
    view = admin_client.get(f"/admin/waves/{wave_id}").get_data(as_text=True)
    first = acsi.pages[0].questions[0].id
    assert f"answered of 13 asked" in item_html(view, first)  # a partial response stands on page 0
    assert "(10 answered of 10 asked, 100%)" in item_html(view, "loy_repurchase")  # a later page: not reached


def test_incomplete_share_never_shows_100_percent(admin_client, engine, acsi):
    answers = simulate_responses(acsi, 404, seed=9)
    wave_id = insert(engine, answers.iloc[:403])
    insert(engine, answers.iloc[403:][["exp_overall"]], status="partial")
    view = admin_client.get(f"/admin/waves/{wave_id}").get_data(as_text=True)
    assert re.search(r'id="completion-rate">99\.7%<', view)
    # The console's home shows the same figure (it showed "100%" for 403 of 404).
    home = admin_client.get("/admin/").get_data(as_text=True)
    assert re.search(r'data-label="Completion">99\.7%<', home), home
    assert not re.search(r'data-label="Completion">100%<', home)


@pytest.mark.parametrize("part, whole, shown", [(403, 404, "99.7%"), (404, 404, "100%"), (29, 100, "29.0%"),
                                                (1, 3, "33.3%"), (2, 3, "66.6%"), (1, 2000, "<0.1%"),
                                                (0, 5, "0%"), (1999, 2000, "99.9%"), (3, 0, "–")])
def test_share_text(part, whole, shown):
    assert share_text(part, whole) == shown


def test_numeric_item_shows_histogram_and_median(admin_client, engine, acsi):
    visits = [0, 1, 1, 2, 3, 3, 3, 10, 12, 30]  # median (3 + 3) / 2 = 3
    answers = simulate_responses(acsi, len(visits), seed=10)
    answers["visits_per_month"] = np.array(visits, dtype=float)
    wave_id = insert(engine, answers)
    section = item_html(admin_client.get(f"/admin/waves/{wave_id}").get_data(as_text=True), "visits_per_month")
    assert re.search(r'Median <strong class="median">3</strong> over 10 answers', section)
    # 0..30 is 31 whole values: bins of 4 values (0-3, 4-7, ...), the last one 28-30.
    labels = re.findall(r"<tr><td>([^<]+)</td><td><progress", section)
    assert labels == ["0–3", "4–7", "8–11", "12–15", "16–19", "20–23", "24–27", "28–30"]
    assert bars(section) == [7, 0, 1, 1, 0, 0, 0, 1]
    assert "<td>7</td><td class=\"muted\">70.0%</td>" in section


def test_histogram_and_median_helpers():
    assert weighted_median({1: 1, 2: 1, 3: 1, 4: 1}) == 2.5 and weighted_median({5: 3, 1: 1}) == 5.0
    assert weighted_median({}) is None
    small = histogram({0: 3, 5: 2, 7: 1})  # few whole values: one bar per value, gaps included
    assert [(b.label, b.count) for b in small] == [("0", 3), ("1", 0), ("2", 0), ("3", 0), ("4", 0), ("5", 2),
                                                   ("6", 0), ("7", 1)]
    ranged = histogram({1: 3, 2: 25, 5: 63, 21: 1})  # 21 values: bins of 3
    assert [(b.label, b.count) for b in ranged] == [("1–3", 28), ("4–6", 63), ("7–9", 0), ("10–12", 0),
                                                    ("13–15", 0), ("16–18", 0), ("19–21", 1)]
    wide = histogram({0.5: 1, 37.2: 4, 100.0: 2}, bins=4)
    assert [b.count for b in wide] == [1, 4, 0, 2] and wide[0].low == 0.5 and wide[-1].high == 100.0


def test_text_item_shows_the_latest_five_escaped(admin_client, engine, acsi):
    comments = [f"comment {k}" for k in range(6)] + ['<script>alert("x")</script> & =1+1']
    answers = simulate_responses(acsi, len(comments), seed=11)
    answers["comments"] = pd.Series(comments, dtype=object)
    starts = [T0 + timedelta(hours=k) for k in range(len(comments))]
    wave_id = insert(engine, answers, starts=starts, ends=[s + timedelta(minutes=5) for s in starts])
    view = admin_client.get(f"/admin/waves/{wave_id}").get_data(as_text=True)
    section = item_html(view, "comments")
    shown = [html.unescape(t) for t in re.findall(r"<li><q>(.*?)</q>", section)]
    assert shown == [comments[6], "comment 5", "comment 4", "comment 3", "comment 2"]
    assert "<script>" not in view and "&lt;script&gt;alert(" in section
    assert "2026-11-02 15:05 UTC" in section  # the newest one's last save
