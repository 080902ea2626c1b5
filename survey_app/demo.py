"""``csi demo``: a ready-to-look-at installation with example data.

Creates (or upgrades) the database, registers the shipped questionnaires, fields five
quarterly waves of each (2025Q4 to 2026Q3 closed, 2026Q4 open) with simulated
respondents whose satisfaction improves over the year, flags the dissatisfied ones for
follow-up as the web survey would, prints the index per wave with bootstrap intervals
and whether the latest change is significant, writes the quarterly reports, and
creates an administrator for the console.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import numpy as np
from sqlalchemy.orm import Session

import questionnaires
from analysis.report import build_report
from analysis.simulate import simulate_responses
from analysis.waves import wave_trend
from models.questionnaire import load_questionnaire
from models.storage import (bulk_insert_responses, create_invitations, create_wave, default_url, find_wave,
                            load_wave_frame, make_engine, register_questionnaire, upgrade)
from models.storage.accounts import count_admins, create_admin

# (wave, shift of every rating in SD units, closed): the demo's company improves during 2026.
WAVES = (("2025Q4", -0.15, True), ("2026Q1", -0.15, True), ("2026Q2", -0.1, True), ("2026Q3", -0.1, True),
         ("2026Q4", 0.1, False))
LATEST = WAVES[-1][0]


def _field(engine, survey, wave, questionnaire, answers, seed: int, days_ago: int) -> None:
    """Store simulated responses as if answered over the last weeks, with follow-up flags and some contacts."""
    rng = np.random.default_rng(seed)
    now = datetime.now(timezone.utc) - timedelta(days=days_ago)
    ends = [now - timedelta(hours=float(h)) for h in rng.uniform(0, 24 * 21, len(answers))]
    starts = [end - timedelta(minutes=float(m)) for end, m in zip(ends, rng.gamma(4.0, 1.6, len(answers)))]
    records = answers.to_dict("records")
    flags = [any(_holds(rule.when, row) for rule in questionnaire.follow_up) for row in records]
    contacts = [{"name": f"Customer {k}", "phone": f"+86 138 0000 {k % 10000:04d}", "consent": True}
                if flag and rng.random() < 0.6 else None for k, flag in enumerate(flags)]
    bulk_insert_responses(engine, survey, wave, answers, language=questionnaire.default_language,
                          started_at=starts, completed_at=ends, follow_up=flags, contacts=contacts)


def _holds(expression, row) -> bool:
    try:
        return bool(expression.evaluate({k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}))
    except Exception:  # a rule on a question the row lacks
        return False


def run_demo(database_url: str | None, respondents: int, seed: int, echo: Callable[[str], None] = print,
             base_url: str = "http://localhost:8000", reports: str | Path | None = "instance/reports") -> None:
    url = database_url or default_url()
    engine = make_engine(url)
    before, after = upgrade(engine)
    echo(f"database: {url} (schema {after})")
    shipped = [load_questionnaire(questionnaires.path(name)) for name in questionnaires.SHIPPED]
    for offset, questionnaire in enumerate(shipped):
        with Session(engine) as session:
            survey = register_questionnaire(session, questionnaire)
            session.commit()
            for w, (wave_name, shift, closed) in enumerate(WAVES):
                if find_wave(session, questionnaire.id, wave_name, required=False) is not None:
                    continue
                opened = datetime.now(timezone.utc) - timedelta(days=91 * (len(WAVES) - w))
                wave = create_wave(session, survey, wave_name, opens_at=opened)
                wave.closed = closed
                session.commit()
                answers = simulate_responses(questionnaire, respondents, seed=seed + 100 * offset + w, shift=shift)
                _field(engine, survey, wave, questionnaire, answers, seed + w, days_ago=91 * (len(WAVES) - 1 - w))
        echo(f"\n{questionnaire.title.get('en')} ({questionnaire.id} v{questionnaire.version}, "
             f"{questionnaire.title.get('zh-CN')})")
        model = questionnaire.csi_model()
        frames = {name: load_wave_frame(engine, questionnaire.id, name) for name, _, _ in WAVES}
        trend = wave_trend(model, frames, questionnaire=questionnaire, n_boot=1000, n_perm=1000, seed=seed)
        table = trend.index_table.pivot(index="construct", columns="wave", values="estimate")
        echo(f"  {'construct':<20}" + "".join(f"{w:>8}" for w, _, _ in WAVES) + f"   {LATEST} 95% interval   change vs 2026Q3")
        changes = trend.changes_for(LATEST).set_index(["construct", "reference"])
        latest = trend.index_table[trend.index_table["wave"] == LATEST].set_index("construct")
        for construct in model.construct_names:
            if construct not in table.index:
                echo(f"  {construct:<20} n/a (see notes)")
                continue
            cells = "".join(f"{table.loc[construct, w]:8.1f}" for w, _, _ in WAVES)
            row = latest.loc[construct]
            change = changes.loc[(construct, "2026Q3")]
            mark = "significant" if change["significant"] else "n.s."
            echo(f"  {construct:<20}{cells}   [{row['ci_low']:4.1f}, {row['ci_high']:4.1f}]"
                 f"        {change['change']:+5.1f} (p={change['p_value']:.3f}, Holm p={change['p_adjusted']:.3f}, {mark})")
        sizes = ", ".join(f"{w}: n={trend.fits[w].n_used}{' (open)' if not c else ''}" for w, _, c in WAVES)
        echo(f"  respondents {sizes}")
        echo("  0-100 ACSI index; 95% bootstrap intervals (1,000 resamples); change tested by permutation (1,000), "
             "'significant' = Holm-adjusted p < 0.05 across the indices")
        if reports:
            folder = Path(reports)
            folder.mkdir(parents=True, exist_ok=True)
            for language in questionnaire.languages:
                built = build_report(engine, questionnaire.id, LATEST, language=language, n_boot=1000, n_perm=1000,
                                     seed=seed)
                path = built.write_html(folder / f"{questionnaire.id}-{LATEST}-{language}.html")
                echo(f"  report: {path}")
    echo(f"\nSurvey links (open wave {LATEST}):")
    with Session(engine) as session:
        for questionnaire in shipped:
            wave = find_wave(session, questionnaire.id, LATEST)
            echo(f"  public:      {base_url}/s/{questionnaire.id}/{LATEST}")
            tokens = create_invitations(session, wave, [{"tier": "gold", "region": "north", "channel": "store"},
                                                        {"tier": "basic", "region": "south", "channel": "online"}])
            for token in tokens:
                echo(f"  invitation:  {base_url}/i/{token}")
            echo(f"  closed wave: {base_url}/s/{questionnaire.id}/2026Q3")
        password = None
        if count_admins(session) == 0:
            password = secrets.token_urlsafe(12)
            create_admin(session, "admin", password)
        session.commit()
    echo(f"\nAdmin console: {base_url}/admin/")
    if password:
        echo(f"  user admin, password {password}  (shown once; change it with: csi admin password admin)")
    else:
        echo("  log in with an existing administrator (csi admin create NAME adds one)")
    echo(f"\nAnalysis: csi fit --survey acsi-retail --wave {LATEST} --boot 5000 --plot out/acsi")
    echo(f"Report:   csi report --survey acsi-retail --wave {LATEST} -o report.html [--pdf report.pdf]")
