"""The question types' one home (models/answers.py): every type's answer survives post ->
parse -> store -> read -> export -> import unchanged, a file's cell is stored as the page's
post of the same answer, and the schema offers exactly the registered types."""
import json
import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from models.answers import ANSWER_TYPES, AnswerInvalid, answer_type, decode_rows, is_missing
from models.cells import MISSING, label_key
from models.questionnaire import parse_questionnaire, questionnaire_schema

from ..every_type import QUESTIONNAIRE

Q = parse_questionnaire(QUESTIONNAIRE, "types.yaml")


def posts(question) -> st.SearchStrategy:
    """What a page can post for ``question`` (the raw form value(s))."""
    entry = answer_type(question)
    values = [value for value, _ in entry.choices(question)]
    if entry.multiple:
        return st.lists(st.sampled_from(values), min_size=1, max_size=question.max_selected, unique=True)
    if values:
        return st.sampled_from(values)
    if question.type == "number":
        low, high = question.minimum, question.maximum
        if question.integer:
            return st.integers(int(low), int(high)).map(str)
        return st.floats(low, high, allow_nan=False).map(lambda x: repr(x).replace(".", ","))  # a decimal comma
    text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=question.max_length)
    return text.filter(lambda t: t.strip() != "").map(str.strip)


def stored_cell(num, txt):
    """A stored row as ``load_wave_frame`` puts it in the wide frame."""
    return txt if txt is not None else num


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_every_type_round_trips_post_store_read_export_import(data):
    for question in Q.questions:
        entry = answer_type(question)
        raw = data.draw(posts(question), label=question.id)
        form = MultiDict([(question.id, v) for v in (raw if isinstance(raw, list) else [raw])])
        posted = entry.posted(question, form)
        assert entry.tampered(question, form.getlist(question.id)) is None
        answer = entry.parse(question, posted)
        num, txt = entry.encode(question, answer)
        assert (num is not None) == entry.numeric and (txt is not None) != entry.numeric
        assert entry.decode(question, num, txt) == answer
        assert decode_rows(Q, [(question.id, num, txt)]) == {question.id: answer}
        # The form shows the stored answer as it was posted.
        shown = entry.shown(question, answer)
        assert (sorted(shown) == sorted(raw)) if entry.multiple else (entry.parse(question, shown) == answer)
        # Export, then import the exported row: the same answer, stored as the same row.
        columns = entry.export(question, pd.Series([stored_cell(num, txt), None], index=[1, 2]))
        first = {name: column.iloc[0] for name, column in columns.items()}
        assert all(is_missing(column.iloc[1]) for column in columns.values())
        imported = entry.imported(question, first)
        assert imported == answer
        assert entry.encode(question, imported) == (num, txt)
        assert entry.imported(question, {name: column.iloc[1] for name, column in columns.items()}) is None
        assert isinstance(entry.display(question, answer, "zh-CN"), str)


@pytest.mark.parametrize("question", Q.questions, ids=lambda q: q.id)
def test_an_example_answer_is_one_a_page_could_post_and_store(question):
    entry = answer_type(question)
    example = entry.example(question)
    shown = entry.shown(question, example)
    form = MultiDict([(question.id, v) for v in (shown if isinstance(shown, list) else [shown])])
    assert entry.tampered(question, form.getlist(question.id)) is None
    assert entry.parse(question, entry.posted(question, form)) == example
    assert entry.decode(question, *entry.encode(question, example)) == example


@pytest.mark.parametrize("spec, example", [
    ({"type": "number", "min": 10, "max": 20}, 10),
    ({"type": "number", "min": 0.5, "max": 2.5, "integer": True}, 2),
    ({"type": "number", "max": 1.5}, 1.5),
    ({"type": "multiple_choice", "max_selected": 1}, ["a"]),
    ({"type": "text", "max_length": 4}, "Fine"),
])
def test_an_example_answer_keeps_within_the_questions_limits(spec, example):
    options = {"options": [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}]} if "choice" in spec["type"] else {}
    question = parse_questionnaire(json.dumps({
        "id": "x", "version": "1", "default_language": "en", "title": "X", "scales": {"five": {"min": 1, "max": 5}},
        "pages": [{"id": "p", "questions": [{"id": "q", "text": "Q?", **spec, **options}]}]}), "x.yaml").question("q")
    assert answer_type(question).example(question) == example


CELLS = {
    # question: (a spreadsheet's cell, the page's post of the same answer)
    "sat": [(4.0, "4"), (99, "99")],
    "coded": [(1.0, "1"), (2, "2"), ("1", "1"), ("3a", "3a")],
    "cats": [(["7", "home"], ["home", "7"]), ([7.0, "x y"], ["7", "x y"]), ('["home_goods"]', ["home_goods"]),
             ("home", ["home"])],
    "note": [("said: =1+1", "said: =1+1"), (42, "42")],
    "visits": [(3.0, "3"), (0, "0")],
    "spend": [(12.5, "12,5"), (-5, "-5")],
}


@pytest.mark.parametrize("question_id,cell,post", [(q, c, p) for q, pairs in CELLS.items() for c, p in pairs])
def test_a_files_cell_is_stored_as_the_pages_post(question_id, cell, post):
    """One encoder: the bulk loader's cell and the web's post of one answer are one row
    (issue 21: option 1 was (1.0, None) from a file, (None, "1") from the page)."""
    question = Q.question(question_id)
    entry = answer_type(question)
    web = entry.encode(question, entry.parse(question, post))
    assert entry.encode(question, entry.coerce(question, cell)) == web


@pytest.mark.parametrize("question_id,cell", [("sat", 6.0), ("sat", 2.5), ("coded", 4), ("coded", "one"),
                                              ("cats", ["garden"]), ("cats", ["home", "home"]),
                                              ("visits", 2.5), ("visits", -1), ("spend", "lots")])
def test_a_cell_no_page_could_post_is_refused_by_name(question_id, cell):
    question = Q.question(question_id)
    with pytest.raises(ValueError) as caught:
        answer_type(question).coerce(question, cell)
    assert question_id in str(caught.value) or "scale" in str(caught.value)


def test_rows_an_older_bulk_loader_wrote_still_read():
    """(1.0, None) for option 1 and "[7, \\"home\\"]" (integers in the JSON list)."""
    assert decode_rows(Q, [("coded", 1.0, None), ("cats", None, '[7, "home"]'), ("sat", float("nan"), None),
                           ("gone", 1.0, None)]) == {"coded": 1, "cats": ["7", "home"], "sat": None}


def test_multiple_choice_decodes_to_a_list_so_membership_is_not_a_substring():
    from models.expressions import parse_expression
    home = parse_expression("'home' in cats")
    assert home.evaluate(decode_rows(Q, [("cats", None, '["home_goods"]')])) is False
    assert home.evaluate(decode_rows(Q, [("cats", None, '["home_goods", "home"]')])) is True


def test_validation_returns_the_message_key_and_values():
    visits, spend, cats, note = (Q.question(q) for q in ("visits", "spend", "cats", "note"))
    cases = [(visits, "2.5", "error_integer", {}), (visits, "1001", "error_range", {"low": "0", "high": "1000"}),
             (spend, "abc", "error_number", {}), (spend, "nan", "error_number", {}), (spend, "1" * 40, "error_number", {}),
             (cats, ["home", "7", "x y", "home_goods"], "error_max_selected", {"max": 3}),
             (note, "x" * 41, "error_length", {"max": 40})]
    for question, raw, key, params in cases:
        with pytest.raises(AnswerInvalid) as caught:
            answer_type(question).parse(question, raw)
        assert (caught.value.key, caught.value.params) == (key, params)
    assert answer_type(spend).parse(spend, "12,5") == 12.5 and answer_type(visits).parse(visits, "7") == 7


def test_tampering_reasons():
    sat, cats, note = Q.question("sat"), Q.question("cats"), Q.question("note")
    assert "not an option" in answer_type(sat).tampered(sat, ["6"])
    assert answer_type(sat).tampered(sat, ["99"]) is None  # the don't-know code is offered
    assert "sent 2 times" in answer_type(sat).tampered(sat, ["1", "2"])
    assert "twice" in answer_type(cats).tampered(cats, ["home", "home"])
    assert "far longer" in answer_type(note).tampered(note, ["x" * 161])


def test_export_columns_and_labels():
    cats = Q.question("cats")
    entry = answer_type(cats)
    columns = entry.export(cats, pd.Series(['["home", "7"]', None, '["x y"]']))
    assert list(columns) == ["cats__home", "cats__home_goods", "cats__7", "cats__x y"]
    assert columns["cats__7"].tolist()[0] == 1.0 and math.isnan(columns["cats__7"].tolist()[1])
    assert columns["cats__x y"].tolist()[2] == 1.0 and columns["cats__home"].tolist()[2] == 0.0
    assert entry.value_labels(cats, "zh-CN")["cats__7"] == {0.0: "未选", 1.0: "已选"}
    assert entry.variable_labels(cats, "zh-CN")["cats__7"] == "品类 [七]"
    sat = Q.question("sat")
    assert answer_type(sat).value_labels(sat, "en") == {"sat": {1.0: "Poor", 5.0: "Great", 99.0: "Don't know"}}
    assert answer_type(sat).missing_values(sat) == {"sat": [99.0]}
    coded = Q.question("coded")
    assert answer_type(coded).export(coded, pd.Series([1.0, "2", None]))["coded"].tolist() == ["1", "2", None]
    assert answer_type(coded).display(coded, 1, "zh-CN") == "一"
    assert answer_type(sat).display(sat, 99, "en") == "Don't know" and answer_type(sat).display(sat, 5) == "5 (Great)"
    assert json.loads(answer_type(cats).encode(cats, ["home", "7"])[1]) == ["home", "7"]


def test_the_schema_offers_exactly_the_registered_types_and_their_fields():
    question = questionnaire_schema()["$defs"]["question"]
    assert question["properties"]["type"]["enum"] == list(ANSWER_TYPES)
    for entry in ANSWER_TYPES.values():
        assert entry.fields <= set(question["properties"]), entry.name


def test_analysis_reads_ratings_and_numbers_as_numbers():
    assert {name for name, entry in ANSWER_TYPES.items() if entry.numeric} == {"rating", "number"}
    assert [q.id for q in Q.rating_items] == ["sat", "aspect_a", "aspect_b"]  # a matrix's rows are items


# -- a foreign file's cells (models/importing.py asks these; its tests check the messages in files)

def test_label_codes_hold_every_languages_labels_and_dont_know():
    sat = Q.question("sat")
    codes = answer_type(sat).label_codes(sat, {"Top box": 5})
    scale = sat.scale
    for point, text in scale.labels.items():
        for words in text.values.values():
            assert codes[label_key(words)] == float(point)
    if scale.dont_know_label is not None:
        assert all(codes[label_key(w)] is MISSING for w in scale.dont_know_label.values.values())
    assert codes["top box"] == 5
    coded = Q.question("coded")
    codes = answer_type(coded).label_codes(coded, {"Uno": 1})
    assert {codes[label_key(w)] for o in coded.options for w in o.label.values.values()} == \
        {str(o.value) for o in coded.options}
    assert codes["uno"] == "1"  # a mapping file's code of a choice is held as the page posts it


def test_read_cell_gives_codes_and_missing_or_a_message():
    sat, cats, visits = Q.question("sat"), Q.question("cats"), Q.question("visits")
    rating, choices, number = answer_type(sat), answer_type(cats), answer_type(visits)
    labels = rating.label_codes(sat)
    assert rating.read_cell(sat, "3", labels) == 3.0
    assert rating.read_cell(sat, 98.0, labels, {98.0}) is MISSING
    with pytest.raises(ValueError, match=r"^'abc' is not a rating; expected a number or a label of its scale$"):
        rating.read_cell(sat, "abc", labels)
    with pytest.raises(ValueError, match=rf"^0 is outside the scale {sat.scale.minimum}\.\.{sat.scale.maximum}"):
        rating.read_cell(sat, 0, labels)
    values = [str(o.value) for o in cats.options]
    picked = f"{values[1]}; {values[0]}"
    assert choices.read_cell(cats, picked, choices.label_codes(cats)) == sorted(values[:2], key=values.index)
    assert choices.read_cell(cats, [], {}) is MISSING
    with pytest.raises(ValueError, match="is not a JSON list of options"):
        choices.read_cell(cats, "[1", {})
    low, high = visits.minimum, visits.maximum
    with pytest.raises(ValueError, match="is outside"):
        number.read_cell(visits, str(high + 1), {})
    with pytest.raises(ValueError, match=r"^label 'Lots' maps to 'many', not a number$"):
        number.read_cell(visits, "Lots", number.label_codes(visits, {"Lots": "many"}))
    assert number.read_cell(visits, "Few", number.label_codes(visits, {"Few": low})) == float(low)
    assert answer_type(cats).flag_columns(cats) == {f"cats__{v}": v for v in values}
    assert answer_type(sat).flag_columns(sat) == {}


def test_only_text_is_free_text():
    assert [name for name, entry in ANSWER_TYPES.items() if entry.free_text] == ["text"]
