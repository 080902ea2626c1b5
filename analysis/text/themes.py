"""Themes in open answers: non-negative matrix factorisation of the TF-IDF matrix.

The answers (n) are segmented (segment.py), weighted by TF-IDF with sublinear term
frequency and l2-normalised rows, and factorised X (n x V) ~ W (n x k) H (k x V) with
scikit-learn's NMF (Lee & Seung 2001; coordinate descent, Cichocki & Phan 2009; NNDSVDa
start, Boutsidis & Gallopoulos 2008, so a fixed seed gives the same themes). A theme's
label is its top words in H; an answer *mentions* a theme when that theme holds at least
``mention_share`` of the answer's weight in W; the theme's share is the fraction of
non-empty answers mentioning it; its examples are the answers that weigh most on it alone.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analysis.text.segment import Tokenizer


@dataclass(frozen=True)
class Theme:
    index: int
    label: str  # top words joined by " / "
    top_words: tuple[str, ...]
    share: float  # fraction of non-empty answers that mention the theme, 0..1
    n_answers: int
    examples: tuple[str, ...]  # verbatim answers

    def as_dict(self) -> dict:
        return {"theme": self.index, "label": self.label, "top_words": list(self.top_words),
                "share": round(self.share, 4), "n_answers": self.n_answers, "examples": list(self.examples)}


@dataclass(frozen=True)
class ThemeResults:
    """What ThemeModel.fit returns. ``weights`` is W (n_answers x k, rows of empty answers
    are 0), ``mentions`` the boolean n_answers x k matrix, ``dominant`` each answer's main
    theme (-1 for an answer with no content word)."""

    themes: tuple[Theme, ...]
    weights: np.ndarray
    mentions: np.ndarray
    dominant: np.ndarray
    n_answers: int
    n_nonempty: int
    _model: "ThemeModel" = field(repr=False, compare=False)
    _vectorizer: object = field(repr=False, compare=False)
    _nmf: object = field(repr=False, compare=False)

    def assign(self, texts) -> np.ndarray:
        """Mentions (len(texts) x k, bool) of new answers, e.g. the previous wave's, with
        the fitted vocabulary and themes; so shares can be compared from wave to wave."""
        docs = [self._model.tokenizer.tokens(t) for t in texts]
        X = self._vectorizer.transform(docs)
        return self._model._mentions(self._nmf.transform(X))[0]

    def shares(self, texts) -> np.ndarray:
        """Share of non-empty answers among ``texts`` mentioning each theme (length k)."""
        mentions = self.assign(texts)
        nonempty = mentions.any(axis=1).sum()
        return mentions.sum(axis=0) / nonempty if nonempty else np.zeros(mentions.shape[1])

    def summary(self) -> str:
        lines = [f"{len(self.themes)} themes in {self.n_nonempty:,} of {self.n_answers:,} answers with content"]
        for t in self.themes:
            lines.append(f"  {t.index}: {t.label}  ({t.share:.1%}, {t.n_answers:,} answers)")
            lines.extend(f"      \u201c{e}\u201d" for e in t.examples)
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {"n_answers": self.n_answers, "n_nonempty": self.n_nonempty,
                "themes": [t.as_dict() for t in self.themes]}


class ThemeModel:
    """k themes by NMF on TF-IDF.

    k: number of themes (reduced to what the vocabulary allows on tiny inputs).
    tokenizer: segmentation with the survey's user words and stop words.
    top_words: words in a label; examples: verbatim answers per theme (2-3 per the report).
    mention_share: an answer mentions a theme holding at least this part of its W row.
    min_df: a word must appear in this many answers (1 on inputs under 50 answers).
    max_features: vocabulary cap (most frequent words), which bounds time and memory.
    random_state: seed of NMF's start, so a rerun gives the same themes.
    """

    def __init__(self, k: int = 6, tokenizer: Tokenizer | None = None, top_words: int = 4, examples: int = 3,
                 mention_share: float = 0.3, min_df: int = 2, max_features: int = 5000,
                 random_state: int = 0, max_example_chars: int = 200):
        if int(k) < 1:
            raise ValueError("k (the number of themes) must be at least 1")
        self.k = int(k)
        self.tokenizer = tokenizer or Tokenizer()
        self.top_words = top_words
        self.examples = examples
        self.mention_share = mention_share
        self.min_df = min_df
        self.max_features = max_features
        self.random_state = random_state
        self.max_example_chars = max_example_chars

    def _mentions(self, W: np.ndarray):
        totals = W.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            part = np.where(totals > 0, W / np.where(totals > 0, totals, 1), 0.0)
        mentions = (part >= self.mention_share) & (W > 0)
        dominant = np.where(totals[:, 0] > 0, part.argmax(axis=1), -1)
        return mentions, dominant, part

    def fit(self, texts, tokens: list[list[str]] | None = None) -> ThemeResults:
        """Themes of ``texts``; ``tokens``: their tokenizer.tokens(), if already computed
        (analysis.text.batch.segment_and_score does so on all cores)."""
        from sklearn.decomposition import NMF
        from sklearn.feature_extraction.text import TfidfVectorizer

        texts = ["" if not isinstance(t, str) else t for t in texts]
        if tokens is not None and len(tokens) != len(texts):
            raise ValueError(f"{len(tokens)} token lists for {len(texts)} answers")
        docs = [self.tokenizer.tokens(t) for t in texts] if tokens is None else tokens
        n_nonempty = sum(1 for d in docs if d)
        if n_nonempty == 0:
            raise ValueError("no answer has a content word to find themes in")
        min_df = self.min_df if n_nonempty >= 50 else 1
        vectorizer = TfidfVectorizer(analyzer=lambda d: d, min_df=min_df, max_features=self.max_features,
                                     sublinear_tf=True)
        try:
            X = vectorizer.fit_transform(docs)
        except ValueError:  # every word below min_df
            vectorizer = TfidfVectorizer(analyzer=lambda d: d, min_df=1, max_features=self.max_features,
                                         sublinear_tf=True)
            X = vectorizer.fit_transform(docs)
        # No more themes than distinct answers: repeated answers would split into copies.
        distinct = len({tuple(d) for d in docs if d})
        k = max(1, min(self.k, X.shape[1], distinct))
        while True:
            nmf = NMF(n_components=k, init="nndsvda", random_state=self.random_state, max_iter=400)
            W = nmf.fit_transform(X)
            mentions, dominant, part = self._mentions(W)
            # A theme no answer mentions (few or repeated answers give fewer distinct themes
            # than asked for) is a copy of another: ask for as many as were mentioned.
            mentioned = int(mentions.any(axis=0).sum())
            if mentioned >= k or k == 1:
                break
            k = max(1, mentioned)
        H = nmf.components_
        vocab = vectorizer.get_feature_names_out()
        themes = []
        for j in range(k):
            top = tuple(str(vocab[i]) for i in np.argsort(-H[j])[: self.top_words] if H[j, i] > 0)
            n_j = int(mentions[:, j].sum())
            # Examples: answers that weigh most on this theme alone (largest part, then
            # largest weight), short enough to quote, each text once.
            order = np.lexsort((-W[:, j], -part[:, j]))
            chosen, seen = [], set()
            for i in order:
                if not mentions[i, j] or len(chosen) >= self.examples:
                    break
                text = texts[i].strip()
                if text in seen or len(text) > self.max_example_chars:
                    continue
                seen.add(text)
                chosen.append(text)
            themes.append(Theme(j, " / ".join(top), top, n_j / n_nonempty, n_j, tuple(chosen)))
        # Largest theme first; renumber so "theme 0" is the most mentioned.
        order = sorted(range(k), key=lambda j: -themes[j].n_answers)
        themes = tuple(Theme(new, *[getattr(themes[old], f) for f in ("label", "top_words", "share", "n_answers",
                                                                      "examples")])
                       for new, old in enumerate(order))
        W = W[:, order]
        mentions = mentions[:, order]
        remap = np.full(k + 1, -1)
        remap[np.asarray(order)] = np.arange(k)
        dominant = np.where(dominant >= 0, remap[dominant], -1)
        nmf.components_ = nmf.components_[order]
        return ThemeResults(themes, W, mentions, dominant, len(texts), n_nonempty, self, vectorizer, nmf)
