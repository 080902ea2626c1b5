"""Display orders: a pure function of the response's seed, the same on every call, spread
evenly over the permutations, a matrix's rows kept together when a page is shuffled."""
import itertools
from collections import Counter

import pytest

from models.errors import QuestionnaireError
from models.questionnaire import parse_questionnaire
from models.randomization import arrange, page_order, shuffled

from ..matrix_questionnaire import QUESTIONNAIRE

RANDOM = (QUESTIONNAIRE
          .replace("        type: matrix\n        scale: ten\n", "        type: matrix\n        scale: ten\n        randomize: true\n")
          .replace("  - id: satisfaction\n", "  - id: satisfaction\n    randomize: true\n")
          .replace("      - id: comment\n", "      - id: channel\n        type: single_choice\n        randomize: true\n"
                   "        text: {en: Channel, zh-CN: 渠道}\n        options:\n"
                   "          - {value: store, label: {en: Store, zh-CN: 门店}}\n"
                   "          - {value: web, label: {en: Web, zh-CN: 网站}}\n"
                   "          - {value: app, label: {en: App, zh-CN: 应用}}\n"
                   "          - {value: phone, label: {en: Phone, zh-CN: 电话}}\n"
                   "      - id: comment\n"))


@pytest.fixture(scope="module")
def questionnaire():
    return parse_questionnaire(RANDOM, "random.yaml")


def test_the_file_says_what_is_randomized(questionnaire):
    quality, satisfaction = questionnaire.pages
    assert not quality.randomize and satisfaction.randomize
    assert quality.questions[0].group.randomize and not satisfaction.questions[0].group.randomize
    assert questionnaire.question("channel").randomize
    assert not any(q.randomize for q in quality.questions)  # the rows themselves are ordinary ratings


def test_randomize_on_a_rating_is_refused_with_its_line():
    text = QUESTIONNAIRE.replace("      - id: comment\n        type: text\n",
                                 "      - id: comment\n        type: text\n        randomize: true\n")
    with pytest.raises(QuestionnaireError) as info:
        parse_questionnaire(text, "q.yaml")
    assert [str(p) for p in info.value.problems] == [
        "q.yaml:53: pages[1].questions[1].randomize: field 'randomize' does not apply to a text question"]


def test_orders_are_reproducible_and_differ_between_responses(questionnaire):
    quality, satisfaction = questionnaire.pages
    first = page_order(quality, "17")
    assert first == page_order(quality, "17")  # a reload
    assert set(first) == {"aspects"} and sorted(first["aspects"]) == sorted(quality.questions[0].group.rows)
    others = {tuple(page_order(quality, str(seed))["aspects"]) for seed in range(1, 41)}
    assert len(others) >= 38  # 7 rows: 5040 orders; 40 responses almost never share one
    order = page_order(satisfaction, "17")
    assert set(order) == {"page:satisfaction", "channel"}
    assert sorted(order["page:satisfaction"]) == ["channel", "comment", "sat_grid"]  # the grid is one unit
    assert sorted(order["channel"]) == ["app", "phone", "store", "web"]


def test_every_order_is_about_equally_likely():
    # 3 items: 6 orders over 6000 seeds, 1000 each expected; a sd of about 29.
    counts = Counter(tuple(shuffled(str(seed), "q", ["a", "b", "c"])) for seed in range(6000))
    assert set(counts) == set(itertools.permutations("abc"))
    assert all(abs(n - 1000) < 130 for n in counts.values()), counts


def test_arrange_keeps_a_matrix_together_and_orders_its_rows(questionnaire):
    satisfaction = questionnaire.pages[1]
    order = {"page:satisfaction": ["comment", "sat_grid", "channel"], "sat_grid": ["s_app", "s_price", "s_hours"]}
    arranged = arrange(satisfaction, satisfaction.questions, order)
    assert [q.id for q in arranged] == ["comment", "s_app", "s_price", "s_hours", "channel"]
    # A question hidden by show_if is simply absent; the others keep their places.
    visible = [q for q in satisfaction.questions if q.id != "channel"]
    assert [q.id for q in arrange(satisfaction, visible, order)] == ["comment", "s_app", "s_price", "s_hours"]
    assert [q.id for q in arrange(satisfaction, satisfaction.questions, {})] == [q.id for q in satisfaction.questions]
