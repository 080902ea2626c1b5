"""XLSForm-style workbooks to the questionnaire format (models/xlsform.py) and ``csi convert``."""
import subprocess
import sys

import pytest
import yaml
from openpyxl import Workbook

from models.questionnaire import parse_questionnaire
from models.xlsform import ConversionError, convert_relevant, convert_workbook

SURVEY = [
    ["type", "name", "label::English (en)", "label::zh-CN", "hint::en", "hint::zh-CN", "required", "relevant",
     "constraint", "appearance", "construct", "reverse", "parameters"],
    ["start", "started", None, None, None, None, None, None, None, None, None, None, None],
    ["begin group", "about", "About you", "关于您", None, None, None, None, None, None, None, None, None],
    ["select_one channel", "channel", "Where do you shop?", "您在哪里购物？", None, None, "yes", None, None, None,
     None, None, None],
    ["select_multiple cats", "categories", "What did you buy?", "您买了什么？", "All that apply", "可多选", None, None,
     None, None, None, None, None],
    ["integer", "visits", "Visits per month", "每月次数", None, None, None, None, ". >= 0 and . <= 100", None, None,
     None, None],
    ["end group", None, None, None, None, None, None, None, None, None, None, None, None],
    ["begin_group", "quality", "Quality", "质量", None, None, None, "${channel} = 'store' or selected(${categories}, 'home')",
     None, None, None, None, None],
    ["select_one ten", "qual_overall", "Overall quality?", "整体质量？", None, None, "yes", None, None, None,
     "perceived_quality", None, None],
    ["select_one ten", "qual_reliability", "Reliability?", "可靠性？", None, None, "yes", None, None, None,
     "perceived_quality", "yes", None],
    ["range", "sat_overall", "Overall satisfaction", "总体满意度", None, None, "true", None, None, None,
     "satisfaction", None, "start=1 end=7 step=1"],
    ["note", "thanks_note", "Almost done", "快完成了", None, None, None, None, None, None, None, None, None],
    ["text", "comments", "Anything else?", "还有什么建议？", None, None, None, "${visits} > 10", None,
     "multiline", None, None, None],
    ["end group", None, None, None, None, None, None, None, None, None, None, None, None],
]
CHOICES = [
    ["list_name", "name", "label::English (en)", "label::zh-CN"],
    ["channel", "store", "In a store", "实体店"],
    ["channel", "online", "Online", "网上"],
    ["cats", "grocery", "Groceries", "食品"],
    ["cats", "home", "Home goods", "家居"],
    ["ten", 1, "Very poor", "非常差"],
    *[["ten", k, None, None] for k in range(2, 10)],
    ["ten", 10, "Excellent", "非常好"],
    ["ten", 99, "Don't know", "不知道"],
]
SETTINGS = [["form_id", "form_title", "version", "default_language"],
            ["retail-xls", "Retail survey", 3, "English (en)"]]


def workbook(path, survey=SURVEY, choices=CHOICES, settings=SETTINGS, hidden=None):
    book = Workbook()
    book.remove(book.active)
    for name, rows in (("survey", survey), ("choices", choices), ("settings", settings), ("hidden", hidden)):
        if rows is None:
            continue
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def test_a_workbook_converts_to_a_questionnaire_that_validates(tmp_path):
    result = convert_workbook(workbook(tmp_path / "retail.xlsx"))
    questionnaire = parse_questionnaire(result.yaml_text, "converted.yaml")
    assert questionnaire.id == "retail-xls"
    assert [p.id for p in questionnaire.pages] == ["about", "quality"]
    kinds = {q.id: q.type for q in questionnaire.questions}
    assert kinds == {"channel": "single_choice", "categories": "multiple_choice", "visits": "number",
                     "qual_overall": "rating", "qual_reliability": "rating", "sat_overall": "rating", "comments": "text"}
    overall = questionnaire.question("qual_overall")
    assert (overall.scale.minimum, overall.scale.maximum) == (1, 10)
    assert overall.construct == "perceived_quality" and questionnaire.question("qual_reliability").reverse
    assert overall.scale.dont_know_code == 99 and overall.scale.dont_know_label.get("zh-CN") == "不知道"
    assert overall.text.get("zh-CN") == "整体质量？" and overall.text.get("en") == "Overall quality?"
    visits = questionnaire.question("visits")
    assert (visits.minimum, visits.maximum, visits.integer) == (0, 100, True)
    sat = questionnaire.question("sat_overall")
    assert (sat.scale.minimum, sat.scale.maximum) == (1, 7)
    document = yaml.safe_load(result.yaml_text)
    assert document["pages"][1]["show_if"] == "channel == 'store' or 'home' in categories"
    assert questionnaire.question("comments").show_if is not None and document["pages"][1]["questions"][-1]["multiline"]
    assert questionnaire.question("channel").required and not questionnaire.question("categories").required
    assert any("thanks_note" in w for w in result.warnings) and any("started" in w for w in result.warnings)
    assert questionnaire.pages[1].show_if.evaluate({"channel": "online", "categories": ["home"]})
    assert not questionnaire.pages[1].show_if.evaluate({"channel": "online", "categories": ["home_goods"]})


@pytest.mark.parametrize("source, expected", [
    ("${a} = 'x'", "a == 'x'"),
    ("${a} != 'x' and ${b} >= 3", "a != 'x' and b >= 3"),
    ("selected(${cats}, 'home')", "'home' in cats"),
    ("not(selected(${cats}, \"a\"))", "not (\"a\" in cats)"),
    ("${a} = 'x=y' or ${b}<=2", "a == 'x=y' or b<=2"),
])
def test_relevant_expressions(source, expected):
    assert convert_relevant(source) == expected


def test_every_problem_is_named_by_sheet_row_and_column_at_once(tmp_path):
    survey = [row[:] for row in SURVEY]
    survey[3][0] = "select_one nolist"             # row 4: unknown list
    survey[5][8] = ". > 0 and regex(., '[0-9]+')"  # row 6: constraint not convertible
    survey[7][7] = "count-selected(${categories}) > 1"   # row 8: relevant not convertible
    survey[8][1] = "qual overall"                  # row 9: bad name
    survey.append(["geopoint", "where", "Where?", "哪里？", None, None, None, None, None, None, None, None, None])
    choices = CHOICES + [["channel", "store", "Again", "再次"]]
    with pytest.raises(ConversionError) as caught:
        convert_workbook(workbook(tmp_path / "bad.xlsx", survey, choices))
    shown = {(p.sheet, p.row, p.column) for p in caught.value.problems}
    assert {("survey", 4, "type"), ("survey", 6, "constraint"), ("survey", 8, "relevant"), ("survey", 9, "name"),
            ("survey", 15, "type"), ("choices", 17, "name")} <= shown
    assert "bad.xlsx: survey!4 (type): no choice list 'nolist'" in str(caught.value)


def test_the_loader_s_own_checks_point_back_to_the_row(tmp_path):
    survey = [row[:] for row in SURVEY]
    survey[4][3] = None                     # row 5: no Chinese label, but zh-CN is a language of the form
    survey[12][7] = "${sat_overall} <= 4"   # row 13: a condition on the same page (XLSForm allows it)
    with pytest.raises(ConversionError) as caught:
        convert_workbook(workbook(tmp_path / "missing.xlsx", survey))
    rows = {(p.row, p.column): p.message for p in caught.value.problems}
    assert (5, "label") in rows and "zh-CN" in rows[(5, "label")]
    assert "move the question into a later group" in rows[(13, "relevant")]


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(b"not a zip"), "not an .xlsx workbook"),
    (lambda p: workbook(p, choices=None), "the workbook has no sheet 'choices'"),
    (lambda p: workbook(p, survey=[["type", "name", "label"], ["=HYPERLINK(\"x\")", "a", "b"]]), "holds a formula"),
    (lambda p: workbook(p, survey=[["type", "name", "label"]] + [["text", f"q{i}", "?"] for i in range(5001)]),
     "more than 5000 rows"),
    (lambda p: workbook(p, survey=[["type", "label"], ["text", "?"]]), "the survey sheet needs a 'name' column"),
])
def test_hostile_workbooks_get_one_clear_message(tmp_path, make, message):
    path = tmp_path / "hostile.xlsx"
    make(path)
    with pytest.raises(ConversionError) as caught:
        convert_workbook(path)
    assert message in str(caught.value)


def csi(*args):
    return subprocess.run([sys.executable, "-m", "survey_app.cli", *args], capture_output=True, text=True, timeout=120)


def test_csi_convert_writes_a_file_that_csi_validate_accepts(tmp_path):
    book = workbook(tmp_path / "retail.xlsx")
    out = tmp_path / "retail.yaml"
    done = csi("convert", str(book), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "7 questions on 2 pages" in done.stderr and "warning:" in done.stderr
    assert csi("validate", str(out)).returncode == 0
    again = csi("convert", str(book), "-o", str(out))
    assert again.returncode == 1 and "exists; add --force" in again.stderr
    printed = csi("convert", str(book))
    assert printed.returncode == 0 and "id: retail-xls" in printed.stdout


def test_csi_convert_prints_every_problem_and_writes_nothing(tmp_path):
    survey = [row[:] for row in SURVEY]
    survey[3][0] = "select_one nolist"
    out = tmp_path / "bad.yaml"
    done = csi("convert", str(workbook(tmp_path / "bad.xlsx", survey)), "-o", str(out))
    assert done.returncode == 1 and "survey!4 (type): no choice list 'nolist'" in done.stderr
    assert "Traceback" not in done.stderr and not out.exists()
