"""Drivers: total effects and the importance-performance map (IPMA).

Importance is the *unstandardized* total effect of a construct on the target when
both are scored 0-100 (Ringle & Sarstedt 2016, IMDS 116(9)): one point more on the
driver moves the target by that many points. Performance is the driver's 0-100
index. The map is split at the mean importance of the target's drivers and at the
mean performance of every driver in the model (Martilla & James 1977), so a construct
gets one performance verdict whatever the target. A driver is placed in a quadrant only
when its bootstrap intervals clear both lines; one whose importance or performance
interval covers the line is "about average" on that axis, and no action is claimed.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

QUADRANTS = {
    (True, False): "Concentrate here: important and under-performing, improve first",
    (True, True): "Keep up the good work: important and performing well",
    (False, False): "Low priority: little effect, low performance",
    (False, True): "Possible overkill: performing well on something with little effect",
}
ABOUT_AVERAGE = "About average"
COLUMNS = ["construct", "total_effect", "importance", "ci_low", "ci_high", "performance", "performance_low",
           "performance_high", "importance_level", "performance_level", "quadrant", "action"]


def _level(estimate: float, low: float, high: float, line: float) -> str:
    """'high', 'low' or 'about average' (the interval covers the line); without an
    interval (no bootstrap) the point estimate decides."""
    if not (np.isfinite(low) and np.isfinite(high)):
        low = high = estimate
    if low <= line <= high:
        return "about average"
    return "high" if estimate > line else "low"


def _interval(results, kind: str, a: str, b: str = "") -> tuple[float, float]:
    boot = results.bootstrap
    if boot is None or (kind, a, b) not in boot.labels:
        return (np.nan, np.nan)
    low, high = boot.lookup(kind, a, b)["pct"]
    return (low, high)


def performance_line(results) -> float:
    """The performance reference of every IPMA of ``results``: the mean 0-100 index of all
    constructs that drive another construct (one line, so one verdict per construct)."""
    index = results.index
    names = results.structure.constructs
    drivers = {names[s] for s, _ in results.layout.reachable}
    values = [index[c] for c in drivers if c in index]
    return float(np.mean(values)) if values else np.nan


def ipma(results, target: str = "satisfaction") -> pd.DataFrame:
    """One row per construct with a total effect on ``target``.

    Columns: construct; total_effect (standardized); importance (0-100 points of target
    per 0-100 point of driver) with ci_low/ci_high, the bootstrap percentile interval of
    that importance itself; performance (0-100 index) with performance_low/high;
    importance_level and performance_level ("high", "low" or "about average": the interval
    covers the line); quadrant (one of QUADRANTS, or "About average" when either level is);
    action (plain words).
    """
    names = list(results.structure.constructs)
    if target not in names:
        raise KeyError(f"no construct {target!r} in the model; constructs: {', '.join(names)}")
    effects = results.effects
    effects = effects[effects["to"] == target]
    estimates = dict(zip(results.layout.labels, results.estimates))
    index = results.index
    rows = []
    for record in effects.to_dict("records"):
        source = record["from"]
        usable = source in index and target in index
        importance = float(estimates[("importance", source, target)]) if usable else np.nan
        low, high = _interval(results, "importance", source, target) if usable else (np.nan, np.nan)
        p_low, p_high = _interval(results, "index", source) if source in index else (np.nan, np.nan)
        rows.append({"construct": source, "total_effect": record["total"], "importance": importance,
                     "ci_low": low, "ci_high": high,
                     "performance": float(index[source]) if source in index else np.nan,
                     "performance_low": p_low, "performance_high": p_high})
    frame = pd.DataFrame(rows, columns=COLUMNS[:8])
    shown = frame.dropna(subset=["importance", "performance"])
    mean_importance, mean_performance = shown["importance"].mean(), performance_line(results)
    levels_i, levels_p, quadrants, actions = [], [], [], []
    for record in frame.to_dict("records"):
        if not (np.isfinite(record["importance"]) and np.isfinite(record["performance"])):
            levels_i.append("")
            levels_p.append("")
            quadrants.append("")
            actions.append("no 0-100 index for this construct (see notes)")
            continue
        level_i = _level(record["importance"], record["ci_low"], record["ci_high"], mean_importance)
        level_p = _level(record["performance"], record["performance_low"], record["performance_high"],
                         mean_performance)
        levels_i.append(level_i)
        levels_p.append(level_p)
        if "about average" in (level_i, level_p):
            unclear = [axis for axis, level in (("importance", level_i), ("performance", level_p))
                       if level == "about average"]
            quadrants.append(ABOUT_AVERAGE)
            actions.append(f"{ABOUT_AVERAGE}: its {' and '.join(unclear)} interval{'s' if len(unclear) > 1 else ''} "
                           f"cover{'' if len(unclear) > 1 else 's'} the drivers' mean, so the data do not single it out")
            continue
        key = (level_i == "high", level_p == "high")
        quadrants.append(QUADRANTS[key].split(":")[0])
        actions.append(QUADRANTS[key])
    frame["importance_level"] = levels_i
    frame["performance_level"] = levels_p
    frame["quadrant"] = quadrants
    frame["action"] = actions
    frame.attrs["importance_line"] = float(mean_importance) if np.isfinite(mean_importance) else np.nan
    frame.attrs["performance_line"] = mean_performance
    return frame.sort_values("importance", ascending=False, na_position="last").reset_index(drop=True)


def priorities(table: pd.DataFrame) -> list[str]:
    """The constructs to act on first (the 'Concentrate here' quadrant), most important first."""
    return list(table.loc[table["quadrant"] == "Concentrate here", "construct"])
