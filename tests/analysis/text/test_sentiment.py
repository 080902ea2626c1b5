"""Sentiment agreement with hand labels (tests/data/text/README.md) and awkward answers."""
import csv
from pathlib import Path

import pytest

from analysis.text import LABELS, SentimentResult, SentimentScorer

DATA = Path(__file__).parents[2] / "data" / "text"


def _labelled(name):
    with open(DATA / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def scorer():
    return SentimentScorer("auto")


# (file, size, minimum agreement, maximum opposite polarity); measured agreement
# 90.0 / 89.0 / 75.0 / 78.3 %, opposite polarity 2.5 / 0.5 / 5.0 / 0.0 %.
@pytest.mark.parametrize("name, size, minimum, most_opposite", [
    ("zh_labelled.csv", 200, 0.85, 0.04), ("en_labelled.csv", 200, 0.85, 0.04),
    ("zh_heldout.csv", 60, 0.70, 0.07), ("en_heldout.csv", 60, 0.70, 0.07),
])
def test_agreement_with_hand_labels(scorer, name, size, minimum, most_opposite):
    rows = _labelled(name)
    assert len(rows) == size
    assert {r["label"] for r in rows} == set(LABELS)
    results = scorer.score_many(r["text"] for r in rows)
    agreement = sum(r["label"] == s.sentiment for r, s in zip(rows, results)) / len(rows)
    opposite = sum({r["label"], s.sentiment} == {"positive", "negative"} for r, s in zip(rows, results)) / len(rows)
    assert agreement >= minimum, f"{name}: agreement {agreement:.1%}"
    assert opposite <= most_opposite, f"{name}: {opposite:.1%} read with the opposite polarity"
    assert all(-1 <= s.score <= 1 for s in results)
    assert all((s.score >= 0.05) == (s.sentiment == "positive") for s in results)


@pytest.mark.parametrize("text, sentiment", [
    ("服务很好", "positive"), ("服务不好", "negative"), ("态度非常差", "negative"), ("服务太差了", "negative"),
    ("没有意见", "neutral"), ("the staff were not helpful", "negative"), ("not bad at all", "positive"),
])
def test_negation_and_degree(scorer, text, sentiment):
    assert scorer.score(text).sentiment == sentiment


def test_degree_strengthens(scorer):
    assert scorer.score("非常满意").score > scorer.score("满意").score > 0


@pytest.mark.parametrize("text", ["", "   ", None, float("nan"), "12345", "。。。"])
def test_empty_answers_are_neutral_zero(scorer, text):
    result = scorer.score(text)
    assert (result.sentiment, result.score, result.lang) == ("neutral", 0.0, "")


def test_emoji_only(scorer):
    # VADER reads an emoji through its English name ("angry face", "crying face"); names
    # without a sentiment word ("pouting face" for 😡) score 0.
    assert scorer.score("😠😢") == SentimentResult("negative", scorer.score("😠😢").score, "emoji")
    assert scorer.score("😠😢").score < -0.5
    assert scorer.score("😡").sentiment == "neutral"
    assert scorer.score("😀👍").sentiment == "positive"
    assert scorer.score("🏦").sentiment == "neutral"


def test_mixed_language_weighs_both_parts(scorer):
    mixed = scorer.score("客服态度很差, the app is great")
    assert mixed.lang == "mixed"
    zh, en = scorer.score("客服态度很差"), scorer.score("the app is great")
    assert min(zh.score, en.score) < mixed.score < max(zh.score, en.score)
    assert scorer.score("iPhone很好用").sentiment == "positive"


def test_very_long_answer(scorer):
    result = scorer.score("退款拖了很久，很失望。" * 3000)
    assert result.sentiment == "negative" and -1 <= result.score < -0.9


def test_unknown_language_is_an_error():
    with pytest.raises(ValueError, match="zh-CN, en or auto"):
        SentimentScorer("fr")
