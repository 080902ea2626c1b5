"""The cached question markup: escaped once, right per questionnaire version, and only the
respondent's answer and the error vary between requests."""
import re

import pytest

from models.questionnaire import parse_questionnaire
from survey_app.i18n import translate
from survey_app.question_markup import group_html, question_html

QUESTIONNAIRE = """\
id: markup
version: {version}
default_language: en
languages: [en, zh-CN]
title: {{en: T, zh-CN: 题}}
scales:
  five: {{min: 1, max: 5, dont_know: {{code: 9, label: {{en: "Don't <know>", zh-CN: 不知道}}}}}}
pages:
  - id: p1
    questions:
      - id: rating
        type: rating
        scale: five
        text: {{en: "{text}", zh-CN: 评分}}
        help: {{en: "A & B", zh-CN: 帮助}}
      - id: pick
        type: multiple_choice
        options:
          - {{value: a, label: {{en: "<i>A</i>", zh-CN: 甲}}}}
          - {{value: b, label: {{en: B, zh-CN: 乙}}}}
        text: {{en: Pick, zh-CN: 选}}
      - id: note
        type: text
        required: false
        text: {{en: Note, zh-CN: 备注}}
"""


def build(version=1, text="How <b>good</b>?"):
    return parse_questionnaire(QUESTIONNAIRE.format(version=version, text=text), "markup.yaml")


@pytest.fixture
def questionnaire():
    return build()


def test_questionnaire_text_and_labels_are_escaped(questionnaire):
    html = question_html(questionnaire, questionnaire.question("rating"), "en", None, None)
    assert "How &lt;b&gt;good&lt;/b&gt;?" in html and "<b>" not in html
    assert "A &amp; B" in html and "Don&#39;t &lt;know&gt;" in html
    pick = question_html(questionnaire, questionnaire.question("pick"), "en", None, None)
    assert "&lt;i&gt;A&lt;/i&gt;" in pick


@pytest.mark.parametrize("qid, data, checked", [
    ("rating", "4", ["4"]),
    ("rating", "9", ["9"]),            # don't know, after the scale
    ("rating", None, []),
    ("pick", ["a", "b"], ["a", "b"]),
    ("pick", None, []),
])
def test_only_the_answer_is_checked(questionnaire, qid, data, checked):
    html = question_html(questionnaire, questionnaire.question(qid), "en", data, None)
    assert re.findall(r'value="([^"]*)" checked', html) == checked
    # The cached pieces are not changed by a request: the next respondent sees nothing checked.
    assert " checked" not in question_html(questionnaire, questionnaire.question(qid), "en", None, None)


def test_text_answer_is_escaped_and_errors_are_shown(questionnaire):
    question = questionnaire.question("note")
    html = question_html(questionnaire, question, "en", '"><script>x</script>', "Too long")
    assert 'value="&#34;&gt;&lt;script&gt;x&lt;/script&gt;"' in html and "<script>" not in html
    assert 'class="question has-error"' in html and '<p class="error" id="note-error">Too long</p>' in html
    assert 'aria-invalid="true" aria-describedby="note-error"' in html
    calm = question_html(questionnaire, question, "en", None, None)
    assert "has-error" not in calm and 'aria-invalid="false"' in calm and 'value=""' in calm


def test_a_new_questionnaire_version_is_not_served_from_the_cache(questionnaire):
    old = question_html(questionnaire, questionnaire.question("rating"), "en", None, None)
    new_version = build(version=2, text="How fair?")
    new = question_html(new_version, new_version.question("rating"), "en", None, None)
    assert "How fair?" in new and "How fair?" not in old


def test_each_language_has_its_own_markup(questionnaire):
    zh = question_html(questionnaire, questionnaire.question("pick"), "zh-CN", None, None)
    assert "甲" in zh and translate("zh-CN", "required") in zh and "<i>" not in zh
    assert question_html(questionnaire, questionnaire.question("pick"), "en", None, None) != zh


def test_every_question_type_has_markup_that_posts_what_its_entry_accepts():
    """A type registered in models/answers.py has markup here, and every option its markup
    offers is one the entry's tampering check lets through (tests/every_type.py has them all)."""
    from html.parser import HTMLParser

    from models.answers import ANSWER_TYPES, answer_type
    from survey_app.question_markup import MARKUP

    from ..every_type import QUESTIONNAIRE as EVERY_TYPE

    assert set(MARKUP) == set(ANSWER_TYPES)
    questionnaire = parse_questionnaire(EVERY_TYPE, "types.yaml")
    # A matrix's rows are ordinary questions of its entry's row type, grouped.
    assert {q.group.type if q.group else q.type for q in questionnaire.questions} == set(ANSWER_TYPES)

    class Inputs(HTMLParser):
        def __init__(self):
            super().__init__()
            self.values: list[str] = []

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "input" and attrs.get("type") in ("radio", "checkbox"):
                self.values.append(attrs["value"])

    for question in questionnaire.questions:
        entry = answer_type(question)
        for language in questionnaire.languages:
            parser = Inputs()
            if question.group is None:
                parser.feed(str(question_html(questionnaire, question, language, None, None)))
            else:  # the grid, with only this row's inputs kept
                grid = str(group_html(questionnaire, question.group, [question], language, {}, {}))
                parser.feed(grid)
            assert parser.values == [value for value, _ in entry.choices(question, language)], question.id
            assert entry.tampered(question, parser.values[:1]) is None


def test_piped_questions_are_built_per_respondent_and_never_cached():
    from models.hidden import with_hidden
    from models.questionnaire import parse_questionnaire
    from survey_app import question_markup
    from tests.hidden_questionnaire import HIDDEN_YAML

    q = parse_questionnaire(HIDDEN_YAML, "h.yaml")
    why, fruit = q.question("why"), q.question("fruit")
    one = question_markup.question_html(q, why, "en", None, None, answers={"overall": 3, "fruit": "a"})
    two = question_markup.question_html(q, why, "en", None, None, answers={"overall": 8, "fruit": "b"})
    assert "You gave 3 and like Apples. Why?" in one and "You gave 8 and like Bananas. Why?" in two
    hostile = question_markup.question_html(q, q.question("overall"), "zh-CN", None, None,
                                            answers=with_hidden({}, {"store": "S1", "note": "<b>&"}))
    assert "门店S1的访问" in hostile and "备注：&lt;b&gt;&amp;" in hostile and "<b>" not in hostile
    assert not any(key[:2] == (q.content_hash, "why") for key in question_markup._CACHE)
    # A question without piping is still cached.
    question_markup.question_html(q, fruit, "en", None, None, answers={"overall": 3})
    assert (q.content_hash, "fruit", "en", None) in question_markup._CACHE


def test_a_grid_escapes_its_texts_shows_each_rows_answer_and_error_and_is_cached_per_error():
    from models.questionnaire import parse_questionnaire as parse
    from survey_app.question_markup import questions_html

    from ..matrix_questionnaire import QUESTIONNAIRE as GRID

    questionnaire = parse(GRID.replace("Friendliness of the staff", "<b>Staff</b> & co"), "grid.yaml")
    rows = questionnaire.pages[0].questions
    calm = str(questions_html(questionnaire, rows, "en", {"q_staff": "3", "q_wait": "99"}, {}))
    assert "&lt;b&gt;Staff&lt;/b&gt; &amp; co" in calm and "<b>Staff" not in calm
    assert re.findall(r'name="(q_[a-z]+)" value="([0-9]+)"[^>]* checked', calm) == [("q_staff", "3"), ("q_wait", "99")]
    assert calm.count("<fieldset") == 7 and calm.count("<legend>") == 7 and 'class="error"' not in calm
    flagged = str(questions_html(questionnaire, rows, "en", {}, {"q_range": "Please answer this question."}))
    assert flagged.count('class="error"') == 1 and 'id="q_range-error"' in flagged
    assert '<fieldset class="grid-row has-error" id="q-q_range" aria-describedby="q_range-error">' in flagged
    assert " checked" not in flagged  # the cached pieces hold no respondent's answer
    assert str(questions_html(questionnaire, rows, "en", {"q_staff": "3", "q_wait": "99"}, {})) == calm


def test_a_shuffled_grid_is_the_same_rows_moved_as_blocks():
    from models.questionnaire import parse_questionnaire as parse
    from survey_app.question_markup import questions_html

    from ..matrix_questionnaire import QUESTIONNAIRE as GRID

    questionnaire = parse(GRID, "grid.yaml")
    rows = list(questionnaire.pages[0].questions)
    data = {"q_clean": "4"}
    straight = str(questions_html(questionnaire, rows, "en", data, {}))
    shuffled = str(questions_html(questionnaire, rows[::-1], "en", data, {}))
    blocks = re.findall(r"\n    <fieldset.*?</fieldset>", straight, re.S)
    assert len(blocks) == 7
    assert re.findall(r"\n    <fieldset.*?</fieldset>", shuffled, re.S) == blocks[::-1]
    assert 'name="q_clean" value="4" checked required' in shuffled
