"""Satisfaction and loyalty: the share of loyal customers at each satisfaction level,
the top-box gap, the distribution over labelled levels, and the Net Promoter Score.

The classic finding (Jones & Sasser 1995, HBR 73(6), on Xerox): customers who were
"completely satisfied" were about six times as likely to repurchase as those merely
"satisfied". ``top_box_ratio`` is that ratio in one's own data.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np
import pandas as pd


def wilson(successes: np.ndarray, n: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for binomial proportions (elementwise)."""
    z = NormalDist().inv_cdf(0.5 + level / 2)
    n = np.asarray(n, dtype=float)
    with np.errstate(all="ignore"):
        p = np.asarray(successes) / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # Rounding can put a bound a hair past the estimate at p = 0 or 1; the interval always holds p.
    return np.clip(np.minimum(centre - half, p), 0, 1), np.clip(np.maximum(centre + half, p), 0, 1)


def loyal_threshold(minimum: int, maximum: int) -> int:
    """Lowest answer counted as loyal: above the top 20% mark of the scale (9-10 of 1-10 and of
    0-10, as NPS promoters; 5 of 1-5; 6-7 of 1-7)."""
    return int(np.ceil(maximum - 0.2 * (maximum - minimum) + 1e-9))


@dataclass(frozen=True)
class SatisfactionLoyalty:
    """``curve``: level, label, n, share (of respondents), loyal, loyal_share, ci_low, ci_high.
    ``nps``: None or dict(score, ci_low, ci_high, promoters, passives, detractors, n)."""

    satisfaction_item: str
    loyalty_item: str
    loyal_from: int
    curve: pd.DataFrame = field(repr=False)
    top_box_share: float
    top_box_loyal: float
    next_box_loyal: float
    nps: dict | None = None

    @property
    def top_box_ratio(self) -> float:
        """Loyal share among top-box customers divided by that one level below."""
        return self.top_box_loyal / self.next_box_loyal if self.next_box_loyal > 0 else np.inf

    def sentence(self, language: str | None = None) -> str:
        if not np.isfinite(self.top_box_loyal):
            return "没有最高档受访者" if language == "zh-CN" else "no top-box respondents"
        ratio = self.top_box_ratio
        if language == "zh-CN":
            times = "无穷" if not np.isfinite(ratio) else f"{ratio:.1f}"
            return (f"最满意的顾客中{self.top_box_loyal:.0%}为忠诚顾客，低一档的顾客中为{self.next_box_loyal:.0%}："
                    f"前者忠诚的可能性是后者的{times}倍")
        ratio_text = "infinitely" if not np.isfinite(ratio) else f"{ratio:.1f} times as"
        return (f"{self.top_box_loyal:.0%} of the most satisfied customers are loyal against {self.next_box_loyal:.0%} "
                f"one level below: {ratio_text} likely")

    def to_dict(self) -> dict:
        return {"satisfaction_item": self.satisfaction_item, "loyalty_item": self.loyalty_item,
                "loyal_from": self.loyal_from, "top_box_share": self.top_box_share,
                "top_box_loyal": self.top_box_loyal, "next_box_loyal": self.next_box_loyal,
                "curve": self.curve.replace({np.nan: None}).to_dict("records"), "nps": self.nps}


def net_promoter(values: pd.Series, level: float = 0.95) -> dict:
    """NPS from 0-10 answers: % promoters (9-10) minus % detractors (0-6), with a normal-approximation interval."""
    x = pd.to_numeric(values, errors="coerce").dropna()
    x = x[(x >= 0) & (x <= 10)]
    n = len(x)
    if n == 0:
        return {"score": np.nan, "ci_low": np.nan, "ci_high": np.nan, "promoters": np.nan, "passives": np.nan,
                "detractors": np.nan, "n": 0}
    promoters, detractors = float((x >= 9).mean()), float((x <= 6).mean())
    score = promoters - detractors
    se = np.sqrt(max(promoters + detractors - score ** 2, 0.0) / n)
    z = NormalDist().inv_cdf(0.5 + level / 2)
    return {"score": 100 * score, "ci_low": 100 * (score - z * se), "ci_high": 100 * (score + z * se),
            "promoters": 100 * promoters, "passives": 100 * (1 - promoters - detractors),
            "detractors": 100 * detractors, "n": n}


def loyalty_items(questionnaire) -> tuple[str, str] | None:
    """(satisfaction item, loyalty item) the curve relates by default, or None when the
    questionnaire has no such pair: the first labelled rating of at most 7 points outside
    the constructs (else the satisfaction construct's first item) and the first loyalty
    item that is not reverse-coded."""
    constructs = questionnaire.constructs()
    ratings = questionnaire.rating_items
    labelled = [q for q in ratings if q.scale.kind != "nps" and not q.construct
                and len(q.scale.labels) == len(q.scale.points) and len(q.scale.points) <= 7]
    satisfaction = labelled[0].id if labelled else (constructs.get("satisfaction") or (None,))[0]
    loyalty = next((i for i in constructs.get("loyalty", ()) if not questionnaire.question(i).reverse), None)
    if satisfaction is None or loyalty is None:
        return None
    return satisfaction, loyalty


def _default_items(questionnaire) -> tuple[str, str]:
    items = loyalty_items(questionnaire)
    if items is None:
        raise KeyError(f"questionnaire {questionnaire.id!r} has no satisfaction or loyalty item to relate; "
                       "name them with satisfaction_item= and loyalty_item=")
    return items


def satisfaction_loyalty(data: pd.DataFrame, questionnaire, satisfaction_item: str | None = None,
                         loyalty_item: str | None = None, language: str | None = None) -> SatisfactionLoyalty:
    """The curve of loyal share over the satisfaction item's levels, from one wave's answers."""
    default_sat, default_loy = _default_items(questionnaire) if not (satisfaction_item and loyalty_item) else (None, None)
    satisfaction_item = satisfaction_item or default_sat
    loyalty_item = loyalty_item or default_loy
    sat_q, loy_q = questionnaire.question(satisfaction_item), questionnaire.question(loyalty_item)
    for q in (sat_q, loy_q):
        if q.id not in data.columns:
            raise KeyError(f"item {q.id!r} has no answers in the data")
    sat = pd.to_numeric(data[sat_q.id], errors="coerce")
    loy = pd.to_numeric(data[loy_q.id], errors="coerce")
    if sat_q.scale.dont_know_code is not None:
        sat = sat.where(sat != sat_q.scale.dont_know_code)
    if loy_q.scale.dont_know_code is not None:
        loy = loy.where(loy != loy_q.scale.dont_know_code)
    both = sat.notna() & loy.notna()
    sat, loy = sat[both].astype(int), loy[both].astype(int)
    if loy_q.reverse:
        loy = loy_q.scale.minimum + loy_q.scale.maximum - loy
    threshold = loyal_threshold(loy_q.scale.minimum, loy_q.scale.maximum)
    loyal = loy >= threshold
    levels = np.array(sat_q.scale.points)
    n = np.array([(sat == v).sum() for v in levels])
    k = np.array([loyal[sat == v].sum() for v in levels])
    low, high = wilson(k, n)
    with np.errstate(all="ignore"):
        share_loyal = np.where(n > 0, k / np.maximum(n, 1), np.nan)
    labels = [sat_q.scale.labels[v].get(language) if v in sat_q.scale.labels else str(v) for v in levels]
    total = max(int(n.sum()), 1)
    curve = pd.DataFrame({"level": levels, "label": labels, "n": n, "share": n / total, "loyal": k,
                          "loyal_share": share_loyal, "ci_low": np.where(n > 0, low, np.nan),
                          "ci_high": np.where(n > 0, high, np.nan)})
    nps_items = [q for q in questionnaire.rating_items if q.scale.kind == "nps" and q.id in data.columns]
    nps = net_promoter(data[nps_items[0].id]) | {"item": nps_items[0].id} if nps_items else None
    return SatisfactionLoyalty(sat_q.id, loy_q.id, threshold, curve, float(n[-1] / total),
                               float(share_loyal[-1]), float(share_loyal[-2]) if len(levels) > 1 else np.nan, nps)
