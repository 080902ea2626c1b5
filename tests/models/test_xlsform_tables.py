"""``csi convert`` of matrices (XLSForm tables), hidden fields, piping and randomization:
a small workbook built here converts to YAML that validates and has the expected structure,
and what does not convert is named by sheet, row and column."""
import pytest
import yaml

from models.questionnaire import parse_questionnaire
from models.xlsform import ConversionError, convert_piping, convert_workbook

from .test_xlsform import csi, workbook

HEADER = ["type", "name", "label::en", "label::zh-CN", "hint", "required", "relevant", "constraint", "appearance",
          "construct", "parameters"]


def row(kind, name, en=None, zh=None, hint=None, required=None, relevant=None, constraint=None, appearance=None,
        construct=None, parameters=None):
    return [kind, name, en, zh, hint, required, relevant, constraint, appearance, construct, parameters]


SURVEY = [
    HEADER,
    row("hidden", "store", constraint="regex(., 'S[0-9]{1,4}')", parameters="segment=true"),   # 2
    row("hidden", "channel", parameters="values=app,web"),                                      # 3
    row("begin group", "about", "About you", "关于您", parameters="randomize=true"),            # 4
    row("select_one reasons", "reason", "Why this store?", "为什么选这家？", parameters="randomize=true"),  # 5
    row("integer", "visits", "Visits to ${store} this year", "今年去${store}的次数", required="yes"),      # 6
    row("end group", None),                                                                      # 7
    row("begin group", "quality", "Rate store ${store}", "为门店${store}评分", hint="1 = poor",
        required="yes", appearance="table-list", parameters="randomize=true"),                   # 8
    row("select_one ten", "q_staff", "Staff", "员工", construct="perceived_quality"),            # 9
    row("select_one ten", "q_range", "Range", "商品", construct="perceived_quality"),            # 10
    row("end group", None),                                                                      # 11
    row("begin group", "more", "More", "更多"),                                                  # 12
    row("begin matrix", "sat_grid", "After ${visits} visits, how satisfied with", "去了${visits}次后，您对以下的满意度",
        relevant="${channel} = 'web'"),                                                          # 13
    row("select_one ten", "s_price", "Prices", "价格", construct="satisfaction"),                # 14
    row("select_one ten", "s_hours", "Hours", "营业时间", construct="satisfaction"),             # 15
    row("end matrix", None),                                                                     # 16
    row("text", "why", "Why, after ${visits} visits?", "为什么？", relevant="${store} = 'S1'"),   # 17
    row("end group", None),                                                                      # 18
]
CHOICES = [
    ["list_name", "name", "label::en", "label::zh-CN"],
    ["reasons", "near", "Near home", "离家近"],
    ["reasons", "price", "Prices", "价格"],
    ["reasons", "other", "Other", "其他"],
    ["ten", 1, "Very poor", "非常差"],
    *[["ten", k, None, None] for k in range(2, 10)],
    ["ten", 10, "Excellent", "非常好"],
]
SETTINGS = [["form_id", "form_title", "version", "default_language"], ["tables-xls", "Tables", 1, "en"]]
HIDDEN_SHEET = [["name", "values", "pattern", "signed", "segment"], ["agent", None, "[a-z]{2,20}", "yes", None]]


def build(tmp_path, survey=SURVEY, hidden=HIDDEN_SHEET, name="tables.xlsx"):
    return workbook(tmp_path / name, survey, CHOICES, SETTINGS, hidden)


def test_tables_hidden_fields_piping_and_randomization_convert_and_validate(tmp_path):
    result = convert_workbook(build(tmp_path))
    questionnaire = parse_questionnaire(result.yaml_text, "converted.yaml")
    document = yaml.safe_load(result.yaml_text)
    assert document["hidden"] == [{"id": "agent", "pattern": "[a-z]{2,20}", "signed": True},
                                  {"id": "store", "pattern": "S[0-9]{1,4}", "segment": True},
                                  {"id": "channel", "values": ["app", "web"]}]
    about, quality, more = document["pages"]
    assert about["randomize"] is True and about["questions"][0]["randomize"] is True
    assert about["questions"][1]["text"] == {"en": "Visits to {hidden.store} this year", "zh-CN": "今年去{hidden.store}的次数"}
    # A table-list group on its own is a page holding one matrix.
    assert quality == {"id": "quality", "questions": [{
        "id": "quality", "type": "matrix", "text": {"en": "Rate store {hidden.store}", "zh-CN": "为门店{hidden.store}评分"},
        "help": "1 = poor", "required": True, "randomize": True, "scale": "ten",
        "rows": [{"id": "q_staff", "text": {"en": "Staff", "zh-CN": "员工"}, "construct": "perceived_quality"},
                 {"id": "q_range", "text": {"en": "Range", "zh-CN": "商品"}, "construct": "perceived_quality"}]}]}
    grid, why = more["questions"]
    assert (grid["type"], grid["scale"], grid["show_if"], grid["required"]) == ("matrix", "ten", "hidden.channel == 'web'",
                                                                                False)
    assert grid["text"]["en"] == "After {visits} visits, how satisfied with" and [r["id"] for r in grid["rows"]] == \
        ["s_price", "s_hours"]
    assert why["show_if"] == "hidden.store == 'S1'" and why["text"]["en"] == "Why, after {visits} visits?"
    # What the loader makes of it: ordinary rating items in their matrices, hidden fields, orders.
    assert [q.id for q in questionnaire.questions] == ["reason", "visits", "q_staff", "q_range", "s_price", "s_hours", "why"]
    assert questionnaire.question("q_staff").group.randomize and questionnaire.question("reason").randomize
    assert questionnaire.pages[0].randomize and not questionnaire.pages[2].randomize
    assert questionnaire.constructs() == {"perceived_quality": ("q_staff", "q_range"), "satisfaction": ("s_price", "s_hours")}
    assert [(h.id, h.signed, h.segment) for h in questionnaire.hidden] == [("agent", True, False), ("store", False, True),
                                                                           ("channel", False, False)]


def test_piping_of_names_and_hidden_fields():
    assert convert_piping("Hi ${name}, store ${store}: ${x}$", frozenset({"store"})) == \
        "Hi {name}, store {hidden.store}: {x}$"


def replaced(number, new_row):
    survey = [r[:] for r in SURVEY]
    survey[number - 1] = new_row
    return survey


@pytest.mark.parametrize("survey, hidden, where, message", [
    (replaced(10, row("select_one reasons", "q_range", "Range", "商品")), None, ("survey", 10, "type"),
     "a row of matrix 'quality' is a select_one of a rating list (consecutive integer names), not this"),
    (replaced(15, row("select_one ten", "s_hours", "Hours", "营业时间", relevant="${visits} > 1")), None,
     ("survey", 15, "relevant"), "a matrix's rows are shown together: put relevant on the matrix's begin row"),
    (replaced(3, row("hidden", "channel")), None, ("survey", 3, "parameters"),
     "hidden field 'channel' needs its allowed values (values=a,b) or a pattern (regex), one of the two"),
    (replaced(2, row("hidden", "store", constraint="string-length(.) < 5")), None, ("survey", 2, "constraint"),
     "a hidden field's constraint is regex(., 'pattern'), not 'string-length(.) < 5'"),
    (SURVEY[:15] + SURVEY[17:], None, ("survey", 13, "type"), "matrix 'sat_grid' is never closed (end matrix)"),
    (SURVEY, [["name", "values"], ["store", "S1 S2"]], ("survey", 2, "name"), "hidden field 'store' is declared twice"),
    (replaced(6, row("integer", "visits", "Visits", "次数", parameters="randomize=true")), None, ("survey", 6, "parameters"),
     "field 'randomize' does not apply to a number question"),
    (replaced(14, row("select_one ten", "s_price", "Prices ${why}", "价格", construct="satisfaction")), None,
     ("survey", 14, "label"), "pipes {why}, which is asked on the same or a later page; only earlier answers can be piped"),
])
def test_problems_are_named_by_sheet_row_and_column(tmp_path, survey, hidden, where, message):
    with pytest.raises(ConversionError) as caught:
        convert_workbook(build(tmp_path, survey, hidden))
    assert [((p.sheet, p.row, p.column), p.message) for p in caught.value.problems] == [(where, message)]


def test_csi_convert_counts_matrix_rows_and_hidden_fields(tmp_path):
    out = tmp_path / "tables.yaml"
    done = csi("convert", str(build(tmp_path)), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert f"{out}: written (7 questions on 3 pages, 3 hidden fields)" in done.stderr
    assert csi("validate", str(out)).returncode == 0


def test_odk_label_and_list_nolabel_rows_make_a_matrix(tmp_path):
    survey = [HEADER,
              row("begin group", "grid_page", "Prices", "价格", appearance="field-list"),
              row("select_one ten", "prices", "How do you rate our prices?", "您如何评价我们的价格？", appearance="label",
                  required="yes"),
              row("select_one ten", "p_food", "Food", "食品", appearance="list-nolabel", construct="value"),
              row("select_one ten", "p_home", "Home goods", "家居", appearance="list-nolabel", construct="value"),
              row("text", "note_text", "Anything else?", "还有吗？"),
              row("end group", None)]
    document = yaml.safe_load(convert_workbook(build(tmp_path, survey, None)).yaml_text)
    grid, note = document["pages"][0]["questions"]
    assert (grid["id"], grid["type"], grid["scale"], grid["required"]) == ("prices", "matrix", "ten", True)
    assert [(r["id"], r["construct"]) for r in grid["rows"]] == [("p_food", "value"), ("p_home", "value")]
    assert note["id"] == "note_text"
    stray = [HEADER, row("select_one ten", "p_food", "Food", "食品", appearance="list-nolabel")]
    with pytest.raises(ConversionError) as caught:
        convert_workbook(build(tmp_path, stray, None, "stray.xlsx"))
    assert [(p.row, p.column) for p in caught.value.problems] == [(2, "appearance")]
