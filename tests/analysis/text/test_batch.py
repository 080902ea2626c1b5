"""The process pool returns what one process returns, in the answers' order."""
import csv
from pathlib import Path

from analysis.text import SentimentScorer, Tokenizer
from analysis.text.batch import segment_and_score

DATA = Path(__file__).parents[2] / "data" / "text"


def test_pool_matches_one_process():
    with open(DATA / "zh_labelled.csv", encoding="utf-8", newline="") as f:
        zh = [r["text"] for r in csv.DictReader(f)]
    with open(DATA / "en_labelled.csv", encoding="utf-8", newline="") as f:
        en = [r["text"] for r in csv.DictReader(f)]
    texts = (zh + en + ["", None, "😀"]) * 11  # 4,433 answers: above the parallel threshold
    scorer = SentimentScorer(tokenizer=Tokenizer(user_words=("服务员",)))
    tokens, results = segment_and_score(texts, scorer=scorer, processes=2)
    one_tokens, one_results = segment_and_score(texts, scorer=scorer, processes=1)
    assert len(results) == len(texts)
    assert results == one_results and tokens == one_tokens
    assert results[0] == scorer.score(texts[0]) and tokens[0] == scorer.tokenizer.tokens(texts[0])
    only_tokens, none = segment_and_score(texts[:10], tokenizer=Tokenizer())
    assert none is None and only_tokens == one_tokens[:10]
