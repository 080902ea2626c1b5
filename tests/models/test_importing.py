"""Importing responses collected by other tools (models.importing): labels in both languages
and SPSS value labels become the questionnaire's codes, don't-know becomes missing, every
bad cell is reported as FILE:ROW: column: message before anything is stored, re-imports add
nothing, and hostile files get one clear sentence. Stored on SQLite and PostgreSQL."""
import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.importing import DataImportError, import_file, read_table
from models.questionnaire import parse_questionnaire
from models.storage import create_wave, load_wave_frame, make_engine, register_questionnaire
from models.storage.tables import Response

QUESTIONNAIRE = """\
id: imp
version: 1
default_language: en
languages: [en, zh-CN]
title: Import
scales:
  five:
    min: 1
    max: 5
    labels:
      1: {en: Very dissatisfied, zh-CN: 非常不满意}
      5: {en: Very satisfied, zh-CN: 非常满意}
    dont_know: {code: 99, label: {en: "Don't know", zh-CN: 不知道}}
pages:
  - id: p1
    questions:
      - {id: sat, type: rating, scale: five, text: "Satisfied?"}
      - {id: rec, type: rating, scale: five, text: "Recommend?"}
      - id: channel
        type: single_choice
        text: Channel
        options:
          - {value: store, label: {en: In a store, zh-CN: 门店}}
          - {value: web, label: {en: Online, zh-CN: 网上}}
      - id: why
        type: multiple_choice
        required: false
        text: Why
        options:
          - {value: price, label: {en: Price, zh-CN: 价格}}
          - {value: staff, label: {en: Staff, zh-CN: 店员}}
      - {id: note, type: text, required: false, max_length: 20, text: Note}
      - {id: visits, type: number, min: 0, max: 50, integer: true, required: false, text: Visits}
"""


@pytest.fixture
def store(database_url):
    engine = make_engine(database_url)
    questionnaire = parse_questionnaire(QUESTIONNAIRE, "imp.yaml")
    with Session(engine, expire_on_commit=False) as session:
        survey = register_questionnaire(session, questionnaire)
        create_wave(session, survey, "W1")
        create_wave(session, survey, "W2")
        session.commit()
    yield engine
    engine.dispose()


def write(tmp_path, name: str, text: str, encoding: str = "utf-8") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def responses(engine, wave: str = "W1") -> list:
    """(origin, language) of the wave's responses in the order stored."""
    from models.storage import find_wave

    with Session(engine) as session:
        wave_id = find_wave(session, "imp", wave).id
        return [tuple(row) for row in session.execute(select(Response.origin, Response.language)
                                                      .where(Response.wave_id == wave_id).order_by(Response.id))]


GOOD = """\
sat,rec,channel,why,note,visits,language
5,4,store,price;staff,fine,3,en
非常满意,Very dissatisfied,门店,价格,好,0,zh-CN
99,Don't know,Online,,=1+1,,en
1,不知道,web,Staff,'=SUM(A1),12,en
"""


def test_codes_and_labels_in_both_languages_become_codes(store, tmp_path):
    result = import_file(store, "imp", "W1", write(tmp_path, "good.csv", GOOD))
    assert (result.rows_read, result.stored, result.already_imported, result.skipped) == (4, 4, 0, ())
    assert result.encoding == "UTF-8"
    frame = load_wave_frame(store, "imp", "W1")
    assert frame["sat"].tolist()[:2] == [5.0, 5.0] and np.isnan(frame["sat"].iloc[2]) and frame["sat"].iloc[3] == 1.0
    assert frame["rec"].tolist()[:2] == [4.0, 1.0] and frame["rec"].isna().tolist()[2:] == [True, True]
    assert frame["channel"].tolist() == ["store", "store", "web", "web"]
    assert [v if isinstance(v, str) else None for v in frame["why"]] == ['["price", "staff"]', '["price"]', None, '["staff"]']
    # Formula-like text is kept as the respondent wrote it (exports neutralize it); the
    # export's own guard quote ("'=...") is taken off again.
    assert frame["note"].tolist() == ["fine", "好", "=1+1", "=SUM(A1)"]
    assert frame["visits"].tolist()[:2] == [3.0, 0.0] and np.isnan(frame["visits"].iloc[2])
    assert responses(store) == [("imported", "en"), ("imported", "zh-CN"), ("imported", "en"), ("imported", "en")]


BAD = """\
sat,rec,channel,why,note,visits
5,4,store,price,ok,3
6,4,store,price,ok,3
4.5,Great,shop,money,ok,3
5,4,store,price,this note is far too long for it,51
=HYPERLINK("x"),4,store,,ok,2.5
"""


def test_every_problem_is_reported_at_once_and_nothing_is_stored(store, tmp_path):
    path = write(tmp_path, "bad.csv", BAD)
    with pytest.raises(DataImportError) as caught:
        import_file(store, "imp", "W1", path)
    assert [str(p) for p in caught.value.problems] == [
        "bad.csv:3: sat: 6 is outside the scale 1..5; don't know is 99",
        "bad.csv:4: channel: 'shop' is neither an option nor an option's label (options: store, web)",
        "bad.csv:4: rec: 'Great' is not a rating; expected a number or a label of its scale",
        "bad.csv:4: sat: 4.5 is not a whole number (scale 1..5)",
        "bad.csv:4: why: 'money' is neither an option nor an option's label (options: price, staff; "
        "separate several with ';')",
        "bad.csv:5: note: the text has 32 characters; the question allows 20",
        "bad.csv:5: visits: 51 is outside 0..50",
        "bad.csv:6: sat: '=HYPERLINK(\"x\")' is not a rating; expected a number or a label of its scale",
        "bad.csv:6: visits: 2.5 is not a whole number",
    ]
    assert responses(store) == []


def test_skip_bad_rows_stores_the_rest_and_says_what_it_skipped(store, tmp_path):
    result = import_file(store, "imp", "W1", write(tmp_path, "bad.csv", BAD), skip_bad_rows=True)
    assert (result.stored, result.skipped_rows) == (1, 4)
    assert {p.row for p in result.skipped} == {3, 4, 5, 6}
    assert load_wave_frame(store, "imp", "W1")["sat"].tolist() == [5.0]


def test_reimporting_the_same_file_adds_nothing(store, tmp_path):
    # Two respondents with identical answers stay two (the row key counts repeats).
    text = "sat,rec\n5,5\n5,5\n3,2\n"
    path = write(tmp_path, "same.csv", text)
    first = import_file(store, "imp", "W1", path)
    again = import_file(store, "imp", "W1", path)
    assert (first.stored, again.stored, again.already_imported) == (3, 0, 3)
    grown = import_file(store, "imp", "W1", write(tmp_path, "more.csv", text + "5,5\n"))
    assert (grown.stored, grown.already_imported) == (1, 3)
    # The same file into another wave is another wave's data.
    assert import_file(store, "imp", "W2", path).stored == 3
    assert len(responses(store)) == 4


def test_a_mapped_respondent_id_identifies_rows(store, tmp_path):
    mapping = write(tmp_path, "map.yaml", "respondent_id: RespID\ncolumns:\n  Q1: sat\n  Q2: rec\n"
                                          "dont_know: [8]\nignore: [Timestamp]\n")
    first = write(tmp_path, "a.csv", "RespID,Q1,Q2,Timestamp\nr1,5,8,x\nr2,3,4,y\n")
    assert import_file(store, "imp", "W1", first, mapping).stored == 2
    # Corrected answers of r2 do not make a second r2; r3 is new.
    second = write(tmp_path, "b.csv", "RespID,Q1,Q2,Timestamp\nr2,4,4,y\nr3,1,1,z\n")
    result = import_file(store, "imp", "W1", second, mapping)
    assert (result.stored, result.already_imported, result.warnings) == (1, 1, ())
    frame = load_wave_frame(store, "imp", "W1")
    assert frame["sat"].tolist() == [5.0, 3.0, 1.0] and np.isnan(frame["rec"].iloc[0])
    duplicate = write(tmp_path, "c.csv", "RespID,Q1,Q2,Timestamp\nr9,4,4,y\nr9,1,1,z\n,1,1,z\n")
    with pytest.raises(DataImportError) as caught:
        import_file(store, "imp", "W1", duplicate, mapping)
    assert [str(p) for p in caught.value.problems] == ["c.csv:3: RespID: respondent id 'r9' is also on row 2",
                                                       "c.csv:4: RespID: the respondent id is empty"]


def test_mapping_file_problems_have_file_and_line(store, tmp_path):
    mapping = write(tmp_path, "map.yaml", "columns:\n  Q1: sat\n  Q2: nosuch\nlabels:\n  sat: 3\ncolour: red\n")
    with pytest.raises(DataImportError) as caught:
        import_file(store, "imp", "W1", write(tmp_path, "a.csv", "Q1,Q2\n1,2\n"), mapping)
    shown = [str(p) for p in caught.value.problems]
    assert f"{mapping}:3: columns.Q2: 'nosuch' is not a question of 'imp'" in shown
    assert f"{mapping}:5: labels.sat: expected a mapping of label: code" in shown
    assert any(line.startswith(f"{mapping}:6: colour: unknown field 'colour'") for line in shown)


def test_spss_value_labels_map_to_the_questionnaires_codes(store, tmp_path):
    import pyreadstat

    # Another tool coded the scale backwards (1 = very satisfied) and channel as 1/2, with
    # value labels saying so: the labels decide, not the numbers.
    frame = pd.DataFrame({"sat": [1.0, 2.0, 3.0, 9.0], "rec": [3.0, 3.0, 3.0, 3.0], "channel": [1.0, 2.0, 1.0, 2.0]})
    path = str(tmp_path / "other.sav")
    pyreadstat.write_sav(frame, path, variable_value_labels={
        "sat": {1.0: "Very satisfied", 2.0: "Very dissatisfied", 9.0: "Don't know"},
        "channel": {1.0: "In a store", 2.0: "Online"}})
    result = import_file(store, "imp", "W1", path)
    assert result.stored == 4
    stored = load_wave_frame(store, "imp", "W1")
    assert stored["sat"].tolist()[:3] == [5.0, 1.0, 3.0] and np.isnan(stored["sat"].iloc[3])
    assert stored["channel"].tolist() == ["store", "web", "store", "web"]


def test_xlsx_is_read_like_csv(store, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["sat", "rec", "channel"])
    sheet.append([5, "Very satisfied", "Online"])
    sheet.append([2, 3, "store"])
    sheet.append([7, 3, "store"])
    path = tmp_path / "x.xlsx"
    book.save(path)
    with pytest.raises(DataImportError) as caught:
        import_file(store, "imp", "W1", str(path))
    assert [str(p) for p in caught.value.problems] == ["x.xlsx:4: sat: 7 is outside the scale 1..5; don't know is 99"]
    assert import_file(store, "imp", "W1", str(path), skip_bad_rows=True).stored == 2
    assert load_wave_frame(store, "imp", "W1")["rec"].tolist() == [5.0, 3.0]


# --- hostile files (no database needed to refuse them) ---------------------------------------

def refused(path) -> list[str]:
    with pytest.raises(DataImportError) as caught:
        read_table(path)
    return [str(p) for p in caught.value.problems]


def test_nul_bytes_are_refused_with_the_row(tmp_path):
    path = tmp_path / "nul.csv"
    path.write_bytes(b"sat,rec\n1,2\n3\x00,4\n")
    assert refused(path) == ["nul.csv:3: the file contains NUL bytes, so it is not a text CSV (is it a spreadsheet "
                             "or a database file? save it as 'CSV UTF-8')"]


def test_encodings_utf8_bom_and_gb18030_are_named(tmp_path):
    text = "sat,channel\n非常满意,门店\n"
    assert read_table(write(tmp_path, "a.csv", text)).encoding == "UTF-8"
    assert read_table(write(tmp_path, "b.csv", text, "utf-8-sig")).encoding == "UTF-8 with BOM"
    table = read_table(write(tmp_path, "c.csv", text, "gb18030"))
    assert table.encoding == "GB18030 (Chinese Excel CSV)"
    assert table.frame.iloc[0].tolist() == ["非常满意", "门店"]
    assert read_table(write(tmp_path, "d.csv", "sat\tchannel\n1\t门店\n", "utf-16")).encoding == "UTF-16"
    (tmp_path / "e.csv").write_bytes(b"sat\n\x81\xff\xff\n")
    assert refused(tmp_path / "e.csv") == ["e.csv:2: the file is neither UTF-8 nor GB18030 text (first bad byte at "
                                           "offset 4); save it as 'CSV UTF-8'"]


def test_duplicate_and_empty_headers_ragged_rows(tmp_path):
    assert refused(write(tmp_path, "d.csv", "sat,rec,sat,\n1,2,3,4\n")) == [
        "d.csv:1: column 4: the header cell is empty; name the column",
        "d.csv:1: sat: the header repeats: columns 1 and 3 have the same name"]
    assert refused(write(tmp_path, "r.csv", "sat,rec\n1,2\n1,2,3\n4\n")) == [
        "r.csv:3: the row has 3 cells; the header has 2", "r.csv:4: the row has 1 cells; the header has 2"]


def test_size_limit_wrong_kind_and_empty(tmp_path, monkeypatch):
    monkeypatch.setenv("CSI_IMPORT_MAX_BYTES", "1000000")
    big = tmp_path / "big.csv"
    big.write_bytes(b"sat\n" + b"5\n" * 600_000)
    assert refused(big) == ["big.csv: the file is 1.2 MB; the limit is 1 MB (split it, or raise CSI_IMPORT_MAX_BYTES)"]
    assert refused(write(tmp_path, "e.csv", "")) == ["e.csv: the file is empty"]
    assert refused(write(tmp_path, "x.json", "{}")) == ["x.json: cannot import .json; give a .csv, .xlsx or .sav file"]
    assert refused(write(tmp_path, "fake.xlsx", "sat\n1\n"))[0].startswith("fake.xlsx: not a readable Excel .xlsx workbook")
    assert refused(write(tmp_path, "fake.sav", "sat\n1\n"))[0].startswith("fake.sav: not a readable SPSS .sav file")


def test_unknown_columns_warn_and_no_question_column_is_an_error(store, tmp_path):
    result = import_file(store, "imp", "W1", write(tmp_path, "w.csv", "sat,colour,attr_region\n3,red,north\n"))
    assert result.warnings == ("w.csv: column 'colour' is not a question of 'imp' and not in the mapping; ignored",
                               "w.csv: column 'attr_region' (an invitation attribute) is not imported")
    with pytest.raises(DataImportError) as caught:
        import_file(store, "imp", "W1", write(tmp_path, "n.csv", "a,b\n1,2\n"))
    assert str(caught.value).startswith("n.csv:1: no column names a question of 'imp'")
    with Session(store) as session:
        assert session.scalar(select(func.count(Response.id))) == 1


def test_text_with_tabs_newlines_and_backslashes_is_stored_exactly(store, tmp_path):
    # On PostgreSQL answers go in by COPY, whose text format gives \, tab and newline meanings.
    note = 'a\\N b\\\\c\td\ne\r"f"'
    text = 'sat,note,visits\n5,"' + note.replace('"', '""') + '",3\n'
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode("utf-8"))
    assert import_file(store, "imp", "W1", str(path)).stored == 1
    frame = load_wave_frame(store, "imp", "W1")
    assert frame["note"].tolist() == [note]
    assert frame["visits"].tolist() == [3.0]


def test_a_concurrent_import_of_the_same_rows_is_a_clear_error(store, tmp_path, monkeypatch):
    import models.importing as importing

    path = write(tmp_path, "same.csv", "sat,rec\n5,5\n3,2\n")
    real = importing.bulk_insert_responses

    def racing(engine, survey, wave, answers, **kwargs):
        real(engine, survey, wave, answers, **kwargs)  # "the other import" got there first
        return real(engine, survey, wave, answers, **kwargs)

    monkeypatch.setattr(importing, "bulk_insert_responses", racing)
    with pytest.raises(DataImportError) as caught:
        import_file(store, "imp", "W1", path)
    assert str(caught.value) == ("same.csv: another import into this wave stored some of these rows at the same time; "
                                 "nothing of this file was stored: run the import again (rows already imported are "
                                 "skipped)")
    assert len(responses(store)) == 2  # the other import's rows, once


def test_a_mapping_label_of_a_number_must_map_to_a_number_that_fits(tmp_path):
    """A label a mapping file maps to "many" (or to a number outside the question's range)
    is the row's problem, not a traceback or a storage error after the check."""
    from models.importing import load_mapping, plan_import

    questionnaire = parse_questionnaire(QUESTIONNAIRE, "imp.yaml")
    mapping = load_mapping(write(tmp_path, "map.yaml", "labels:\n  visits: {Lots: many, Loads: 60, Few: 2}\n"),
                           questionnaire)
    table = read_table(write(tmp_path, "v.csv", "sat,visits\n1,Lots\n2,Loads\n3,few\n"))
    plan = plan_import(table, questionnaire, mapping)
    assert [str(p) for p in plan.problems] == ["v.csv:2: visits: label 'Lots' maps to 'many', not a number",
                                               "v.csv:3: visits: 60 is outside 0..50"]
    assert plan.answers["visits"].tolist() == [2.0]


MIXED = GOOD.replace("language\n", "language,started_at,submitted_at,status\n", 1).replace(
    ",en\n", ",en,2026-11-30T08:00:00Z,2026-11-30T08:05:30+08:00,complete\n").replace(
    ",zh-CN\n", ",zh-CN,,,partial\n") + '3,3,web,"价格;Staff","a\\\\N\tb\nc",7,en,,,\n5,4,store,price;staff,fine,3,en,,,\n'


def stored_rows(url: str) -> tuple[list, list]:
    """Every response (in id order, ids left out) and answer of a database, as plain values.
    Times as UTC (SQLite keeps no zone), only the first response's (the file gave it; the
    others were "now")."""
    from sqlalchemy import text

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            ids = [row[0] for row in connection.execute(text("SELECT id FROM responses ORDER BY id"))]
            rank = {response_id: k for k, response_id in enumerate(ids)}
            people = [(*row[:6], bool(row[6]), row[7], row[8] if k == 0 else None, row[9] is None)
                      for k, row in enumerate(connection.execute(text(
                          "SELECT status, language, origin, import_key, current_page, contact, follow_up, "
                          "follow_up_status, started_at, completed_at FROM responses ORDER BY id")))]
            answers = sorted((rank[r], q, num, txt) for r, q, num, txt in connection.execute(text(
                "SELECT response_id, question_id, value_num, value_text FROM answers")))
    finally:
        engine.dispose()
    started = pd.Timestamp(people[0][8])
    people[0] = (*people[0][:8], started.tz_convert("UTC") if started.tzinfo else started.tz_localize("UTC"),
                 people[0][9])
    return people, answers


def test_postgresql_and_sqlite_store_the_same_rows_for_the_same_file(sqlite_url, postgres_template, tmp_path):
    """The two backends' bulk paths (COPY on PostgreSQL, executemany on SQLite) store the
    same responses and answers, byte for byte, for labels, codes, texts that COPY would
    misread unescaped, times, statuses, skipped bad rows and a re-import."""
    from tests.conftest import scratch_postgres

    path = write(tmp_path, "mixed.csv", MIXED + "6,4,store,,bad row,3,en,,,\n")
    with scratch_postgres(postgres_template) as postgres_url:
        stored = []
        for url in (sqlite_url, postgres_url):
            engine = make_engine(url)
            questionnaire = parse_questionnaire(QUESTIONNAIRE, "imp.yaml")
            with Session(engine) as session:
                create_wave(session, register_questionnaire(session, questionnaire), "W1")
                session.commit()
            first = import_file(engine, "imp", "W1", path, skip_bad_rows=True)
            again = import_file(engine, "imp", "W1", path, skip_bad_rows=True)
            assert (first.stored, first.skipped_rows, again.stored, again.already_imported) == (6, 1, 0, 6)
            engine.dispose()
            stored.append(stored_rows(url))
    (lite_people, lite_answers), (pg_people, pg_answers) = stored
    assert lite_answers == pg_answers
    assert lite_people == pg_people
    assert (4, "note", None, "a\\\\N\tb\nc") in lite_answers and len(lite_answers) == 31
    assert lite_people[0][8] == pd.Timestamp("2026-11-30 08:00", tz="UTC")
    assert [p[0] for p in lite_people] == ["complete", "partial", "complete", "complete", "complete", "complete"]
    assert [p[-1] for p in lite_people] == [False, True, False, False, False, False]  # a partial one has no end
