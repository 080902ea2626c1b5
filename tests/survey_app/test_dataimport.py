"""`csi wave` and `csi import` as a user runs them, on SQLite and PostgreSQL: a wave exported
(CSV and SPSS) and imported into new waves gives the same answers and the same indices;
errors are FILE:ROW lines with exit code 1 and nothing stored; the console's import form
runs as a job."""
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import questionnaires
from models.questionnaire import load_questionnaire
from models.storage import bulk_insert_responses, find_wave, load_wave_frame, make_engine
from models.storage.tables import Response

SURVEY = "acsi-retail"


def csi(*args, url):
    env = dict(os.environ, CSI_DATABASE_URL=url)
    return subprocess.run([sys.executable, "-m", "survey_app.cli", *args], capture_output=True, text=True, env=env,
                          timeout=600)


def ok(result):
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return result.stdout


def test_wave_create_open_close(database_url):
    path = str(questionnaires.path("acsi_retail"))
    assert ok(csi("wave", "create", "--survey", SURVEY, "--wave", "2026Q1", "--questionnaire", path, url=database_url)) \
        == "wave 2026Q1 of acsi-retail created (closed), questionnaire version 1\n"
    assert ok(csi("wave", "open", "--survey", SURVEY, "--wave", "2026Q1", url=database_url)) \
        == "wave 2026Q1 of acsi-retail is now open for answers\n"
    engine = make_engine(database_url)
    with Session(engine) as session:
        assert find_wave(session, SURVEY, "2026Q1").closed is False
    assert ok(csi("wave", "close", "--survey", SURVEY, "--wave", "2026Q1", url=database_url)) \
        == "wave 2026Q1 of acsi-retail is now closed\n"
    with Session(engine) as session:
        assert find_wave(session, SURVEY, "2026Q1").closed is True
    engine.dispose()
    # The latest stored version when no file is given; --open opens at once.
    assert ok(csi("wave", "create", "--survey", SURVEY, "--wave", "2026Q2", "--open", url=database_url)) \
        == "wave 2026Q2 of acsi-retail created (open), questionnaire version 1\n"
    again = csi("wave", "create", "--survey", SURVEY, "--wave", "2026Q2", url=database_url)
    assert again.returncode == 1 and again.stderr == "error: wave '2026Q2' of 'acsi-retail' already exists\n"
    unknown = csi("wave", "open", "--survey", SURVEY, "--wave", "1999Q1", url=database_url)
    assert unknown.returncode == 1 and unknown.stderr.startswith("error: no wave '1999Q1' for questionnaire 'acsi-retail'")
    nothing = csi("wave", "create", "--survey", "nosuch", "--wave", "W", url=database_url)
    assert nothing.returncode == 1 and "no questionnaire 'nosuch' is stored" in nothing.stderr
    bad_name = csi("wave", "create", "--survey", SURVEY, "--wave", "a/b", url=database_url)
    assert bad_name.returncode == 1 and "wave names are 1-32 letters" in bad_name.stderr


def _fielded(database_url, n=250):
    """A wave of simulated answers to the shipped retail questionnaire (with don't-knows, texts, choices)."""
    from analysis.simulate import simulate_responses

    ok(csi("wave", "create", "--survey", SURVEY, "--wave", "2026Q1", "--questionnaire",
           str(questionnaires.path("acsi_retail")), url=database_url))
    questionnaire = load_questionnaire(questionnaires.path("acsi_retail"))
    engine = make_engine(database_url)
    answers = simulate_responses(questionnaire, n, seed=7)
    for k, q in enumerate(q for q in questionnaire.rating_items if q.scale.dont_know_code is not None):
        answers.loc[answers.index[k::23], q.id] = float(q.scale.dont_know_code)  # some "don't know"s
    with Session(engine, expire_on_commit=False) as session:
        wave = find_wave(session, SURVEY, "2026Q1")
        survey = wave.questionnaire_version
    languages = ["zh-CN" if k % 3 == 0 else "en" for k in range(n)]
    bulk_insert_responses(engine, survey, wave, answers, language=languages)
    return engine, questionnaire


def _comparable(value):
    if not isinstance(value, str):
        return None
    return tuple(sorted(json.loads(value))) if value.startswith("[") else value


def test_export_then_import_round_trip_gives_the_same_answers_and_indices(database_url, tmp_path):
    from analysis.stored import compute_analysis

    engine, questionnaire = _fielded(database_url)
    original = load_wave_frame(engine, SURVEY, "2026Q1")
    dont_know = [q.id for q in questionnaire.rating_items if q.scale.dont_know_code is not None]
    assert (original[dont_know] == 99).to_numpy().sum() > 0  # the round trip does meet don't-knows
    for fmt, wave in (("csv", "2026Q2"), ("sav", "2026Q3")):
        exported = tmp_path / f"2026Q1.{fmt}"
        ok(csi("export", "--survey", SURVEY, "--wave", "2026Q1", "-o", str(exported), url=database_url))
        ok(csi("wave", "create", "--survey", SURVEY, "--wave", wave, url=database_url))
        out = ok(csi("import", "--survey", SURVEY, "--wave", wave, str(exported), url=database_url))
        assert out.splitlines()[-1].startswith(f"2026Q1.{fmt}: 250 rows read") and "250 responses imported" in out
        # Importing it again adds nothing.
        again = ok(csi("import", "--survey", SURVEY, "--wave", wave, str(exported), url=database_url))
        assert "0 responses imported, 250 already imported before (skipped)" in again
        imported = load_wave_frame(engine, SURVEY, wave, columns=list(original.columns))
        expected = original.copy()
        expected[dont_know] = expected[dont_know].where(expected[dont_know] != 99)  # don't know -> missing
        assert len(imported) == 250
        for column in original.columns:
            left = expected[column].to_numpy()
            right = imported[column].to_numpy()
            if expected[column].dtype == float:
                np.testing.assert_array_equal(left, right.astype(float), err_msg=f"{fmt}: {column}")
            else:
                # Multiple choice comes back in option order (the export's 0/1 columns keep no order).
                assert [_comparable(v) for v in left] == [_comparable(v) for v in right], f"{fmt}: {column}"
        with Session(engine) as session:
            wave_id = find_wave(session, SURVEY, wave).id
            origins = session.execute(select(Response.origin, Response.language).where(Response.wave_id == wave_id)
                                      .order_by(Response.id)).all()
        assert {o for o, _ in origins} == {"imported"}
        assert [lang for _, lang in origins] == ["zh-CN" if k % 3 == 0 else "en" for k in range(250)]
    fits = {wave: compute_analysis(engine, SURVEY, wave, n_boot=0, n_perm=19, store=False, with_segments=False).fit
            for wave in ("2026Q1", "2026Q2", "2026Q3")}
    reference = fits["2026Q1"].index_table.set_index("construct")["estimate"]
    assert reference.notna().sum() >= 5
    for wave in ("2026Q2", "2026Q3"):
        pd.testing.assert_series_equal(fits[wave].index_table.set_index("construct")["estimate"], reference,
                                       check_exact=False, rtol=1e-12, atol=1e-9)
    # The exports say which responses were imported.
    exported = tmp_path / "2026Q2-again.csv"
    ok(csi("export", "--survey", SURVEY, "--wave", "2026Q2", "-o", str(exported), url=database_url))
    assert set(pd.read_csv(exported, encoding="utf-8-sig")["origin"]) == {"imported"}
    engine.dispose()


def test_import_errors_are_file_row_lines_and_nothing_is_stored(database_url, tmp_path):
    path = str(questionnaires.path("acsi_retail"))
    ok(csi("wave", "create", "--survey", SURVEY, "--wave", "W", "--questionnaire", path, url=database_url))
    questionnaire = load_questionnaire(path)
    columns = [q.id for q in questionnaire.rating_items[:2]]
    choice = next(q for q in questionnaire.questions if q.type == "single_choice")
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{columns[0]},{columns[1]},{choice.id}\n10,5,{choice.options[0].value}\n11,Excellent,shop\n"
                   ",very good,\n", encoding="utf-8")
    result = csi("import", "--survey", SURVEY, "--wave", "W", str(bad), url=database_url)
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        f"bad.csv:3: {choice.id}: 'shop' is neither an option nor an option's label "
        f"(options: {', '.join(sorted(str(o.value) for o in choice.options))})",
        f"bad.csv:3: {columns[0]}: 11 is outside the scale 1..10; don't know is 99",
        f"bad.csv:4: {columns[1]}: 'very good' is not a rating; expected a number or a label of its scale"]
    assert result.stderr == (f"error: nothing was imported: 3 problems in {bad} (fix them, or import the good rows "
                             "with --skip-bad-rows)\n")
    engine = make_engine(database_url)
    with Session(engine) as session:
        assert session.scalar(select(func.count(Response.id))) == 0
    skipped = ok(csi("import", "--survey", SURVEY, "--wave", "W", str(bad), "--skip-bad-rows", url=database_url))
    assert skipped.splitlines()[0] == "skipped 2 rows:"
    assert skipped.splitlines()[-1] == "bad.csv: 3 rows read (UTF-8), 1 responses imported, 2 bad rows skipped"
    with Session(engine) as session:
        assert session.scalar(select(func.count(Response.id))) == 1
    engine.dispose()
    missing = csi("import", "--survey", SURVEY, "--wave", "W", str(tmp_path / "nope.csv"), url=database_url)
    assert missing.returncode == 1 and "nope.csv: cannot read the file" in missing.stdout


def test_csi_import_says_which_quotas_the_imported_rows_took_past_their_limit(database_url, tmp_path):
    from ..models.test_importing_quotas import FILE, QUOTAS

    (tmp_path / "quotas.yaml").write_text(QUOTAS, encoding="utf-8")
    (tmp_path / "field.csv").write_text(FILE, encoding="utf-8")
    ok(csi("wave", "create", "--survey", "imp", "--wave", "W1", "--questionnaire", str(tmp_path / "quotas.yaml"),
           url=database_url))
    out = ok(csi("import", "--survey", "imp", "--wave", "W1", str(tmp_path / "field.csv"), url=database_url))
    assert out.splitlines()[-1] == ("field.csv: quota store now over by 1 (3 of 2) (imported "
                                    "responses are stored and counted even past a limit)")
    status = json.loads(ok(csi("wave", "status", "--survey", "imp", "--wave", "W1", "--json", url=database_url)))
    assert [(q["id"], q["count"], q["limit"], q["full"]) for q in status["quotas"]] == [
        ("store", 3, 2, True), ("unhappy", 2, 10, False), ("price", 3, 5, False)]
