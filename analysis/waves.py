"""The quarterly view: the index per wave with intervals, and whether it changed.

Every wave is fitted once (own weights, bootstrap intervals); each wave is compared
with the previous one and with the same period a year earlier when the series holds
it (wave names ``2026Q4``, ``2026-Q4``, ``2026H2`` or ``2026-11``), by the permutation
test of :mod:`analysis.groups`, after MICOM.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from models.csi_model import Model
from models.errors import CSIError

from .data import DataError, items_from_questionnaire
from .groups import ADJUSTMENT, READING_RULE, GroupComparison, _shared_prepare, compare_groups, merge_micom_notes
from .pls import PLSPM
from .results import PLSResults

_PERIOD = re.compile(r"^(?P<year>\d{4})[-_ ]?(?:(?P<kind>[QqHh])(?P<part>[1-4])|(?P<month>0[1-9]|1[0-2]))$")


def period_of(wave: str) -> tuple[int, str, int] | None:
    """(year, kind, part) of a wave name: ``2026Q4`` -> (2026, "Q", 4); None when the name is no period."""
    match = _PERIOD.match(wave.strip())
    if not match:
        return None
    if match["month"]:
        return int(match["year"]), "M", int(match["month"])
    return int(match["year"]), match["kind"].upper(), int(match["part"])


def year_ago(wave: str, names: list[str]) -> str | None:
    """The wave among ``names`` that covers the same period one year before ``wave``."""
    period = period_of(wave)
    if period is None:
        return None
    for other in names:
        if period_of(other) == (period[0] - 1, period[1], period[2]):
            return other
    return None


@dataclass(frozen=True)
class WaveTrend:
    """Fits per wave and comparisons between them.

    ``index_table``: wave, construct, estimate, ci_low, ci_high, n (one row per wave and construct).
    ``changes``: wave, reference, relation ("previous" or "year ago"), construct, reference_estimate,
    estimate, change, ci_low, ci_high, p_value (raw), p_adjusted (Holm across the indices of that
    comparison), significant (p_adjusted < 0.05: the test alone), invariance (MICOM: full, partial,
    none), reading ("significant", "not significant", or "not comparable" when invariance is none:
    what the report, console, API and dashboard show; see ``analysis.groups.READING_RULE``).
    """

    waves: tuple[str, ...]
    fits: Mapping[str, PLSResults] = field(repr=False)
    comparisons: Mapping[tuple[str, str], GroupComparison] = field(repr=False)
    index_table: pd.DataFrame = field(repr=False)
    changes: pd.DataFrame = field(repr=False)
    method: str = ""
    notes: tuple[str, ...] = ()

    def changes_for(self, wave: str) -> pd.DataFrame:
        return self.changes[self.changes["wave"] == wave].reset_index(drop=True)

    def summary(self) -> str:
        from .summary import _table
        wide = self.index_table.pivot(index="construct", columns="wave", values="estimate")
        wide = wide.reindex(columns=list(self.waves)).reset_index()
        lines = ["CSI index (0-100) per wave", _table(wide, "{:.1f}")]
        if not self.changes.empty:
            shown = self.changes[["wave", "reference", "construct", "change", "ci_low", "ci_high", "p_value",
                                  "p_adjusted", "significant", "invariance", "reading"]]
            lines += ["", "Changes", _table(shown, "{:.3f}"), "", f"method: {self.method}",
                      f"multiple testing: {ADJUSTMENT}", f"reading: {READING_RULE}"]
        if self.notes:
            lines += ["", "Notes"] + [f"  - {n}" for n in self.notes]
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict:
        def records(frame):
            return [{k: (None if isinstance(v, float) and not np.isfinite(v) else
                         (bool(v) if isinstance(v, (bool, np.bool_)) else v)) for k, v in row.items()}
                    for row in frame.to_dict("records")]
        return {"waves": list(self.waves), "index": records(self.index_table), "changes": records(self.changes),
                "method": self.method, "multiple_testing": ADJUSTMENT,
                "reading_rule": READING_RULE, "notes": list(self.notes)}


def wave_trend(model: Model, waves: Mapping[str, pd.DataFrame], *, questionnaire=None, scheme: str = "path",
               missing: str = "listwise", n_boot: int = 1000, n_perm: int = 1000, seed: int = 0,
               level: float = 0.95, scales: Mapping[str, tuple[float, float]] | None = None,
               compare: Mapping[str, str] | None = None, progress: bool | None = None,
               on_progress: Callable[[str], None] | None = None, wave_seeds: Mapping[str, int] | None = None,
               pair_seed: Callable[[str, str], int] | None = None, fitted: Mapping[str, PLSResults] | None = None,
               compare_only: set[str] | None = None) -> WaveTrend:
    """Fit every wave (in the mapping's order, oldest first) and compare each with its
    previous wave and its year-ago wave. ``compare`` adds or overrides pairs {wave: reference}.

    Stored analyses (``analysis.stored``) give each wave its own seed (``wave_seeds``,
    and ``pair_seed(wave, reference)`` for a comparison) so a wave's numbers do not
    depend on which other waves are in the series, reuse fits already made
    (``fitted``, same seeds), and compare only the waves in ``compare_only``.
    """
    from .moderation import refuse_interactions
    refuse_interactions(model, "the wave trend")
    names = list(waves)
    if not names:
        raise CSIError("no waves to analyse")
    item_info = items_from_questionnaire(questionnaire) if questionnaire is not None else None
    try:
        prepared = dict(zip(names, _shared_prepare(model, [waves[w] for w in names], item_info, missing, scales)))
    except DataError:
        # Name the wave that fails.
        for name in names:
            try:
                _shared_prepare(model, [waves[name]], item_info, missing, scales)
            except DataError as exc:
                raise DataError(f"wave {name!r}: {exc}") from None
        raise
    fits = {}
    seeds = np.random.SeedSequence(seed).spawn(len(names) + 1)
    for k, name in enumerate(names):
        if on_progress:
            on_progress(f"fitting wave {name}")
        if fitted and name in fitted:
            fits[name] = fitted[name]
            continue
        wave_seed = wave_seeds[name] if wave_seeds else int(seeds[k].generate_state(1)[0])
        estimator = PLSPM(model, scheme=scheme, n_boot=n_boot, seed=wave_seed, level=level, progress=progress, workers=1)
        try:
            fits[name] = estimator.fit_prepared(prepared[name])
        except CSIError as exc:
            raise CSIError(f"wave {name!r}: {exc}") from None
    rows = []
    for name in names:
        table = fits[name].index_table
        for record in table.to_dict("records"):
            rows.append({"wave": name, "construct": record["construct"], "estimate": record["estimate"],
                         "ci_low": record.get("ci_low", np.nan), "ci_high": record.get("ci_high", np.nan),
                         "n": fits[name].n_used})
    index_table = pd.DataFrame(rows, columns=["wave", "construct", "estimate", "ci_low", "ci_high", "n"])
    pairs: dict[tuple[str, str], str] = {}
    for k, name in enumerate(names):
        if k:
            pairs[(name, names[k - 1])] = "previous"
        earlier = year_ago(name, names[:k])
        if earlier is not None:
            pairs[(name, earlier)] = "year ago" if (name, earlier) not in pairs else "previous and year ago"
    for wave, reference in (compare or {}).items():
        for w in (wave, reference):
            if w not in waves:
                raise CSIError(f"cannot compare with wave {w!r}: it is not among the waves ({', '.join(names)})")
        pairs.setdefault((wave, reference), "requested")
    if compare_only is not None:
        pairs = {pair: relation for pair, relation in pairs.items() if pair[0] in compare_only}
    comparisons = {}
    change_rows = []
    pair_seeds = seeds[-1].spawn(len(pairs))
    for n_pair, ((wave, reference), relation) in enumerate(pairs.items()):
        if on_progress:
            on_progress(f"comparing {wave} with {reference}")
        this_seed = pair_seed(wave, reference) if pair_seed else int(pair_seeds[n_pair].generate_state(1)[0])
        comparison = compare_groups(model, None, None, names=(reference, wave), scheme=scheme, n_perm=n_perm,
                                    seed=this_seed, level=level, prepared=(prepared[reference], prepared[wave]),
                                    fitted=(fits[reference], fits[wave]), progress=progress)
        comparisons[(wave, reference)] = comparison
        for record in comparison.index_change().to_dict("records"):
            change_rows.append({"wave": wave, "reference": reference, "relation": relation,
                                "construct": record["construct"], "reference_estimate": record["estimate_a"],
                                "estimate": record["estimate_b"], "change": record["difference"],
                                "ci_low": record["ci_low"], "ci_high": record["ci_high"],
                                "p_value": record["p_value"], "p_adjusted": record["p_adjusted"],
                                "significant": bool(record["significant"]), "invariance": record["invariance"],
                                "reading": record["reading"]})
    changes = pd.DataFrame(change_rows, columns=["wave", "reference", "relation", "construct", "reference_estimate",
                                                 "estimate", "change", "ci_low", "ci_high", "p_value", "p_adjusted",
                                                 "significant", "invariance", "reading"])
    notes = []
    for name in names:
        notes += [f"{name}: {note}" for note in fits[name].notes if "reverse-coded" not in note]
    for comparison in comparisons.values():
        notes += comparison.micom.notes(comparison.name_a, comparison.name_b)
    method = ""
    if comparisons:
        first = next(iter(comparisons.values()))
        method = (f"{first.method}; intervals of a change are percentile intervals of the difference of the two "
                  f"waves' independent bootstraps ({n_boot} resamples each); measurement invariance by MICOM "
                  f"(Henseler, Ringle & Sarstedt 2016); {ADJUSTMENT}")
    return WaveTrend(tuple(names), fits, comparisons, index_table, changes, method, tuple(merge_micom_notes(notes)))
