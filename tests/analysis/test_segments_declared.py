"""Segments are what the questionnaire declares (``segment: true``); names such as channel
or region are only the fallback when nothing is declared. The report's sample notes say
how many responses of a wave were imported."""
import html

import pytest
from sqlalchemy.orm import Session

import questionnaires
from analysis.report import analyse_wave_segments, build_report, segment_variables
from analysis.simulate import simulate_responses
from models.questionnaire import parse_questionnaire
from models.storage import bulk_insert_responses, create_wave, load_wave_frame, make_engine, register_questionnaire

SHIPPED = questionnaires.path("acsi_retail").read_text(encoding="utf-8")
# The shipped file asks "channel" (a fallback name) and "complained"; declare the latter.
DECLARED = SHIPPED.replace("      - id: complained\n        type: single_choice\n",
                           "      - id: complained\n        type: single_choice\n        segment: true\n")


def test_declared_segments_replace_the_guess_by_name():
    declared = parse_questionnaire(DECLARED, "declared.yaml")
    shipped = parse_questionnaire(SHIPPED, "acsi_retail.yaml")
    assert declared.segment_ids == ("complained",) and shipped.segment_ids == ()
    columns = ["sat_overall", "channel", "complained", "region", "tier"]
    assert segment_variables(declared, columns) == ["complained"]
    # The fallback: columns named like segments, only when none is declared.
    assert segment_variables(shipped, columns) == ["channel", "region", "tier"]
    assert segment_variables(declared, ["sat_overall", "region"]) == []


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    from models.storage import upgrade

    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('segments') / 's.sqlite3'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def _wave(engine, text: str, name: str, origin: str = "web"):
    questionnaire = parse_questionnaire(text, "q.yaml")
    with Session(engine, expire_on_commit=False) as session:
        survey = register_questionnaire(session, questionnaire)
        wave = create_wave(session, survey, name)
        session.commit()
    answers = simulate_responses(questionnaire, 240, seed=3)
    keys = [f"{name}-{k}" for k in range(len(answers))] if origin == "imported" else None
    bulk_insert_responses(engine, survey, wave, answers, origin=origin, import_keys=keys)
    return questionnaire


def test_the_analysis_segments_by_the_declared_question(engine):
    declared = _wave(engine, DECLARED, "D1")
    frame = load_wave_frame(engine, declared.id, "D1")
    assert {"channel", "complained"} <= set(frame.columns)
    segments, _ = analyse_wave_segments(engine, declared.csi_model(), declared, "D1", frame, None, None,
                                        n_boot=0, n_perm=19, seed=1)
    assert [s.variable for s in segments] == ["complained"]
    levels = set(segments[0].index_table["segment"])
    assert levels == set(frame["complained"].dropna().astype(str))


def test_report_sample_notes_count_imported_responses(engine):
    questionnaire = _wave(engine, SHIPPED.replace("id: acsi-retail", "id: acsi-imported"), "2026Q1",
                          origin="imported")
    english = build_report(engine, questionnaire.id, "2026Q1", seed=1, n_boot=20, n_perm=19)
    assert ("2026Q1: 240 of the 240 complete responses were imported from another tool (csi import), not answered "
            "on the survey's pages") in html.unescape(english.html())
    chinese = build_report(engine, questionnaire.id, "2026Q1", seed=1, n_boot=20, n_perm=19, language="zh-CN")
    assert "2026Q1：240份完成答卷中有240份由其他工具导入（csi import），并非在本问卷页面上作答" in chinese.html()
