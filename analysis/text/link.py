"""Themes against scores: who mentions a theme, and how satisfied they are.

For each theme: the mean score (e.g. the satisfaction index, 0-100) of respondents whose
answer mentions it against those whose non-empty answer does not, the difference with a
Welch t interval (Welch 1947; unequal variances, Satterthwaite degrees of freedom), and
each group's mean with its own t interval. Then the themes that most separate dissatisfied
from satisfied respondents: the difference in the share mentioning the theme between the
two groups (dissatisfied minus satisfied) with a Newcombe hybrid-score interval (Newcombe
1998, method 10, built on Wilson's score intervals), ranked by its absolute size.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class ThemeScore:
    theme: int
    label: str
    n_with: int
    n_without: int
    mean_with: float
    mean_without: float
    ci_with: tuple[float, float]
    ci_without: tuple[float, float]
    difference: float  # mean_with - mean_without
    ci_difference: tuple[float, float]
    p_value: float  # Welch's t test


@dataclass(frozen=True)
class ThemeSeparation:
    theme: int
    label: str
    share_dissatisfied: float
    share_satisfied: float
    difference: float  # share_dissatisfied - share_satisfied; > 0: a theme of the dissatisfied
    ci_difference: tuple[float, float]


@dataclass(frozen=True)
class ThemeScoreLink:
    scores: tuple[ThemeScore, ...]
    separation: tuple[ThemeSeparation, ...]  # largest |difference| first
    n: int
    dissatisfied_below: float
    satisfied_above: float
    confidence: float

    def summary(self) -> str:
        """For people; a number that cannot be estimated (a group of fewer than two) reads "–"."""
        pct = f"{self.confidence:.0%}"
        lines = [f"scores of {self.n:,} respondents with an answer; {pct} intervals (– : too few to estimate)"]
        for s in self.scores:
            lines.append(f"  {s.label}: {_shown(s.mean_with, '.1f')} (n={s.n_with}) vs {_shown(s.mean_without, '.1f')} "
                         f"(n={s.n_without}), difference {_shown(s.difference, '+.1f')} "
                         f"[{_shown(s.ci_difference[0], '+.1f')}, {_shown(s.ci_difference[1], '+.1f')}]")
        lines.append(f"dissatisfied (< {self.dissatisfied_below:g}) vs satisfied (> {self.satisfied_above:g}):")
        for s in self.separation:
            lines.append(f"  {s.label}: {_shown(s.share_dissatisfied, '.1%')} vs {_shown(s.share_satisfied, '.1%')}, "
                         f"{_shown(s.difference, '+.1%')} [{_shown(s.ci_difference[0], '+.1%')}, "
                         f"{_shown(s.ci_difference[1], '+.1%')}]")
        return "\n".join(lines)


def _shown(value: float, spec: str) -> str:
    return "–" if value is None or not np.isfinite(value) else format(value, spec)


def _t_interval(x: np.ndarray, confidence: float) -> tuple[float, float]:
    if len(x) < 2:
        return (float("nan"), float("nan"))
    half = stats.t.ppf(0.5 + confidence / 2, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return (float(x.mean() - half), float(x.mean() + half))


def _wilson(k: int, n: int, z: float) -> tuple[float, float]:
    if n == 0:
        return (float("nan"), float("nan"))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (centre - half, centre + half)


def _newcombe(k1: int, n1: int, k2: int, n2: int, z: float) -> tuple[float, float]:
    """Newcombe (1998) method 10 interval for p1 - p2."""
    if n1 == 0 or n2 == 0:
        return (float("nan"), float("nan"))
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = _wilson(k1, n1, z)
    l2, u2 = _wilson(k2, n2, z)
    d = p1 - p2
    return (float(d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)),
            float(d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)))


def link_themes_to_scores(themes, scores, *, dissatisfied_below: float | None = None,
                          satisfied_above: float | None = None, confidence: float = 0.95) -> ThemeScoreLink:
    """Link ThemeResults (or a boolean mentions matrix, n x k) to ``scores`` (length n,
    e.g. each respondent's satisfaction index; NaN for a missing score).

    Only respondents with a score and a non-empty answer (a row mentioning some theme or
    with content) count. Dissatisfied / satisfied default to the lower and upper thirds of
    those scores (below the 1/3 quantile, above the 2/3 quantile).
    """
    if hasattr(themes, "mentions"):
        mentions = np.asarray(themes.mentions, dtype=bool)
        labels = [t.label for t in themes.themes]
        has_answer = np.asarray(themes.weights).sum(axis=1) > 0
    else:
        mentions = np.asarray(themes, dtype=bool)
        labels = [f"theme {j}" for j in range(mentions.shape[1])]
        has_answer = mentions.any(axis=1)
    y = np.asarray(scores, dtype=float)
    if y.shape[0] != mentions.shape[0]:
        raise ValueError(f"{y.shape[0]} scores for {mentions.shape[0]} answers")
    keep = has_answer & np.isfinite(y)
    mentions, y = mentions[keep], y[keep]
    if len(y) < 2:
        raise ValueError("fewer than two respondents have both an answer and a score")
    z = stats.norm.ppf(0.5 + confidence / 2)
    rows = []
    for j, label in enumerate(labels):
        a, b = y[mentions[:, j]], y[~mentions[:, j]]
        if len(a) >= 2 and len(b) >= 2:
            test = stats.ttest_ind(a, b, equal_var=False)
            ci = test.confidence_interval(confidence)
            ci_d, p = (float(ci.low), float(ci.high)), float(test.pvalue)
        else:
            ci_d, p = (float("nan"), float("nan")), float("nan")
        rows.append(ThemeScore(j, label, len(a), len(b), float(a.mean()) if len(a) else float("nan"),
                               float(b.mean()) if len(b) else float("nan"), _t_interval(a, confidence),
                               _t_interval(b, confidence),
                               float(a.mean() - b.mean()) if len(a) and len(b) else float("nan"), ci_d, p))
    low = float(np.quantile(y, 1 / 3)) if dissatisfied_below is None else float(dissatisfied_below)
    high = float(np.quantile(y, 2 / 3)) if satisfied_above is None else float(satisfied_above)
    dis, sat = mentions[y < low], mentions[y > high]
    separation = []
    for j, label in enumerate(labels):
        k1, n1, k2, n2 = int(dis[:, j].sum()), len(dis), int(sat[:, j].sum()), len(sat)
        p1 = k1 / n1 if n1 else float("nan")
        p2 = k2 / n2 if n2 else float("nan")
        separation.append(ThemeSeparation(j, label, p1, p2, p1 - p2, _newcombe(k1, n1, k2, n2, z)))
    separation.sort(key=lambda s: -abs(s.difference) if np.isfinite(s.difference) else 0.0)
    return ThemeScoreLink(tuple(rows), tuple(separation), int(len(y)), low, high, confidence)


@dataclass(frozen=True)
class ThemeSentiment:
    theme: int
    label: str
    n: int  # answers mentioning the theme
    negative: float  # shares of those answers, summing to 1 (0 when n is 0)
    neutral: float
    positive: float


def sentiment_by_theme(themes, sentiments) -> tuple[ThemeSentiment, ...]:
    """Share of negative / neutral / positive answers among those mentioning each theme.
    ``sentiments``: SentimentResult (or label strings) per answer, in the themes' order."""
    labels = np.array([getattr(s, "sentiment", s) for s in sentiments])
    if len(labels) != themes.mentions.shape[0]:
        raise ValueError(f"{len(labels)} sentiments for {themes.mentions.shape[0]} answers")
    out = []
    for j, theme in enumerate(themes.themes):
        chosen = labels[themes.mentions[:, j]]
        n = len(chosen)
        shares = [float((chosen == lab).mean()) if n else 0.0 for lab in ("negative", "neutral", "positive")]
        out.append(ThemeSentiment(j, theme.label, n, *shares))
    return tuple(out)


@dataclass(frozen=True)
class ThemeChange:
    theme: int
    label: str
    share: float  # this wave
    share_previous: float
    difference: float  # share - share_previous
    ci_difference: tuple[float, float]  # Newcombe (1998) method 10


def compare_waves(themes, previous_texts, confidence: float = 0.95) -> tuple[ThemeChange, ...]:
    """Each theme's share in this wave against the previous wave's answers, read with this
    wave's fitted themes (ThemeResults.assign), with an interval for the change."""
    before = themes.assign(previous_texts)
    n_before = int(before.any(axis=1).sum())
    z = stats.norm.ppf(0.5 + confidence / 2)
    out = []
    for j, theme in enumerate(themes.themes):
        k_before = int(before[:, j].sum())
        previous = k_before / n_before if n_before else float("nan")
        out.append(ThemeChange(j, theme.label, theme.share, previous, theme.share - previous,
                               _newcombe(theme.n_answers, themes.n_nonempty, k_before, n_before, z)))
    return tuple(out)
