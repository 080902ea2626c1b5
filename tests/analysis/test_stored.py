"""Stored wave analyses (analysis/stored.py): derived seeds, independence from the rest of
the series, the data version, and what makes a stored analysis out of date. Real SQLite
and PostgreSQL databases."""
import hashlib

import numpy as np
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

import questionnaires
from analysis.simulate import simulate_responses
from analysis.stored import (CODE_VERSION, compute_analysis, ensure_analysis, pair_seed, read_stored, stored_status,
                             wave_seed)
from analysis.waves import wave_trend
from models import load_questionnaire
from models.storage import (bulk_insert_responses, create_wave, find_wave, load_wave_frame, make_engine,
                            register_questionnaire, upgrade)
from models.storage.tables import WaveAnalysis


@pytest.fixture
def acsi():
    return load_questionnaire(questionnaires.path("acsi_retail"))


def fielded(url, acsi, waves):
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as session:
        survey = register_questionnaire(session, acsi)
        for k, name in enumerate(waves):
            wave = create_wave(session, survey, name)
            wave.closed = k < len(waves) - 1
            session.commit()
            bulk_insert_responses(engine, survey, wave, simulate_responses(acsi, 120, seed=k, shift=0.1 * k))
    return engine


def test_seeds_are_derived_from_survey_and_wave():
    expected = int.from_bytes(hashlib.sha256(b"csi:acsi-retail:2026Q4").digest()[:4], "big")
    assert wave_seed("acsi-retail", "2026Q4") == expected
    assert wave_seed("acsi-retail", "2026Q3") != expected != wave_seed("ccsi-mobile", "2026Q4")
    assert pair_seed("acsi-retail", "2026Q4", "2026Q3") != pair_seed("acsi-retail", "2026Q4", "2025Q4")


def test_stored_analysis_is_the_series_analysis_with_derived_seeds(database_url, acsi):
    engine = fielded(database_url, acsi, ["2026Q3", "2026Q4"])
    stored = compute_analysis(engine, "acsi-retail", "2026Q4", n_boot=100, n_perm=60)
    frames = {w: load_wave_frame(engine, "acsi-retail", w) for w in ("2026Q3", "2026Q4")}
    direct = wave_trend(acsi.csi_model(), frames, questionnaire=acsi, n_boot=100, n_perm=60,
                        wave_seeds={w: wave_seed("acsi-retail", w) for w in frames},
                        pair_seed=lambda a, b: pair_seed("acsi-retail", a, b))
    assert np.array_equal(stored.fit.index_table["ci_low"], direct.fits["2026Q4"].index_table["ci_low"])
    assert stored.changes["p_value"].tolist() == direct.changes_for("2026Q4")["p_value"].tolist()
    assert stored.seed == wave_seed("acsi-retail", "2026Q4") and stored.n_used == 120
    again = read_stored(engine, "acsi-retail", "2026Q4")  # from the database: the same numbers
    assert again.changes["p_value"].tolist() == stored.changes["p_value"].tolist()
    assert again.fit.index.equals(stored.fit.index)
    engine.dispose()


def test_a_waves_numbers_do_not_depend_on_the_other_waves_in_the_series(sqlite_url, acsi):
    engine = fielded(sqlite_url, acsi, ["2025Q4", "2026Q3", "2026Q4"])
    with_year_ago = compute_analysis(engine, "acsi-retail", "2026Q4", n_boot=80, n_perm=40, store=False)
    frames = {w: load_wave_frame(engine, "acsi-retail", w) for w in ("2026Q3", "2026Q4")}
    without = wave_trend(acsi.csi_model(), frames, questionnaire=acsi, n_boot=80, n_perm=40,
                         wave_seeds={w: wave_seed("acsi-retail", w) for w in frames},
                         pair_seed=lambda a, b: pair_seed("acsi-retail", a, b))
    assert sorted(with_year_ago.changes["reference"].unique()) == ["2025Q4", "2026Q3"]
    previous = with_year_ago.changes[with_year_ago.changes["reference"] == "2026Q3"]["p_value"].tolist()
    assert previous == without.changes_for("2026Q4")["p_value"].tolist()
    assert np.array_equal(with_year_ago.fit.index_table["ci_high"], without.fits["2026Q4"].index_table["ci_high"])
    engine.dispose()


def test_a_report_stores_what_analysing_each_wave_alone_stores(sqlite_url, acsi):
    """A report from nothing analyses the reported wave first (its references' fits made
    there are reused by their own analyses, analysis.stored.FitCache); a job analyses one
    wave at a time, oldest first. Both store the same numbers, bit for bit."""
    from sqlalchemy import text

    from analysis.report import build_report
    waves = ["2025Q4", "2026Q1", "2026Q2", "2026Q3", "2026Q4"]
    engine = fielded(sqlite_url, acsi, waves)
    build_report(engine, "acsi-retail", "2026Q4", n_boot=40, n_perm=30)
    by_report = {w: read_stored(engine, "acsi-retail", w) for w in waves}
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM wave_analyses"))
    for w in waves:
        compute_analysis(engine, "acsi-retail", w, n_boot=40, n_perm=30, with_segments=w == "2026Q4")
    for w in waves:
        alone = read_stored(engine, "acsi-retail", w)
        report = by_report[w]
        assert np.array_equal(report.fit.bootstrap.samples, alone.fit.bootstrap.samples, equal_nan=True), w
        assert np.array_equal(report.fit.estimates, alone.fit.estimates, equal_nan=True), w
        assert report.changes.equals(alone.changes), w
        assert (report.segments is None) == (w != "2026Q4") == (alone.segments is None), w
    assert len(by_report["2026Q4"].changes["reference"].unique()) == 2  # the previous wave and a year ago
    for a, b in zip(by_report["2026Q4"].segments, read_stored(engine, "acsi-retail", "2026Q4").segments, strict=True):
        assert a.index_table.equals(b.index_table) and a.mga.equals(b.mga)
    engine.dispose()


def test_new_responses_or_other_code_make_it_out_of_date_but_a_closed_wave_serves_a_trend(sqlite_url, acsi):
    engine = fielded(sqlite_url, acsi, ["2026Q3", "2026Q4"])
    compute_analysis(engine, "acsi-retail", "2026Q3", n_boot=50, n_perm=30)
    first = compute_analysis(engine, "acsi-retail", "2026Q4", n_boot=50, n_perm=30)
    assert stored_status(engine, "acsi-retail", "2026Q4")["current"]
    assert ensure_analysis(engine, "acsi-retail", "2026Q4").computed_at == first.computed_at  # no recomputation
    with Session(engine) as session:
        for name in ("2026Q3", "2026Q4"):
            wave = find_wave(session, "acsi-retail", name)
            bulk_insert_responses(engine, wave.questionnaire_version, wave, simulate_responses(acsi, 2, seed=7))
    status = stored_status(engine, "acsi-retail", "2026Q4")
    assert (status["current"], status["n"], status["completed_now"]) == (False, 120, 122)
    assert read_stored(engine, "acsi-retail", "2026Q4") is None
    # A report of 2026Q4 computed 2026Q3 as a point of its trend only: without its segments, which its own
    # report then computes.
    from analysis.report import build_report
    engine_fresh = fielded(sqlite_url.replace("test.sqlite3", "fresh.sqlite3"), acsi, ["2026Q3", "2026Q4"])
    build_report(engine_fresh, "acsi-retail", "2026Q4", n_boot=40, n_perm=30)
    assert read_stored(engine_fresh, "acsi-retail", "2026Q3").segments is None
    assert read_stored(engine_fresh, "acsi-retail", "2026Q4").segments is not None
    build_report(engine_fresh, "acsi-retail", "2026Q3")
    assert read_stored(engine_fresh, "acsi-retail", "2026Q3").segments is not None
    engine_fresh.dispose()
    # The closed wave's stored analysis still serves a trend as it is (closed waves are not recomputed) ...
    closed = ensure_analysis(engine, "acsi-retail", "2026Q3", trend_member=True)
    assert closed.n_used == 120
    # ... the open one is recomputed on the new data.
    assert ensure_analysis(engine, "acsi-retail", "2026Q4").n_used == 122
    with engine.begin() as connection:
        connection.execute(update(WaveAnalysis).values(code_version="other code"))
    assert read_stored(engine, "acsi-retail", "2026Q3", current=False) is None
    assert CODE_VERSION != "other code"
    engine.dispose()


def test_a_report_from_stored_analyses_keeps_its_figures_until_an_analysis_changes(sqlite_url, acsi, monkeypatch):
    from analysis import report as report_module
    from analysis.report import build_report
    from models.storage.tables import ReportFigures

    # Drawing counted in this process: no second process (it would draw them out of sight).
    monkeypatch.setenv("CSI_REPORT_PROCESSES", "1")
    engine = fielded(sqlite_url, acsi, ["2026Q3", "2026Q4"])
    drawn = []
    draw = report_module._figures_of
    monkeypatch.setattr(report_module, "_figures_of", lambda *args: drawn.append(args[2]) or draw(*args))
    first = build_report(engine, "acsi-retail", "2026Q4", n_boot=40, n_perm=30)
    again = build_report(engine, "acsi-retail", "2026Q4")
    assert drawn == ["en"] and again.figures == first.figures  # kept, not drawn again
    assert len(first.figures) >= 5 and all(f.startswith("<svg") for f in first.figures.values())
    # What is kept is what drawing gives: the same SVG when drawn again from the same analyses.
    with engine.begin() as connection:
        connection.execute(ReportFigures.__table__.delete())
    assert build_report(engine, "acsi-retail", "2026Q4").figures == first.figures and drawn == ["en", "en"]
    # Each language has its own figures (their words are translated).
    chinese = build_report(engine, "acsi-retail", "2026Q4", language="zh-CN")
    assert drawn == ["en", "en", "zh-CN"] and chinese.figures["trend"] != first.figures["trend"]
    assert build_report(engine, "acsi-retail", "2026Q4").figures == first.figures and len(drawn) == 3
    # New responses make the wave's analysis out of date: it is recomputed and the figures drawn from it.
    with Session(engine) as session:
        wave = find_wave(session, "acsi-retail", "2026Q4")
        bulk_insert_responses(engine, wave.questionnaire_version, wave, simulate_responses(acsi, 3, seed=9))
    after = build_report(engine, "acsi-retail", "2026Q4")
    assert drawn[3:] == ["en"] and after.figures != first.figures and {s["wave"]: s["n_used"] for s in after.context["sizes"]}["2026Q4"] == 123
    # A seeded report computes everything afresh: it neither reads nor replaces the kept figures.
    build_report(engine, "acsi-retail", "2026Q4", n_boot=40, n_perm=30, seed=2)
    assert drawn[4:] == ["en"]
    assert build_report(engine, "acsi-retail", "2026Q4").figures == after.figures and len(drawn) == 5
    engine.dispose()
