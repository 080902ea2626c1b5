"""The tables a reviewer expects beside the report's figures, from one wave's PLS fit:
paths with intervals and p-values (plus f² and VIF), R², total effects, loadings and
weights with intervals, reliability with flags, HTMT with intervals, item VIF.

Intervals are the fit's percentile bootstrap intervals. p-values are two-sided
bootstrap tests: twice the share of resamples on the far side of 0 with the usual +1
correction (Davison & Hinkley 1997, ch. 4), 2 (1 + min(#{b <= 0}, #{b >= 0})) / (1 + B),
capped at 1 (the test that matches a percentile interval: p < 0.05 about when the 95%
interval excludes 0).
"""
from __future__ import annotations

import numpy as np

from .results import THRESHOLDS, PLSResults
from .report_text import QUALITY_STATS


def bootstrap_p(results: PLSResults, kind: str, a: str, b: str = "") -> float | None:
    boot = results.bootstrap
    if boot is None or boot.n_ok < 2:
        return None
    column = boot.samples[:, results.layout.labels.index((kind, a, b))]
    column = column[np.isfinite(column)]
    if not column.size:
        return None
    tail = min((column <= 0).sum(), (column >= 0).sum())
    return float(min(1.0, 2 * (1 + tail) / (1 + column.size)))


def _interval(row) -> tuple[float | None, float | None]:
    low, high = row.get("ci_low"), row.get("ci_high")
    ok = low is not None and high is not None and np.isfinite(low) and np.isfinite(high)
    return (float(low), float(high)) if ok else (None, None)


def _significant(low, high) -> bool:
    return low is not None and (low > 0 or high < 0)


def reviewer_tables(results: PLSResults, text: dict) -> dict:
    """Rows (lists of dicts) for the template: ``paths``, ``r_squared``, ``effects``,
    ``outer``, ``quality``, ``htmt``, ``outer_vif``. Flags are in the report's language."""
    f2 = {(r["from"], r["to"]): r["f_squared"] for r in results.f_squared.to_dict("records")}
    vif = {(r["from"], r["to"]): r["vif"] for r in results.vif_inner.to_dict("records")}
    paths = []
    for row in results.path_coefficients.to_dict("records"):
        low, high = _interval(row)
        key = (row["from"], row["to"])
        paths.append({"from": row["from"], "to": row["to"], "estimate": row["estimate"], "ci_low": low, "ci_high": high,
                      "p": bootstrap_p(results, "path", *key), "significant": _significant(low, high),
                      "f2": f2.get(key), "vif": vif.get(key),
                      "flag": text["flag_vif"] if vif.get(key, 0) > THRESHOLDS["vif"] else ""})
    adjusted = results.adj_r_squared
    r_squared = []
    for construct, value in results.r_squared.items():
        low = high = None
        if results.bootstrap is not None:
            n = results.layout.labels.index(("r_squared", construct, ""))
            low, high = (float(v) for v in results.bootstrap.percentile[n])
        r_squared.append({"construct": construct, "estimate": float(value), "adjusted": float(adjusted[construct]),
                          "ci_low": low, "ci_high": high})
    effects = []
    for row in results.effects.to_dict("records"):
        low, high = _interval(row)
        effects.append({"from": row["from"], "to": row["to"], "direct": row["direct"], "indirect": row["indirect"],
                        "total": row["total"], "ci_low": low, "ci_high": high,
                        "p": bootstrap_p(results, "total", row["from"], row["to"]),
                        "significant": _significant(low, high)})
    weights = {(r["construct"], r["item"]): r for r in results.outer_weights.to_dict("records")}
    formative = {results.structure.constructs[j] for j in results.structure.formative}
    outer = []
    loadings = results.loadings  # a property that builds its table on every access
    items_of = loadings["construct"].value_counts()
    for row in loadings.to_dict("records"):
        weight = weights[(row["construct"], row["item"])]
        low, high = _interval(row)
        w_low, w_high = _interval(weight)
        reflective_multi = row["construct"] not in formative and items_of[row["construct"]] > 1
        outer.append({"construct": row["construct"], "item": row["item"], "loading": row["estimate"], "ci_low": low,
                      "ci_high": high, "weight": weight["estimate"], "w_low": w_low, "w_high": w_high,
                      "flag": text["flag_loading"] if reflective_multi and row["estimate"] < THRESHOLDS["loading"] else ""})
    quality = []
    frame = results.quality
    for j, (construct, row) in enumerate(frame.iterrows()):
        flags = []
        if row["n_items"] >= 2 and construct not in formative:
            for key in ("alpha", "rho_c", "rho_a", "ave"):
                if row[key] < THRESHOLDS[key]:
                    flags.append(text["flag_below"].format(stat=QUALITY_STATS[key], threshold=THRESHOLDS[key]))
            if row["rho_c"] > THRESHOLDS["rho_c_max"]:
                flags.append(text["flag_above"].format(stat="ρC", threshold=THRESHOLDS["rho_c_max"]))
        quality.append({"construct": construct, "alpha": row["alpha"], "rho_a": row["rho_a"], "rho_c": row["rho_c"],
                        "ave": row["ave"], "n_items": int(row["n_items"]), "flags": flags})
    htmt = []
    for row in results.htmt.to_dict("records"):
        low, high = _interval(row)
        flags = [text["flag_htmt"]] if row["estimate"] > THRESHOLDS["htmt"] else []
        if high is not None and high >= 1:
            flags.append(text["flag_htmt_one"])
        htmt.append({"a": row["construct_a"], "b": row["construct_b"], "estimate": row["estimate"], "ci_low": low,
                     "ci_high": high, "flags": flags})
    outer_vif = [{"construct": r["construct"], "item": r["item"], "vif": r["vif"],
                  "flag": text["flag_vif"] if r["vif"] > THRESHOLDS["vif"] else ""}
                 for r in results.vif_outer.to_dict("records")]
    return {"paths": paths, "r_squared": r_squared, "effects": effects, "outer": outer, "quality": quality,
            "htmt": htmt, "outer_vif": outer_vif}
