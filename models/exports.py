"""Exporting a wave's responses: CSV, Excel and SPSS ``.sav``, wide or long.

Wide: one row per complete response, one column per question (multiple choice split
into 0/1 columns ``question__option``). Long: one row per answer (response_id,
question_id, value). The ``.sav`` file carries the questionnaire's texts as variable
labels and its scale and option labels as value labels.

Every CSV and spreadsheet the toolkit writes goes through :func:`neutralize` (OWASP's
CSV-injection rule): a respondent's ``=HYPERLINK(...)`` must reach the analyst as text,
never as a live formula. The ``.sav`` file and the JSON API keep answers verbatim (no
program evaluates them).
"""
from __future__ import annotations

import io
import json
import math
import os
import re
import tempfile
from typing import Any, Iterable

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from .answers import answer_type
from .errors import CSIError
from .questionnaire import Questionnaire
from .storage.repository import find_wave, load_wave_frame
from .storage.tables import Invitation, Response, QuestionnaireVersion

EXPORT_FORMATS = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                  "sav": "application/x-spss-sav"}

# A spreadsheet reads a cell starting with one of these as a formula (tab and CR too:
# some programs strip them first). OWASP, "CSV Injection".
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
# Characters XML 1.0 (and so an .xlsx file) cannot hold; openpyxl refuses them.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def neutralize(value: Any) -> Any:
    """``value`` safe for a spreadsheet cell: text that a spreadsheet would run as a
    formula gets a leading single quote (shown, never evaluated); numbers, and text that
    is a plain number such as ``-5``, are returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def neutralize_row(values: Iterable[Any]) -> list[Any]:
    """One row of cells through :func:`neutralize` (for ``csv.writer``)."""
    return [neutralize(v) for v in values]


def neutralize_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell, column name and index name neutralized;
    numeric columns keep their dtype."""
    out = frame.copy()
    for column in out.columns:
        if not pd.api.types.is_numeric_dtype(out[column]):
            out[column] = out[column].astype(object).map(neutralize)
    out.columns = [neutralize(c) for c in out.columns]
    out.index = out.index.map(neutralize) if not pd.api.types.is_numeric_dtype(out.index) else out.index
    out.index.names = [neutralize(n) for n in out.index.names]
    return out


def _xlsx_cell_value(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (np.integer, np.floating)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (int, float, bool)):
        return value
    return _XML_ILLEGAL.sub("\ufffd", str(neutralize(value)))


def xlsx_bytes(sheets: dict[str, pd.DataFrame], index: dict[str, bool] | None = None) -> bytes:
    """An .xlsx workbook with one sheet per frame; text is always written as a string
    cell (never a formula: openpyxl would otherwise store any text starting with "=" as
    one) and neutralized as in CSV, numbers as numbers."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    for name, frame in sheets.items():
        sheet = book.create_sheet(title=name)
        with_index = (index or {}).get(name, False)
        header = ([frame.index.name or ""] if with_index else []) + [str(c) for c in frame.columns]
        rows = frame.itertuples(index=with_index, name=None)
        for values in ([header], rows):
            for row in values:
                cells = []
                for value in row:
                    cell = WriteOnlyCell(sheet, value=_xlsx_cell_value(value))
                    if isinstance(cell.value, str):
                        cell.data_type = "s"
                    cells.append(cell)
                sheet.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# SPSS variable names: a letter first, then letters, digits, "_", ".", "@", "#", "$";
# at most 64 bytes; not ending in "."; not a reserved word; unique ignoring case.
SPSS_NAME_BYTES = 64
SPSS_RESERVED = frozenset({"ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO", "WITH"})
_SPSS_VALID = re.compile(r"[A-Za-z][A-Za-z0-9_.@#$]*")


def _spss_valid(name: str) -> bool:
    return (len(name) <= SPSS_NAME_BYTES and bool(_SPSS_VALID.fullmatch(name)) and not name.endswith(".")
            and name.upper() not in SPSS_RESERVED)


def spss_names(columns: Iterable[str]) -> dict[str, str]:
    """A valid, unique SPSS variable name for each column, the same for the same columns.

    Names already valid are kept (they are claimed first, so a renamed column never takes
    one); others get their invalid characters replaced by "_", a leading "v" when they do
    not start with a letter, and are cut to 64 bytes, with "_2", "_3", ... on a clash.
    """
    columns = [str(c) for c in columns]
    out: dict[str, str] = {}
    taken: set[str] = set()
    for column in columns:
        if _spss_valid(column) and column.upper() not in taken:
            out[column] = column
            taken.add(column.upper())
    for column in columns:
        if column in out:
            continue
        base = re.sub(r"[^A-Za-z0-9_.@#$]", "_", column)
        if not base[:1].isalpha():
            base = "v" + base
        base = base[:SPSS_NAME_BYTES].rstrip(".") or "v"
        if base.upper() in SPSS_RESERVED:
            base += "_"
        name, n = base, 1
        while name.upper() in taken:
            n += 1
            suffix = f"_{n}"
            name = base[:SPSS_NAME_BYTES - len(suffix)].rstrip(".") + suffix
        out[column] = name
        taken.add(name.upper())
    return out


def wide_frame(engine: Engine, questionnaire: Questionnaire, wave: str,
               statuses: tuple[str, ...] = ("complete",)) -> pd.DataFrame:
    """The answers of a wave's responses with one of ``statuses``: one row per response
    (index ``response_id``, sorted), one column per question (multiple choice split into
    0/1 columns ``question__option``); NaN or None where unanswered."""
    parts = [load_wave_frame(engine, questionnaire.id, wave, status=status) for status in statuses]
    frame = pd.concat(parts).sort_index() if len(parts) > 1 else parts[0]
    out = pd.DataFrame(index=frame.index)
    for q in questionnaire.questions:
        column = frame[q.id] if q.id in frame else pd.Series(np.nan, index=frame.index)
        for name, values in answer_type(q).export(q, column).items():
            out[name] = values
    return out


class ExportError(CSIError):
    """An export the request cannot produce (unknown language...)."""


# The columns every wide export starts with, in this order (docs/exports.md describes each).
# "origin": "web" (answered on the survey's pages) or "imported" (csi import, models.importing).
# "display_order": what a response was shown in an order of its own (randomize: true, blocks), as
# compact JSON {key: [ids in order]} (models/randomization.py); empty when nothing was.
METADATA_COLUMNS = ("status", "origin", "language", "questionnaire_version", "questionnaire_hash",
                    "started_at", "submitted_at", "duration_seconds", "display_order")
ATTRIBUTE_PREFIX = "attr_"
HIDDEN_PREFIX = "hidden."  # one column per hidden field, as expressions name it (models.hidden)
EXPORT_STATUSES = ("complete", "partial")
_METADATA_LABELS = {
    "en": {"response_id": "Response id", "status": "Status (complete or partial)", "origin": "Origin (web or imported)",
           "language": "Language answered in", "questionnaire_version": "Questionnaire version",
           "questionnaire_hash": "Questionnaire content hash (SHA-256)", "started_at": "Started (UTC)",
           "submitted_at": "Submitted (UTC)", "duration_seconds": "Duration from start to submission (seconds)",
           "attribute": "Invitation attribute", "hidden": "Hidden field (from the link)",
           "display_order": "Order shown (JSON: randomized options, matrix rows, page questions, pages of blocks)"},
    "zh-CN": {"response_id": "答卷编号", "status": "状态（完成或未完成）", "origin": "来源（网页或导入）",
              "language": "作答语言", "questionnaire_version": "问卷版本", "questionnaire_hash": "问卷内容哈希（SHA-256）",
              "started_at": "开始时间（UTC）", "submitted_at": "提交时间（UTC）",
              "duration_seconds": "从开始到提交的时长（秒）", "attribute": "邀请属性",
              "hidden": "隐藏字段（来自链接）",
              "display_order": "呈现顺序（JSON：随机排列的选项、矩阵行、页面题目、区块中的页面）"},
}


def _utc(moment) -> pd.Timestamp | None:
    if moment is None:
        return None
    stamp = pd.Timestamp(moment)
    # SQLite hands back naive datetimes; every stored time is UTC.
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def response_metadata(engine: Engine, questionnaire_id: str, wave: str,
                      statuses: tuple[str, ...] = ("complete",), hidden_ids: tuple[str, ...] = ()) -> pd.DataFrame:
    """One row per response with one of ``statuses`` (index ``response_id``, sorted):
    the :data:`METADATA_COLUMNS` (times as timezone-aware UTC timestamps, duration in
    seconds, NaN/NaT while a response is partial), one ``attr_<name>`` column per
    invitation attribute (None for public-link responses) and one ``hidden.<id>`` column
    per hidden field: each of ``hidden_ids`` (the declared ones, even when no response has
    a value), then any other stored (None where the link carried none)."""
    with Session(engine) as session:
        found = find_wave(session, questionnaire_id, wave)
        rows = session.execute(
            select(Response.id, Response.status, Response.origin, Response.language, QuestionnaireVersion.version, QuestionnaireVersion.content_hash,
                   Response.started_at, Response.completed_at, Invitation.attributes, Response.hidden,
                   Response.display_order)
            .join(QuestionnaireVersion, QuestionnaireVersion.id == Response.survey_id)
            .outerjoin(Invitation, Invitation.id == Response.invitation_id)
            .where(Response.wave_id == found.id, Response.status.in_(statuses))
            .order_by(Response.id)).all()
    keys: dict[str, None] = {}
    hidden_keys: dict[str, None] = dict.fromkeys(hidden_ids)
    for row in rows:
        keys.update(dict.fromkeys(str(k) for k in (row.attributes or {})))
        hidden_keys.update(dict.fromkeys(str(k) for k in (row.hidden or {})))
    records = []
    for row in rows:
        started, submitted = _utc(row.started_at), _utc(row.completed_at)
        record = {"response_id": row.id, "status": row.status, "origin": row.origin or "web", "language": row.language,
                  "questionnaire_version": row.version, "questionnaire_hash": row.content_hash,
                  "started_at": started, "submitted_at": submitted,
                  "duration_seconds": (submitted - started).total_seconds() if submitted is not None else np.nan,
                  "display_order": json.dumps(row.display_order, ensure_ascii=False, sort_keys=True,
                                              separators=(",", ":")) if row.display_order else None}
        attributes = row.attributes or {}
        for key in keys:
            value = attributes.get(key)
            record[ATTRIBUTE_PREFIX + key] = None if value is None or value == "" else str(value)
        hidden = row.hidden or {}
        for key in hidden_keys:
            record[HIDDEN_PREFIX + key] = hidden.get(key)
        records.append(record)
    columns = ["response_id", *METADATA_COLUMNS, *(ATTRIBUTE_PREFIX + k for k in keys),
               *(HIDDEN_PREFIX + k for k in hidden_keys)]
    frame = pd.DataFrame.from_records(records, columns=columns).set_index("response_id")
    for column in ("started_at", "submitted_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame["duration_seconds"] = frame["duration_seconds"].astype(float)
    return frame


def export_frame(engine: Engine, questionnaire: Questionnaire, wave: str, include_partial: bool = False) -> pd.DataFrame:
    """The wide export: :func:`response_metadata` then the answers of :func:`wide_frame`.

    A metadata or attribute column whose name a question id already takes gets a
    ``meta_`` prefix (the question keeps its id)."""
    statuses = EXPORT_STATUSES if include_partial else ("complete",)
    answers = wide_frame(engine, questionnaire, wave, statuses)
    meta = response_metadata(engine, questionnaire.id, wave, statuses,
                             hidden_ids=tuple(f.id for f in getattr(questionnaire, "hidden", ())))
    taken = {c.upper() for c in answers.columns}
    renamed = {}
    for column in meta.columns:
        name = column
        while name.upper() in taken:
            name = "meta_" + name
        taken.add(name.upper())
        renamed[column] = name
    return meta.rename(columns=renamed).join(answers)


def long_frame(wide: pd.DataFrame) -> pd.DataFrame:
    long = wide.reset_index().melt(id_vars="response_id", var_name="question_id", value_name="value")
    return long.dropna(subset=["value"]).sort_values(["response_id", "question_id"]).reset_index(drop=True)


def labels(questionnaire: Questionnaire, columns, language: str | None = None) -> tuple[dict, dict]:
    """(variable labels, value labels) for the columns of :func:`wide_frame` and
    :func:`response_metadata`, in ``language`` (the questionnaire's default if None)."""
    variable, values = {}, {}
    for q in questionnaire.questions:
        entry = answer_type(q)
        variable.update(entry.variable_labels(q, language))
        values.update(entry.value_labels(q, language))
    columns = list(columns)
    keep = set(columns)
    words = _METADATA_LABELS.get(language or questionnaire.default_language, _METADATA_LABELS["en"])
    for column in columns:
        if column in variable:
            continue
        base = column
        while base.startswith("meta_") and base not in _METADATA_LABELS["en"]:
            base = base[len("meta_"):]
        if base in words:
            variable[column] = words[base]
        elif base.startswith(ATTRIBUTE_PREFIX):
            variable[column] = f"{words['attribute']}: {base[len(ATTRIBUTE_PREFIX):]}"[:250]
        elif base.startswith(HIDDEN_PREFIX):
            variable[column] = f"{words['hidden']}: {base[len(HIDDEN_PREFIX):]}"[:250]
    # In the order of ``columns`` (the Excel variables sheet lists them so).
    return ({k: variable[k] for k in columns if k in variable}, {k: v for k, v in values.items() if k in keep})


def spss_measures(questionnaire: Questionnaire, columns) -> dict[str, str]:
    """SPSS measurement level of each column: ordinal for ratings, nominal for choices
    (and their 0/1 columns), text, codes and attributes, scale for numbers, times and
    durations."""
    levels: dict[str, str] = {}
    for q in questionnaire.questions:
        levels.update(answer_type(q).measures(q))
    out = {}
    for column in columns:
        base = column
        while base not in levels and base.startswith("meta_"):
            base = base[len("meta_"):]
        if column in levels:
            out[column] = levels[column]
        elif base in ("started_at", "submitted_at", "duration_seconds"):
            out[column] = "scale"
        else:
            out[column] = "nominal"
    return out


def spss_missing(questionnaire: Questionnaire, columns) -> dict[str, list[float]]:
    """User-missing values: each rating's "don't know" code, so SPSS and PSPP leave it
    out of every statistic while keeping it (and its label) in the data."""
    out = {}
    keep = set(columns)
    for q in questionnaire.questions:
        out.update({k: v for k, v in answer_type(q).missing_values(q).items() if k in keep})
    return out


def _check_language(questionnaire: Questionnaire, language: str | None) -> None:
    if language is not None and language not in questionnaire.languages:
        raise ExportError(f"questionnaire {questionnaire.id!r} has no language {language[:40]!r}; "
                          f"its languages: {', '.join(questionnaire.languages)}")


def _text_times(frame: pd.DataFrame) -> pd.DataFrame:
    """Timestamps as ISO 8601 UTC text ("2026-12-01T15:04:05Z") for CSV and Excel."""
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.DatetimeTZDtype):
            out[column] = out[column].map(lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ") if not pd.isna(t) else None)
    return out


def _whole_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """Whole-valued numbers as integers for CSV ("7", a multiple choice's "1"/"0", as the
    documentation and the Excel file have them, not pandas' "7.0"); other numbers and missing
    values unchanged. A float column whose values are all whole becomes nullable Int64; a
    mixed one (or a text column holding numbers, the long layout's ``value``) per cell."""
    import numpy as np

    out = frame.copy()

    def cell(value):
        if isinstance(value, (float, np.floating)) and np.isfinite(value) and float(value).is_integer():
            return int(value)
        return value

    for column in out.columns:
        series = out[column]
        if pd.api.types.is_float_dtype(series.dtype):
            values = series.to_numpy(dtype=float, na_value=np.nan)
            present = values[~np.isnan(values)]
            if np.isfinite(present).all() and (present == np.floor(present)).all() \
                    and (np.abs(present) < 2 ** 53).all():
                out[column] = series.astype("Int64")
            else:  # (Series.map would turn the mix back into floats)
                out[column] = pd.Series([cell(v) for v in series.astype(object)], index=series.index, dtype=object)
        elif series.dtype == object:
            out[column] = pd.Series([cell(v) for v in series], index=series.index, dtype=object)
    return out


def export_wave(engine: Engine, questionnaire: Questionnaire, wave: str, fmt: str = "csv", layout: str = "wide",
                language: str | None = None, include_partial: bool = False) -> tuple[bytes, str]:
    """The file's bytes and its MIME type.

    ``include_partial`` adds the responses not (yet) submitted; the ``status`` column
    tells them apart (the long layout gets a ``status`` column then). ``language``
    chooses the labels (variable and value labels of the .sav, the Excel variables sheet).
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    _check_language(questionnaire, language)
    if layout == "wide":
        frame = export_frame(engine, questionnaire, wave, include_partial)
        wide = frame
    else:
        statuses = EXPORT_STATUSES if include_partial else ("complete",)
        wide = wide_frame(engine, questionnaire, wave, statuses)
        frame = long_frame(wide)
        if include_partial:
            status = response_metadata(engine, questionnaire.id, wave, statuses)["status"]
            frame.insert(1, "status", frame["response_id"].map(status))
    if fmt == "csv":
        # CRLF rows (RFC 4180): with pandas' default "\n" a cell holding a bare "\r" is left
        # unquoted and a spreadsheet starts a new row there, so "x\r=1+1" would smuggle a
        # formula cell past neutralize().
        text = _whole_numbers(neutralize_frame(_text_times(frame))).to_csv(index=layout == "wide", lineterminator="\r\n")
        return text.encode("utf-8-sig"), EXPORT_FORMATS[fmt]
    if fmt == "xlsx":
        variable, _ = labels(questionnaire, ["response_id", *wide.columns], language)
        variables = pd.DataFrame({"variable": list(variable), "label": list(variable.values())})
        return (xlsx_bytes({"responses": _text_times(frame), "variables": variables},
                           index={"responses": layout == "wide"}), EXPORT_FORMATS[fmt])
    import pyreadstat
    out = frame.reset_index() if layout == "wide" else frame.copy()
    missing: dict[str, list[float]] = {}
    if layout == "long":
        out["value"] = out["value"].astype(str)
        variable, value_labels = {"response_id": "response", "question_id": "question", "value": "answer"}, {}
        measures = {c: "nominal" for c in out.columns}
    else:
        variable, value_labels = labels(questionnaire, out.columns, language)
        measures = spss_measures(questionnaire, out.columns)
        missing = spss_missing(questionnaire, out.columns)
        # SPSS has no time zone: the times are written as UTC wall-clock datetimes.
        for column in out.columns:
            if isinstance(out[column].dtype, pd.DatetimeTZDtype):
                out[column] = out[column].dt.tz_convert("UTC").dt.tz_localize(None)
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].fillna("").astype(str)
    # Question ids and option values may not be valid SPSS names (a "-", a space, over 64
    # bytes once "__option" is added): rename, and keep the original id in the label.
    names = spss_names(out.columns)
    for original, name in names.items():
        if name != original:
            text = variable.get(original)
            variable[original] = f"{original}: {text}" if text else original
    variable = {names[k]: v for k, v in variable.items() if k in names}
    value_labels = {names[k]: v for k, v in value_labels.items() if k in names}
    measures = {names[k]: v for k, v in measures.items() if k in names}
    missing = {names[k]: v for k, v in missing.items() if k in names}
    out = out.rename(columns=names)
    handle, path = tempfile.mkstemp(suffix=".sav")
    os.close(handle)
    try:
        pyreadstat.write_sav(out, path, column_labels=variable, variable_value_labels=value_labels,
                             variable_measure=measures, missing_ranges=missing)
        with open(path, "rb") as f:
            return f.read(), EXPORT_FORMATS[fmt]
    finally:
        os.unlink(path)
