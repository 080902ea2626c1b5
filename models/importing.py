"""Responses collected by another tool (a CSV, Excel or SPSS file) entering a wave.

    >>> result = import_file(engine, "acsi-retail", "2026Q4", "fieldwork.sav")
    >>> result.stored, result.already_imported

Columns name question ids (or are renamed by a mapping file, :func:`load_mapping`);
a multiple-choice question comes as one column (``a;b`` or a JSON list, values or
labels) or as the export's 0/1 columns ``question__option``. Answers may be codes or
labels in any of the questionnaire's languages ("非常满意", "Very satisfied"); an SPSS
file's value labels are read the same way. Don't-know codes and labels become missing.

Every problem is collected before anything is stored, as ``FILE:ROW: column: message``
(ROW counts the header as row 1 in CSV and Excel files; in an SPSS file it is the case
number). The file is stored whole, in one transaction, or not at all, unless bad rows
are to be skipped (then they are reported as skipped).

A re-imported file adds nothing: every response carries an import key, the SHA-256 of
its respondent id (when the mapping names that column), else of its row's cells and
the number of identical rows before it (so two respondents who gave identical answers
stay two), and a wave refuses a key twice (``responses.import_key``).
"""
from __future__ import annotations

import csv
import hashlib
import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .answers import answer_type, is_missing
from .cells import MISSING
from .cells import cell_number as _number
from .cells import number_text as _number_text
from .cells import shown as _shown
from .errors import CSIError, Problem
from .exports import ATTRIBUTE_PREFIX, METADATA_COLUMNS
from .questionnaire import Question, Questionnaire
from .quotas import WAVE_QUOTA_ID
from .storage.bulk_insert import bulk_insert_responses
from .storage.quotas import QuotaOverrun, add_imported
from .storage.repository import find_wave
from .storage.tables import Response, QuestionnaireVersion
from .yaml_source import load_with_lines

IMPORT_FORMATS = (".csv", ".txt", ".xlsx", ".sav")
MAX_IMPORT_BYTES = 200 * 1024 * 1024  # CSI_IMPORT_MAX_BYTES overrides; 100,000 x 30 answers is about 7 MB of CSV
MAX_COLUMNS = 5_000
_ORIGIN_IMPORTED = "imported"


def max_import_bytes() -> int:
    return int(os.environ.get("CSI_IMPORT_MAX_BYTES", MAX_IMPORT_BYTES))


@dataclass(frozen=True, order=True)
class RowProblem:
    """One problem in an imported file: ``row`` as a spreadsheet numbers it (0: the whole file)."""

    file: str
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.row}" if self.row else self.file
        return f"{where}: {self.column}: {self.message}" if self.column else f"{where}: {self.message}"


class DataImportError(CSIError):
    """The file cannot be imported; ``problems`` lists every problem found (nothing was stored)."""

    def __init__(self, problems: list[RowProblem | Problem]):
        self.problems = sorted(problems, key=lambda p: (p.file, getattr(p, "row", 0) or getattr(p, "line", 0), str(p)))
        super().__init__("\n".join(str(p) for p in self.problems))


# --------------------------------------------------------------------------- mapping file

@dataclass(frozen=True)
class ImportMapping:
    """How a file's columns become answers (a YAML file, docs/data-import.md).

    ``columns``: file column -> question id; ``respondent_id``: the column that identifies
    a respondent (re-imports are recognised by it); ``dont_know``: codes that mean "don't
    know" in every rating column (besides each scale's own); ``labels``: question id ->
    {label: code} for labels the questionnaire does not have; ``ignore``: columns to
    leave out without a warning.
    """

    columns: Mapping[str, str] = field(default_factory=dict)
    respondent_id: str | None = None
    dont_know: tuple[float, ...] = ()
    labels: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    ignore: tuple[str, ...] = ()


_MAPPING_KEYS = {"columns", "respondent_id", "dont_know", "labels", "ignore"}


def load_mapping(path: str | Path, questionnaire: Questionnaire, name: str | None = None) -> ImportMapping:
    """Read and check a mapping file; raise :class:`DataImportError` with ``FILE:LINE`` problems
    (``name``: the file's name in them, when it was saved under another, e.g. an upload)."""
    path = Path(path)
    name = name or str(path)
    try:
        if path.stat().st_size > 2_000_000:
            raise DataImportError([Problem(name, 0, "", "a mapping file is at most 2 MB")])
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise DataImportError([Problem(name, 0, "", f"cannot read the mapping file: {exc.strerror or exc}")]) from None
    except UnicodeDecodeError:
        raise DataImportError([Problem(name, 0, "", "the mapping file is not UTF-8 text")]) from None
    raw, smap, problems = load_with_lines(text, name)
    if problems:
        raise DataImportError(problems)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise DataImportError([Problem(name, 1, "", "a mapping file is a mapping with columns:, respondent_id:, "
                                                    "dont_know:, labels:, ignore:")])
    out: list[Problem] = []

    def problem(keys: tuple, message: str) -> None:
        out.append(Problem(name, smap.line(keys), ".".join(str(k) for k in keys), message))

    for key in sorted(set(raw) - _MAPPING_KEYS):
        problem((key,), f"unknown field {key!r} (allowed: {', '.join(sorted(_MAPPING_KEYS))})")
    ids = {q.id for q in questionnaire.questions}
    columns = raw.get("columns") or {}
    if not isinstance(columns, dict):
        problem(("columns",), "expected a mapping of file column: question id")
        columns = {}
    for column, target in columns.items():
        if not isinstance(target, str) or target not in ids:
            problem(("columns", column), f"{target!r} is not a question of {questionnaire.id!r}")
    respondent = raw.get("respondent_id")
    if respondent is not None and not isinstance(respondent, (str, int)):
        problem(("respondent_id",), "expected the name of a column")
    dont_know = raw.get("dont_know") or []
    if not isinstance(dont_know, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                  for v in dont_know):
        problem(("dont_know",), "expected a list of numeric codes, e.g. [98, 99]")
        dont_know = []
    labels = raw.get("labels") or {}
    if not isinstance(labels, dict):
        problem(("labels",), "expected question id: {label: code}")
        labels = {}
    for qid, table in labels.items():
        if qid not in ids:
            problem(("labels", qid), f"{qid!r} is not a question of {questionnaire.id!r}")
        elif not isinstance(table, dict):
            problem(("labels", qid), "expected a mapping of label: code")
    ignore = raw.get("ignore") or []
    if not isinstance(ignore, list):
        problem(("ignore",), "expected a list of column names")
        ignore = []
    if out:
        raise DataImportError(out)
    return ImportMapping({str(k): v for k, v in columns.items()}, None if respondent is None else str(respondent),
                         tuple(float(v) for v in dont_know),
                         {q: {str(k): v for k, v in t.items()} for q, t in labels.items() if isinstance(t, dict)},
                         tuple(str(c) for c in ignore))


# --------------------------------------------------------------------------- reading files

@dataclass(frozen=True)
class SourceTable:
    """A file's cells: ``frame`` (object columns named by the header, empty cells None),
    ``rows`` (each row's number as reported), ``value_labels`` (SPSS: column -> {code:
    label}), ``encoding`` (how a CSV was decoded, for the report)."""

    name: str
    frame: pd.DataFrame
    rows: np.ndarray
    value_labels: Mapping[str, Mapping[Any, str]] = field(default_factory=dict)
    encoding: str | None = None


def read_table(path: str | Path, name: str | None = None) -> SourceTable:
    """Read a .csv, .xlsx or .sav file; raise :class:`DataImportError` for a file that
    cannot be read as one (too big, NUL bytes, unknown encoding, duplicate headers...)."""
    path = Path(path)
    name = name or path.name
    suffix = path.suffix.lower()
    if suffix not in IMPORT_FORMATS:
        _fail(name, f"cannot import {suffix or 'a file without an extension'}; give a .csv, .xlsx or .sav file")
    try:
        size = path.stat().st_size
    except OSError as exc:
        _fail(name, f"cannot read the file: {exc.strerror or exc}")
    limit = max_import_bytes()
    if size > limit:
        _fail(name, f"the file is {size / 1e6:.1f} MB; the limit is {limit / 1e6:.0f} MB "
                    "(split it, or raise CSI_IMPORT_MAX_BYTES)")
    if size == 0:
        _fail(name, "the file is empty")
    if suffix in (".csv", ".txt"):
        return _read_csv(path.read_bytes(), name)
    if suffix == ".xlsx":
        return _read_xlsx(path, name)
    return _read_sav(path, name)


def _fail(name: str, message: str, row: int = 0, column: str = ""):
    raise DataImportError([RowProblem(name, row, column, message)])


def decode_text(data: bytes, name: str) -> tuple[str, str]:
    """(text, encoding said in words): UTF-8 with or without BOM, UTF-16 with a BOM
    (Excel's "Unicode text"), then GB18030 (what Chinese Excel writes as "CSV")."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError:
            _fail(name, "the file starts like UTF-16 text but is not valid UTF-16")
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        _fail(name, "the file contains NUL bytes, so it is not a text CSV (is it a spreadsheet or a database file? "
                    "save it as 'CSV UTF-8')", row=line)
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "UTF-8 with BOM"
        except UnicodeDecodeError as exc:
            _fail(name, f"the file starts with a UTF-8 mark but is not valid UTF-8 (byte {exc.start + 3})",
                  row=data[: exc.start + 3].count(b"\n") + 1)
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    try:
        return data.decode("gb18030"), "GB18030 (Chinese Excel CSV)"
    except UnicodeDecodeError:
        _fail(name, f"the file is neither UTF-8 nor GB18030 text (first bad byte at offset {first_bad}); "
                    "save it as 'CSV UTF-8'", row=data[:first_bad].count(b"\n") + 1)


def _header(cells: list, name: str) -> list[str]:
    header = ["" if c is None else str(c).strip() for c in cells]
    problems = []
    if len(header) > MAX_COLUMNS:
        _fail(name, f"the file has {len(header)} columns; at most {MAX_COLUMNS} are read", row=1)
    seen: dict[str, int] = {}
    for position, column in enumerate(header, start=1):
        if not column:
            problems.append(RowProblem(name, 1, f"column {position}", "the header cell is empty; name the column"))
            continue
        if column in seen:
            problems.append(RowProblem(name, 1, column, f"the header repeats: columns {seen[column]} and {position} "
                                                        "have the same name"))
        seen.setdefault(column, position)
    if problems:
        raise DataImportError(problems)
    return header


def _read_csv(data: bytes, name: str) -> SourceTable:
    text, encoding = decode_text(data, name)
    first = text.split("\n", 1)[0]
    # Excel writes ";" where the decimal mark is ",", and tabs for "Unicode text".
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows, numbers, problems = [], [], []
    try:
        header = None
        for record in reader:
            if header is None:
                header = _header(record, name)
                continue
            if not "".join(record).strip():  # a blank row (one join: no generator per row)
                continue
            line = reader.line_num  # the line the record ends on (a quoted cell may span lines)
            if len(record) != len(header):
                problems.append(RowProblem(name, line, "", f"the row has {len(record)} cells; the header has {len(header)}"))
                continue
            rows.append([cell.strip() or None for cell in record])
            numbers.append(line)
    except csv.Error as exc:
        _fail(name, f"not a readable CSV: {exc}", row=reader.line_num)
    if header is None:
        _fail(name, "the file has no header row")
    if problems:
        raise DataImportError(problems)
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    return SourceTable(name, frame, np.asarray(numbers, dtype=np.int64), {}, encoding)


def _read_xlsx(path: Path, name: str) -> SourceTable:
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        _fail(name, f"not a readable Excel .xlsx workbook ({str(exc)[:120] or type(exc).__name__})")
    try:
        # The toolkit's own export has "responses" and "variables" sheets.
        sheet = book["responses"] if "responses" in book.sheetnames else book.worksheets[0]
        rows, numbers, header = [], [], None
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if header is None:
                if not any(v is not None and str(v).strip() for v in values):
                    continue
                while values and values[-1] is None:
                    values = values[:-1]
                header = _header(list(values), name)
                continue
            cells = list(values[: len(header)]) + [None] * (len(header) - len(values))
            cells = [c.strip() or None if isinstance(c, str) else c for c in cells]
            if all(c is None for c in cells):
                continue
            rows.append(cells)
            numbers.append(number)
    finally:
        book.close()
    if header is None:
        _fail(name, "the first sheet is empty")
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    return SourceTable(name, frame, np.asarray(numbers, dtype=np.int64))


def _read_sav(path: Path, name: str) -> SourceTable:
    import pyreadstat

    try:
        frame, meta = pyreadstat.read_sav(str(path), apply_value_formats=False)
    except Exception as exc:  # pyreadstat raises its own ReadstatError and plain exceptions for damaged files
        _fail(name, f"not a readable SPSS .sav file ({str(exc)[:120] or type(exc).__name__})")
    _header(list(frame.columns), name)
    # Plain Python cells, None where empty (pandas' string columns would turn None back into NaN).
    frame = pd.DataFrame({column: pd.Series([_plain_cell(v) for v in frame[column].tolist()], dtype=object)
                          for column in frame.columns})
    labels = {k: dict(v) for k, v in (meta.variable_value_labels or {}).items()}
    return SourceTable(name, frame, np.arange(1, len(frame) + 1, dtype=np.int64), labels)


def _plain_cell(value: Any) -> Any:
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        return value.strip() or None
    return value


# --------------------------------------------------------------------------- converting cells

# How a cell reads is the same for every type (models/cells.py); what it means is the
# question type's entry (models/answers.py: label_codes, read_cell).

class _Converter:
    """Cell value -> stored value (or MISSING), or an error message, for one question."""

    def __init__(self, question: Question, mapping: ImportMapping):
        self.q = question
        self.entry = answer_type(question)
        self.labels = self.entry.label_codes(question, mapping.labels.get(question.id, {}))
        # The mapping's don't-know codes, and the scale's own (its SPSS user-missing code).
        self.dont_know = set(mapping.dont_know).union(*self.entry.missing_values(question).values())

    def __call__(self, value: Any, spss_label: str | None = None) -> Any:
        """The stored value, MISSING, or raise ValueError(message)."""
        return self.entry.read_cell(self.q, value, self.labels, self.dont_know, spss_label)


@dataclass(frozen=True)
class ImportPlan:
    """What a file would store: ``answers`` (one row per good row, columns question ids,
    values as stored, None/NaN unanswered) with per-row ``languages``, ``statuses``,
    ``started``, ``completed``, ``keys``, ``rows`` (their numbers in the file);
    ``problems`` (rows left out), ``warnings`` (columns ignored...)."""

    answers: pd.DataFrame
    rows: np.ndarray
    keys: list[str]
    languages: list[str]
    statuses: list[str]
    started: list
    completed: list
    problems: tuple[RowProblem, ...]
    bad_rows: frozenset[int]
    warnings: tuple[str, ...]


def _row_keys(table: SourceTable, respondent: str | None) -> list[str]:
    frame = table.frame
    if respondent is not None:
        return [hashlib.sha256(f"id\x1f{_cell_text(v)}".encode("utf-8")).hexdigest() for v in frame[respondent]]
    if not len(frame.columns):
        return []
    # Each row's cells as text, joined; each column's distinct values are written once.
    content = ["\x1f".join(cells) for cells in zip(*(_column_texts(frame[column]) for column in frame.columns))]
    # The how-manieth identical row this is: two respondents who answered alike stay two.
    nth = pd.Series(content).groupby(content, sort=False).cumcount().to_numpy()
    return [hashlib.sha256(f"row\x1f{n}\x1f{c}".encode("utf-8")).hexdigest() for n, c in zip(nth.tolist(), content)]


def _column_texts(cells: pd.Series) -> list[str]:
    """``[_cell_text(v) for v in cells]``, converting each distinct value once. Only for
    columns of one kind: pandas' hashing takes True for 1, whose texts differ."""
    kind = pd.api.types.infer_dtype(cells, skipna=True)
    values = cells.to_numpy(dtype=object)
    if kind in ("string", "empty"):
        return np.where(pd.isna(values), "", values).tolist()
    if kind not in ("floating", "integer", "mixed-integer-float"):
        return [_cell_text(v) for v in values.tolist()]
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    texts = np.array([_cell_text(v) for v in uniques] + [""], dtype=object)
    return texts[codes].tolist()  # code -1 (empty or NaN) takes the last entry


def _cell_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (float, np.floating)):
        return _number_text(float(value))
    return str(value)


def plan_import(table: SourceTable, questionnaire: Questionnaire, mapping: ImportMapping | None = None) -> ImportPlan:
    """Check every cell of ``table`` against ``questionnaire``; nothing is stored here."""
    mapping = mapping or ImportMapping()
    name, frame = table.name, table.frame
    problems: list[RowProblem] = []
    warnings: list[str] = []
    by_id = {q.id: q for q in questionnaire.questions}
    split_columns = {column: (q, value) for q in questionnaire.questions
                     for column, value in answer_type(q).flag_columns(q).items()}
    for column in [*mapping.columns, *mapping.ignore, *([mapping.respondent_id] if mapping.respondent_id else [])]:
        if column not in frame.columns:
            problems.append(RowProblem(name, 1, column, "the mapping names this column, but the file has no such column"))
    if problems:
        raise DataImportError(problems)
    targets: dict[str, str] = {}      # question id -> file column
    splits: dict[str, dict[str, str]] = {}  # multiple-choice id -> {option value: file column}
    meta: dict[str, str] = {}
    for column in frame.columns:
        target = mapping.columns.get(column)
        if column in mapping.ignore or column == mapping.respondent_id:
            continue
        if target is None and column in by_id:
            target = column
        if target is not None:
            if target in targets:
                problems.append(RowProblem(name, 1, column, f"{targets[target]!r} already holds question {target!r}"))
            targets[target] = column
        elif column in split_columns:
            question, value = split_columns[column]
            splits.setdefault(question.id, {})[value] = column
        elif column in METADATA_COLUMNS or column == "response_id":
            meta[column] = column
        elif not column.startswith(ATTRIBUTE_PREFIX):
            warnings.append(f"{name}: column {column!r} is not a question of {questionnaire.id!r} and not in the "
                            "mapping; ignored")
        else:
            warnings.append(f"{name}: column {column!r} (an invitation attribute) is not imported")
    for qid in splits:
        if qid in targets:
            problems.append(RowProblem(name, 1, targets[qid], f"{qid!r} comes both as this column and as "
                                                              f"{qid}__option columns; keep one"))
    if not targets and not splits:
        problems.append(RowProblem(name, 1, "", f"no column names a question of {questionnaire.id!r} (its questions: "
                                                f"{', '.join(list(by_id)[:8])}{', ...' if len(by_id) > 8 else ''}); "
                                                "rename the columns or give a mapping file (--map)"))
    if problems:
        raise DataImportError(problems)

    n = len(frame)
    rows = table.rows
    bad = np.zeros(n, dtype=bool)
    answers: dict[str, np.ndarray] = {}

    def report(positions: Iterable[int], column: str, message: str) -> None:
        for position in positions:
            bad[position] = True
            problems.append(RowProblem(name, int(rows[position]), column, message))

    for qid, column in targets.items():
        convert = _Converter(by_id[qid], mapping)
        file_labels = table.value_labels.get(column, {})
        answers[qid] = _convert_column(frame[column], convert, file_labels, lambda p, m, c=column: report(p, c, m),
                                       numeric=answer_type(by_id[qid]).numeric)
    for qid, options in splits.items():
        question = by_id[qid]
        values = np.full(n, None, dtype=object)
        for value, column in options.items():
            flags = frame[column]
            for position, flag in enumerate(flags):
                if flag is None:
                    continue
                number = _number(flag)
                if number not in (0.0, 1.0):
                    report([position], column, f"{_shown(flag)} is not 0 or 1 (chosen or not)")
                    continue
                chosen = values[position] if values[position] is not None else []
                values[position] = chosen + [value] if number == 1.0 else chosen
        entry = answer_type(question)
        for position, chosen in enumerate(values):
            if chosen is None:
                continue
            try:  # the options chosen, as a cell listing them would be read
                result = entry.read_cell(question, chosen, {})
            except ValueError as exc:
                report([position], qid, str(exc))
                result = MISSING
            values[position] = None if result is MISSING else result
        answers[qid] = values

    languages = _meta_column(frame, meta.get("language"), questionnaire.default_language,
                             set(questionnaire.languages), "a language of the questionnaire", report)
    statuses = _meta_column(frame, meta.get("status"), "complete", {"complete", "partial"}, "complete or partial", report)
    started = _times(frame, meta.get("started_at"), report)
    completed = _times(frame, meta.get("submitted_at"), report)
    keys = _row_keys(table, mapping.respondent_id)
    if mapping.respondent_id is not None:
        first: dict[str, int] = {}
        for position, (key, value) in enumerate(zip(keys, frame[mapping.respondent_id])):
            if value is None:
                report([position], mapping.respondent_id, "the respondent id is empty")
            elif key in first:
                report([position], mapping.respondent_id,
                       f"respondent id {_shown(value)} is also on row {int(rows[first[key]])}")
            else:
                first[key] = position
    good = ~bad
    out = pd.DataFrame({qid: (values[good] if values.dtype != object else list(values[good]))
                        for qid, values in answers.items()})
    keep = np.flatnonzero(good)
    return ImportPlan(out, rows[good], [keys[i] for i in keep], [languages[i] for i in keep],
                      [statuses[i] for i in keep], [started[i] for i in keep], [completed[i] for i in keep],
                      tuple(sorted(problems)), frozenset(int(rows[i]) for i in np.flatnonzero(bad)), tuple(warnings))


def _convert_column(cells: pd.Series, convert: _Converter, file_labels: Mapping, report, numeric: bool) -> np.ndarray:
    """Convert each distinct cell value once (a column of 100,000 ratings has ten)."""
    # Cells are already plain (None where empty, text stripped); NaN counts as empty too.
    codes, uniques = pd.factorize(cells.to_numpy(dtype=object), use_na_sentinel=True)
    results, errors = [], {}
    for index, value in enumerate(uniques):
        label = file_labels.get(value) if file_labels and not isinstance(value, str) else None
        try:
            result = convert(value, label)
        except ValueError as exc:
            errors[index] = str(exc)
            result = MISSING
        results.append(result)
    if numeric:
        table = np.array([np.nan if r is MISSING else float(r) for r in results] + [np.nan], dtype=float)
    else:
        table = np.array([None if r is MISSING else r for r in results] + [None], dtype=object)
    out = table[codes]  # code -1 (an empty cell) takes the last entry: missing
    for index, message in errors.items():
        report(np.flatnonzero(codes == index), message)
    return out


def _meta_column(frame: pd.DataFrame, column: str | None, default: str, allowed: set[str], what: str, report) -> list[str]:
    if column is None:
        return [default] * len(frame)
    out = []
    for position, value in enumerate(frame[column]):
        if value is None:
            out.append(default)
        elif str(value) in allowed:
            out.append(str(value))
        else:
            report([position], column, f"{_shown(value)} is not {what} ({', '.join(sorted(allowed))})")
            out.append(default)
    return out


def _times(frame: pd.DataFrame, column: str | None, report) -> list:
    from .storage.tables import utcnow

    now = utcnow()
    if column is None:
        return [now] * len(frame)
    out = []
    for position, value in enumerate(frame[column]):
        if value is None:
            out.append(now)
            continue
        stamp = pd.to_datetime(value, utc=True, errors="coerce")
        if pd.isna(stamp):
            report([position], column, f"{_shown(value)} is not a date and time (e.g. 2026-12-01T15:04:05Z)")
            out.append(now)
        else:
            out.append(stamp.to_pydatetime())
    return out


# --------------------------------------------------------------------------- storing

@dataclass(frozen=True)
class ImportResult:
    """``stored`` responses added; ``already_imported`` rows whose key the wave had;
    ``skipped`` the problems of rows left out (with ``skip_bad_rows``)."""

    file: str
    rows_read: int
    stored: int
    already_imported: int
    skipped: tuple[RowProblem, ...]
    skipped_rows: int
    warnings: tuple[str, ...]
    encoding: str | None
    # Quotas (and the wave's cap) the imported completions took past their limit: stored
    # anyway, as answers already collected are facts, and said (models.storage.quotas).
    over_quota: tuple[QuotaOverrun, ...] = ()

    def summary(self) -> str:
        lines = [f"{self.file}: {self.rows_read} rows read"
                 + (f" ({self.encoding})" if self.encoding else "")
                 + f", {self.stored} responses imported"
                 + (f", {self.already_imported} already imported before (skipped)" if self.already_imported else "")
                 + (f", {self.skipped_rows} bad rows skipped" if self.skipped_rows else "")]
        lines += [f"{self.file}: {over} (imported responses are stored and counted even past a limit)"
                  for over in self.over_quota]
        return "\n".join(lines)


def import_table(engine: Engine, questionnaire_id: str, wave_name: str, table: SourceTable,
                 mapping_path: str | Path | None = None, skip_bad_rows: bool = False,
                 mapping_name: str | None = None) -> ImportResult:
    """Check ``table`` and store its rows as imported responses of the wave, all or none."""
    with Session(engine) as session:
        wave = find_wave(session, questionnaire_id, wave_name)
        survey = session.get(QuestionnaireVersion, wave.survey_id)
        session.expunge_all()
    from .storage.repository import stored_questionnaire
    questionnaire = stored_questionnaire(survey)
    mapping = load_mapping(mapping_path, questionnaire, mapping_name) if mapping_path is not None else None
    plan = plan_import(table, questionnaire, mapping)
    if plan.problems and not skip_bad_rows:
        raise DataImportError(list(plan.problems))
    with engine.connect() as connection:
        existing = set(connection.scalars(select(Response.import_key).where(
            Response.wave_id == wave.id, Response.import_key.is_not(None))))
    fresh = np.array([key not in existing for key in plan.keys], dtype=bool)
    over: list[QuotaOverrun] = []
    if fresh.any():
        positions = np.flatnonzero(fresh)
        answers = plan.answers.iloc[positions].reset_index(drop=True)
        pick = lambda values: [values[i] for i in positions]  # noqa: E731
        quota_added = imported_quota_counts(questionnaire, answers, pick(plan.statuses))
        limits = {quota.id: quota.limit for quota in questionnaire.quotas}
        if wave.max_completes is not None:
            quota_added[WAVE_QUOTA_ID] = pick(plan.statuses).count("complete")
            limits[WAVE_QUOTA_ID] = wave.max_completes
        # The one place imported answers reach the storage encoder: bulk_insert_responses.
        try:
            bulk_insert_responses(engine, survey, wave, answers, language=pick(plan.languages),
                                  status=pick(plan.statuses), started_at=pick(plan.started),
                                  completed_at=pick(plan.completed), origin=_ORIGIN_IMPORTED,
                                  import_keys=pick(plan.keys),
                                  then=lambda connection: over.extend(add_imported(connection, wave, quota_added,
                                                                                   limits)))
        except IntegrityError:
            # Another import into this wave stored some of the same rows meanwhile (the
            # unique key refused them); this transaction stored nothing.
            raise DataImportError([RowProblem(table.name, 0, "", "another import into this wave stored some of these "
                                                                 "rows at the same time; nothing of this file was "
                                                                 "stored: run the import again (rows already "
                                                                 "imported are skipped)")]) from None
    return ImportResult(table.name, len(table.frame), int(fresh.sum()), int((~fresh).sum()), plan.problems,
                        len(plan.bad_rows), plan.warnings, table.encoding, tuple(over))


def imported_quota_counts(questionnaire: Questionnaire, answers: pd.DataFrame, statuses: list[str]) -> dict[str, int]:
    """Quota id -> how many rows of ``answers`` (as :class:`ImportPlan` holds them) belong to
    it: complete rows (quotas count completions) whose answers, read as the survey's pages
    would store and read them, make the quota's ``when`` true. Imported rows carry no hidden
    values, so a condition on ``hidden.<id>`` reads them as unanswered.

    Each distinct combination of the columns the quotas read is decoded and evaluated once
    (a 100,000-row file has a few dozen)."""
    if not questionnaire.quotas:
        return {}
    read = sorted({name for quota in questionnaire.quotas for name in quota.when.names if name in answers.columns})
    complete = np.asarray(statuses, dtype=object) == "complete"
    if not read:
        combinations: dict[tuple, int] = {(): int(complete.sum())}
    else:
        keys = pd.DataFrame(index=range(int(complete.sum())))
        for name in read:
            column = answers[name][complete].reset_index(drop=True)
            if column.dtype == object:  # text, choices (lists): hashable, every kind of "no answer" None
                column = column.map(lambda cell: None if is_missing(cell) else tuple(cell) if isinstance(cell, list)
                                    else cell)
            keys[name] = column
        # Grouped by pandas (NaN and None kept as a group of their own): a Python step per
        # distinct combination, not per row.
        sizes = keys.groupby(read, dropna=False, sort=False).size()
        combinations = {(key,) if len(read) == 1 else key: int(size) for key, size in sizes.items()}
    out: dict[str, int] = {}
    for key, count in combinations.items():
        row = {}
        for name, cell in zip(read, key):
            if not is_missing(cell):
                question = questionnaire.question(name)
                entry = answer_type(question)
                value = entry.coerce(question, list(cell) if isinstance(cell, tuple) else cell)
                row[name] = entry.decode(question, *entry.encode(question, value))
        for quota in questionnaire.quotas:
            if quota.applies(row):
                out[quota.id] = out.get(quota.id, 0) + count
    return out


def import_file(engine: Engine, questionnaire_id: str, wave_name: str, path: str | Path,
                mapping_path: str | Path | None = None, skip_bad_rows: bool = False,
                name: str | None = None, mapping_name: str | None = None) -> ImportResult:
    """Read ``path`` (.csv, .xlsx, .sav) and import it (:func:`import_table`)."""
    return import_table(engine, questionnaire_id, wave_name, read_table(path, name), mapping_path, skip_bad_rows,
                        mapping_name)
