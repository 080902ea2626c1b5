"""Segmentation of open answers into words, per script.

An answer is cut into runs of Han characters and runs of Latin letters/digits; Han runs
go to jieba (dictionary + HMM for unknown words), Latin runs to a regex tokenizer
(lower-cased words of two or more letters, apostrophes kept inside words). So a mixed
answer such as "App 老是闪退, very slow" yields ["app", "老是", "闪退", "very", "slow"]
whatever the survey's language. Emoji, punctuation and symbols are dropped.
"""
from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass, field
from importlib import resources

import jieba

# jieba logs "Building prefix dict ..." at INFO on first use; that is noise on a CLI.
jieba.setLogLevel(logging.WARNING)

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUNS = re.compile(rf"[{_HAN}]+|[A-Za-z0-9][A-Za-z0-9'’]*")
_HAN_RUN = re.compile(rf"[{_HAN}]")
_LATIN_WORD = re.compile(r"[a-z][a-z']*[a-z]|[a-z]")
_HAS_HAN = re.compile(rf"[{_HAN}]")
_HAS_LATIN = re.compile(r"[A-Za-z]")


@functools.lru_cache(maxsize=None)
def shipped_stop_words(lang: str) -> frozenset[str]:
    """The stop-word list shipped for ``lang`` ("en" or "zh")."""
    text = resources.files("analysis.text").joinpath("data", f"stopwords_{lang}.txt").read_text("utf-8")
    return frozenset(w.strip().lower() for w in text.splitlines() if w.strip() and not w.startswith("#"))


def detect_lang(text: str) -> str:
    """"zh" when the answer holds Han characters, "en" when it holds Latin letters only,
    "" when it holds neither (empty, emoji, digits, punctuation)."""
    if _HAS_HAN.search(text):
        return "zh"
    return "en" if _HAS_LATIN.search(text) else ""


@functools.lru_cache(maxsize=16)
def _jieba(user_words: tuple[str, ...]) -> jieba.Tokenizer:
    """A jieba tokenizer of its own per user dictionary, so one survey's product and store
    names never leak into another survey's segmentation (jieba's default one is global)."""
    tokenizer = jieba.Tokenizer()
    for word in user_words:
        tokenizer.add_word(word)
    return tokenizer


def han_words(run: str, user_words: tuple[str, ...] = ()) -> list[str]:
    """jieba's words for a run of Han characters (precise mode, HMM on)."""
    return _jieba(user_words).lcut(run, HMM=True)


@dataclass(frozen=True)
class Tokenizer:
    """Words of an answer, for themes and sentiment.

    user_words: words jieba must keep whole (product names, store names), per survey.
    stop_words: extra stop words per survey, added to the shipped English and Chinese lists.
    min_han_chars: Chinese words shorter than this are dropped as tokens (single characters
    are mostly particles and function words: 的, 了, 很); 1 keeps them.
    """

    user_words: tuple[str, ...] = ()
    stop_words: frozenset[str] = field(default_factory=frozenset)
    min_han_chars: int = 2

    def __post_init__(self):
        object.__setattr__(self, "user_words", tuple(sorted({w.strip() for w in self.user_words if w.strip()})))
        object.__setattr__(self, "stop_words", frozenset(w.strip().lower() for w in self.stop_words if w.strip()))

    @functools.cached_property
    def _stops(self) -> frozenset[str]:
        return shipped_stop_words("en") | shipped_stop_words("zh") | self.stop_words

    def words(self, text: str) -> list[str]:
        """Every word in order, stop words included (what sentiment scoring needs)."""
        out: list[str] = []
        if not isinstance(text, str):
            return out
        for run in _RUNS.findall(text):
            if _HAN_RUN.match(run):
                out.extend(w for w in han_words(run, self.user_words) if w.strip())
            else:
                out.extend(_LATIN_WORD.findall(run.lower().replace("’", "'")))
        return out

    def tokens(self, text: str) -> list[str]:
        """Content words for themes: stop words, digits and too-short Chinese words removed."""
        return self.content(self.words(text))

    def content(self, words: list[str]) -> list[str]:
        """The content words among ``words`` (the output of words())."""
        stops = self._stops
        out = []
        for w in words:
            low = w.lower()
            if low in stops:
                continue
            if _HAS_HAN.match(w):
                if len(w) < self.min_han_chars and w not in self.user_words:
                    continue
            elif len(w) < 2:
                continue
            out.append(low)
        return out
