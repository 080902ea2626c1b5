"""Drivers: total effects and the importance-performance map (IPMA).

Importance is the *unstandardized* total effect of a construct on the target when
both are scored 0-100 (Ringle & Sarstedt 2016, IMDS 116(9)): one point more on the
driver moves the target by that many points. Performance is the driver's 0-100
index. The map is split at the mean importance and mean performance of the drivers
shown (Martilla & James 1977), and every quadrant is named in plain words.
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


def ipma(results, target: str = "satisfaction") -> pd.DataFrame:
    """One row per construct with a total effect on ``target``.

    Columns: construct, total_effect (standardized), importance (0-100 points of target
    per 0-100 point of driver), performance (0-100 index), ci_low/ci_high of the
    standardized total effect when bootstrapped, quadrant, action.
    """
    names = list(results.structure.constructs)
    if target not in names:
        raise KeyError(f"no construct {target!r} in the model; constructs: {', '.join(names)}")
    effects = results.effects
    effects = effects[effects["to"] == target]
    scores = results.respondent_index
    index = results.index
    rows = []
    for record in effects.to_dict("records"):
        source = record["from"]
        sd_source = float(np.nanstd(scores[source]))
        sd_target = float(np.nanstd(scores[target]))
        usable = source in index and target in index and sd_source > 0
        rows.append({"construct": source, "total_effect": record["total"],
                     "importance": record["total"] * sd_target / sd_source if usable else np.nan,
                     "performance": float(index[source]) if source in index else np.nan,
                     "ci_low": record.get("ci_low", np.nan), "ci_high": record.get("ci_high", np.nan)})
    frame = pd.DataFrame(rows, columns=["construct", "total_effect", "importance", "performance", "ci_low", "ci_high"])
    if frame.empty:
        frame["quadrant"] = []
        frame["action"] = []
        return frame
    shown = frame.dropna(subset=["importance", "performance"])
    mean_importance, mean_performance = shown["importance"].mean(), shown["performance"].mean()
    quadrants, actions = [], []
    for record in frame.to_dict("records"):
        if not (np.isfinite(record["importance"]) and np.isfinite(record["performance"])):
            quadrants.append("")
            actions.append("no 0-100 index for this construct (see notes)")
            continue
        key = (record["importance"] >= mean_importance, record["performance"] >= mean_performance)
        quadrants.append(QUADRANTS[key].split(":")[0])
        actions.append(QUADRANTS[key])
    frame["quadrant"] = quadrants
    frame["action"] = actions
    return frame.sort_values("importance", ascending=False, na_position="last").reset_index(drop=True)


def priorities(table: pd.DataFrame) -> list[str]:
    """The constructs to act on first (the 'Concentrate here' quadrant), most important first."""
    return list(table.loc[table["quadrant"] == "Concentrate here", "construct"])
