"""``csi demo``: a ready-to-look-at installation with example data.

Creates (or upgrades) the database, registers the shipped questionnaires, fields two
waves of each (2026Q3 closed, 2026Q4 open) with simulated respondents, and prints
the index per wave from a PLS fit with bootstrap intervals.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Callable

import numpy as np
from sqlalchemy.orm import Session

import questionnaires
from analysis import fit
from analysis.simulate import simulate_responses
from models.questionnaire import load_questionnaire
from models.storage import (bulk_insert_responses, create_invitations, create_wave, default_url, find_wave, load_wave_frame, make_engine,
                            register_questionnaire, upgrade)

WAVES = (("2026Q3", -0.15, True), ("2026Q4", 0.0, False))


def run_demo(database_url: str | None, respondents: int, seed: int, echo: Callable[[str], None] = print,
             base_url: str = "http://localhost:8000") -> None:
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
                wave = create_wave(session, survey, wave_name, opens_at=datetime.now(timezone.utc) - timedelta(days=90 * (len(WAVES) - w)))
                wave.closed = closed
                session.commit()
                answers = simulate_responses(questionnaire, respondents, seed=seed + 100 * offset + w, shift=shift)
                bulk_insert_responses(engine, survey, wave, answers, language=questionnaire.default_language)
        echo(f"\n{questionnaire.title.get('en')} ({questionnaire.id} v{questionnaire.version}, "
             f"{questionnaire.title.get('zh-CN')})")
        model = questionnaire.csi_model()
        header = f"  {'construct':<20}" + "".join(f"{w:>22}" for w, _, _ in WAVES)
        echo(header)
        tables = {}
        for wave_name, _, closed in WAVES:
            data = load_wave_frame(engine, questionnaire.id, wave_name)
            results = fit(model, data, questionnaire=questionnaire, n_boot=1000, seed=seed, progress=False)
            tables[wave_name] = (results, closed)
        for construct in model.construct_names:
            cells = []
            for wave_name, _, _ in WAVES:
                table = tables[wave_name][0].index_table.set_index("construct")
                if construct in table.index:
                    row = table.loc[construct]
                    cells.append(f"{row['estimate']:5.1f} [{row['ci_low']:4.1f}, {row['ci_high']:4.1f}]")
                else:
                    cells.append("n/a")
            echo(f"  {construct:<20}" + "".join(f"{c:>22}" for c in cells))
        sizes = ", ".join(f"{w}: n={tables[w][0].n_used}{' (closed)' if tables[w][1] else ' (open)'}" for w, _, _ in WAVES)
        echo(f"  respondents {sizes}; 0-100 ACSI index, 95% bootstrap intervals (1,000 resamples)")
    echo("\nSurvey links (open wave 2026Q4):")
    with Session(engine) as session:
        for questionnaire in shipped:
            wave = find_wave(session, questionnaire.id, "2026Q4")
            echo(f"  public:      {base_url}/s/{questionnaire.id}/2026Q4")
            tokens = create_invitations(session, wave, [{"segment": "demo"}] * 2)
            for token in tokens:
                echo(f"  invitation:  {base_url}/i/{token}")
            echo(f"  closed wave: {base_url}/s/{questionnaire.id}/2026Q3")
        session.commit()
    echo("\nAnalysis: csi fit --survey acsi-retail --wave 2026Q4 --boot 5000 --plot out/acsi")
