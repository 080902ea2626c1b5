"""``csi demo``: a ready-to-look-at installation with example data.

Creates (or upgrades) the database, registers the shipped questionnaires, opens five
quarterly waves of each (2025Q4 to 2026Q3 closed, 2026Q4 open), creates an administrator
for the console, and queues as background jobs: simulated respondents for every wave
(satisfaction improving over the year; the dissatisfied flagged for follow-up as the web
survey would), the waves' analyses and the quarterly reports. So the survey is served
within seconds while they are computed. When the latest wave's analysis is
stored it prints the index per wave with bootstrap intervals and whether the latest
change is significant: the same stored numbers the console, API and reports show.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone
import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import questionnaires
from models import navigation
from models.questionnaire import load_questionnaire
from models.storage import (bulk_insert_responses, create_invitations, create_wave, default_url, find_wave, make_engine,
                            register_questionnaire, upgrade)
from models.storage.accounts import count_admins, create_admin
from models.storage.tables import Response

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
    flags = [bool(navigation.flagging_rules(questionnaire, _present(row))) for row in records]
    contacts = [{"name": f"Customer {k}", "phone": f"+86 138 0000 {k % 10000:04d}", "consent": True}
                if flag and rng.random() < 0.6 else None for k, flag in enumerate(flags)]
    bulk_insert_responses(engine, survey, wave, answers, language=questionnaire.default_language,
                          started_at=starts, completed_at=ends, follow_up=flags, contacts=contacts)


def _present(row: dict) -> dict:
    """A simulated row as stored answers read: NaN (not asked) is no answer."""
    return {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}


def run_demo(database_url: str | None, respondents: int, seed: int, echo: Callable[[str], None] = print,
             base_url: str = "http://localhost:8000", reports: str | Path | None = "instance/reports",
             n_boot: int = 1000, n_perm: int = 1000) -> tuple[list[int], list[str]]:
    """Set up the demo database and queue its analyses and reports; return the job ids and
    the questionnaire ids. Waves whose stored analysis is current are not analysed again."""
    from .jobs import enqueue, queue_from_environment

    url = database_url or default_url()
    engine = make_engine(url)
    before, after = upgrade(engine)
    echo(f"database: {url} (schema {after})")
    shipped = [load_questionnaire(questionnaires.path(name)) for name in questionnaires.SHIPPED]
    for questionnaire in shipped:
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
        echo(f"{questionnaire.title.get('en')} ({questionnaire.id} v{questionnaire.version}, "
             f"{questionnaire.title.get('zh-CN')}): {len(WAVES)} waves, {respondents} example respondents each")
    queue = queue_from_environment(url)
    # The example responses are a job too (the first): the survey is served while they are
    # written. Then the analyses, oldest wave first (each reuses the stored fits of the
    # waves it is compared with; one already stored with these settings is kept), then the reports.
    job_ids = [enqueue(engine, queue, "demo_responses", {"respondents": respondents, "seed": seed},
                       dedupe_key="demo_responses", created_by="demo")[0]]
    for questionnaire in shipped:
        for wave_name, _, _ in WAVES:
            job_id, _ = enqueue(engine, queue, "analysis", {"survey": questionnaire.id, "wave": wave_name,
                                                            "n_boot": n_boot, "n_perm": n_perm, "keep_current": True},
                                dedupe_key=f"analysis:{questionnaire.id}/{wave_name}", created_by="demo")
            job_ids.append(job_id)
    if reports:
        folder = Path(reports).resolve()
        for questionnaire in shipped:
            for language in questionnaire.languages:
                job_id, _ = enqueue(engine, queue, "report",
                                    {"survey": questionnaire.id, "wave": LATEST, "language": language,
                                     "folder": str(folder), "name": f"{questionnaire.id}-{LATEST}-{language}"},
                                    created_by="demo")
                job_ids.append(job_id)
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
    echo(f"\nAdmin console: {base_url}/admin/  (background jobs: {base_url}/admin/jobs)")
    if password:
        echo(f"  user admin, password {password}  (shown once; change it with: csi admin password admin)")
    else:
        echo("  log in with an existing administrator (csi admin create NAME adds one)")
    echo(f"\nAnalysis: csi fit --survey acsi-retail --wave {LATEST}   (the stored analysis; --boot 5000 for a new one)")
    echo(f"Report:   csi report --survey acsi-retail --wave {LATEST} -o report.html [--pdf report.pdf]")
    echo(f"Jobs:     csi jobs list   ({len(job_ids)} queued: the example responses, the waves' analyses, the reports)")
    return job_ids, [questionnaire.id for questionnaire in shipped]


def field_example_responses(engine, respondents: int, seed: int,
                            progress: Callable[[float, str], None] = lambda fraction, message: None) -> dict:
    """Store simulated respondents in every demo wave that has none yet (the ``demo_responses`` job)."""
    from analysis.simulate import simulate_responses

    shipped = [load_questionnaire(questionnaires.path(name)) for name in questionnaires.SHIPPED]
    fielded = 0
    for offset, questionnaire in enumerate(shipped):
        with Session(engine) as session:
            for w, (wave_name, shift, _closed) in enumerate(WAVES):
                wave = find_wave(session, questionnaire.id, wave_name)
                if session.scalar(select(func.count(Response.id)).where(Response.wave_id == wave.id)):
                    continue
                progress((offset * len(WAVES) + w) / (len(shipped) * len(WAVES)), f"{questionnaire.id} {wave_name}")
                answers = simulate_responses(questionnaire, respondents, seed=seed + 100 * offset + w, shift=shift)
                _field(engine, wave.questionnaire_version, wave, questionnaire, answers, seed + w, days_ago=91 * (len(WAVES) - 1 - w))
                fielded += 1
    return {"waves": fielded, "respondents": respondents}


def print_wave_table(engine, questionnaire_id: str, echo: Callable[[str], None]) -> None:
    """The index per wave and the latest wave's interval and change, from the stored analyses."""
    from models.storage.analyses import load_stored

    stored = {w: load_stored(engine, questionnaire_id, w) for w, _, _ in WAVES}
    if any(row is None for row in stored.values()):
        return
    latest = stored[LATEST].summary
    estimates = {w: {r["construct"]: r["estimate"] for r in row.summary["index"]} for w, row in stored.items()}
    changes = {r["construct"]: r for r in latest["changes"] if r["reference"] == "2026Q3"}
    echo(f"\n{questionnaire_id}: 0-100 index per wave (stored analyses)")
    echo(f"  {'construct':<20}" + "".join(f"{w:>8}" for w, _, _ in WAVES) + f"   {LATEST} 95% interval   change vs 2026Q3")
    for row in latest["index"]:
        construct = row["construct"]
        cells = "".join(f"{estimates[w][construct]:8.1f}" if estimates[w].get(construct) is not None else f"{'n/a':>8}"
                        for w, _, _ in WAVES)
        change = changes.get(construct)
        tail = ""
        if change and change["p_value"] is not None:
            reading = change.get("reading") or ("not comparable" if change.get("invariance") == "none"
                                                  else "significant" if change["significant"] else "not significant")
            mark = {"significant": "significant", "not significant": "n.s."}.get(reading, reading)
            holm = f", Holm p={change['p_adjusted']:.3f}" if change.get("p_adjusted") is not None else ""
            tail = f"        {change['change']:+5.1f} (p={change['p_value']:.3f}{holm}, {mark})"
        interval = (f"[{row['ci_low']:4.1f}, {row['ci_high']:4.1f}]" if row.get("ci_low") is not None else "")
        echo(f"  {construct:<20}{cells}   {interval:<12}{tail}")
    sizes = ", ".join(f"{w}: n={stored[w].n_used}{' (open)' if not c else ''}" for w, _, c in WAVES)
    echo(f"  respondents {sizes}")
    echo(f"  95% bootstrap intervals ({latest['bootstrap']:,} resamples, seed {latest['seed']}); change tested by "
         f"permutation ({latest['permutations']:,}); 'significant' = Holm-adjusted p < 0.05 across the indices; "
         "'not comparable' = no MICOM compositional invariance, whatever p")


def _report_lines(job) -> list[str]:
    if job.status == "failed":
        return [f"  report job {job.id} failed: {job.error}"]
    return [f"  report: {job.output['html']}"] if job.output and "html" in job.output else []


def print_results_when_ready(database_url: str, job_ids: list[int], surveys: list[str],
                             echo: Callable[[str], None] = print, timeout: float = 3600) -> threading.Thread:
    """A thread that prints each survey's table once its analyses are stored, and the reports' paths."""
    from models.storage.jobs import get_job

    def watch():
        engine = make_engine(database_url)
        pending = list(job_ids)
        printed: set[str] = set()
        deadline = time.monotonic() + timeout
        analysed = {get_job(engine, job_id).params.get("survey") for job_id in pending
                    if get_job(engine, job_id).kind == "analysis"}
        for survey in surveys:
            if survey not in analysed:  # stored and current from an earlier run
                printed.add(survey)
                print_wave_table(engine, survey, echo)
        while pending and time.monotonic() < deadline:
            time.sleep(0.5)
            jobs = [get_job(engine, job_id) for job_id in pending]
            finished = [job for job in jobs if job is not None and job.status in ("done", "failed")]
            for job in finished:
                pending.remove(job.id)
                if job.kind == "analysis" and job.status == "failed":
                    echo(f"analysis of {job.params.get('survey')}/{job.params.get('wave')} failed: {job.error}")
                if job.kind == "report":
                    for line in _report_lines(job):
                        echo(line)
            waiting = {j.params.get("survey") for j in jobs if j.kind == "analysis" and j not in finished}
            for survey in {j.params.get("survey") for j in finished if j.kind == "analysis"}:
                if survey not in waiting and survey not in printed:
                    printed.add(survey)
                    print_wave_table(engine, survey, echo)
        engine.dispose()

    thread = threading.Thread(target=watch, name="csi-demo-results", daemon=True)
    thread.start()
    return thread


def run_demo_jobs(database_url: str, job_ids: list[int], surveys: list[str],
                  echo: Callable[[str], None] = print) -> None:
    """Run the demo's jobs here, one after the other (``csi demo --no-serve``), and print their results."""
    from models.storage.jobs import get_job

    from .jobs import run_job

    engine = make_engine(database_url)
    for job_id in job_ids:
        run_job(engine, job_id, "csi demo")
    for questionnaire_id in surveys:
        print_wave_table(engine, questionnaire_id, echo)
    for job_id in job_ids:
        job = get_job(engine, job_id)
        if job.kind == "report":
            for line in _report_lines(job):
                echo(line)
        elif job.status == "failed":
            echo(f"job {job.id} ({job.kind}) failed: {job.error}")
