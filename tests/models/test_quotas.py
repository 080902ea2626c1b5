"""Quotas in the questionnaire format: parsed, evaluated, and every mistake reported with
FILE:LINE: path: message."""
import pytest

from models.errors import QuestionnaireError
from models.questionnaire import parse_questionnaire

BASE = """\
id: quota-demo
version: 1
default_language: en
languages: [en, zh-CN]
title: {en: Quotas, zh-CN: 配额}
scales:
  five: {min: 1, max: 5}
pages:
  - id: p1
    questions:
      - id: region
        type: single_choice
        text: {en: "Region?", zh-CN: "地区？"}
        options:
          - {value: north, label: {en: North, zh-CN: 北方}}
          - {value: south, label: {en: South, zh-CN: 南方}}
      - id: channel
        type: single_choice
        text: {en: "Channel?", zh-CN: "渠道？"}
        options:
          - {value: store, label: {en: Store, zh-CN: 门店}}
          - {value: online, label: {en: Online, zh-CN: 网上}}
  - id: p2
    questions:
      - id: sat
        type: rating
        scale: five
        text: {en: "Satisfied?", zh-CN: "满意吗？"}
"""
QUOTAS = """\
quotas:
  - id: north_store
    when: "region == 'north' and channel == 'store'"
    limit: 200
    text: {en: "We have enough answers from northern stores.", zh-CN: "北方门店的答卷已足够。"}
"""


def test_quotas_parse_and_apply():
    questionnaire = parse_questionnaire(BASE + QUOTAS, "demo.yaml")
    (quota,) = questionnaire.quotas
    assert (quota.id, quota.limit, quota.when.names) == ("north_store", 200, ("region", "channel"))
    assert quota.applies({"region": "north", "channel": "store"})
    assert not quota.applies({"region": "north", "channel": "online"})
    assert not quota.applies({"region": "north"})  # unanswered: not in the quota
    assert quota.text.get("zh-CN") == "北方门店的答卷已足够。"
    assert parse_questionnaire(BASE, "demo.yaml").quotas == ()


def problems(text: str) -> list[str]:
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire(text, "demo.yaml")
    return [str(problem) for problem in caught.value.problems]


@pytest.mark.parametrize("change, expected", [
    (("region == 'north' and", "region == 'north' and and"), "demo.yaml:31: quotas[0].when: quota: "),
    (("region == 'north'", "regio == 'north'"), "demo.yaml:31: quotas[0].when: quota refers to unknown question 'regio'"),
    (("limit: 200", "limit: -1"), "demo.yaml:32: quotas[0].limit: "),
    (("limit: 200", "limit: 2.5"), "demo.yaml:32: quotas[0].limit: "),
    (("limit: 200", "limit: 20000000"), "demo.yaml:32: quotas[0].limit: limit must be a whole number from 0 to 10000000"),
    (('zh-CN: "北方门店的答卷已足够。"', 'fr: "assez"'), "demo.yaml:33: quotas[0].text: missing translation for 'zh-CN'"),
    (("    limit: 200\n", ""), "demo.yaml:30: quotas[0]: "),
])
def test_bad_quotas_are_reported_with_file_and_line(change, expected):
    found = problems(BASE + QUOTAS.replace(*change))
    assert any(message.startswith(expected) for message in found), found


def test_duplicate_quota_ids_are_reported():
    second = QUOTAS.split("\n", 1)[1].replace("limit: 200", "limit: 5")
    found = problems(BASE + QUOTAS + second)
    assert any(m.startswith("demo.yaml:34: quotas[1].id: duplicate quota id 'north_store' (also quotas[0])") for m in found), found
