"""One wave's open answers in one call: themes, sentiment per answer and per theme, the
link to each respondent's satisfaction index, the change from the previous wave, and the
themes' shares per segment.

The pieces are in :mod:`analysis.text.themes`, :mod:`.sentiment` and :mod:`.link`; this
module only runs them in the order a wave's report needs and keeps the answers aligned with
the respondents (``answers``, ``scores`` and ``segments`` share one index, e.g. the
response ids of a stored wave).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from models.answers import answer_type

if TYPE_CHECKING:
    from analysis.text.link import ThemeChange, ThemeScoreLink, ThemeSentiment
    from analysis.text.segment import Tokenizer
    from analysis.text.sentiment import SentimentResult
    from analysis.text.themes import ThemeResults


@dataclass(frozen=True)
class SegmentThemes:
    """Themes within one segment value: ``shares[j]`` of its ``n_nonempty`` answers with
    content mention theme j, with a Wilson score interval ``low[j]``..``high[j]``."""
    segment: str
    n_answers: int
    n_nonempty: int
    shares: tuple[float, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]


@dataclass(frozen=True)
class WaveText:
    """What :func:`analyse_wave_text` returns; ``respondents`` is the answers' index."""
    respondents: tuple
    themes: ThemeResults
    sentiments: tuple[SentimentResult, ...]
    by_theme: tuple[ThemeSentiment, ...]
    link: ThemeScoreLink | None
    change: tuple[ThemeChange, ...] | None
    segment_variable: str | None
    segments: tuple[SegmentThemes, ...]
    notes: tuple[str, ...]

    def as_dict(self) -> dict:
        out = self.themes.as_dict()
        labels = {t.index: t.label for t in self.themes.themes}
        sentiment = {s.theme: s for s in self.by_theme}
        for theme in out["themes"]:
            s = sentiment[theme["theme"]]
            theme["sentiment"] = {"negative": round(s.negative, 4), "neutral": round(s.neutral, 4),
                                  "positive": round(s.positive, 4)}
        out["rows"] = [{"row": i, "respondent": _plain(r), "sentiment": s.sentiment, "score": s.score,
                        "themes": [int(j) for j in self.themes.mentions[i].nonzero()[0]]}
                       for i, (r, s) in enumerate(zip(self.respondents, self.sentiments))]
        if self.link is not None:
            out["scores"] = {
                "n": self.link.n, "confidence": self.link.confidence,
                "dissatisfied_below": self.link.dissatisfied_below, "satisfied_above": self.link.satisfied_above,
                "themes": [{"theme": s.theme, "label": s.label, "n_with": s.n_with, "n_without": s.n_without,
                            "mean_with": _num(s.mean_with), "mean_without": _num(s.mean_without),
                            "difference": _num(s.difference), "ci_difference": [_num(v) for v in s.ci_difference],
                            "p_value": _num(s.p_value)} for s in self.link.scores],
                "separation": [{"theme": s.theme, "label": s.label, "share_dissatisfied": _num(s.share_dissatisfied),
                                "share_satisfied": _num(s.share_satisfied), "difference": _num(s.difference),
                                "ci_difference": [_num(v) for v in s.ci_difference]} for s in self.link.separation]}
        if self.change is not None:
            out["change"] = [{"theme": c.theme, "label": c.label, "share": _num(c.share),
                              "share_previous": _num(c.share_previous), "difference": _num(c.difference),
                              "ci_difference": [_num(v) for v in c.ci_difference]} for c in self.change]
        if self.segment_variable:
            out["segments"] = {"variable": self.segment_variable, "values": [
                {"segment": s.segment, "n_answers": s.n_answers, "n_nonempty": s.n_nonempty,
                 "themes": [{"theme": j, "label": labels[j], "share": _num(s.shares[j]),
                             "ci": [_num(s.low[j]), _num(s.high[j])]} for j in range(len(s.shares))]}
                for s in self.segments]}
        out["notes"] = list(self.notes)
        return out

    def summary(self) -> str:
        lines = [self.themes.summary()]
        lines.append("sentiment per theme (negative / neutral / positive):")
        lines.extend(f"  {s.label}: {s.negative:.0%} / {s.neutral:.0%} / {s.positive:.0%} (n={s.n})"
                     for s in self.by_theme)
        if self.link is not None:
            lines.append(self.link.summary())
        if self.change is not None:
            lines.append("change from the previous wave (share of answers with content):")
            lines.extend(f"  {c.label}: {c.share_previous:.1%} -> {c.share:.1%} ({c.difference:+.1%}, "
                         f"[{c.ci_difference[0]:+.1%}, {c.ci_difference[1]:+.1%}])" for c in self.change)
        if self.segment_variable:
            lines.append(f"themes by {self.segment_variable}:")
            for s in self.segments:
                shares = ", ".join(f"{t.label} {share:.0%}" for t, share in zip(self.themes.themes, s.shares))
                lines.append(f"  {s.segment} (n={s.n_nonempty}): {shares}")
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _num(value: float) -> float | None:
    return round(float(value), 6) if value is not None and np.isfinite(value) else None


def analyse_wave_text(answers: pd.Series, *, scores: pd.Series | None = None, previous=None,
                      segments: pd.Series | None = None, k: int = 6, lang: str = "auto",
                      tokenizer: Tokenizer | None = None, seed: int = 0, confidence: float = 0.95) -> WaveText:
    """Themes and sentiment of one wave's answers to an open question.

    answers: the answers (str or missing), indexed by respondent.
    scores: each respondent's satisfaction index (0-100), same index (missing allowed); gives
        the themes' link to satisfaction.
    previous: the previous wave's answers to the same question (any iterable of str); gives
        each theme's change in share, read with this wave's themes.
    segments: each respondent's segment value (region, tier...), same index; gives the themes'
        shares per segment value with Wilson intervals.
    """
    # Imported here, not with the module: a stored wave analysis imports this module for
    # stored_wave_texts, and a wave without enough open answers must not pay for scipy.stats
    # and jieba (about a second of CPU; docs/benchmarks.md, issue 16).
    from scipy import stats

    from analysis.text.batch import segment_and_score
    from analysis.text.link import _wilson, compare_waves, link_themes_to_scores, sentiment_by_theme
    from analysis.text.segment import Tokenizer
    from analysis.text.sentiment import SentimentScorer
    from analysis.text.themes import ThemeModel

    texts = ["" if not isinstance(a, str) else a for a in answers.tolist()]
    tokenizer = tokenizer or Tokenizer()
    scorer = SentimentScorer(lang, tokenizer=tokenizer)
    tokens, sentiments = segment_and_score(texts, tokenizer=tokenizer, scorer=scorer)
    themes = ThemeModel(k=k, tokenizer=tokenizer, random_state=seed).fit(texts, tokens=tokens)
    notes = []
    link = None
    if scores is not None:
        aligned = pd.to_numeric(scores.reindex(answers.index), errors="coerce").to_numpy(dtype=float)
        try:
            link = link_themes_to_scores(themes, aligned, confidence=confidence)
        except ValueError as exc:
            notes.append(f"no link to scores: {exc}")
    change = None
    if previous is not None:
        previous = ["" if not isinstance(a, str) else a for a in previous]
        if any(p.strip() for p in previous):
            change = compare_waves(themes, previous, confidence=confidence)
        else:
            notes.append("the previous wave has no answers to this question")
    segment_rows: list[SegmentThemes] = []
    variable = None
    if segments is not None:
        variable = str(segments.name or "segment")
        values = segments.reindex(answers.index)
        has_content = np.asarray(themes.weights).sum(axis=1) > 0
        z = stats.norm.ppf(0.5 + confidence / 2)
        for value in sorted(values.dropna().unique(), key=str):
            rows = (values == value).to_numpy()
            n_nonempty = int((rows & has_content).sum())
            counts = themes.mentions[rows & has_content].sum(axis=0)
            shares = [c / n_nonempty if n_nonempty else float("nan") for c in counts]
            bounds = [_wilson(int(c), n_nonempty, z) if n_nonempty else (float("nan"), float("nan")) for c in counts]
            segment_rows.append(SegmentThemes(str(value), int(rows.sum()), n_nonempty, tuple(map(float, shares)),
                                              tuple(float(b[0]) for b in bounds), tuple(float(b[1]) for b in bounds)))
        if values.isna().all():
            notes.append(f"no respondent has a value of {variable}")
    return WaveText(tuple(answers.index), themes, tuple(sentiments), sentiment_by_theme(themes, sentiments), link,
                    change, variable, tuple(segment_rows), tuple(notes))


MIN_ANSWERS = 20  # fewer answers with content than this: no themes (and no jieba start-up) for the question


def stored_wave_texts(questionnaire, frame: pd.DataFrame, scores: pd.Series | None, *, k: int = 6,
                      seed: int = 0) -> dict:
    """Each open question's themes and per-response sentiment, as JSON for the stored wave
    analysis (``analysis.stored``): read by the console's follow-up queue and the API
    without running the text analysis again.

    {question_id: {"n_answers", "themes": [{theme, label, share, n_answers}],
                   "responses": {response_id (str): [sentiment, score, [theme indices]]}}}
    Questions with fewer than ``MIN_ANSWERS`` answers with content are left out. The
    questionnaire's ``text_analysis`` words (user words kept whole, extra stop words) apply."""
    out = {}
    for question in questionnaire.questions:
        if not answer_type(question).free_text or question.id not in frame:
            continue
        answers = frame[question.id]
        answered = answers[[isinstance(a, str) and bool(a.strip()) for a in answers.tolist()]]
        if len(answered) < MIN_ANSWERS:
            continue
        from analysis.text.segment import Tokenizer
        tokenizer = Tokenizer(user_words=tuple(getattr(questionnaire, "user_words", ())),
                              stop_words=frozenset(getattr(questionnaire, "stop_words", ())))
        try:
            result = analyse_wave_text(answered, scores=scores, k=min(k, max(1, len(answered) // 10)), seed=seed,
                                       tokenizer=tokenizer)
        except ValueError:  # no content words at all (emoji, digits): nothing to store
            continue
        sentiment = {x.theme: x for x in result.by_theme}
        linked = {x.theme: x for x in result.link.scores} if result.link is not None else {}

        def theme_entry(t):
            entry = {"theme": t.index, "label": t.label, "share": round(t.share, 4), "n_answers": t.n_answers,
                     "examples": list(t.examples), "negative": round(sentiment[t.index].negative, 4),
                     "neutral": round(sentiment[t.index].neutral, 4), "positive": round(sentiment[t.index].positive, 4)}
            if t.index in linked:
                x = linked[t.index]
                entry.update(mean_with=_num(x.mean_with), mean_without=_num(x.mean_without),
                             difference=_num(x.difference), ci_difference=[_num(v) for v in x.ci_difference])
            return entry
        out[question.id] = {
            "n_answers": int(len(answered)),
            "themes": [theme_entry(t) for t in result.themes.themes],
            "responses": {str(respondent): [s.sentiment, round(float(s.score), 4),
                                            [int(j) for j in result.themes.mentions[i].nonzero()[0]]]
                          for i, (respondent, s) in enumerate(zip(result.respondents, result.sentiments))},
        }
    return out
