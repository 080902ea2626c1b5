"""The questionnaire validator's messages in Chinese on the console's upload page
(survey_app/console_errors.py PROBLEMS_ZH): every template matches a message the validator
really writes (produced here, not copied), so none is dead and none drifts from the model."""
from __future__ import annotations

import copy
import json

import yaml

from models.errors import QuestionnaireError
from models.questionnaire import parse_questionnaire
from survey_app.console_errors import PROBLEMS_ZH, _compile, translate_problem
from tests.matrix_questionnaire import QUESTIONNAIRE

BASE = yaml.safe_load(QUESTIONNAIRE)
COMMENT = ("pages", 1, "questions", 1)


def at(raw, path):
    for key in path:
        raw = raw[key]
    return raw


MUTATIONS = [
    lambda raw: raw.pop("version"),
    lambda raw: raw.update(colour="red"),
    lambda raw: raw.update(colour="red", size=2),
    lambda raw: at(raw, COMMENT).update(type="slider"),
    lambda raw: raw.update(pages=5),
    lambda raw: at(raw, COMMENT).update(id="1comment"),
    lambda raw: raw.update(languages=[]),
    lambda raw: at(raw, COMMENT).update(text=""),
    lambda raw: at(raw, COMMENT).update(text={"en": "Only English"}),
    lambda raw: at(raw, ("pages", 1, "questions", 0)).update(scale="eleven"),
    lambda raw: at(raw, COMMENT).update(id="s_price"),
    lambda raw: at(raw, COMMENT).update(type="single_choice", options=[{"value": 1, "label": "a"}, {"value": 1, "label": "b"}]),
    lambda raw: raw["scales"]["five"].update(max=1),
    lambda raw: at(raw, COMMENT).update(max_selected=2),
    lambda raw: at(raw, COMMENT).update(show_if="nobody == 1"),
    lambda raw: at(raw, COMMENT).update(show_if="comment == 'x'"),
    lambda raw: at(raw, COMMENT).update(text={"en": "Why {nobody}?", "zh-CN": "为什么{nobody}？"}),
]


def messages() -> list[str]:
    out = []
    for mutate in MUTATIONS:
        raw = copy.deepcopy(BASE)
        mutate(raw)
        try:
            parse_questionnaire(json.dumps(raw, ensure_ascii=False), "q.json")
        except QuestionnaireError as exc:
            out.extend(problem.message for problem in exc.problems)
    return out


def test_every_chinese_template_matches_a_real_validator_message():
    found = messages()
    matched = {english for english in PROBLEMS_ZH for message in found if _compile(english)[0].match(message)}
    assert matched == set(PROBLEMS_ZH), set(PROBLEMS_ZH) - matched
    assert translate_problem("unknown scale 'eleven' (defined scales: ten, five)", "zh-CN") == \
        "未知量表 'eleven'（已定义的量表：ten, five）"
    assert translate_problem("unknown fields 'colour', 'size' (allowed: id, title)", "zh-CN") == \
        "未知字段 'colour', 'size'（允许的字段：id, title）"
    assert translate_problem("warning: must not be empty", "zh-CN") == "警告：不能为空"
    assert translate_problem("a message nobody translated", "zh-CN") == "a message nobody translated"
    assert translate_problem("must not be empty", "en") == "must not be empty"
