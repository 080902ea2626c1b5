"""The quarterly report: one self-contained HTML file in the questionnaire's language
(figures inline as SVG whose text stays text, tables a reviewer expects beside them);
an A4 PDF of the same page, with page headers, through headless Chromium when asked.

    >>> report = build_report(engine, "acsi-retail", "2026Q4", compare="2026Q3")
    >>> Path("report.html").write_text(report.html())
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemBytecodeCache, PackageLoader, select_autoescape
from markupsafe import Markup

from models.answers import answer_type
from models.errors import CSIError
from models.storage.analyses import load_report_figures, save_report_figures
from models.storage.repository import (load_response_attributes, load_wave_frame, origin_counts,
                                       questionnaire_of_wave, wave_names)

from .bootstrap import single_blas_thread
from .drivers import ipma, priorities
from .groups import change_reading, with_reading
from .loyalty import loyalty_items, satisfaction_loyalty
from .pdf_text import repair_cjk_text_layer
from .plots import path_diagram
from .report_plots import ipma_chart, loyalty_chart, segment_chart, svg, trend_chart
from .report_tables import reviewer_tables
from .second_process import Kept, Later, SecondProcess, warm_figures
from .report_text import (ACTIONS, CONSTRUCT_NAMES, DROPPED, INVARIANCE, SCHEMES, SEGMENT_VARIABLES, TEXT, Names,
                          construct_label, localize_note, text_for)
from .segments import analyse_segments, segment_changes
from .stored import ReportInputs
from .value import MEASURE_NAMES_ZH, delivered_value
from .waves import wave_trend

__all__ = ["CONSTRUCT_NAMES", "TEXT", "Report", "ReportError", "build_report"]

# Only when the questionnaire declares no segment (``segment: true`` on a question): columns
# with these names (invitation attributes, or questions so named) are taken as segments.
SEGMENT_NAMES = ("tier", "customer_tier", "region", "channel", "segment")
HEADLINE = "satisfaction"


class ReportError(CSIError):
    """The report cannot be built (no such wave, no responses); the message says which."""


def _css_string(value) -> Markup:
    """``value`` as a CSS string literal for the page header (quotes, backslashes and
    ``<`` escaped, so a questionnaire title cannot end the style sheet)."""
    text = "".join(f"\\{ord(ch):X} " if ch in "\\\"'<>&\n\r" else ch for ch in str(value))
    return Markup(f'"{text}"')


def minimum_sample(model) -> int:
    """Complete responses a wave needs before its model is estimated (and shown in a trend)."""
    return max(10, len(model.items) + 1)


@functools.cache
def _environment() -> Environment:
    """One Jinja environment per process: it keeps the compiled page template (compiling it
    took longer than rendering it) and recompiles it only when the file changes. A new
    process (``csi report``, a fresh worker) loads the compiled template from Jinja's bytecode
    cache (a folder of the user's own in the temporary directory, keyed by the template's
    checksum) instead of compiling it again: about 0.1 s of CPU."""
    try:
        cache = FileSystemBytecodeCache()
    except RuntimeError:  # the temporary folder is not safe to cache in (jinja2 checks): compile
        cache = None
    env = Environment(loader=PackageLoader("analysis", "templates"), autoescape=select_autoescape(["html"]),
                      bytecode_cache=cache)
    env.filters["css_string"] = _css_string
    return env


@dataclass(frozen=True)
class Report:
    questionnaire_id: str
    wave: str
    language: str
    context: Mapping = field(repr=False)
    figures: Mapping[str, str] = field(repr=False)  # name -> inline SVG markup

    def html(self) -> str:
        figures = {k: Markup(v) for k, v in self.figures.items()}
        return _environment().get_template("report.html").render(**self.context, fig=figures)

    def write_html(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.html(), encoding="utf-8")
        return path

    def write_pdf(self, path: str | Path, browser: str | None = None) -> Path:
        """Print the HTML page to an A4 PDF with headless Chromium: the same content, with
        the survey, wave and page number in each page's header (CSS ``@page`` margin boxes)."""
        browser = browser or next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome")
                                   if shutil.which(b)), None)
        if browser is None:
            raise ReportError("PDF output needs Chromium (Debian: apt-get install chromium); the HTML report needs nothing")
        path = Path(path).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as folder:
            page = Path(folder) / "report.html"
            page.write_text(self.html(), encoding="utf-8")
            command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                       "--disable-background-networking", "--disable-component-update", "--disable-sync",
                       f"--user-data-dir={folder}/profile", "--no-pdf-header-footer", f"--print-to-pdf={path}",
                       page.as_uri()]
            done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0 or not path.exists():
            raise ReportError(f"Chromium could not print the PDF: {done.stderr.strip().splitlines()[-1:] or done.returncode}")
        repair_cjk_text_layer(path)  # Chinese that searches and copies as it reads (analysis.pdf_text)
        return path


def _records(frame: pd.DataFrame) -> list[dict]:
    return frame.replace({np.nan: None}).to_dict("records")


def _with_attributes(engine, questionnaire_id: str, wave: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The wave's answers joined with its invitation attributes (region, tier, ...)."""
    attributes = load_response_attributes(engine, questionnaire_id, wave)
    return frame.join(attributes.drop(columns=[c for c in attributes.columns if c in frame.columns]), how="left")


def segment_variables(questionnaire, columns) -> list[str]:
    """The columns analysed as segments: the questions the questionnaire declares with
    ``segment: true``; only when it declares none, the columns named as in SEGMENT_NAMES."""
    declared = list(getattr(questionnaire, "segment_ids", ()))
    if declared:
        return [c for c in declared if c in set(columns)]
    return [c for c in columns if c in SEGMENT_NAMES]


# The name the second process keeps a report's segments under, for its figures (second_process.Kept).
SEGMENTS_KEPT = "segments"


def analyse_wave_segments(engine, model, questionnaire, wave: str, frame: pd.DataFrame, previous: str | None,
                          previous_frame: pd.DataFrame | None, n_boot: int, n_perm: int, seed: int,
                          helper: SecondProcess | None = None):
    """Index per segment (tier, region, ...) of ``wave`` with permutation MGA, and the
    headline's change per segment from ``previous``: (analyses, {variable: {segment: row}}).
    With ``helper``, the segments are computed in its second process: this returns at once
    a call that waits for them."""
    questionnaire_id = questionnaire.id
    seg_data = _with_attributes(engine, questionnaire_id, wave, frame)
    previous_data = _with_attributes(engine, questionnaire_id, previous, previous_frame) if previous else None
    arguments = (model, questionnaire, wave, seg_data, previous, previous_data, n_boot, n_perm, seed)
    if helper is not None:
        return helper.later(_segments_of, *arguments, keep=SEGMENTS_KEPT)
    return _segments_of(*arguments)


def _segments_of(model, questionnaire, wave: str, seg_data: pd.DataFrame, previous: str | None,
                 previous_data: pd.DataFrame | None, n_boot: int, n_perm: int, seed: int):
    """The work of :func:`analyse_wave_segments` on the answers joined with their attributes."""
    segments, segment_change = [], {}
    for variable in segment_variables(questionnaire, seg_data.columns):
        levels = seg_data[variable].dropna().nunique()
        if 2 <= levels <= 12:
            analysis = analyse_segments(model, seg_data, variable, questionnaire=questionnaire,
                                        n_boot=min(n_boot, 500), n_perm=min(n_perm, 500), seed=seed)
            segments.append(analysis)
            if previous_data is not None:
                changes_by_segment = segment_changes(model, previous_data, seg_data, variable, names=(previous, wave),
                                                     questionnaire=questionnaire, n_perm=min(n_perm, 500), seed=seed)
                headline_changes = changes_by_segment[changes_by_segment["construct"] == HEADLINE]
                segment_change[variable] = {r["segment"]: r for r in _records(headline_changes)}
    return segments, segment_change


def build_report(engine, questionnaire_id: str, wave: str, *, compare: str | None = None, language: str | None = None,
                 n_boot: int | None = None, n_perm: int | None = None, seed: int | None = None,
                 on_progress: Callable[[str], None] | None = None, from_stored: bool | None = None) -> Report:
    """Analyse ``wave`` (with every earlier wave for the trend) and lay out the report.

    By default (``from_stored`` None and no ``seed``) the report reads the waves' stored
    analyses (``analysis.stored``), computing and storing those missing or out of date,
    so it shows the same numbers as the console, the API and ``csi fit --survey``.
    With ``seed`` given, or ``from_stored=False``, everything is computed afresh with
    that seed (1 if none) and nothing is stored.
    """
    # Every product in the analysis is small: one BLAS thread is faster (20-30 % for the
    # demo's report on a loaded machine) and leaves the other core to the server.
    with single_blas_thread(), SecondProcess() as helper:
        return _build_report(engine, questionnaire_id, wave, compare=compare, language=language, n_boot=n_boot,
                             n_perm=n_perm, seed=seed, on_progress=on_progress, from_stored=from_stored,
                             helper=helper)


def _load_waves(engine, questionnaire, model, questionnaire_id: str, wave: str, names: list[str], *,
                compare: str | None, n_boot: int | None, n_perm: int | None, seed: int | None, from_stored: bool,
                say: Callable[[str], None], helper: SecondProcess,
                on_fitted: Callable[..., None] | None = None) -> ReportInputs:
    """Step 1, loading waves: the trend up to ``wave`` (and ``compare``) with its segments,
    from the stored analyses (computing those missing) or, with ``from_stored`` False,
    fitted afresh with ``seed``; the segments computed in ``helper``'s second process
    meanwhile. ``on_fitted(fit, frame)``: called with the wave's fit as soon as it is made,
    when its stored analysis is computed (``stored_report_inputs``)."""
    if from_stored:
        from .stored import stored_report_inputs
        return stored_report_inputs(engine, questionnaire_id, wave, compare=compare, n_boot=n_boot, n_perm=n_perm,
                                    on_progress=say, questionnaire=questionnaire, helper=helper,
                                    on_fitted=on_fitted)
    n_boot = 1000 if n_boot is None else n_boot
    n_perm = 1000 if n_perm is None else n_perm
    seed = 1 if seed is None else seed
    frames = {}
    for name in [w for w in names if w <= wave or w == compare]:
        say(f"loading wave {name}")
        frame = load_wave_frame(engine, questionnaire_id, name)
        if len(frame) >= minimum_sample(model):
            frames[name] = frame
        elif name == wave:
            raise ReportError(f"wave {wave!r} has {len(frame)} complete responses; a model with {len(model.items)} "
                              "items needs more before it can be estimated")
    # The previous wave in the trend's order (the frames' order, as wave_trend fits them).
    names_in_trend = list(frames)
    position = names_in_trend.index(wave)
    previous = names_in_trend[position - 1] if position else None
    segments_later = analyse_wave_segments(engine, model, questionnaire, wave, frames[wave], previous,
                                           frames[previous] if previous else None, n_boot, n_perm, seed,
                                           helper=helper)
    helper.later(warm_figures)
    trend = wave_trend(model, frames, questionnaire=questionnaire, n_boot=n_boot, n_perm=n_perm, seed=seed,
                       compare={wave: compare} if compare else None, on_progress=say)
    say("segments")
    segments, segment_change = segments_later()
    return ReportInputs(trend, frames, segments, segment_change, n_boot, n_perm, seed)


def _previous(trend, wave: str) -> str | None:
    position = list(trend.waves).index(wave)
    return trend.waves[position - 1] if position else None


@dataclass(frozen=True)
class _Comparisons:
    """Step 2, choosing comparisons: the wave's changes against its references (previous
    wave, a year ago, a requested one), the headline's rows of them, and the previous wave."""

    changes: pd.DataFrame
    headline_rows: pd.DataFrame
    previous: str | None


def _choose_comparisons(trend, wave: str) -> _Comparisons:
    changes = with_reading(trend.changes_for(wave))
    return _Comparisons(changes, changes[changes["construct"] == HEADLINE], _previous(trend, wave))


def _loyalty(frame: pd.DataFrame, questionnaire, language: str):
    """The satisfaction-loyalty curve, or None when the questionnaire has no satisfaction or
    loyalty item to relate, or the wave has no answers to one of them (that section is left out)."""
    items = loyalty_items(questionnaire)
    if items is None or not set(items) <= set(frame.columns):
        return None
    return satisfaction_loyalty(frame, questionnaire, *items, language=language)


def _drivers(results, model, language: str) -> dict[str, pd.DataFrame]:
    drivers = {}
    for target in ("satisfaction", "loyalty"):
        if target in model.construct_names:
            table = ipma(results, target)
            if language in ACTIONS:
                table["action"] = table["quadrant"].map(ACTIONS[language]).fillna(table["action"])
            drivers[target] = table
    return drivers


def _figure_code_version() -> str:
    """SHA-256 of the code that draws and labels the figures and the versions of matplotlib
    and the shipped CJK font (its metrics place the text): figures kept from other code are
    drawn again."""
    from importlib.metadata import PackageNotFoundError, version
    digest = hashlib.sha256()
    for package in ("matplotlib", "pylopdf-fonts-zh-cn"):
        try:
            digest.update(f"{package}={version(package)};".encode())
        except PackageNotFoundError:  # the font is optional (analysis.plots draws without it)
            digest.update(f"{package}=none;".encode())
    folder = Path(__file__).parent
    for name in ("report.py", "report_plots.py", "report_text.py", "plots.py"):
        digest.update(name.encode() + b"\0" + (folder / name).read_bytes())
    return digest.hexdigest()


FIGURE_CODE_VERSION = _figure_code_version()


FIGURE_ORDER = ("trend", "paths", "ipma", "segment_", "loyalty")


def _in_order(*parts: dict[str, str]) -> dict[str, str]:
    """The figures of ``parts`` in one mapping, in the page's order (FIGURE_ORDER, by prefix)."""
    merged = {name: markup for part in parts for name, markup in part.items()}
    rank = lambda name: next(k for k, prefix in enumerate(FIGURE_ORDER) if name.startswith(prefix))  # noqa: E731
    return {name: merged[name] for name in sorted(merged, key=rank)}


def _paths_figure(questionnaire, language: str, results) -> dict[str, str]:
    """The path diagram of the reported wave's fit ({name: inline SVG})."""
    text, words = text_for(language), _names(questionnaire, language)
    scheme = SCHEMES.get(language, {}).get(results.scheme, results.scheme)
    boot = results.bootstrap
    path_title = (text["path_title"].format(scheme=scheme, n=results.n_used) + "\n"
                  + (text["path_note"].format(b=boot.n_ok) if boot is not None else text["no_bootstrap"]))
    return {"paths": svg(path_diagram(results, name=_box_label(words.construct, language), title=path_title), "paths",
                         text["paths"])}


def _ipma_figure(questionnaire, language: str, drivers) -> dict[str, str]:
    """The importance-performance map of satisfaction's drivers (none without satisfaction)."""
    if "satisfaction" not in drivers:
        return {}
    text, cname = text_for(language), _names(questionnaire, language).construct
    return {"ipma": svg(ipma_chart(drivers["satisfaction"], "satisfaction", cname, text["ipma_labels"],
                                   title=text["ipma_title"].format(construct=cname("satisfaction"))),
                        "ipma", text["ipma_labels"][2])}


def _segment_figures(questionnaire, language: str, segments) -> dict[str, str]:
    """The headline index per segment, one figure per segment variable."""
    text, words = text_for(language), _names(questionnaire, language)
    cname = words.construct
    figures = {}
    for analysis in segments:
        if HEADLINE in set(analysis.index_table["construct"].dropna()):
            variable = analysis.variable
            level = lambda code, v=variable: words.level(v, code)  # noqa: E731
            figures[f"segment_{variable}"] = svg(
                segment_chart(analysis, HEADLINE, cname, level=level,
                              title=text["segment_title"].format(construct=cname(HEADLINE),
                                                                 variable=words.variable(variable))),
                f"segment_{variable}", words.variable(variable))
    return figures


def _loyalty_figure(questionnaire, language: str, loyalty) -> dict[str, str]:
    """The satisfaction-loyalty curve (none when the questionnaire has no such items)."""
    if loyalty is None:
        return {}
    text = text_for(language)
    return {"loyalty": svg(loyalty_chart(loyalty, text["loyalty_labels"]), "loyalty", text["loyalty"])}


def _trend_figure(model, questionnaire, language: str, trend) -> dict[str, str]:
    """The index per wave: the one figure that needs the whole trend."""
    text, words = text_for(language), _names(questionnaire, language)
    shown = [c for c in model.construct_names if c in set(trend.index_table["construct"])]
    return {"trend": svg(trend_chart(trend, shown, words.construct, text["trend_title"]), "trend", text["trend"])}


def _wave_figure_calls(questionnaire, language: str, results, drivers, loyalty, segments) -> list[tuple[Callable, tuple]]:
    """The reported wave's figures as (function, picklable arguments): each drawn on its own,
    here or in the second process."""
    return [(_paths_figure, (questionnaire, language, results)), (_ipma_figure, (questionnaire, language, drivers)),
            (_segment_figures, (questionnaire, language, segments)), (_loyalty_figure, (questionnaire, language, loyalty))]


def _figures_of(model, questionnaire, language: str, results, trend, drivers, segments, loyalty) -> dict[str, str]:
    """Every figure of the report as inline SVG ({name: markup}), in the page's order."""
    calls = _wave_figure_calls(questionnaire, language, results, drivers, loyalty, segments)
    calls.append((_trend_figure, (model, questionnaire, language, trend)))
    return _in_order(*(function(*arguments) for function, arguments in calls))


def _gathered(tasks: list[tuple[Later, Callable[[], dict[str, str]]]], take_back: bool) -> dict[str, str]:
    """The figures of ``tasks`` ((the second process's task, the same drawn here), in the
    order given to it). With ``take_back``, this process draws, last first, those the second
    has not started, while it draws the first ones: both cores draw. Without, it waits."""
    drawn: list[dict[str, str] | None] = [None] * len(tasks)
    if take_back:
        for k in range(len(tasks) - 1, -1, -1):
            there, here = tasks[k]
            if not there.take_back():
                break  # under way, done or next there: so are all before it
            drawn[k] = here()
    return _in_order(*[figures if figures is not None else there() for figures, (there, _) in zip(drawn, tasks)])


def _figures(engine, questionnaire_id: str, wave: str, inputs: ReportInputs, questionnaire, language: str,
             start_drawing: Callable[[], Callable[[], dict[str, str]]],
             say: Callable[[str], None]) -> Callable[[], dict[str, str]]:
    """A call returning the figures: drawn (``start_drawing`` starts them and returns the call
    that waits for them) or, for a report from stored analyses, kept from the last report
    drawn from the same analyses, questionnaire, language and figure code."""
    if inputs.inputs_key is None:
        say("drawing figures")
        return start_drawing()
    key = hashlib.sha256(repr((inputs.inputs_key, questionnaire.id, questionnaire.version, language,
                               FIGURE_CODE_VERSION)).encode()).hexdigest()
    kept = load_report_figures(engine, questionnaire_id, wave, language, key)
    if kept is not None:
        return lambda: kept
    say("drawing figures")
    drawn = start_drawing()

    def ready() -> dict[str, str]:
        figures = drawn()
        save_report_figures(engine, questionnaire_id, wave, language, key, figures)
        return figures
    return ready


def _build_report(engine, questionnaire_id: str, wave: str, *, compare: str | None, language: str | None,
                  n_boot: int | None, n_perm: int | None, seed: int | None,
                  on_progress: Callable[[str], None] | None, from_stored: bool | None,
                  helper: SecondProcess) -> Report:
    say = on_progress or (lambda message: None)
    if from_stored is None:
        from_stored = seed is None
    names = wave_names(engine, questionnaire_id)
    if wave not in names:
        known = ", ".join(names) or "none"
        raise ReportError(f"no wave {wave!r} for questionnaire {questionnaire_id!r}; its waves: {known}")
    if compare is not None and compare not in names:
        raise ReportError(f"cannot compare with wave {compare!r}: questionnaire {questionnaire_id!r} has waves {', '.join(names)}")
    questionnaire = questionnaire_of_wave(engine, questionnaire_id, wave)
    model = questionnaire.csi_model()
    language = language if language in questionnaire.languages else questionnaire.default_language
    early: dict[str, tuple] = {}

    def on_fitted(results, frame: pd.DataFrame) -> None:
        # The wave's own figures, drawn in the second process right after its segments (kept
        # there, SEGMENTS_KEPT) while this one analyses the trend's other waves.
        if helper.started:
            calls = _wave_figure_calls(questionnaire, language, results, _drivers(results, model, language),
                                       _loyalty(frame, questionnaire, language), Kept(SEGMENTS_KEPT, 0))
            early["wave"] = (results, [helper.later(function, *arguments) for function, arguments in calls])
    inputs = _load_waves(engine, questionnaire, model, questionnaire_id, wave, names, compare=compare, n_boot=n_boot,
                         n_perm=n_perm, seed=seed, from_stored=from_stored, say=say, helper=helper,
                         on_fitted=on_fitted)
    trend, segments = inputs.trend, inputs.segments
    chosen = _choose_comparisons(trend, wave)
    results = trend.fits[wave]
    frame = inputs.frames[wave]
    # Step 3, translating: every word of the page and its figures in the report's language.
    text = text_for(language)
    words = _names(questionnaire, language)
    drivers = _drivers(results, model, language)
    loyalty = _loyalty(frame, questionnaire, language)
    figure_arguments = (model, questionnaire, language, results, trend, drivers, segments, loyalty)

    def start_drawing() -> Callable[[], dict[str, str]]:
        if helper.started:  # the second process computed the segments and imported matplotlib: it draws
            calls = _wave_figure_calls(questionnaire, language, results, drivers, loyalty, segments)
            drawn_early = early.get("wave")
            there = list(drawn_early[1]) if drawn_early is not None and drawn_early[0] is results else \
                [helper.later(function, *arguments) for function, arguments in calls]
            # Without the trend's fits and comparisons, which no figure reads (megabytes of resamples).
            calls.append((_trend_figure, (model, questionnaire, language,
                                          dataclasses.replace(trend, fits={}, comparisons={}))))
            there.append(helper.later(calls[-1][0], *calls[-1][1]))
            here = [functools.partial(function, *arguments) for function, arguments in calls]
            # A worker has matplotlib imported (warm_report_imports): this process then draws
            # those figures the second has not started by the time the page is laid out.
            take_back = "matplotlib.pyplot" in sys.modules
            return lambda: _gathered(list(zip(there, here)), take_back)
        return lambda: _figures_of(*figure_arguments)
    figures_ready = _figures(engine, questionnaire_id, wave, inputs, questionnaire, language, start_drawing, say)
    value = delivered_value(frame, questionnaire, results.respondent_index.get("satisfaction"))
    context = _context(questionnaire, wave, language, text, words, inputs, chosen, results, drivers, loyalty, value,
                       imported_notes=_imported_notes(engine, questionnaire_id, inputs.trend, text),
                       follow_up=_follow_up(engine, questionnaire_id, wave),
                       open_texts=_open_texts(engine, questionnaire_id, wave, questionnaire, frame, results))
    _environment().get_template("report.html")  # compiled or loaded while the second process draws
    return Report(questionnaire_id, wave, language, context, figures_ready())


def _imported_notes(engine, questionnaire_id: str, trend, text) -> list[str]:
    """The sample notes saying which waves hold responses collected elsewhere (csi import)."""
    notes = []
    for name in trend.fits:
        origins = origin_counts(engine, questionnaire_id, name)
        if origins.get("imported"):
            notes.append(text["imported_note"].format(wave=name, k=origins["imported"], n=sum(origins.values())))
    return notes


def _open_texts(engine, questionnaire_id: str, wave: str, questionnaire, frame: pd.DataFrame, results) -> list[dict]:
    """What customers wrote: each open question's themes with shares, examples, sentiment and
    the link to satisfaction; from the wave's stored analysis when it is current (the job ran
    the text analysis), else computed now (analysis.text.wave.stored_wave_texts)."""
    from models.storage.analyses import data_version, load_stored

    from .text.wave import stored_wave_texts

    if not any(answer_type(q).free_text for q in questionnaire.questions):
        return []
    row = load_stored(engine, questionnaire_id, wave)
    if row is not None and "texts" in (row.summary or {}) and \
            row.data_version == data_version(engine, questionnaire_id, wave).version:
        found = row.summary["texts"]
    else:
        index = results.respondent_index
        satisfaction = next((c for c in index.columns if "satisf" in c.lower()), None)
        found = stored_wave_texts(questionnaire, frame, index[satisfaction] if satisfaction else None)
    return [{"question": questionnaire.question(question_id), **value} for question_id, value in found.items()
            if any(q.id == question_id for q in questionnaire.questions)]


def _follow_up(engine, questionnaire_id: str, wave: str):
    """The wave's call-back figures (models.storage.follow_up_summary), or None when no
    response was flagged."""
    from models.storage.follow_up_summary import follow_up_summary

    summary = follow_up_summary(engine, questionnaire_id, wave)
    return summary if summary.flagged else None


def _context(questionnaire, wave: str, language: str, text, words: Names, inputs: ReportInputs, chosen: _Comparisons,
             results, drivers, loyalty, value, *, imported_notes: list[str], follow_up,
             open_texts: list[dict]) -> dict:
    """The template's variables: tables, translated labels and notes, methods and seeds."""
    trend = inputs.trend
    changes = chosen.changes
    index_table = results.index_table
    scheme = SCHEMES.get(language, {}).get(results.scheme, results.scheme)
    invariance = INVARIANCE.get(language, INVARIANCE["en"])
    changes_records = _records(changes)
    for record in changes_records:
        record["invariance_text"] = invariance.get(record["invariance"], record["invariance"])
    notes = list(trend.notes) + [n for n in results.notes if n not in trend.notes]
    dropped_names = DROPPED.get(language, {})
    # Each segment's change read as the wave's are (rows stored before ``reading`` existed get it here).
    segment_change = {variable: {segment: {**row, "reading": row.get("reading") or change_reading(
                          row.get("significant"), row.get("invariance"))} for segment, row in rows.items()}
                      for variable, rows in inputs.segment_change.items()}
    return {
        "t": text, "cname": words.construct, "lang": language, "questionnaire": questionnaire,
        "title": questionnaire.title.get(language), "wave": wave, "waves": list(trend.waves),
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "headline": index_table.set_index("construct").loc[HEADLINE].to_dict() if HEADLINE in set(index_table["construct"]) else None,
        "headline_changes": _records(chosen.headline_rows), "index_rows": _records(index_table),
        "changes": {(r["construct"], r["reference"]): r for r in changes_records},
        "references": list(dict.fromkeys(changes["reference"])), "relations": dict(zip(changes["reference"], changes["relation"])),
        "tables": reviewer_tables(results, text),
        "drivers": {k: _records(v) for k, v in drivers.items()},
        "priorities": priorities(drivers["satisfaction"]) if "satisfaction" in drivers else [],
        "previous": chosen.previous,
        "segments": [{"variable": s.variable, "title": words.variable(s.variable),
                      "level": (lambda code, v=s.variable: words.level(v, code)),
                      "rows": _records(s.index_table[s.index_table["construct"] == HEADLINE]),
                      "change": segment_change.get(s.variable, {}),
                      "mga": _records(s.mga[s.mga["significant"]]),
                      "warnings": [localize_note(w, words) for w in s.warnings]} for s in inputs.segments],
        "loyalty": loyalty, "loyalty_rows": _records(loyalty.curve) if loyalty else [],
        "measure_name": (lambda m: MEASURE_NAMES_ZH.get(m, m)) if language == "zh-CN" else (lambda m: m),
        "value": value, "value_rows": _records(value.table) if value is not None else [],
        "follow_up": follow_up, "open_texts": open_texts,
        "sizes": [{"wave": w, "n_total": f.n_total, "n_used": f.n_used,
                   "dropped": {dropped_names.get(k, k): v for k, v in f.dropped.items()}} for w, f in trend.fits.items()],
        "notes": imported_notes + list(dict.fromkeys(localize_note(n, words, tuple(trend.waves)) for n in notes)),
        "methods": [m.format(scheme=scheme, n_boot=inputs.n_boot, n_perm=inputs.n_perm, seed=inputs.seed) for m in text["methods_list"]],
        "n_boot": inputs.n_boot, "n_perm": inputs.n_perm, "seed": inputs.seed, "scheme": scheme,
        "wave_seeds": dict(inputs.wave_seeds),
        "seeds_text": ("，" if language == "zh-CN" else ", ").join(
            f"{w}: {s}" for w, s in inputs.wave_seeds.items()),
    }


def _box_label(cname, language: str):
    """A path-diagram box label: Chinese names on one line, English ones a word a line."""
    if language == "zh-CN":
        return cname
    return lambda construct: cname(construct).replace(" ", "\n")


def _names(questionnaire, language: str) -> Names:
    """Construct names, segment variable names and segment levels (option labels, not codes)."""
    variables = SEGMENT_VARIABLES.get(language, SEGMENT_VARIABLES["en"])
    questions = {q.id: q for q in questionnaire.questions}

    def construct(name: str) -> str:
        return construct_label(name, language, questionnaire)

    def variable(name: str) -> str:
        if name in variables:
            return variables[name]
        question = questions.get(name)
        return question.text.get(language) if question is not None else name

    def level(name: str | None, code: str) -> str:
        question = questions.get(name) if name else None
        for option in getattr(question, "options", ()) or ():
            if str(option.value) == str(code):
                return option.label.get(language)
        return code

    return Names(language, construct, variable, level)
