"""What flagged customers wrote, in the follow-up queue: each open answer with the sentiment
and themes of the wave's stored analysis, a filter by theme, and negative texts first among
customers of equal value (issue 20)."""
from __future__ import annotations

import re

import numpy as np
from click.testing import CliRunner
from sqlalchemy.orm import Session

from analysis.simulate import simulate_responses
from analysis.stored import compute_analysis
from models.storage import bulk_insert_responses, find_wave
from models.storage.follow_up import QueueFilter, follow_up_queue

from .conftest import https_client
from .test_follow_up import PASSWORD, staff  # noqa: F401  (the fixture)

COMPLAINTS = ["结账排队太久，收银太慢，很失望", "排队半小时，收银员太少，太差了", "收银排队太慢，体验很差"]
PRAISE = ["店员很热情，服务很好", "店员热情耐心，非常满意", "服务周到，店员专业，很好"]
OTHER = ["停车场太小", "停车位不够", "停车场很挤", "商品种类很多", "价格还可以", "商品新鲜"]


def store_wave(engine, acsi):
    frame = simulate_responses(acsi, 120, seed=31)
    rng = np.random.default_rng(4)
    frame["comments"] = [str(rng.choice(OTHER + COMPLAINTS + PRAISE)) for _ in range(120)]
    # Ten flagged customers of equal value (no attributes): 0-4 complained in writing but rated
    # satisfaction 6/10, 5-9 wrote praise and rated 2/10.
    for k in range(10):
        frame.loc[k, "comments"] = COMPLAINTS[k % 3] if k < 5 else PRAISE[k % 3]
        for item in ("sat_overall", "sat_vs_expectations", "sat_vs_ideal"):
            frame.loc[k, item] = 6 if k < 5 else 2
    with Session(engine) as session:
        wave = find_wave(session, "acsi-retail", "2026Q4")
        survey = wave.questionnaire_version
        ids = bulk_insert_responses(engine, survey, wave, frame, follow_up=[k < 10 for k in range(120)],
                                    contacts=[{"phone": "+86 138 0000 0000", "consent": True} if k < 10 else None
                                              for k in range(120)])
    return ids


def test_queue_shows_sentiment_and_themes_and_ranks_negative_texts_first(app, engine, acsi, staff):
    ids = store_wave(engine, acsi)
    complaints, praise = set(ids[:5]), set(ids[5:10])
    with Session(engine) as session:
        before = follow_up_queue(session, QueueFilter())
    # Before the wave is analysed: texts are there, not yet scored; the least satisfied come first.
    assert {r.response.id for r in before.rows[:5]} == praise
    assert all(t.sentiment is None for r in before.rows for t in r.texts)

    compute_analysis(engine, "acsi-retail", "2026Q4", n_boot=20, n_perm=19)
    with Session(engine) as session:
        queue = follow_up_queue(session, QueueFilter())
        by_id = {r.response.id: r for r in queue.rows}
        assert {r.response.id for r in queue.rows[:5]} == complaints, "negative texts rise above lower satisfaction"
        assert all(by_id[i].negative_text for i in complaints)
        assert all(t.sentiment == "positive" for i in praise for t in by_id[i].texts)
        queue_themes = {label for r in queue.rows for t in r.texts for label in t.themes}
        queue_label = next(label for label in queue_themes if "排队" in label or "收银" in label)
        narrowed = follow_up_queue(session, QueueFilter(theme=queue_label.split(" / ")[0]))
        assert narrowed.total >= 1 and {r.response.id for r in narrowed.rows} <= complaints
        assert follow_up_queue(session, QueueFilter(theme="no such theme")).total == 0

    from .test_admin import login
    client = https_client(app)
    login(client, "lead", PASSWORD)
    page = client.get("/admin/follow-up").get_data(as_text=True)
    assert "What they wrote" in page and any(text[:12] in page for text in COMPLAINTS)
    item = client.get(f"/admin/follow-up/{ids[0]}").get_data(as_text=True)
    assert 'id="open-texts"' in item and re.search(r"sentiment-negative", item)
    filtered = client.get("/admin/follow-up?theme=" + queue_label.split(" / ")[0]).get_data(as_text=True)
    assert f"#{ids[5]}<" not in filtered

    from survey_app.cli import main
    url = str(engine.url.render_as_string(hide_password=False))
    listed = CliRunner().invoke(main, ["followup", "list", "--database", url, "--theme", queue_label.split(" / ")[0]])
    assert listed.exit_code == 0, listed.output
    assert "negative" in listed.output and "comments" in listed.output
