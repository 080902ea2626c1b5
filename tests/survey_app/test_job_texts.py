"""A background job's texts in Chinese on the console (survey_app/console_job_texts.py): its
error, its progress, an import's summary and every problem of a file of responses. Each
message here is made for real (jobs run, files imported, the mailer and the webhooks tried),
each must come out in Chinese with no English sentence left, and every template must match
one of them: none is dead, none drifts from the English it reads."""
from __future__ import annotations

import io
import os
import re
import types
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.errors import CSIError
from models.storage import bulk_insert_responses, create_wave, find_wave, register_questionnaire
from models.storage import jobs as job_store
from models.storage.tables import Invitation, QuestionnaireVersion, WebhookDelivery
from survey_app.console_job_texts import (IMPORT_ZH, JOB_ERRORS_ZH, LIBRARIES_ZH, PROGRESS_ZH, QUOTA_ZH,
                                          translate_job_text, translate_progress)
from survey_app.jobs import Queue, enqueue, run_job

from .test_console_i18n import has_cjk
from .test_console_zh_leaks import ALLOWED, english_runs
from .test_mail import SECRET, smtp  # noqa: F401  (fixture)

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # words do not depend on the backend

# A questionnaire with what the shipped ones lack for an import to go wrong: a limit on choices, a quota.
CHOICES = """\
id: import-check
version: 1
default_language: en
languages: [en, zh-CN]
title: {en: Import check, zh-CN: 导入检查}
scales:
  five: {min: 1, max: 5}
pages:
  - id: one
    questions:
      - {id: rate, type: rating, scale: five, text: Rate}
      - id: picks
        type: multiple_choice
        max_selected: 2
        text: Pick
        options: [{value: a, label: A}, {value: b, label: B}, {value: c, label: C}]
quotas:
  - {id: fives, when: "rate == 5", limit: 1, text: Full}
"""


def import_problems(engine, survey, wave, tmp_path, name, data: bytes, mapping: str | None = None, **options):
    """Every problem (or the summary) of importing ``data`` as file ``name`` (models.importing)."""
    from models.importing import DataImportError, import_file
    path = tmp_path / name
    path.write_bytes(data)
    mapping_path = None
    if mapping is not None:
        mapping_path = tmp_path / "map.yaml"
        mapping_path.write_text(mapping, encoding="utf-8")
    try:
        result = import_file(engine, survey, wave, path, mapping_path, name=name, mapping_name="map.yaml", **options)
    except DataImportError as exc:
        return [str(problem) for problem in exc.problems]
    return [result.summary()] + [str(p) for p in result.skipped]


def empty_workbook() -> bytes:
    import openpyxl
    out = io.BytesIO()
    openpyxl.Workbook().save(out)
    return out.getvalue()


def csv_bytes(rows: list[list]) -> bytes:
    return "\n".join(",".join(map(str, row)) for row in rows).encode("utf-8") + b"\n"


def test_every_job_text_in_chinese_and_every_template_used(app, engine, acsi, ccsi, smtp, tmp_path,  # noqa: F811
                                                            monkeypatch, used):
    from analysis.data import prepare
    from analysis.report import Report
    from analysis.simulate import simulate_responses
    from analysis.waves import wave_trend
    from models.importing import MAX_COLUMNS
    from models.questionnaire import parse_questionnaire
    from models.storage import invitations as mail_store
    from models.storage import webhooks as hook_store
    from models.storage.quotas import QuotaOverrun, set_wave_limits
    from survey_app.mailer import MailSettings, compose

    for name, value in {"CSI_SECRET_KEY": SECRET, "CSI_SMTP_URL": smtp.url, "CSI_MAIL_SENDER": "survey@shop.example",
                        "CSI_MAIL_RATE": "0", "CSI_REPORTS_DIR": str(tmp_path / "reports"),
                        "CSI_IMPORTS_DIR": str(tmp_path / "imports")}.items():
        monkeypatch.setenv(name, value)
    errors: list[str] = []       # jobs' errors, file problems, summaries
    progress: list[str] = []     # progress messages

    def failed(action):
        with pytest.raises(CSIError) as caught:
            action()
        errors.append(str(caught.value))

    def run(kind, params):
        job_id, _ = job_store.create_job(engine, kind, params, created_by="alice")
        run_job(engine, job_id, "test-worker")
        job = job_store.get_job(engine, job_id)
        errors.extend([job.error] if job.error else [])
        progress.extend([job.message] if job.message else [])
        return job

    real_progress = job_store.set_progress

    def record(engine_, job_id, fraction, message):  # the real function; its messages noted
        progress.append(message)
        real_progress(engine_, job_id, fraction, message)
    monkeypatch.setattr(job_store, "set_progress", record)

    # Data: acsi-retail's two waves; ccsi-mobile's 2026Q3 with one item the same for everyone.
    with Session(engine) as session:
        acsi_survey = session.scalar(select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == "acsi-retail"))
        ccsi_survey = session.scalar(select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == "ccsi-mobile"))
        for name, seed in (("2026Q3", 1), ("2026Q4", 2)):
            bulk_insert_responses(engine, acsi_survey, find_wave(session, "acsi-retail", name),
                                  simulate_responses(acsi, 300, seed=seed))
        constant = simulate_responses(ccsi, 300, seed=3)
        item = ccsi.csi_model().items[0]
        constant[item] = 5
        bulk_insert_responses(engine, ccsi_survey, find_wave(session, "ccsi-mobile", "2026Q3"), constant)
        checked = register_questionnaire(session, parse_questionnaire(CHOICES, "choices.yaml"))
        create_wave(session, checked, "2026Q4")
        session.commit()

    # survey_app.jobs: kinds, the queue, formats, a file gone, analyses and reports that cannot be made.
    queue = Queue(app.config["DATABASE_URL"], filename=str(tmp_path / "queue.sqlite3"), name="texts")
    failed(lambda: enqueue(engine, queue, "fax", {}))
    down = Queue(app.config["DATABASE_URL"], redis_url="redis://127.0.0.1:1/0", name="texts")
    failed(lambda: enqueue(engine, down, "export", {"survey": "acsi-retail", "wave": "2026Q4"}))
    errors.extend(job.error for job in job_store.list_jobs(engine) if job.error)
    run("fax", {})
    run("export", {"survey": "acsi-retail", "wave": "2026Q4", "format": "docx"})
    run("export", {"survey": "acsi-retail", "wave": "2026Q4"})
    run("import", {"survey": "acsi-retail", "wave": "2026Q4", "file": str(tmp_path / "gone.csv"), "name": "gone.csv"})
    run("analysis", {"survey": "ccsi-mobile", "wave": "2026Q4", "n_boot": 20, "n_perm": 19})
    run("analysis", {"survey": "ccsi-mobile", "wave": "2026Q3", "n_boot": 20, "n_perm": 19})
    run("analysis", {"survey": "acsi-retail", "wave": "2026Q4", "n_boot": 40, "n_perm": 19})
    run("report", {"survey": "acsi-retail", "wave": "2026Q4", "compare": "1999Q1"})
    path = os.environ["PATH"]
    monkeypatch.setenv("PATH", str(tmp_path))  # no Chromium to print the PDF with
    run("report", {"survey": "acsi-retail", "wave": "2026Q4", "language": "zh-CN", "pdf": True})
    monkeypatch.setenv("PATH", path)
    failed(lambda: Report.write_pdf(types.SimpleNamespace(html=lambda: "<p>x</p>"), tmp_path / "r.pdf", browser="/bin/false"))
    retried = next(job for job in job_store.list_jobs(engine) if job.status == "failed")
    job_store.retry_job(engine, retried.id)
    progress.append(job_store.get_job(engine, retried.id).message)
    abandoned, _ = job_store.create_job(engine, "export", {"survey": "acsi-retail", "wave": "2026Q4"})
    job_store.claim_job(engine, abandoned, "a-worker-that-stops")
    progress.append(job_store.get_job(engine, abandoned).message)
    job_store.requeue_abandoned(engine, timedelta(0))
    progress.append(job_store.get_job(engine, abandoned).message)
    # analysis: a wave list, a comparison, the data.
    model = acsi.csi_model()
    frame = simulate_responses(acsi, 40, seed=4)
    failed(lambda: wave_trend(model, {}))
    failed(lambda: wave_trend(model, {"2026Q4": frame}, compare={"2026Q4": "1999Q1"}))
    failed(lambda: prepare(frame.head(5), model))
    holes = frame.head(30).copy()
    holes.loc[holes.index[:25], model.items[0]] = np.nan
    failed(lambda: prepare(holes, model))
    failed(lambda: parse_questionnaire(CHOICES, "choices.yaml").csi_model())
    # Mail: settings, the server, a changed secret key; a round that sends.
    failed(lambda: MailSettings.from_config({}))
    failed(lambda: MailSettings.from_config({"SMTP_URL": smtp.url}))
    failed(lambda: MailSettings.from_config({"SMTP_URL": "http://mail.example.com", "MAIL_SENDER": "a@b.example"}))
    failed(lambda: MailSettings.from_config({"SMTP_URL": "smtp://mail.example.com:99999", "MAIL_SENDER": "a@b.example"}))
    failed(lambda: MailSettings.from_config({"SMTP_URL": "smtp://mail.example.com:port", "MAIL_SENDER": "a@b.example"}))
    failed(lambda: MailSettings.from_config({"SMTP_URL": "smtp://127.0.0.1:9", "MAIL_SENDER": "a@b.example",
                                             "SECRET_KEY": "s"}).connect())
    with Session(engine) as session:
        wave = find_wave(session, "acsi-retail", "2026Q4")
        mail_store.import_email_invitations(session, wave, [{"email": "li@example.com"}], SECRET, languages=("en", "zh-CN"),
                                            default_language="en")
        session.commit()
        invitation = session.scalar(select(Invitation).where(Invitation.email == "li@example.com"))
        other = MailSettings.from_config({"SMTP_URL": smtp.url, "MAIL_SENDER": "a@b.example", "SECRET_KEY": "another key"})
        failed(lambda: compose(acsi, invitation, "invitation", other))
        wave_id = wave.id
        # A webhook whose receiver never answers, on its last attempt.
        hook_store.add_webhook(session, "acsi-retail", "http://127.0.0.1:9/hook", ["response.completed"])
        (delivery_id,) = hook_store.record_event(session, "acsi-retail", "response.completed", {"response_id": 1})
        session.get(WebhookDelivery, delivery_id).attempts = hook_store.MAX_ATTEMPTS - 1
        session.commit()
    run("send_invitations", {"wave_id": wave_id})
    run("webhook", {"delivery_id": delivery_id})
    # Files of responses: the file, its header, its mapping, its cells.
    good = ["exp_overall", "exp_reliability"]
    files = [("answers.docx", b"x"), ("answers", b"x"), ("empty.csv", b""), ("utf16.csv", b"\xff\xfe\x00\xd8"),
             ("nul.csv", b"a,b\n1\x00,2\n"), ("bom.csv", b"\xef\xbb\xbfa\n\xff\n"), ("binary.csv", b"a\n\xff\xff\n"),
             ("wide.csv", csv_bytes([[f"c{k}" for k in range(MAX_COLUMNS + 1)]])),
             ("header.csv", csv_bytes([["exp_overall", "", "exp_overall"], [1, 2, 3]])),
             ("cells.csv", csv_bytes([good, [1, 2, 3]])), ("huge.csv", b'exp_overall\n"' + b"x" * 140_000 + b'"\n'),
             ("empty.xlsx", empty_workbook()), ("broken.xlsx", b"not a workbook"), ("broken.sav", b"not a sav file"),
             ("nothing.csv", csv_bytes([["a", "b"], [1, 2]])),
             ("options.csv", csv_bytes([["categories", "categories__grocery"], ["grocery", 1]])),
             ("flags.csv", csv_bytes([["categories__home", "categories__grocery"], [2, 1]])),
             ("values.csv", "\n".join([
                 "exp_overall,exp_reliability,sat_overall,channel,categories,comments,visits_per_month,language,status,"
                 "started_at",
                 'very,2.5,11,fax,"[""grocery"", ""fax""]",ok,3.5,fr,maybe,yesterday',
                 '12,3,0,store,"[""home"", ""home""]",ok,500,en,complete,',
                 "1,3,5,store,grocery,ok,abc,en,complete,",
                 "1,3,5,Fax machine,[,ok,1,en,complete,",
                 "1,3,5,store,{},ok,1,en,complete,",
                 "1,3,5,store,grocery;fax,ok,1,en,complete,",
                 "1,3,5,store,grocery," + "x" * 2100 + ",1,en,complete,"]).encode("utf-8"))]
    for name, data in files:
        errors.extend(import_problems(engine, "acsi-retail", "2026Q4", tmp_path, name, data))
    monkeypatch.setenv("CSI_IMPORT_MAX_BYTES", "10")
    errors.extend(import_problems(engine, "acsi-retail", "2026Q4", tmp_path, "big.csv", csv_bytes([good, [1, 2]])))
    monkeypatch.delenv("CSI_IMPORT_MAX_BYTES")
    mappings = ["x" * 2_000_001, "- not a mapping", "colour: red\ncolumns: [1]\nrespondent_id: [1]\ndont_know: x\n"
                "labels: [1]\nignore: 5\n", "columns: {a: nobody}\nlabels: {nobody: {}, exp_overall: 5}\n",
                "columns: {missing_column: exp_overall}\n", "columns: {exp_reliability: exp_overall}\n",
                "respondent_id: rid\nlabels: {exp_overall: {top: 10, bottom: low, huge: 50}}\n"]
    for mapping in mappings:
        errors.extend(import_problems(engine, "acsi-retail", "2026Q4", tmp_path, "mapped.csv",
                                      csv_bytes([["rid", "exp_overall", "exp_reliability"], ["", "top", 1],
                                                 ["r1", "bottom", 1], ["r1", "huge", 1]]), mapping))
    (tmp_path / "latin.yaml").write_bytes("columns: {caf\xe9: x}\n".encode("latin-1"))
    from models.importing import DataImportError, load_mapping
    with pytest.raises(DataImportError) as caught:
        load_mapping(tmp_path / "latin.yaml", acsi, "latin.yaml")
    errors.extend(map(str, caught.value.problems))
    errors.extend(import_problems(engine, "import-check", "2026Q4", tmp_path, "picks.csv",
                                  csv_bytes([["rate", "picks"], [5, "a;b;c"], [6, "a"]]), skip_bad_rows=True))
    with Session(engine) as session:
        set_wave_limits(session, find_wave(session, "import-check", "2026Q4"), max_completes=1)
        session.commit()
    errors.extend(import_problems(engine, "import-check", "2026Q4", tmp_path, "fives.csv",
                                  csv_bytes([["rate", "picks"], [5, "a"], [5, "b"], [5, "c"]])))
    errors.append(f"fives.csv: {QuotaOverrun('fives', 3, 1)} (imported responses are stored and counted even past a limit)")
    # An import job with more problems than its page shows; one that stores what it can.
    folder = tmp_path / "imports"
    folder.mkdir(exist_ok=True)
    def import_job(name, rows, **params):
        (folder / name).write_bytes(csv_bytes(rows))
        return run("import", {"survey": "acsi-retail", "wave": "2026Q4", "file": str(folder / name), "name": name, **params})
    import_job("many.csv", [good] + [[0, 0]] * 150)
    import_job("one.csv", [good, [0, 3]])
    for _ in range(2):  # the second time, the good row is there already
        errors.append(import_job("skip.csv", [good, [0, 3], [2, 3]], skip_bad_rows=True).output["summary"])

    untranslated = {}
    for text in dict.fromkeys(errors):
        chinese = translate_job_text(text, "zh-CN")
        assert translate_job_text(text, "en") == text
        runs = [run for run in english_runs(chinese, []) if not any(re.search(p, run) for p, _ in ALLOWED)]
        bare = [line for line in chinese.splitlines() if not has_cjk(line)]
        if runs or bare:
            untranslated[text] = runs or bare
    for message in dict.fromkeys(progress):
        chinese = translate_progress(message, "zh-CN")
        assert translate_progress(message, "en") == message
        if not has_cjk(chinese) or english_runs(chinese, []):
            untranslated[message] = chinese
    assert untranslated == {}
    for name, table in {"jobs": JOB_ERRORS_ZH, "import": IMPORT_ZH, "libraries": LIBRARIES_ZH, "progress": PROGRESS_ZH,
                        "quota": QUOTA_ZH}.items():
        assert set(table) - used == set(), f"{name}: templates no message matched"
