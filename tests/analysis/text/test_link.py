"""Themes against scores: Welch intervals and Newcombe's interval for a difference in shares."""
import numpy as np
import pytest
from scipy import stats

from analysis.text import ThemeModel, link_themes_to_scores
from analysis.text.link import _newcombe


def test_newcombe_published_example():
    # Newcombe (1998), Statistics in Medicine 17:873-890, Table II example (a): 56/70 - 48/80,
    # method 10 (hybrid score, no continuity correction): 0.0524 to 0.3339.
    low, high = _newcombe(56, 70, 48, 80, stats.norm.ppf(0.975))
    assert (low, high) == pytest.approx((0.0524, 0.3339), abs=5e-5)


@pytest.fixture(scope="module")
def survey():
    """600 respondents; theme 0 (waiting) costs 12 points of satisfaction, theme 2 adds 3."""
    rng = np.random.default_rng(11)
    n = 600
    mentions = rng.random((n, 3)) < [0.3, 0.4, 0.25]
    mentions[~mentions.any(axis=1), 1] = True  # every respondent wrote something
    scores = 75 - 12 * mentions[:, 0] + 3 * mentions[:, 2] + rng.normal(0, 10, n)
    return mentions, scores


def test_means_with_and_without_each_theme(survey):
    mentions, scores = survey
    link = link_themes_to_scores(mentions, scores)
    waiting = link.scores[0]
    a, b = scores[mentions[:, 0]], scores[~mentions[:, 0]]
    assert (waiting.n_with, waiting.n_without) == (len(a), len(b))
    assert waiting.difference == pytest.approx(a.mean() - b.mean())
    # Welch interval by hand: Satterthwaite degrees of freedom.
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    half = stats.t.ppf(0.975, df) * np.sqrt(va + vb)
    assert waiting.ci_difference == pytest.approx((waiting.difference - half, waiting.difference + half))
    assert waiting.ci_difference[0] < -12 < waiting.ci_difference[1] and waiting.ci_difference[1] < 0
    assert waiting.ci_with[0] < waiting.mean_with < waiting.ci_with[1]
    assert waiting.p_value < 1e-20


def test_themes_separating_dissatisfied_from_satisfied(survey):
    mentions, scores = survey
    link = link_themes_to_scores(mentions, scores)
    first = link.separation[0]
    assert first.theme == 0 and first.difference > 0.3 and first.ci_difference[0] > 0
    low, high = np.quantile(scores, [1 / 3, 2 / 3])
    assert (link.dissatisfied_below, link.satisfied_above) == pytest.approx((low, high))
    dis = mentions[scores < low, 0].mean()
    sat = mentions[scores > high, 0].mean()
    assert (first.share_dissatisfied, first.share_satisfied) == pytest.approx((dis, sat))
    assert "dissatisfied" in link.summary()
    fixed = link_themes_to_scores(mentions, scores, dissatisfied_below=60, satisfied_above=80)
    assert fixed.separation[0].share_dissatisfied == pytest.approx(mentions[scores < 60, 0].mean())


def test_from_theme_results_skips_empty_answers_and_missing_scores():
    texts = ["queue too long", "rude staff", "", "queue waiting", "rude cashier", "😀", "slow queue", "staff rude"]
    results = ThemeModel(k=2).fit(texts)
    scores = [40, 80, 10, 45, np.nan, 99, 50, 85]
    link = link_themes_to_scores(results, scores)
    assert link.n == 5  # two empty answers and one missing score left out
    assert {s.label for s in link.scores} == {t.label for t in results.themes}
    with pytest.raises(ValueError, match="8 answers"):
        link_themes_to_scores(results, scores[:5])


def test_sentiment_share_per_theme_and_change_between_waves():
    from analysis.text import SentimentScorer
    from analysis.text.link import compare_waves, sentiment_by_theme

    now = ["the queue was terrible", "awful queue again", "queue at noon", "staff were friendly",
           "friendly staff, great", "the staff were lovely"] * 10
    results = ThemeModel(k=2).fit(now)
    sentiments = SentimentScorer().score_many(now)
    by_theme = {t.label.split(" / ")[0]: t for t in sentiment_by_theme(results, sentiments)}
    queue = next(t for label, t in by_theme.items() if "queue" in label)
    staff = next(t for label, t in by_theme.items() if "staff" in label or "friendly" in label)
    assert queue.n == 30 and (queue.negative, queue.neutral, queue.positive) == pytest.approx((2 / 3, 1 / 3, 0))
    assert staff.n == 30 and staff.positive == 1.0
    # Previous wave: 3 of 4 answers about the queue, 1 about staff.
    before = ["long queue", "queue again", "slow queue", "friendly staff"] * 10
    changes = {c.label: c for c in compare_waves(results, before)}
    q = next(c for label, c in changes.items() if "queue" in label)
    assert (q.share, q.share_previous) == pytest.approx((0.5, 0.75))
    assert q.difference == pytest.approx(-0.25) and q.ci_difference[0] < -0.25 < q.ci_difference[1] < 0
    with pytest.raises(ValueError, match="3 sentiments for 60 answers"):
        sentiment_by_theme(results, sentiments[:3])


def test_summary_writes_a_dash_for_what_two_answers_cannot_estimate():
    import pandas as pd

    from analysis.text.wave import analyse_wave_text
    answers = pd.Series(["Great store", "checkout slow and staff rude"], index=[1, 2])
    scores = pd.Series([90.0, 30.0], index=[1, 2], name="satisfaction")
    text = analyse_wave_text(answers, scores=scores, k=6, lang="en").summary()
    assert "nan" not in text
    assert "great / store: 90.0 (n=1) vs 30.0 (n=1), difference +60.0 [–, –]" in text
