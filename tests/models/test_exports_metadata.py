"""What a researcher gets in an export beside the answers, on SQLite and PostgreSQL:
timestamps, duration, language, questionnaire version and hash, invitation attributes,
origin, partial responses with their status; and a .sav file whose "don't know" codes
are user-missing, whose measurement levels and labels (in the chosen language) are as
written, read back both by pyreadstat and by GNU PSPP (Debian's ``pspp``)."""
import csv
import io
import os
import shutil
import subprocess
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from models.exports import METADATA_COLUMNS, ExportError, export_wave
from models.questionnaire import parse_questionnaire
from models.storage import bulk_insert_responses, create_invitations, create_wave, make_engine, register_questionnaire, upgrade
from models.storage.tables import Invitation, Response

PSPP = "/usr/bin/pspp"
QUESTIONNAIRE = """\
id: meta
version: "2.1"
default_language: en
languages: [en, zh-CN]
title: {en: Meta, zh-CN: 元数据}
scales:
  ten:
    min: 1
    max: 10
    labels: {1: {en: Very poor, zh-CN: 非常差}, 10: {en: Excellent, zh-CN: 非常好}}
    dont_know: {code: 99, label: {en: Don't know, zh-CN: 不知道}}
pages:
  - id: p1
    questions:
      - {id: sat, type: rating, scale: ten, text: {en: Overall satisfaction, zh-CN: 总体满意度}}
      - id: channel
        type: single_choice
        text: {en: Channel, zh-CN: 渠道}
        options:
          - {value: store, label: {en: In a store, zh-CN: 门店}}
          - {value: web, label: {en: Online, zh-CN: 网上}}
      - id: cats
        type: multiple_choice
        required: false
        text: {en: Categories, zh-CN: 品类}
        options:
          - {value: food, label: {en: Food, zh-CN: 食品}}
          - {value: home, label: {en: Home, zh-CN: 家居}}
      - {id: visits, type: number, min: 0, max: 100, text: {en: Visits, zh-CN: 到店次数}}
      - {id: comments, type: text, required: false, text: {en: Comments, zh-CN: 意见}}
"""
T0 = datetime(2026, 11, 30, 8, 0, 0, tzinfo=timezone.utc)
DURATIONS = [300.0, 90.0, 1234.0]


@pytest.fixture
def fielded(database_url):
    """Three complete responses (two by invitation, one in Chinese) and one partial."""
    engine = make_engine(database_url)
    upgrade(engine)
    questionnaire = parse_questionnaire(QUESTIONNAIRE, "meta.yaml")
    with Session(engine, expire_on_commit=False) as session:
        survey = register_questionnaire(session, questionnaire)
        wave = create_wave(session, survey, "2026年第四季度")
        session.commit()
    answers = pd.DataFrame({"sat": [9.0, 99.0, 2.0], "channel": ["store", "web", "store"],
                            "cats": [["food"], ["food", "home"], []], "visits": [3.0, 12.0, 0.0],
                            "comments": ["=HYPERLINK(\"x\")", None, "很好"]})
    starts = [T0 + timedelta(hours=k) for k in range(3)]
    ids = bulk_insert_responses(engine, survey, wave, answers, started_at=starts,
                                completed_at=[s + timedelta(seconds=d) for s, d in zip(starts, DURATIONS)])
    partial = bulk_insert_responses(engine, survey, wave, pd.DataFrame({"sat": [7.0]}), status="partial",
                                    started_at=[T0 + timedelta(hours=5)], completed_at=[T0 + timedelta(hours=5)])
    with Session(engine) as session:
        create_invitations(session, wave, [{"tier": "gold", "region": "north"}, {"tier": "basic", "等级": "甲"}])
        invitations = session.query(Invitation.id).order_by(Invitation.id).all()
        for response_id, (invitation_id,) in zip(ids[:2], invitations):
            session.execute(update(Response).where(Response.id == response_id).values(invitation_id=invitation_id))
        session.execute(update(Response).where(Response.id == ids[1]).values(language="zh-CN"))
        session.commit()
    yield engine, questionnaire, ids, partial[0]
    engine.dispose()


def read_csv(data: bytes) -> list[dict]:
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_wide_csv_has_every_metadata_column(fielded):
    engine, questionnaire, ids, _ = fielded
    rows = read_csv(export_wave(engine, questionnaire, "2026年第四季度", "csv")[0])
    header = list(rows[0])
    assert header[:1 + len(METADATA_COLUMNS)] == ["response_id", *METADATA_COLUMNS]
    assert header[10:13] == ["attr_tier", "attr_region", "attr_等级"]
    assert header[13:] == ["sat", "channel", "cats__food", "cats__home", "visits", "comments"]
    assert {r["display_order"] for r in rows} == {""}  # nothing here is randomized
    assert [int(r["response_id"]) for r in rows] == ids  # complete responses only, by default
    first, second, third = rows
    assert first["started_at"] == "2026-11-30T08:00:00Z" and first["submitted_at"] == "2026-11-30T08:05:00Z"
    assert [float(r["duration_seconds"]) for r in rows] == DURATIONS
    assert [r["language"] for r in rows] == ["en", "zh-CN", "en"]
    assert {r["status"] for r in rows} == {"complete"} and {r["origin"] for r in rows} == {"web"}
    assert {r["questionnaire_version"] for r in rows} == {"2.1"}
    assert {r["questionnaire_hash"] for r in rows} == {questionnaire.content_hash}
    assert (first["attr_tier"], first["attr_region"], first["attr_等级"]) == ("gold", "north", "")
    assert (second["attr_tier"], second["attr_region"], second["attr_等级"]) == ("basic", "", "甲")
    assert third["attr_tier"] == ""  # a public-link response has no attributes
    assert first["comments"] == "'=HYPERLINK(\"x\")" and first["sat"] == "9" and second["sat"] == "99"


def test_partial_responses_on_request(fielded):
    engine, questionnaire, ids, partial = fielded
    rows = read_csv(export_wave(engine, questionnaire, "2026年第四季度", "csv", include_partial=True)[0])
    assert [int(r["response_id"]) for r in rows] == ids + [partial]
    last = rows[-1]
    assert (last["status"], last["submitted_at"], last["duration_seconds"], last["sat"]) == ("partial", "", "", "7")
    assert last["started_at"] == "2026-11-30T13:00:00Z"
    long = read_csv(export_wave(engine, questionnaire, "2026年第四季度", "csv", "long", include_partial=True)[0])
    assert list(long[0]) == ["response_id", "status", "question_id", "value"]
    assert {(r["question_id"], r["status"]) for r in long if int(r["response_id"]) == partial} == {("sat", "partial")}
    assert "status" not in read_csv(export_wave(engine, questionnaire, "2026年第四季度", "csv", "long")[0])[0]


def test_xlsx_has_metadata_and_labels_in_the_chosen_language(fielded):
    engine, questionnaire, ids, _ = fielded
    data, _ = export_wave(engine, questionnaire, "2026年第四季度", "xlsx", language="zh-CN")
    sheets = pd.read_excel(io.BytesIO(data), sheet_name=None)
    responses, variables = sheets["responses"], sheets["variables"].set_index("variable")["label"]
    assert responses["started_at"].tolist()[0] == "2026-11-30T08:00:00Z"
    assert responses["duration_seconds"].tolist() == DURATIONS
    assert variables["sat"] == "总体满意度" and variables["duration_seconds"] == "从开始到提交的时长（秒）"
    assert variables["attr_tier"] == "邀请属性: tier"


def write_sav(fielded, tmp_path, language=None):
    engine, questionnaire, _, _ = fielded
    path = tmp_path / "export.sav"
    path.write_bytes(export_wave(engine, questionnaire, "2026年第四季度", "sav", language=language,
                                 include_partial=True)[0])
    return path


EXPECTED_MEASURES = {"response_id": "nominal", "status": "nominal", "origin": "nominal", "language": "nominal",
                     "questionnaire_version": "nominal", "questionnaire_hash": "nominal", "started_at": "scale",
                     "submitted_at": "scale", "duration_seconds": "scale", "attr_tier": "nominal", "sat": "ordinal",
                     "channel": "nominal", "cats__food": "nominal", "visits": "scale", "comments": "nominal"}


@pytest.mark.parametrize("language, sat_label, dk_label, started_label",
                         [(None, "Overall satisfaction", "Don't know", "Started (UTC)"),
                          ("zh-CN", "总体满意度", "不知道", "开始时间（UTC）")])
def test_sav_read_back_by_pyreadstat(fielded, tmp_path, language, sat_label, dk_label, started_label):
    import pyreadstat
    path = write_sav(fielded, tmp_path, language)
    frame, meta = pyreadstat.read_sav(str(path), user_missing=True)
    labels = dict(zip(meta.column_names, meta.column_labels))
    assert labels["sat"] == sat_label and labels["started_at"] == started_label
    assert meta.variable_value_labels["sat"][99.0] == dk_label
    assert meta.missing_ranges == {"sat": [{"lo": 99.0, "hi": 99.0}]}
    assert {k: meta.variable_measure[k] for k in EXPECTED_MEASURES} == EXPECTED_MEASURES
    assert meta.original_variable_types["started_at"].startswith("DATETIME")
    assert frame["started_at"].iloc[0] == pd.Timestamp("2026-11-30 08:00:00")
    assert frame["sat"].tolist() == [9.0, 99.0, 2.0, 7.0]  # kept in the data, declared missing
    assert frame["status"].tolist() == ["complete"] * 3 + ["partial"]
    assert frame["duration_seconds"].iloc[:3].tolist() == DURATIONS and np.isnan(frame["duration_seconds"].iloc[3])
    # Without user_missing the reader drops the "don't know" code as SPSS would.
    plain, _ = pyreadstat.read_sav(str(path))
    assert np.isnan(plain["sat"].iloc[1]) and plain["sat"].iloc[0] == 9.0


def pspp_dictionary(path, tmp_path) -> tuple[dict[str, dict], list[list[str]]]:
    """PSPP's own reading of ``path``: variables (name -> row of DISPLAY DICTIONARY) and
    the value-label rows, from PSPP's CSV output."""
    if not shutil.which(PSPP):
        if os.environ.get("CSI_REQUIRE_PSPP") == "1":  # set by .ci/run, which installs it
            pytest.fail(f"{PSPP} is missing although CSI_REQUIRE_PSPP=1")
        pytest.skip(f"{PSPP} is not installed (Debian package pspp; .ci/run installs it)")
    syntax = tmp_path / "read.sps"
    syntax.write_text(f"GET FILE='{path}'.\nDISPLAY DICTIONARY.\n", encoding="utf-8")
    out = tmp_path / "dictionary.csv"
    run = subprocess.run([PSPP, str(syntax), "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    tables: dict[str, list[list[str]]] = {}
    current = None
    for row in csv.reader(out.read_text(encoding="utf-8").splitlines()):
        if row and row[0].startswith("Table: "):
            current = tables.setdefault(row[0][len("Table: "):], [])
        elif row and current is not None:
            current.append(row)
    header, *rows = tables["Variables"]
    variables = {row[0]: dict(zip(header, row)) for row in rows}
    return variables, tables["Value Labels"][1:]


@pytest.mark.parametrize("language, sat_label, dk_label", [(None, "Overall satisfaction", "Don't know"),
                                                           ("zh-CN", "总体满意度", "不知道")])
def test_sav_read_back_by_pspp(fielded, tmp_path, language, sat_label, dk_label):
    variables, value_labels = pspp_dictionary(write_sav(fielded, tmp_path, language), tmp_path)
    assert variables["sat"]["Label"] == sat_label
    assert variables["sat"]["Missing Values"] == "99"
    assert {name: variables[name]["Measurement Level"].lower() for name in EXPECTED_MEASURES} == EXPECTED_MEASURES
    assert variables["visits"]["Missing Values"] == ""
    assert variables["started_at"]["Print Format"].startswith("DATETIME")
    # The don't-know code keeps its label and is marked user-missing ("[a]" footnote).
    assert [dk_label, "99.00[a]"] == next([row[2], row[1]] for row in value_labels if row[2] == dk_label)
    channel = "渠道" if language == "zh-CN" else "Channel"
    assert any(row[0] == channel for row in value_labels)


def test_unknown_language_is_a_clear_error(fielded):
    engine, questionnaire, _, _ = fielded
    with pytest.raises(ExportError, match=r"questionnaire 'meta' has no language 'fr'; its languages: en, zh-CN"):
        export_wave(engine, questionnaire, "2026年第四季度", "sav", language="fr")


def test_metadata_never_takes_a_question_id(sqlite_url):
    engine = make_engine(sqlite_url)
    upgrade(engine)
    questionnaire = parse_questionnaire(QUESTIONNAIRE.replace("id: comments", "id: status"), "clash.yaml")
    with Session(engine, expire_on_commit=False) as session:
        survey = register_questionnaire(session, questionnaire)
        wave = create_wave(session, survey, "W1")
        session.commit()
    bulk_insert_responses(engine, survey, wave, pd.DataFrame({"sat": [5.0], "status": ["my own answer"]}))
    row = read_csv(export_wave(engine, questionnaire, "W1", "csv")[0])[0]
    assert (row["meta_status"], row["status"]) == ("complete", "my own answer")
    engine.dispose()
