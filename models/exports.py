"""Exporting a wave's responses: CSV, Excel and SPSS ``.sav``, wide or long.

Wide: one row per complete response, one column per question (multiple choice split
into 0/1 columns ``question__option``). Long: one row per answer (response_id,
question_id, value). The ``.sav`` file carries the questionnaire's texts as variable
labels and its scale and option labels as value labels.
"""
from __future__ import annotations

import io
import json
import os
import tempfile

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from .questionnaire import Questionnaire
from .storage.repository import load_wave_frame

EXPORT_FORMATS = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                  "sav": "application/x-spss-sav"}


def wide_frame(engine: Engine, questionnaire: Questionnaire, wave: str) -> pd.DataFrame:
    frame = load_wave_frame(engine, questionnaire.id, wave)
    out = pd.DataFrame(index=frame.index)
    for q in questionnaire.questions:
        column = frame[q.id] if q.id in frame else pd.Series(np.nan, index=frame.index)
        if q.type == "multiple_choice":
            picked = column.map(lambda v: set(json.loads(v)) if isinstance(v, str) else set())
            for option in q.options:
                out[f"{q.id}__{option.value}"] = picked.map(lambda s, v=str(option.value): float(v in s))
                out.loc[column.isna(), f"{q.id}__{option.value}"] = np.nan
        elif q.type in ("rating", "number"):
            out[q.id] = pd.to_numeric(column, errors="coerce")
        else:
            out[q.id] = column.astype(object).where(column.notna(), None)
    return out


def long_frame(wide: pd.DataFrame) -> pd.DataFrame:
    long = wide.reset_index().melt(id_vars="response_id", var_name="question_id", value_name="value")
    return long.dropna(subset=["value"]).sort_values(["response_id", "question_id"]).reset_index(drop=True)


def labels(questionnaire: Questionnaire, columns, language: str | None = None) -> tuple[dict, dict]:
    """(variable labels, value labels) for the columns of :func:`wide_frame`."""
    variable, values = {}, {}
    for q in questionnaire.questions:
        text = q.text.get(language)
        if q.type == "multiple_choice":
            for option in q.options:
                name = f"{q.id}__{option.value}"
                variable[name] = f"{text} [{option.label.get(language)}]"[:250]
                values[name] = {0.0: "not chosen", 1.0: "chosen"}
            continue
        variable[q.id] = text[:250]
        if q.type == "rating":
            scale = {float(k): v.get(language) for k, v in q.scale.labels.items()}
            if q.scale.dont_know_code is not None and q.scale.dont_know_label is not None:
                scale[float(q.scale.dont_know_code)] = q.scale.dont_know_label.get(language)
            if scale:
                values[q.id] = scale
        elif q.type == "single_choice":
            values[q.id] = {str(o.value): o.label.get(language) for o in q.options}
    keep = set(columns)
    return ({k: v for k, v in variable.items() if k in keep}, {k: v for k, v in values.items() if k in keep})


def export_wave(engine: Engine, questionnaire: Questionnaire, wave: str, fmt: str = "csv", layout: str = "wide",
                language: str | None = None) -> tuple[bytes, str]:
    """The file's bytes and its MIME type."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    wide = wide_frame(engine, questionnaire, wave)
    frame = wide if layout == "wide" else long_frame(wide)
    if fmt == "csv":
        return frame.to_csv(index=layout == "wide").encode("utf-8-sig"), EXPORT_FORMATS[fmt]
    if fmt == "xlsx":
        buffer = io.BytesIO()
        with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
            frame.to_excel(writer, sheet_name="responses", index=layout == "wide")
            variable, _ = labels(questionnaire, wide.columns, language)
            pd.DataFrame({"variable": list(variable), "label": list(variable.values())}).to_excel(
                writer, sheet_name="variables", index=False)
        return buffer.getvalue(), EXPORT_FORMATS[fmt]
    import pyreadstat
    out = frame.reset_index() if layout == "wide" else frame.copy()
    if layout == "long":
        out["value"] = out["value"].astype(str)
        variable, value_labels = {"response_id": "response", "question_id": "question", "value": "answer"}, {}
    else:
        variable, value_labels = labels(questionnaire, out.columns, language)
        variable["response_id"] = "response id"
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].fillna("").astype(str)
    handle, path = tempfile.mkstemp(suffix=".sav")
    os.close(handle)
    try:
        pyreadstat.write_sav(out, path, column_labels=variable, variable_value_labels=value_labels)
        with open(path, "rb") as f:
            return f.read(), EXPORT_FORMATS[fmt]
    finally:
        os.unlink(path)
