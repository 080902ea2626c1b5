"""Piping (models.piping): earlier answers and hidden values inside texts, and the validator's checks."""
import pytest

from models.errors import QuestionnaireError
from models.hidden import with_hidden
from models.piping import fill, references
from models.questionnaire import parse_questionnaire
from tests.hidden_questionnaire import HIDDEN_YAML


@pytest.fixture(scope="module")
def q():
    return parse_questionnaire(HIDDEN_YAML, "hidden.yaml")


def test_references_in_order():
    assert list(references("{a} and {hidden.b|x} but not {1a} {a-b} {} {hidden.}")) == ["a", "hidden.b"]


def test_option_labels_in_the_respondents_language_and_ratings_as_numbers(q):
    why = q.question("why")
    answers = {"overall": 7, "fruit": "b"}
    assert fill(why.text.get("en"), q, answers, "en") == "You gave 7 and like Bananas. Why?"
    assert fill(why.text.get("zh-CN"), q, answers, "zh-CN") == "您打了7分，喜欢香蕉。为什么？"
    # A float from storage is still a whole number; "don't know" shows as its label.
    assert fill("{overall}", q, {"overall": 7.0}, "en") == "7"
    assert fill("{overall}", q, {"overall": 99}, "zh-CN") == "不知道"


def test_unanswered_is_empty_or_the_fallback(q):
    overall = q.question("overall")
    assert fill(overall.text.get("en"), q, {}, "en") == "How was your visit to store our store?"
    assert fill(overall.text.get("en"), q, with_hidden({}, {"store": "S12"}), "en") == "How was your visit to store S12?"
    assert fill("[{why}]", q, {}, "en") == "[]"


def test_values_are_not_escaped_here_but_never_interpreted(q):
    # fill gives plain text; the markup escapes it (tests/survey_app/test_hidden_links.py).
    hostile = "{overall} <script>alert(1)</script>"
    assert fill("{hidden.note}", q, with_hidden({}, {"note": hostile}), "en") == hostile  # no second expansion
    assert fill("{why}", q, {"why": "{hidden.note}"}, "en") == "{hidden.note}"


def _problems(text):
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire(text, "h.yaml")
    return [str(p) for p in caught.value.problems]


def test_validator_refuses_unknown_same_page_and_later_questions():
    text = (HIDDEN_YAML
            .replace('"You gave {overall} and like {fruit}. Why?"', '"You gave {overal} and like {fruit}. Why?"')
            .replace('"How was your visit to store {hidden.store|our store}?"', '"How was it, given {fruit}?"')
            .replace('{value: 0, label: {en: "No", zh-CN: "否"}}', '{value: 0, label: {en: "No {app_only}", zh-CN: "否"}}'))
    lines = text.splitlines()

    def line(fragment):
        return next(i for i, s in enumerate(lines, 1) if fragment in s)
    assert _problems(text) == [
        f"h.yaml:{line('How was it')}: pages[0].questions[0].text: pipes {{fruit}}, which is asked on the same or a "
        "later page; only earlier answers can be piped",
        f"h.yaml:{line('You gave {overal}')}: pages[1].questions[0].text: pipes unknown question {{overal}}",
        f"h.yaml:{line('No {app_only}')}: pages[1].questions[1].options[1].label: pipes {{app_only}}, which is asked "
        "on the same or a later page; only earlier answers can be piped",
    ]
