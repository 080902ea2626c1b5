"""Matrix questions: a grid of rating rows on one scale is expanded by the parser into
ordinary rating questions (one per row) that carry the matrix as their ``group``."""
import textwrap

import pytest

from models.answers import ANSWER_TYPES
from models.errors import QuestionnaireError
from models.questionnaire import parse_questionnaire, questionnaire_schema

MATRIX = textwrap.dedent("""\
    id: grid
    version: 1
    default_language: en
    languages: [en, zh-CN]
    title: {en: Grid, zh-CN: 表格}
    scales:
      five:
        min: 1
        max: 5
        labels: {1: {en: Very poor, zh-CN: 很差}, 5: {en: Excellent, zh-CN: 很好}}
        dont_know: {code: 99, label: {en: Don't know, zh-CN: 不知道}}
    pages:
      - id: p1
        questions:
          - id: visited
            type: single_choice
            text: {en: "Visited?", zh-CN: 去过吗？}
            options:
              - {value: "yes", label: {en: "Yes", zh-CN: 是}}
              - {value: "no", label: {en: "No", zh-CN: 否}}
      - id: p2
        questions:
          - id: aspects
            type: matrix
            scale: five
            show_if: "visited == 'yes'"
            text: {en: "How would you rate us on these aspects?", zh-CN: 请评价以下方面}
            help: {en: "1 = very poor", zh-CN: 1分表示很差}
            rows:
              - {id: q_staff, construct: quality, text: {en: Staff, zh-CN: 员工}}
              - {id: q_speed, construct: quality, text: {en: Speed, zh-CN: 速度}}
              - {id: q_wait, construct: quality, reverse: true, text: {en: Waiting, zh-CN: 等待}}
      - id: p3
        questions:
          - id: comment
            type: text
            required: false
            show_if: "q_staff <= 2"
            text: {en: "Why?", zh-CN: 为什么？}
    """)


def problems_of(text: str) -> list[str]:
    with pytest.raises(QuestionnaireError) as info:
        parse_questionnaire(text, "q.yaml")
    return [str(p) for p in info.value.problems]


def test_rows_become_ordinary_rating_questions_of_one_group():
    q = parse_questionnaire(MATRIX, "q.yaml")
    rows = q.pages[1].questions[:3]
    assert [r.id for r in rows] == ["q_staff", "q_speed", "q_wait"]
    assert {r.type for r in rows} == {"rating"}
    assert [r.construct for r in rows] == ["quality"] * 3
    assert [r.reverse for r in rows] == [False, False, True]
    assert all(r.scale is q.scales["five"] for r in rows)
    assert all(str(r.show_if) == str(rows[0].show_if) and r.show_if is not None for r in rows)
    group = rows[0].group
    assert group is rows[2].group and group.id == "aspects" and group.rows == ("q_staff", "q_speed", "q_wait")
    assert group.text.get("zh-CN") == "请评价以下方面" and group.help.get("en") == "1 = very poor"
    assert rows[1].text.get("zh-CN") == "速度"
    # Downstream sees ordinary items: the construct, the rating items, the lookup by id.
    assert q.constructs() == {"quality": ("q_staff", "q_speed", "q_wait")}
    assert [r.id for r in q.rating_items] == ["q_staff", "q_speed", "q_wait"]
    assert q.question("q_speed").group is group
    with pytest.raises(KeyError):
        q.question("aspects")  # the matrix is no answer of its own
    assert q.question("comment").group is None and q.question("visited").group is None


def test_schema_knows_the_matrix_type_and_its_rows():
    schema = questionnaire_schema()
    assert "matrix" in schema["$defs"]["question"]["properties"]["type"]["enum"]
    assert set(schema["$defs"]["matrix_row"]["properties"]) == {"id", "text", "help", "construct", "reverse"}
    assert ANSWER_TYPES["matrix"].row_type == "rating"


@pytest.mark.parametrize("mutation, expected", [
    (("- {id: q_speed,", "- {id: q_staff,"),
     "q.yaml:31: pages[1].questions[0].rows[1].id: duplicate question id 'q_staff' (also pages[1].questions[0].rows[0])"),
    (("- {id: q_wait,", "- {id: visited,"),
     "q.yaml:32: pages[1].questions[0].rows[2].id: duplicate question id 'visited' (also pages[0].questions[0])"),
    (("- id: comment", "- id: aspects"),
     "q.yaml:35: pages[2].questions[0].id: duplicate question id 'aspects' (also pages[1].questions[0])"),
    (("        scale: five\n        show_if", "        show_if"),
     "q.yaml:23: pages[1].questions[0]: missing required field 'scale'"),
    (("scale: five\n        show_if", "scale: seven\n        show_if"),
     "q.yaml:25: pages[1].questions[0].scale: unknown scale 'seven' (defined scales: five)"),
    (("text: {en: Speed, zh-CN: 速度}", "text: {en: Speed}"),
     "q.yaml:31: pages[1].questions[0].rows[1].text: missing translation for 'zh-CN'"),
    (("{id: q_wait, construct: quality, reverse: true, text: {en: Waiting, zh-CN: 等待}}",
      "{id: q_wait, construct: quality, reverse: true}"),
     "q.yaml:32: pages[1].questions[0].rows[2]: missing required field 'text'"),
    (("{id: q_speed, construct: quality,", "{id: q_speed, scale: five, construct: quality,"),
     "q.yaml:31: pages[1].questions[0].rows[1].scale: unknown field 'scale' (allowed: construct, help, id, reverse, text)"),
    (("        rows:\n", "        construct: quality\n        rows:\n"),
     "q.yaml:29: pages[1].questions[0].construct: field 'construct' does not apply to a matrix question"),
    (("        rows:\n", "        segment: true\n        rows:\n"),
     "q.yaml:29: pages[1].questions[0].segment: a matrix question cannot be a segment"),
    (('show_if: "visited', 'show_if: "q_speed'),
     "q.yaml:26: pages[1].questions[0].show_if: show_if refers to 'q_speed', which is asked later or in the same place"),
])
def test_bad_matrices_are_reported_with_file_and_line(mutation, expected):
    old, new = mutation
    assert old in MATRIX, old
    problems = problems_of(MATRIX.replace(old, new, 1))
    assert any(p.startswith(expected) for p in problems), problems


def test_matrix_without_rows_is_refused():
    text = MATRIX.replace("        rows:\n", "        rowz:\n", 1)
    assert any("missing required field 'rows'" in p for p in problems_of(text))


def test_a_later_page_may_refer_to_a_row_but_not_to_the_matrix():
    q = parse_questionnaire(MATRIX, "q.yaml")
    assert "q_staff" in q.question("comment").show_if.names
    problems = problems_of(MATRIX.replace('show_if: "q_staff <= 2"', 'show_if: "aspects <= 2"'))
    assert any("show_if refers to unknown question 'aspects'" in p for p in problems), problems
