"""The quarterly report: one self-contained HTML file (figures embedded as PNG data
URIs), in the questionnaire's language; a PDF of the same page through headless
Chromium when asked.

    >>> report = build_report(engine, "acsi-retail", "2026Q4", compare="2026Q3")
    >>> Path("report.html").write_text(report.html())
"""
from __future__ import annotations

import base64
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from models.errors import CSIError
from models.storage.repository import (load_response_attributes, load_wave_frame, questionnaire_of_wave,
                                       wave_names)

from .drivers import ipma, priorities
from .loyalty import satisfaction_loyalty
from .report_plots import ipma_chart, loyalty_chart, png, segment_chart, trend_chart
from .segments import analyse_segments, segment_changes
from .value import MEASURE_NAMES_ZH, delivered_value
from .waves import wave_trend

SEGMENT_NAMES = ("tier", "customer_tier", "region", "channel", "segment")
HEADLINE = "satisfaction"

CONSTRUCT_NAMES = {
    "zh-CN": {"image": "企业形象", "expectations": "顾客预期", "perceived_quality": "感知质量",
              "perceived_value": "感知价值", "satisfaction": "顾客满意度", "complaints": "顾客抱怨",
              "loyalty": "顾客忠诚", "total_customer_value": "顾客总价值", "total_customer_cost": "顾客总成本",
              "brand_image": "品牌形象", "expected_quality": "预期质量", "trust": "信任", "commitment": "承诺"},
}
TEXT = {
    "en": {"title": "Customer satisfaction report", "wave": "Wave", "headline": "Satisfaction index",
           "change_prev": "change from {ref}", "change_year": "change from a year earlier ({ref})",
           "significant": "significant", "not_significant": "not significant", "trend": "Trend across waves",
           "index_table": "Index per construct", "construct": "Construct", "index": "Index", "interval": "95% interval",
           "change": "Change", "p": "p", "invariance": "Measurement invariance", "paths": "Path model",
           "quality": "Measurement quality", "drivers": "Drivers and priorities", "target": "Effect on",
           "importance": "Importance", "performance": "Performance", "action": "What to do",
           "segments": "Segments", "segment": "Segment", "small": "small sample",
           "mga": "Paths that differ from the rest of the sample (permutation MGA, p < 0.05)",
           "loyalty": "Satisfaction and loyalty", "top_box": "Top-box share", "nps": "Net Promoter Score",
           "cdv": "Customer delivered value", "sample": "Sample and missing data", "methods": "Method notes",
           "notes": "Notes", "none": "none", "generated": "Generated", "respondents": "respondents",
           "ipma_labels": ("importance (total effect, 0-100 points)", "performance (0-100 index)",
                           "Importance-performance map", "red diamonds: concentrate here"),
           "loyalty_labels": ("share loyal", "share of respondents", "Loyalty by satisfaction level"),
           "trend_title": "CSI index per wave (95% intervals)", "segment_title": "Index by segment",
           "flags": "Flags", "measure": "Measure", "mean": "Mean"},
    "zh-CN": {"title": "顾客满意度报告", "wave": "调查期", "headline": "顾客满意度指数",
              "change_prev": "较{ref}变化", "change_year": "较去年同期（{ref}）变化",
              "significant": "显著", "not_significant": "不显著", "trend": "各期趋势",
              "index_table": "各潜变量指数", "construct": "潜变量", "index": "指数", "interval": "95%置信区间",
              "change": "变化", "p": "p值", "invariance": "测量不变性", "paths": "路径模型",
              "quality": "测量质量", "drivers": "驱动因素与改进优先级", "target": "影响对象",
              "importance": "重要性", "performance": "表现", "action": "建议",
              "segments": "细分群体", "segment": "群体", "small": "样本偏小",
              "mga": "与其余样本显著不同的路径（置换检验多组分析，p < 0.05）",
              "loyalty": "满意度与忠诚度", "top_box": "最高档比例", "nps": "净推荐值（NPS）",
              "cdv": "顾客让渡价值", "sample": "样本与缺失数据", "methods": "方法说明",
              "notes": "备注", "none": "无", "generated": "生成时间", "respondents": "名受访者",
              "ipma_labels": ("重要性（总效应，0-100分）", "表现（0-100指数）", "重要性-表现矩阵", "红色菱形：优先改进"),
              "loyalty_labels": ("忠诚顾客比例", "受访者比例", "各满意度水平的忠诚度"),
              "trend_title": "各期顾客满意度指数（95%置信区间）", "segment_title": "各群体指数",
              "flags": "提示", "measure": "指标", "mean": "均值"},
}
ACTIONS_ZH = {"Concentrate here": "重点改进：重要但表现不佳，应优先提升", "Keep up the good work": "继续保持：重要且表现良好",
              "Low priority": "低优先级：影响小、表现低", "Possible overkill": "可能过度投入：表现好但影响小"}


class ReportError(CSIError):
    """The report cannot be built (no such wave, no responses); the message says which."""


def minimum_sample(model) -> int:
    """Complete responses a wave needs before its model is estimated (and shown in a trend)."""
    return max(10, len(model.items) + 1)


@dataclass(frozen=True)
class Report:
    questionnaire_id: str
    wave: str
    language: str
    context: Mapping = field(repr=False)
    figures: Mapping[str, bytes] = field(repr=False)

    def html(self) -> str:
        env = Environment(loader=PackageLoader("analysis", "templates"), autoescape=select_autoescape(["html"]))
        figures = {k: "data:image/png;base64," + base64.b64encode(v).decode("ascii") for k, v in self.figures.items()}
        return env.get_template("report.html").render(**self.context, fig=figures)

    def write_html(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.html(), encoding="utf-8")
        return path

    def write_pdf(self, path: str | Path, browser: str | None = None) -> Path:
        """Print the HTML page to PDF with headless Chromium (the same content, paginated)."""
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
        return path


def _records(frame: pd.DataFrame) -> list[dict]:
    return frame.replace({np.nan: None}).to_dict("records")


def _with_attributes(engine, questionnaire_id: str, wave: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The wave's answers joined with its invitation attributes (region, tier, ...)."""
    attributes = load_response_attributes(engine, questionnaire_id, wave)
    return frame.join(attributes.drop(columns=[c for c in attributes.columns if c in frame.columns]), how="left")


def analyse_wave_segments(engine, model, questionnaire, wave: str, frame: pd.DataFrame, previous: str | None,
                          previous_frame: pd.DataFrame | None, n_boot: int, n_perm: int, seed: int):
    """Index per segment (tier, region, ...) of ``wave`` with permutation MGA, and the
    headline's change per segment from ``previous``: (analyses, {variable: {segment: row}})."""
    questionnaire_id = questionnaire.id
    seg_data = _with_attributes(engine, questionnaire_id, wave, frame)
    previous_data = _with_attributes(engine, questionnaire_id, previous, previous_frame) if previous else None
    segments, segment_change = [], {}
    for variable in [c for c in seg_data.columns if c in SEGMENT_NAMES]:
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
    language = language if language in questionnaire.languages else questionnaire.default_language
    text = TEXT.get(language, TEXT["en"])
    names_map = CONSTRUCT_NAMES.get(language, {})
    cname = lambda c: names_map.get(c, c.replace("_", " "))  # noqa: E731
    model = questionnaire.csi_model()
    upto = [w for w in names if w <= wave or w == compare]
    stored = None
    if from_stored:
        from .stored import stored_report_inputs
        stored = stored_report_inputs(engine, questionnaire_id, wave, compare=compare, n_boot=n_boot, n_perm=n_perm,
                                      on_progress=say, questionnaire=questionnaire)
        trend, frames = stored.trend, stored.frames
        n_boot, n_perm, seed = stored.n_boot, stored.n_perm, stored.seed
    else:
        n_boot = 1000 if n_boot is None else n_boot
        n_perm = 1000 if n_perm is None else n_perm
        seed = 1 if seed is None else seed
        frames = {}
        for name in upto:
            say(f"loading wave {name}")
            frame = load_wave_frame(engine, questionnaire_id, name)
            if len(frame) >= minimum_sample(model):
                frames[name] = frame
            elif name == wave:
                raise ReportError(f"wave {wave!r} has {len(frame)} complete responses; a model with {len(model.items)} "
                                  "items needs more before it can be estimated")
        trend = wave_trend(model, frames, questionnaire=questionnaire, n_boot=n_boot, n_perm=n_perm, seed=seed,
                           compare={wave: compare} if compare else None, on_progress=say)
    results = trend.fits[wave]
    changes = trend.changes_for(wave)
    headline_rows = changes[changes["construct"] == HEADLINE]
    index_table = results.index_table
    figures = {}
    say("drawing figures")
    shown = [c for c in model.construct_names if c in set(trend.index_table["construct"])]
    figures["trend"] = png(trend_chart(trend, shown, cname, text["trend_title"]))
    figures["paths"] = png(results.plot_paths())
    drivers = {}
    for target in ("satisfaction", "loyalty"):
        if target in model.construct_names:
            table = ipma(results, target)
            if language == "zh-CN":
                table["action"] = table["quadrant"].map(ACTIONS_ZH).fillna(table["action"])
            drivers[target] = table
    if "satisfaction" in drivers:
        figures["ipma"] = png(ipma_chart(drivers["satisfaction"], "satisfaction", cname, text["ipma_labels"]))
    frame = frames[wave]
    say("segments")
    position = list(trend.waves).index(wave)
    previous = trend.waves[position - 1] if position else None
    if stored is not None:
        segments, segment_change = stored.segments, stored.segment_change
    else:
        segments, segment_change = analyse_wave_segments(engine, model, questionnaire, wave, frame, previous,
                                                         frames[previous] if previous else None, n_boot, n_perm, seed)
    for analysis in segments:
        if HEADLINE in set(analysis.index_table["construct"].dropna()):
            figures[f"segment_{analysis.variable}"] = png(segment_chart(analysis, HEADLINE, cname, text["segment_title"]))
    loyalty = None
    try:
        loyalty = satisfaction_loyalty(frame, questionnaire, language=language)
        figures["loyalty"] = png(loyalty_chart(loyalty, text["loyalty_labels"]))
    except KeyError:
        pass
    value = delivered_value(frame, questionnaire, results.respondent_index.get("satisfaction"))
    quality = results.quality.reset_index().rename(columns={"index": "construct"})
    context = {
        "t": text, "cname": cname, "lang": language, "questionnaire": questionnaire,
        "title": questionnaire.title.get(language), "wave": wave, "waves": list(trend.waves),
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "headline": index_table.set_index("construct").loc[HEADLINE].to_dict() if HEADLINE in set(index_table["construct"]) else None,
        "headline_changes": _records(headline_rows), "index_rows": _records(index_table),
        "changes": {(r["construct"], r["reference"]): r for r in _records(changes)},
        "references": list(dict.fromkeys(changes["reference"])), "relations": dict(zip(changes["reference"], changes["relation"])),
        "quality": _records(quality), "htmt": _records(results.htmt[results.htmt["flag"] != ""]) if not results.htmt.empty else [],
        "drivers": {k: _records(v) for k, v in drivers.items()},
        "priorities": priorities(drivers["satisfaction"]) if "satisfaction" in drivers else [],
        "previous": previous,
        "segments": [{"variable": s.variable, "rows": _records(s.index_table[s.index_table["construct"] == HEADLINE]),
                      "change": segment_change.get(s.variable, {}),
                      "mga": _records(s.mga[s.mga["significant"]]), "warnings": list(s.warnings)} for s in segments],
        "loyalty": loyalty, "loyalty_rows": _records(loyalty.curve) if loyalty else [],
        "measure_name": (lambda m: MEASURE_NAMES_ZH.get(m, m)) if language == "zh-CN" else (lambda m: m),
        "value": value, "value_rows": _records(value.table) if value is not None else [],
        "sizes": [{"wave": w, "n_total": f.n_total, "n_used": f.n_used, "dropped": dict(f.dropped)} for w, f in trend.fits.items()],
        "notes": list(trend.notes) + [n for n in results.notes if n not in trend.notes],
        "method": trend.method, "n_boot": n_boot, "n_perm": n_perm, "seed": seed, "scheme": results.scheme,
        "wave_seeds": stored.wave_seeds if stored is not None else {},
    }
    return Report(questionnaire_id, wave, language, context, figures)
