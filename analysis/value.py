"""Customer delivered value (Kotler): total customer value (product, service, staff,
image) minus total customer cost (money, time, effort, stress), each scored 0-100 as
the plain mean of its items rescaled to 0-100, and how it relates to satisfaction.

Direction: value items run from little to much value received, cost items from very low
to very high cost given up (1 = very low cost ... 10 = very high cost), so delivered value
= value - cost is positive when customers get more than they give. A cost item rated on a
quality scale ("very poor ... excellent") has no such direction; the result says so.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

VALUE, COST = "total_customer_value", "total_customer_cost"
MEASURES = (("total value", "value"), ("total cost", "cost"), ("delivered value", "delivered"))
MEASURE_NAMES_ZH = {"total value": "顾客总价值", "total cost": "顾客总成本", "delivered value": "顾客让渡价值"}
FORMULA = {
    "en": "delivered value = total value - total cost, both 0-100 (higher value = more received, higher cost = "
          "more money, time, effort and stress given up): positive means customers get more than they give",
    "zh-CN": "顾客让渡价值 = 顾客总价值 - 顾客总成本，均为0-100分（价值越高表示得到越多，成本越高表示付出的金钱、时间、精力和"
             "心理成本越多）：正值表示顾客得到的多于付出的",
}


@dataclass(frozen=True)
class DeliveredValue:
    """``scores``: per respondent value, cost, delivered (value - cost), satisfaction (0-100).
    ``table``: measure, mean, ci_low, ci_high, n. ``regression``: satisfaction on value and cost."""

    scores: pd.DataFrame = field(repr=False)
    table: pd.DataFrame = field(repr=False)
    regression: pd.DataFrame = field(repr=False)
    r_squared: float
    correlation: float  # delivered value with satisfaction
    notes: tuple[str, ...] = ()  # e.g. cost items on a quality scale: the difference has no direction

    def formula(self, language: str | None = None) -> str:
        return FORMULA["zh-CN" if language == "zh-CN" else "en"]

    def sentence(self, language: str | None = None) -> str:
        row = self.table.set_index("measure").loc["delivered value"]
        if language == "zh-CN":
            text = (f"顾客让渡价值为{row['mean']:+.1f}分（{self.formula(language)}）；与满意度的相关系数为"
                    f"{self.correlation:.2f}，总价值与总成本共解释满意度方差的{self.r_squared:.0%}")
        else:
            text = (f"delivered value {row['mean']:+.1f} points ({self.formula(language)}); its correlation with "
                    f"satisfaction is {self.correlation:.2f}, and value and cost explain {self.r_squared:.0%} of it")
        return text + "".join(f". {note}" for note in self.notes)


def block_scores(data: pd.DataFrame, questionnaire, construct: str) -> pd.Series:
    """Mean of a construct's items rescaled to 0-100 (don't-know answers left out)."""
    items = questionnaire.constructs().get(construct, ())
    parts = []
    for item in items:
        if item not in data.columns:
            continue
        q = questionnaire.question(item)
        x = pd.to_numeric(data[item], errors="coerce")
        if q.scale.dont_know_code is not None:
            x = x.where(x != q.scale.dont_know_code)
        x = (x - q.scale.minimum) / (q.scale.maximum - q.scale.minimum) * 100
        parts.append(100 - x if q.reverse else x)
    if not parts:
        return pd.Series(np.nan, index=data.index, name=construct)
    return pd.concat(parts, axis=1).mean(axis=1, skipna=True).rename(construct)


def delivered_value(data: pd.DataFrame, questionnaire, satisfaction: pd.Series | None = None) -> DeliveredValue | None:
    """None when the questionnaire has no value and cost blocks. ``satisfaction``: 0-100
    scores per respondent (e.g. a PLS fit's ``respondent_index``); default: item means."""
    constructs = questionnaire.constructs()
    if VALUE not in constructs or COST not in constructs:
        return None
    value, cost = block_scores(data, questionnaire, VALUE), block_scores(data, questionnaire, COST)
    undirected = [item for item in constructs[COST] if questionnaire.question(item).scale.quality_anchors]
    notes = ()
    if undirected:
        notes = (f"warning: cost item{'s' if len(undirected) > 1 else ''} {', '.join(undirected)} "
                 f"{'are' if len(undirected) > 1 else 'is'} rated on a quality scale (very poor ... excellent), so a "
                 "high cost score may mean a low cost: delivered value has no reliable direction (give cost items "
                 "a 1 = very low cost ... 10 = very high cost scale)",)
    if satisfaction is None:
        satisfaction = block_scores(data, questionnaire, "satisfaction")
    scores = pd.DataFrame({"value": value, "cost": cost, "delivered": value - cost,
                           "satisfaction": satisfaction.reindex(data.index)}).dropna()
    rows = []
    for measure, column in MEASURES:
        x = scores[column]
        half = 1.96 * x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else np.nan
        rows.append({"measure": measure, "mean": x.mean(), "ci_low": x.mean() - half, "ci_high": x.mean() + half,
                     "n": len(x)})
    table = pd.DataFrame(rows)
    if len(scores) < 5:
        return DeliveredValue(scores, table, pd.DataFrame(), np.nan, np.nan, notes)
    regression, r_squared = _ols(scores["satisfaction"].to_numpy(float), scores[["value", "cost"]].to_numpy(float),
                                 ["const", "value", "cost"])
    return DeliveredValue(scores, table, regression, r_squared, float(scores["delivered"].corr(scores["satisfaction"])),
                          notes)


def _ols(y: np.ndarray, X: np.ndarray, terms: list[str]) -> tuple[pd.DataFrame, float]:
    """OLS of y (n,) on a constant and X (n, k): estimates, classical standard errors,
    two-sided t-test p-values and R² (as statsmodels' OLS, which costs a second to import)."""
    from scipy.special import stdtr

    design = np.column_stack([np.ones(len(y)), X])
    n, k = design.shape
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ beta
    df = n - k
    sigma2 = residual @ residual / df if df > 0 else np.nan
    se = np.sqrt(np.diag(np.linalg.pinv(design.T @ design)) * sigma2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_value = 2 * stdtr(df, -np.abs(beta / se)) if df > 0 else np.full(k, np.nan)
    total = ((y - y.mean()) ** 2).sum()
    r_squared = float(1 - residual @ residual / total) if total > 0 else np.nan
    return pd.DataFrame({"term": terms, "estimate": beta, "se": se, "p_value": p_value}), r_squared
