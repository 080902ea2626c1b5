"""One analysis per wave, computed once and read everywhere.

A wave's analysis (its PLS fit with bootstrap intervals, the 0-100 indices, its
comparisons with the previous wave and the wave a year earlier, drivers, segments) is
computed with a seed derived from the survey and the wave (``wave_seed``) and stored
with the data version of the responses it used (``models.storage.analyses``). The
console, the API, ``csi fit --survey``, the report and the demo all read it, so they
show the same estimates, intervals and p-values.

A stored analysis is current while the wave's data version and the analysis code's
version (``CODE_VERSION``) match. A closed wave's stored analysis is used for a trend
as it is (its responses do not change; recomputing it would only cost time).

The payload is pickled (in zlib framing, uncompressed) in the database. The database is the same
trust boundary as the task queue, which pickles its tasks too (huey): whoever can write
either can already run code in a worker. Nothing from a request is ever unpickled.
"""
from __future__ import annotations

import copyreg
import hashlib
import io
import pickle
import time
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from models.storage.analyses import data_version, load_stored, save_stored, wave_record
from models.storage.repository import load_wave_frame, questionnaire_of_wave, wave_names

from .groups import READING_RULE, merge_micom_notes, with_reading
from .results import PLSResults
from .second_process import SecondProcess, warm_figures
from .waves import WaveTrend, wave_trend, year_ago

DEFAULT_BOOT = 1000
DEFAULT_PERM = 1000


def _code_version() -> str:
    """SHA-256 of the estimation code: stored analyses made by other code are recomputed.
    The report's layout and figures are left out (they are drawn from the stored results)."""
    digest = hashlib.sha256()
    folder = Path(__file__).parent
    for path in sorted(folder.glob("*.py")):
        if not path.name.startswith(("report", "plots", "summary")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:32]


CODE_VERSION = _code_version()


def wave_seed(questionnaire_id: str, wave: str) -> int:
    """The seed of a wave's bootstrap: the first 32 bits of SHA-256("csi:<survey>:<wave>")."""
    return int.from_bytes(hashlib.sha256(f"csi:{questionnaire_id}:{wave}".encode()).digest()[:4], "big")


def pair_seed(questionnaire_id: str, wave: str, reference: str) -> int:
    """The seed of the permutation test of ``wave`` against ``reference``."""
    return int.from_bytes(hashlib.sha256(f"csi:{questionnaire_id}:{wave}~{reference}".encode()).digest()[:4], "big")


@dataclass(frozen=True)
class StoredAnalysis:
    """A wave's analysis as stored. ``changes``: the rows of ``WaveTrend.changes`` for this
    wave (against its previous and year-ago waves). ``segments``: ``SegmentAnalysis``
    per segment variable, None when not computed (a wave analysed only as part of another
    wave's trend); ``segment_change``: {variable: {segment: change row}}."""

    questionnaire_id: str
    wave: str
    data_version: str
    seed: int
    n_boot: int
    n_perm: int
    fit: PLSResults = field(repr=False)
    changes: pd.DataFrame = field(repr=False)
    method: str
    notes: tuple[str, ...]
    segments: tuple | None = field(repr=False, default=())
    segment_change: Mapping = field(repr=False, default_factory=dict)
    computed_at: datetime | None = None
    seconds: float = 0.0
    # Open questions' themes and per-response sentiment (analysis.text.wave.stored_wave_texts);
    # None in analyses stored before it existed.
    texts: Mapping | None = None

    @property
    def n_used(self) -> int:
        return self.fit.n_used

    def summary(self) -> dict:
        """JSON for the console and the API: indices with intervals, changes with p-values."""
        def clean(value):
            if isinstance(value, (bool, np.bool_)):
                return bool(value)
            if isinstance(value, (float, np.floating)):
                return float(value) if np.isfinite(value) else None
            if isinstance(value, np.integer):
                return int(value)
            return value

        def records(frame):
            return [{k: clean(v) for k, v in row.items()} for row in frame.to_dict("records")]
        return {"survey": self.questionnaire_id, "wave": self.wave, "n": self.fit.n_used, "n_total": self.fit.n_total,
                "seed": self.seed, "bootstrap": self.n_boot, "permutations": self.n_perm,
                "data_version": self.data_version,
                "computed_at": self.computed_at.isoformat() if self.computed_at else None,
                "index": records(self.fit.index_table), "changes": records(with_reading(self.changes)),
                "reading_rule": READING_RULE,
                "method": ("PLS path modeling, ACSI 0-100 index, percentile bootstrap intervals "
                           f"({self.n_boot} resamples, seed {self.seed})" + (f"; {self.method}" if self.method else "")),
                "notes": list(self.notes),
                # The index per segment with intervals (the console's dashboard); None: not computed.
                "segments": None if self.segments is None else [
                    {"variable": s.variable, "rows": records(s.index_table), "warnings": list(s.warnings)}
                    for s in self.segments],
                "texts": self.texts or {}}


@dataclass(frozen=True)
class ReportInputs:
    """What ``analysis.report.build_report`` lays a report out from: the trend up to the
    wave, the waves' answers, the segments, the resamples and seeds; from stored analyses
    (``stored_report_inputs``) or computed afresh."""

    trend: WaveTrend
    frames: Mapping[str, pd.DataFrame]
    segments: list
    segment_change: Mapping
    n_boot: int
    n_perm: int
    seed: int
    wave_seeds: Mapping[str, int] = field(default_factory=dict)
    # Names every stored analysis read (wave, data version, computation time, resamples,
    # code version) and the requested comparison: equal keys mean equal report inputs.
    # None: computed afresh, nothing to look kept figures up by.
    inputs_key: str | None = None


class FitCache:
    """The wave fits made during one report, by wave: a fit is deterministic given its
    wave's data version, its derived seed and the number of resamples, so the report's
    analyses made in any order fit each wave once (the reported wave's analysis fits its
    references; their own analyses, made after it, take those fits)."""

    def __init__(self) -> None:
        self._fits: dict[str, tuple[str, int, PLSResults]] = {}

    def get(self, wave: str, version: str, n_boot: int) -> PLSResults | None:
        kept = self._fits.get(wave)
        return kept[2] if kept is not None and kept[:2] == (version, n_boot) else None

    def put(self, wave: str, version: str, n_boot: int, fit: PLSResults) -> None:
        self._fits[wave] = (version, n_boot, fit)


def read_only(mapping: dict) -> MappingProxyType:
    """Rebuilds a stored read-only mapping (pickle's reconstructor for MappingProxyType)."""
    return MappingProxyType(mapping)


def pickle_bytes(value) -> bytes:
    """``value`` pickled, read-only mappings included (``pickle.loads`` reads it back)."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    # Results hold read-only mappings (MappingProxyType), which pickle refuses: store them as
    # dicts, rebuilt as read-only mappings on load. A local table, not copyreg: nothing global changes.
    pickler.dispatch_table = copyreg.dispatch_table.copy()
    pickler.dispatch_table[MappingProxyType] = lambda proxy: (read_only, (dict(proxy),))
    pickler.dump(value)
    return buffer.getvalue()


def _encode(result: StoredAnalysis) -> bytes:
    # zlib's framing without compression (level 0): the payload is mostly float64 resamples,
    # which level 6 shrank by 14 % (3.4 -> 2.9 MB for the demo's latest wave) in 0.2 s of CPU
    # per wave, a tenth of a report from nothing; rows stored compressed read back alike.
    return zlib.compress(pickle_bytes(result), 0)


def _decode(row) -> StoredAnalysis | None:
    if row is None or row.code_version != CODE_VERSION:
        return None
    try:
        return pickle.loads(zlib.decompress(row.payload))
    except Exception:  # written by another version of a class: recompute rather than fail
        return None


def read_stored(engine, questionnaire_id: str, wave: str, *, current: bool = True) -> StoredAnalysis | None:
    """The wave's stored analysis, or None when there is none (or, with ``current``, when
    its data version or code version is out of date)."""
    row = load_stored(engine, questionnaire_id, wave)
    if row is None or row.code_version != CODE_VERSION:
        return None
    if current and row.data_version != data_version(engine, questionnaire_id, wave).version:
        return None
    return _decode(row)


def stored_status(engine, questionnaire_id: str, wave: str) -> dict | None:
    """Console facts of the stored analysis: computed_at, n, seed, resamples, current or not."""
    row = load_stored(engine, questionnaire_id, wave)
    if row is None:
        return None
    version = data_version(engine, questionnaire_id, wave)
    return {"computed_at": row.computed_at, "n": row.n_used, "seed": row.seed, "n_boot": row.n_boot,
            "n_perm": row.n_perm, "seconds": row.seconds, "summary": row.summary,
            "current": row.data_version == version.version and row.code_version == CODE_VERSION,
            "completed_now": version.completed}


def _usable_waves(engine, questionnaire_id: str, model, upto: str) -> list[str]:
    """Waves up to ``upto`` (by name) with enough complete responses to estimate the model."""
    from .report import minimum_sample
    needed = minimum_sample(model)
    out = []
    for name in wave_names(engine, questionnaire_id):
        if name > upto:
            continue
        if name == upto or data_version(engine, questionnaire_id, name).completed >= needed:
            out.append(name)
    return out


def _frame(engine, questionnaire_id: str, wave: str, loaded: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The wave's answers from ``loaded``, read (and kept there) on first use."""
    if wave not in loaded:
        loaded[wave] = load_wave_frame(engine, questionnaire_id, wave)
    return loaded[wave]


def compute_analysis(engine, questionnaire_id: str, wave: str, *, n_boot: int = DEFAULT_BOOT,
                     n_perm: int = DEFAULT_PERM, on_progress: Callable[[str, float], None] | None = None,
                     store: bool = True, with_segments: bool = True,
                     loaded: dict[str, pd.DataFrame] | None = None, helper: SecondProcess | None = None,
                     segments_started: tuple[str | None, Callable[[], tuple]] | None = None,
                     fits: FitCache | None = None,
                     meanwhile: Callable[[PLSResults, pd.DataFrame], None] | None = None) -> StoredAnalysis:
    """Analyse ``wave`` with its derived seed and store the result (replacing any before).

    ``with_segments=False`` leaves the segments out (None): for a wave needed only as a
    point of another wave's trend, where they are not shown; they are computed when the
    wave itself is reported. ``loaded``: wave frames already read during the same report
    ({wave: frame}), used instead of reading them again and filled with those read here.
    The segments are computed in ``helper``'s second process (one of its own when None)
    while the trend is fitted; ``segments_started``: (previous wave, the call returning
    them) when the caller started them already (``start_segments``). ``fits``: the fits made
    during the same report (``FitCache``), reused and added to. ``meanwhile(fit, frame)`` is
    called with the wave's fit as soon as it is made, before waiting for the segments (the
    report draws this wave's figures and analyses the trend's other waves meanwhile); its
    time is not counted in the analysis's ``seconds``."""
    if helper is None and with_segments and segments_started is None:
        with SecondProcess() as own:
            return compute_analysis(engine, questionnaire_id, wave, n_boot=n_boot, n_perm=n_perm,
                                    on_progress=on_progress, store=store, with_segments=True, loaded=loaded,
                                    helper=own, fits=fits, meanwhile=meanwhile)
    from .data import DataError
    from .report import ReportError, minimum_sample

    say = on_progress or (lambda message, fraction: None)
    started = time.perf_counter()
    wave_record(engine, questionnaire_id, wave)  # a clear error for an unknown wave
    version = data_version(engine, questionnaire_id, wave)
    questionnaire = questionnaire_of_wave(engine, questionnaire_id, wave)
    model = questionnaire.csi_model()
    say(f"loading {wave}", 0.02)
    loaded = {} if loaded is None else loaded
    frame = _frame(engine, questionnaire_id, wave, loaded)
    if len(frame) < minimum_sample(model):
        raise ReportError(f"wave {wave!r} has {len(frame)} complete responses; a model with {len(model.items)} "
                          "items needs more before it can be estimated")
    earlier = [w for w in _usable_waves(engine, questionnaire_id, model, wave) if w != wave]
    previous = earlier[-1] if earlier else None
    references = [w for w in (previous, year_ago(wave, earlier)) if w]
    references = list(dict.fromkeys(sorted(references)))
    frames = {name: _frame(engine, questionnaire_id, name, loaded) for name in references}
    frames[wave] = frame
    if with_segments and (segments_started is None or segments_started[0] != previous):
        segments_started = start_segments(engine, questionnaire, model, wave, previous, n_boot, n_perm, loaded, helper)
    from .data import items_from_questionnaire
    if fits is None or not set(model.items) <= set(items_from_questionnaire(questionnaire)):
        # A scale inferred from the answers depends on which waves are prepared together, so
        # a fit made beside other waves is only the same fit when every item's scale is declared.
        fits = FitCache()
    fitted = {}
    for name in references:
        reference_version = data_version(engine, questionnaire_id, name).version
        kept = fits.get(name, reference_version, n_boot)
        if kept is not None:
            fitted[name] = kept
            continue
        stored = read_stored(engine, questionnaire_id, name, current=False)
        # A reference's fit is deterministic (its own derived seed): reuse it when its data are unchanged.
        if stored is not None and stored.n_boot == n_boot and stored.data_version == reference_version:
            fitted[name] = stored.fit
    own_fit = fits.get(wave, version.version, n_boot)
    if own_fit is not None:  # made as another wave's reference earlier in this report: the same numbers
        fitted[wave] = own_fit
    steps = 1 + len(references) - len(fitted) + len(references)
    done = [0]

    def progress(message: str) -> None:
        say(message, 0.05 + 0.6 * done[0] / max(steps, 1))
        done[0] += 1
    try:
        trend = wave_trend(model, frames, questionnaire=questionnaire, n_boot=n_boot, n_perm=n_perm,
                           wave_seeds={name: wave_seed(questionnaire_id, name) for name in frames},
                           pair_seed=lambda a, b: pair_seed(questionnaire_id, a, b), fitted=fitted,
                           compare_only={wave}, on_progress=progress)
    except DataError as exc:
        raise ReportError(f"wave {wave!r} cannot be estimated: {exc}") from None
    for name in frames:
        fits.put(name, version.version if name == wave else data_version(engine, questionnaire_id, name).version,
                 n_boot, trend.fits[name])
    if meanwhile is not None:
        paused = time.perf_counter()
        meanwhile(trend.fits[wave], frame)
        started += time.perf_counter() - paused
    segments, segment_change = None, {}
    if with_segments:
        say("segments", 0.7)
        segments, segment_change = segments_started[1]()
        segments = tuple(segments)
    fit = trend.fits[wave]
    texts = {}
    if with_segments:  # the reported wave (not a trend point): its open answers too
        from .text.wave import stored_wave_texts
        say("open answers", 0.85)
        index = fit.respondent_index
        satisfaction = next((c for c in index.columns if "satisf" in c.lower()), None)
        texts = stored_wave_texts(questionnaire, frame, index[satisfaction] if satisfaction else None,
                                  seed=wave_seed(questionnaire_id, wave) % (2 ** 31))
    own_notes = [f"{wave}: {note}" for note in fit.notes if "reverse-coded" not in note]
    comparison_notes = [n for n in trend.notes if not any(n.startswith(f"{r}: ") for r in references)]
    result = StoredAnalysis(questionnaire_id, wave, version.version, wave_seed(questionnaire_id, wave), n_boot, n_perm,
                            fit, trend.changes_for(wave), trend.method,
                            tuple(merge_micom_notes(own_notes + comparison_notes)), segments, segment_change,
                            datetime.now(timezone.utc), time.perf_counter() - started, texts)
    if store:
        say("storing", 0.95)
        save_stored(engine, questionnaire_id, wave, data_version=version.version, seed=result.seed, n_boot=n_boot,
                    n_perm=n_perm, n_used=fit.n_used, code_version=CODE_VERSION, computed_at=result.computed_at,
                    seconds=result.seconds, summary=result.summary(),
                    payload=_encode(result))
    return result


def start_segments(engine, questionnaire, model, wave: str, previous: str | None, n_boot: int, n_perm: int,
                   loaded: dict[str, pd.DataFrame], helper: SecondProcess | None) -> tuple[str | None, Callable[[], tuple]]:
    """Start the segments of ``wave`` (against ``previous``) in ``helper``'s second process:
    (previous, the call that waits for (segments, segment_change))."""
    from .report import analyse_wave_segments
    questionnaire_id = questionnaire.id
    frame = _frame(engine, questionnaire_id, wave, loaded)
    previous_frame = _frame(engine, questionnaire_id, previous, loaded) if previous else None
    started = analyse_wave_segments(engine, model, questionnaire, wave, frame, previous, previous_frame, n_boot, n_perm,
                                    wave_seed(questionnaire_id, wave), helper=helper or SecondProcess(enabled=False))
    return previous, started


def _needs_computing(stored: StoredAnalysis | None, n_boot: int | None, n_perm: int | None, trend_member: bool) -> bool:
    return not (stored is not None and n_boot in (None, stored.n_boot) and n_perm in (None, stored.n_perm)
                and (trend_member or stored.segments is not None))


def ensure_analysis(engine, questionnaire_id: str, wave: str, *, n_boot: int | None = None, n_perm: int | None = None,
                    on_progress: Callable[[str, float], None] | None = None, trend_member: bool = False,
                    current: StoredAnalysis | None = None, loaded: dict[str, pd.DataFrame] | None = None,
                    helper: SecondProcess | None = None,
                    segments_started: tuple[str | None, Callable[[], tuple]] | None = None,
                    fits: FitCache | None = None,
                    meanwhile: Callable[[PLSResults, pd.DataFrame], None] | None = None) -> StoredAnalysis:
    """The wave's stored analysis, computed (and stored) first when missing or out of date.

    ``n_boot``/``n_perm`` None accept whatever a current stored analysis used; a number
    asks for that many (recomputing when the stored one used another). With
    ``trend_member``, a closed wave's stored analysis is used even if its data version
    moved (closed waves are not recomputed for a trend). ``current``: the wave's current
    stored analysis when the caller has just read it (``read_stored``), not read twice.
    ``fits``, ``meanwhile``: as for :func:`compute_analysis` (used only when it computes).
    """
    if current is not None:
        stored = current
    else:
        _, closed = wave_record(engine, questionnaire_id, wave)
        stored = read_stored(engine, questionnaire_id, wave, current=not (trend_member and closed))
    if not _needs_computing(stored, n_boot, n_perm, trend_member):
        return stored
    return compute_analysis(engine, questionnaire_id, wave, n_boot=DEFAULT_BOOT if n_boot is None else n_boot,
                            n_perm=DEFAULT_PERM if n_perm is None else n_perm, on_progress=on_progress,
                            with_segments=not trend_member, loaded=loaded, helper=helper,
                            segments_started=segments_started, fits=fits, meanwhile=meanwhile)


def stored_report_inputs(engine, questionnaire_id: str, wave: str, *, compare: str | None = None,
                         n_boot: int | None = None, n_perm: int | None = None,
                         on_progress: Callable[[str], None] | None = None, questionnaire=None,
                         helper: SecondProcess | None = None,
                         on_fitted: Callable[[PLSResults, pd.DataFrame], None] | None = None) -> ReportInputs:
    """The trend up to ``wave`` assembled from the stored analyses of its waves. When the
    wave's own analysis must be computed, its segments start first, in ``helper``'s second
    process, and are computed there while this process analyses the trend.

    Then the wave's analysis is computed first, its fit handed to ``on_fitted(fit, frame)``
    as soon as it is made (the report starts drawing this wave's figures in the second
    process), and the trend's other waves are analysed while the segments finish; else, the
    waves oldest first. Either order stores the same numbers (each fit has its wave's own
    seed and is made once, ``FitCache``)."""
    say = on_progress or (lambda message: None)
    questionnaire = questionnaire or questionnaire_of_wave(engine, questionnaire_id, wave)
    model = questionnaire.csi_model()
    # The resamples of the whole trend: as asked, else those of the wave's current stored analysis.
    current = read_stored(engine, questionnaire_id, wave)
    n_boot = n_boot if n_boot is not None else (current.n_boot if current is not None else DEFAULT_BOOT)
    n_perm = n_perm if n_perm is not None else (current.n_perm if current is not None else DEFAULT_PERM)
    analyses = {}
    loaded: dict[str, pd.DataFrame] = {}  # each wave's answers read once for the whole report
    usable = _usable_waves(engine, questionnaire_id, model, wave)
    fits = FitCache()

    def analyse_members() -> None:
        for name in usable:
            if name != wave:
                say(f"stored analysis of {name}")
                analyses[name] = ensure_analysis(engine, questionnaire_id, name, n_boot=n_boot, n_perm=n_perm,
                                                 trend_member=True, loaded=loaded, fits=fits,
                                                 on_progress=lambda message, fraction: say(message))

    def meanwhile(fit: PLSResults, frame: pd.DataFrame) -> None:
        if on_fitted is not None:
            on_fitted(fit, frame)
        analyse_members()

    if _needs_computing(current, n_boot, n_perm, trend_member=False):
        segments_started = None
        if helper is not None:
            # First matplotlib's import (the figures come after the segments): the second process
            # starts on it at once, while this one reads the answers the segments need.
            helper.later(warm_figures)
            segments_started = start_segments(engine, questionnaire, model, wave,
                                              usable[-2] if len(usable) > 1 else None, n_boot, n_perm, loaded, helper)
        analyses[wave] = ensure_analysis(engine, questionnaire_id, wave, n_boot=n_boot, n_perm=n_perm,
                                         on_progress=lambda message, fraction: say(message), current=current,
                                         loaded=loaded, helper=helper, segments_started=segments_started, fits=fits,
                                         meanwhile=meanwhile)
    else:
        analyse_members()
        analyses[wave] = current
    analyses = {name: analyses[name] for name in usable}  # oldest first, as the trend lists them
    latest = analyses[wave]
    frames = {wave: _frame(engine, questionnaire_id, wave, loaded)}
    changes = [a.changes for a in analyses.values() if not a.changes.empty]
    notes: list[str] = []
    for analysis in analyses.values():
        notes += list(analysis.notes)
    if compare and compare != wave:
        # A comparison nobody stores: test it now from the two stored fits.
        other = ensure_analysis(engine, questionnaire_id, compare, n_boot=latest.n_boot, n_perm=latest.n_perm,
                                trend_member=True)
        frames[compare] = _frame(engine, questionnaire_id, compare, loaded)
        ordered = dict(sorted({compare: frames[compare], wave: frames[wave]}.items()))
        extra = wave_trend(model, ordered, questionnaire=questionnaire, n_boot=latest.n_boot, n_perm=latest.n_perm,
                           wave_seeds={compare: other.seed, wave: latest.seed},
                           pair_seed=lambda a, b: pair_seed(questionnaire_id, a, b),
                           fitted={compare: other.fit, wave: latest.fit}, compare={wave: compare}, compare_only={wave})
        requested = extra.changes_for(wave)
        requested = requested[requested["reference"] == compare].assign(relation="requested")
        known = {(r["reference"]) for r in latest.changes.to_dict("records")}
        if compare not in known:
            changes.append(requested)
        analyses.setdefault(compare, other)
        notes += [n for n in extra.notes if not n.startswith((f"{compare}: ", f"{wave}: "))]
    names = sorted(analyses)
    fits = {name: analyses[name].fit for name in names}
    rows = []
    for name in names:
        for record in fits[name].index_table.to_dict("records"):
            rows.append({"wave": name, "construct": record["construct"], "estimate": record["estimate"],
                         "ci_low": record.get("ci_low", np.nan), "ci_high": record.get("ci_high", np.nan),
                         "n": fits[name].n_used})
    index_table = pd.DataFrame(rows, columns=["wave", "construct", "estimate", "ci_low", "ci_high", "n"])
    change_table = pd.concat([with_reading(c) for c in changes], ignore_index=True) if changes else pd.DataFrame(
        columns=["wave", "reference", "relation", "construct", "reference_estimate", "estimate", "change", "ci_low",
                 "ci_high", "p_value", "p_adjusted", "significant", "invariance", "reading"])
    method = next((a.method for a in analyses.values() if a.method), "")
    trend = WaveTrend(tuple(names), fits, {}, index_table, change_table, method, tuple(merge_micom_notes(notes)))
    stamps = [(name, a.data_version, a.computed_at.isoformat() if a.computed_at else "", a.seed, a.n_boot, a.n_perm)
              for name, a in sorted(analyses.items())]
    inputs_key = hashlib.sha256(repr((CODE_VERSION, wave, compare, stamps)).encode()).hexdigest()
    return ReportInputs(trend, frames, list(latest.segments), dict(latest.segment_change), latest.n_boot,
                        latest.n_perm, latest.seed, {name: analyses[name].seed for name in names}, inputs_key)

