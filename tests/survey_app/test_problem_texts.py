"""The questionnaire validator's messages in Chinese on the console's upload page
(survey_app/console_errors.py: PROBLEMS_ZH and the tables of the messages it quotes, an
expression's, a model text's, YAML's, a regular expression's). Every message here is made by
the validator from a broken file (produced, not copied): each must come out in Chinese with no
English sentence left, and every template must match one of them, so none is dead and none
drifts from the model."""
from __future__ import annotations

import copy
import json
import re

import pytest
import yaml

import questionnaires
from models.errors import QuestionnaireError
from models.questionnaire import MAX_FILE_BYTES, load_questionnaire, parse_questionnaire
from survey_app.console_errors import (EXPRESSIONS_ZH, MODEL_ZH, PROBLEMS_ZH, REGEX_ZH, VALUES_ZH, YAML_ZH,
                                       translate_problem)
from tests.matrix_questionnaire import QUESTIONNAIRE

from .test_console_i18n import has_cjk
from .test_console_zh_leaks import english_runs

BASE = yaml.safe_load(QUESTIONNAIRE)
ACSI = yaml.safe_load(questionnaires.path("acsi_retail").read_text(encoding="utf-8"))
COMMENT = ("pages", 1, "questions", 1)
GRID = ("pages", 0, "questions", 0)


def at(raw, path):
    for key in path:
        raw = raw[key]
    return raw


def page(pid, *questions, **extra):
    return {"id": pid, "questions": list(questions), **extra}


def text_question(qid, text="Why?", **extra):
    return {"id": qid, "type": "text", "text": text, **extra}


def block_pages(raw):
    """Three more pages (a, b, c), each with a question; b's text pipes a's answer."""
    raw["pages"] += [page("a", text_question("ta")), page("b", text_question("tb", "About {ta}?")),
                     page("c", text_question("tc"))]


# Mutations of the matrix questionnaire (a dict), each breaking it in one or more ways.
MUTATIONS = [
    lambda raw: raw.pop("version"),
    lambda raw: raw.update(colour="red"),
    lambda raw: raw.update(colour="red", size=2),
    lambda raw: at(raw, COMMENT).update(type="slider"),
    lambda raw: raw.update(pages=5),
    lambda raw: at(raw, COMMENT).update(id="1comment"),
    lambda raw: raw.update(languages=[]),
    lambda raw: raw.update(languages=["en", "en"]),
    lambda raw: raw.update(id="x" * 100),
    lambda raw: at(raw, COMMENT).update(text=""),
    lambda raw: at(raw, COMMENT).update(text={"en": "Only English"}),
    lambda raw: at(raw, COMMENT).update(text={"en": "Why?", "zh-CN": "为何？", "fr": "Pourquoi ?"}),
    lambda raw: at(raw, COMMENT).update(max_length=10 ** 6),
    lambda raw: raw.update(default_language="fr"),
    lambda raw: raw["scales"].update({"bad name": {"min": 1, "max": 5}}),
    lambda raw: at(raw, GRID).update(scale="eleven"),
    lambda raw: at(raw, COMMENT).update(id="s_price"),
    lambda raw: raw["pages"][1].update(id="quality"),
    lambda raw: at(raw, COMMENT).update(type="single_choice", options=[{"value": 1, "label": "a"}, {"value": 1, "label": "b"}]),
    lambda raw: at(raw, COMMENT).update(type="number", min=5, max=1),
    lambda raw: at(raw, COMMENT).update(segment=True),
    lambda raw: raw["scales"]["five"].update(max=1),
    lambda raw: raw["scales"]["five"].update(min=0, max=200),
    lambda raw: raw["scales"]["five"]["labels"].update({9: "nine"}),
    lambda raw: raw["scales"]["ten"]["dont_know"].update(code=5),
    lambda raw: raw["scales"]["five"].update(kind="nps"),
    lambda raw: at(raw, COMMENT).update(max_selected=2),
    lambda raw: at(raw, COMMENT).update(show_if="nobody == 1"),
    lambda raw: at(raw, COMMENT).update(show_if="comment == 'x'"),
    lambda raw: at(raw, COMMENT).update(show_if="hidden.store == 'x'"),
    lambda raw: at(raw, COMMENT).update(text={"en": "Why {nobody}?", "zh-CN": "为什么{nobody}？"}),
    lambda raw: at(raw, COMMENT).update(text={"en": "Why {comment}?", "zh-CN": "为什么{comment}？"}),
    lambda raw: at(raw, COMMENT).update(text={"en": "Why {hidden.store}?", "zh-CN": "为什么{hidden.store}？"}),
    lambda raw: raw.update(hidden=[{"id": "store"}]),
    lambda raw: raw.update(hidden=[{"id": "sig", "values": ["a"]}, {"id": "store", "pattern": "("},
                                   {"id": "store", "values": ["b"]}, {"id": "shop", "pattern": "a)"},
                                   {"id": "mall", "pattern": "[a"}, {"id": "city", "pattern": "*"},
                                   {"id": "town", "pattern": "\\q"}]),
    lambda raw: (block_pages(raw), raw.update(blocks=[{"id": "b1", "pages": ["nowhere", "a"]},
                                                      {"id": "b1", "pages": ["a", "b"]},
                                                      {"id": "b2", "pages": ["a", "a"]},
                                                      {"id": "b3", "pages": ["b", "c"]}])),
    lambda raw: (block_pages(raw), raw.update(blocks=[{"id": "b1", "pages": ["a", "b"]}, {"id": "b2", "pages": ["b", "c"]}])),
    lambda raw: (block_pages(raw), raw.update(blocks=[{"id": "b1", "pages": ["a", "c"]}])),
    lambda raw: raw.update(blocks=[{"id": "b1", "pages": ["quality"]}]),
    lambda raw: raw.update(follow_up=[{"when": "nobody < 3"}]),
    lambda raw: raw.update(quotas=[{"id": "q1", "when": "q_staff > 5", "limit": 10 ** 9, "text": "Full"},
                                   {"id": "q1", "when": "q_staff > 8", "limit": 5, "text": "Full"}]),
    lambda raw: raw.update(quotas=[{"id": "q2", "when": "q_staff > 8", "limit": -1, "text": "Full"}]),
    lambda raw: raw.update(email={"sender_name": {"en": "Shop <x>", "zh-CN": "商店"}, "invitation": {
        "subject": {"en": "Hi\nthere", "zh-CN": "您好"}, "body": {"en": "No link {nothing}", "zh-CN": "没有链接"}}}),
]


def cost_on_a_quality_scale(raw):
    """Fine but for a warning: a cost item on a scale whose ends rate quality."""
    raw["scales"]["cost"] = {"min": 1, "max": 10, "labels": {1: "Very poor", 10: "Excellent"}}
    raw["pages"][1]["questions"].append({"id": "price_cost", "type": "rating", "scale": "cost", "text": "Price?",
                                         "construct": "total_customer_cost"})


EXPRESSIONS = ["q_staff ===", "1" * 30 + " == q_staff", "(q_staff == 1", "(" * 40 + "1" + ")" * 40, "q_staff in [x]",
               "q_staff in [" + ",".join(["1"] * 501) + "]", "len(q_staff) > 1", "q_staff == )", "q_staff == 10000000000000000",
               "q_staff == 1 " + "or q_staff == 1 " * 200, "", "q_staff == 1 2"]
MODELS = [{"template": "acsi", "text": "x =~ a"}, {"text": "satisfaction ~ nothing_here +"}, {"text": "hello world"},
          {"text": "=~ a"}, {"text": "x =~"}, {"text": "x y =~ a"}, {"text": "x =~ a ~ b"}, {"text": "x =~ a b"},
          {"text": "x =~ a + 1a"}, {"text": "x =~ a + a"}, {"text": "x ~ y"},
          {"text": "satisfaction =~ sat_overall\nsatisfaction =~ sat_vs_ideal\nsatisfaction ~ nothing"},
          {"text": "c1 =~ sat_overall\nc2 =~ sat_overall"}, {"text": "c1 =~ sat_overall\nc1 ~ c1"},
          {"text": "c1 =~ sat_overall\nc2 =~ sat_vs_ideal\nc2 ~ c1\nc2 ~ c1"},
          {"text": "c1 =~ sat_overall\nc2 =~ sat_vs_ideal\nc2 ~ c1\nc1 ~ c2"},
          {"text": "c1 =~ sat_overall + channel"}, {"template": "acsi", "formative": ["nothing"]},
          {"template": "acsi", "min_items": 4}]


def yaml_texts() -> list[str]:
    base = QUESTIONNAIRE
    return ["", "- id: x\n", "id: x\ntitle: [unclosed\n", "id: a\nid: b\n", "id: a\n  title: b: c\n",
            "id: x\n- y\n", "id: x\ntitle:\t'x'\n", "id: 'x\n", "id: *nothing\n", "id: x\ntitle\nversion: 1\n",
            "id: 2026-13-45\n", "id: 2026-02-30\n", "id: !!int abc\n", "id: !!float abc\n",
            "id: " + "9" * 50 + "\n", "id: .nan\n", "id: 1.0e+300\n", 'id: "a\\0b"\n', 'id: "\\ud800"\n',
            "a: &a [" + ", ".join(["x"] * 10) + "]\n" + "".join(
                f"{c}: &{c} [" + ", ".join([f"*{p}"] * 10) + "]\n" for p, c in zip("abcdef", "bcdefg")),
            "id: " + "[" * 70 + "]" * 70 + "\n", "? [a]\n: b\n",
            base.replace("default_language: en", "default_language: en\nid: again")]


def messages(tmp_path) -> list[str]:
    out = []

    def refused(text, name="q.yaml"):
        try:
            parse_questionnaire(text, name)
        except QuestionnaireError as exc:
            out.extend(problem.message for problem in exc.problems)
        else:
            raise AssertionError(f"accepted: {text[:200]}")

    for mutate in MUTATIONS:
        raw = copy.deepcopy(BASE)
        mutate(raw)
        refused(json.dumps(raw, ensure_ascii=False), "q.json")
    for source in EXPRESSIONS:
        raw = copy.deepcopy(BASE)
        at(raw, COMMENT).update(show_if=source)
        refused(json.dumps(raw, ensure_ascii=False), "q.json")
    for model in MODELS:
        raw = copy.deepcopy(ACSI)
        raw["model"] = {**raw["model"], **model} if "template" in model and "text" not in model else model
        refused(json.dumps(raw, ensure_ascii=False), "q.json")
    for source in yaml_texts():
        refused(source)
    raw = copy.deepcopy(ACSI)  # the ECSI template with its higher-order construct tagged directly
    raw["model"] = {"template": "ecsi_hoc"}
    refused(json.dumps(raw, ensure_ascii=False), "q.json")
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * MAX_FILE_BYTES + "\n")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("id: caf\xe9\n".encode("latin-1"))
    for path in (big, latin):
        with pytest.raises(QuestionnaireError) as caught:
            load_questionnaire(path)
        out.extend(problem.message for problem in caught.value.problems)
    # A warning, which a questionnaire that is otherwise fine carries (not a refusal).
    raw = copy.deepcopy(BASE)
    cost_on_a_quality_scale(raw)
    out.extend(w.message for w in parse_questionnaire(json.dumps(raw, ensure_ascii=False), "q.json").warnings)
    return out


TABLES = {"problems": PROBLEMS_ZH, "expressions": EXPRESSIONS_ZH, "model": MODEL_ZH, "yaml": YAML_ZH, "regex": REGEX_ZH,
          "values": VALUES_ZH}


def test_every_validator_message_in_chinese_and_every_template_used(tmp_path, used):
    found = messages(tmp_path)
    untranslated = {}
    for message in dict.fromkeys(found):
        chinese = translate_problem(message, "zh-CN")
        runs = [run for run in english_runs(chinese, []) if not re.fullmatch(r"[a-z_]+(?:, [a-z_]+)+", run)]
        if chinese == message or not has_cjk(chinese) or runs:
            untranslated[message] = runs or chinese
        assert translate_problem(message, "en") == message
    assert untranslated == {}
    for name, table in TABLES.items():
        assert set(table) - used == set(), f"{name}: templates no message matched"


def test_translations_keep_the_values():
    assert translate_problem("unknown scale 'eleven' (defined scales: ten, five)", "zh-CN") == \
        "未知量表 'eleven'（已定义的量表：ten, five）"
    assert translate_problem("unknown fields 'colour', 'size' (allowed: id, title)", "zh-CN") == \
        "未知字段 'colour', 'size'（允许的字段：id, title）"
    assert translate_problem("expected string or mapping, got a list", "zh-CN") == "应为文本或映射（键: 值），实际为列表"
    assert translate_problem("show_if: unexpected character '=' (at character 11)", "zh-CN") == \
        "show_if：意外的字符 '='（第 11 个字符处）"
    assert translate_problem("follow-up rule refers to unknown question 'nobody'", "zh-CN") == "回访规则 引用了不存在的题目 'nobody'"
    assert translate_problem("warning: must not be empty", "zh-CN") == "警告：不能为空"
    assert translate_problem("a message nobody translated", "zh-CN") == "a message nobody translated"
    assert translate_problem("must not be empty", "en") == "must not be empty"
