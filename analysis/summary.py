"""Plain-text summaries of results (what ``summary()`` and ``csi fit`` print)."""
from __future__ import annotations

import pandas as pd


def _table(frame: pd.DataFrame, floatfmt: str = "{:.3f}") -> str:
    if frame.empty:
        return "  (none)"
    shown = frame.copy()
    for column in shown.columns:
        if pd.api.types.is_float_dtype(shown[column]):
            shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else floatfmt.format(v))
    return "\n".join("  " + line for line in shown.to_string(index=False).splitlines())


def _ci_columns(frame: pd.DataFrame, estimate: str = "estimate") -> pd.DataFrame:
    keep = [c for c in frame.columns if c in ("from", "to", "construct", "item", "construct_a", "construct_b",
                                                "direct", "indirect", estimate, "se", "ci_low", "ci_high", "flag")]
    return frame[keep]


def pls_summary(results) -> str:
    lines = []
    kind = "Consistent PLS (PLSc)" if getattr(results, "method", "pls") == "plsc" else "PLS"
    title = f"{kind} path model ({results.model.name}): scheme={results.scheme}, " \
            f"{'standardized' if results.scaled else 'centred (unscaled)'} indicators"
    lines += [title, "=" * len(title)]
    lines.append(f"respondents used: {results.n_used} of {results.n_total}"
                 + "".join(f"; {n} dropped: {why}" for why, n in results.dropped.items()))
    lines.append(f"converged in {results.iterations} iterations (tolerance {results.tol:g})")
    for reason in getattr(results, "inadmissible", ()):
        lines.append(f"WARNING: inadmissible PLSc solution: {reason}")
    if results.bootstrap is not None:
        b = results.bootstrap
        lines.append(f"bootstrap: {b.n_ok}/{b.n_requested} resamples, seed {b.seed}, "
                     f"{int(b.level * 100)}% percentile intervals (BCa in to_frame())")
    lines += ["", "Path coefficients", _table(_ci_columns(results.path_coefficients))]
    if getattr(results, "interaction", None):
        lines.append(f"  interaction terms ({', '.join(results.model.interaction_names)}) by the {results.interaction} "
                     "method; their paths are per unit of the product of the standardized constructs")
        slopes = results.interaction_slopes()
        if not slopes.empty:
            lines += ["", "Simple slopes (moderator at -1 SD, mean, +1 SD)", _table(slopes)]
    r2 = pd.DataFrame({"construct": results.r_squared.index, "r_squared": results.r_squared.values,
                       "adj_r_squared": results.adj_r_squared.values})
    lines += ["", "R²", _table(r2)]
    index = results.index_table
    if not index.empty:
        lines += ["", "CSI index (0-100)", _table(_ci_columns(index), "{:.1f}")]
    quality = results.quality.reset_index().rename(columns={"index": "construct"})
    lines += ["", "Measurement quality (thresholds: alpha, rho_c, rho_a >= 0.7; AVE >= 0.5)", _table(quality)]
    loadings = results.loadings
    weak = loadings[loadings["estimate"] < 0.708]
    lines += ["", "Outer loadings", _table(_ci_columns(loadings))]
    if not weak.empty:
        lines.append(f"  loadings below 0.708: {', '.join(weak['item'])}")
    htmt = results.htmt
    if not htmt.empty:
        lines += ["", "HTMT (threshold 0.85)", _table(_ci_columns(htmt))]
    htmt2 = results.htmt2 if hasattr(results, "htmt2") else pd.DataFrame()
    if not htmt2.empty:
        lines += ["", "HTMT2 (geometric means; threshold 0.85)", _table(htmt2)]
    fit = results.fit_indices() if hasattr(results, "fit_indices") else pd.DataFrame()
    if not fit.empty:
        title = "Model fit (SRMR, d_ULS, d_G; Dijkstra & Henseler 2015)"
        if "hi95" in fit:
            title += f", test of exact fit: {results.fit.n_boot} Bollen-Stine resamples"
        lines += ["", title, _table(fit)]
    vif = results.vif_inner
    if not vif.empty and (vif["vif"] > 5).any():
        lines += ["", "Inner-model VIF above 5:", _table(vif[vif["vif"] > 5])]
    lines += ["", "Total effects", _table(_ci_columns(results.effects, "total"))]
    mediation = results.mediation if hasattr(results, "mediation") else pd.DataFrame()
    if not mediation.empty:
        shown = mediation[["from", "through", "to", "estimate", "ci_low", "ci_high", "direct", "type"]]
        if results.bootstrap is None:
            shown = shown.drop(columns=["ci_low", "ci_high", "type"])
        lines += ["", "Specific indirect effects (mediation; type after Zhao, Lynch & Chen 2010"
                  + (")" if results.bootstrap is not None else ": needs a bootstrap, --boot N)"), _table(shown)]
    if results.notes:
        lines += ["", "Notes"] + [f"  - {note}" for note in results.notes]
    return "\n".join(lines) + "\n"
