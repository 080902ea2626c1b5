"""Questionnaires from a spreadsheet: an XLSForm-style workbook to the YAML format.

XLSForm (https://xlsform.org) is the spreadsheet format of ODK, KoboToolbox and SurveyCTO,
and what many researchers already write questionnaires in. The workbook's sheets:

- ``survey``: one row per question or group, columns ``type``, ``name``, ``label`` (or
  ``label::en``, ``label::zh-CN``, ``label::English (en)``), ``hint::…``, ``required``,
  ``relevant``, ``constraint``, ``appearance``, and two columns of our own: ``construct``
  (the construct the item measures) and ``reverse`` (a reverse-worded item);
- ``choices``: ``list_name``, ``name``, ``label::…``;
- ``settings`` (optional): ``form_id``, ``form_title`` (or ``title::…``), ``version``,
  ``default_language``;
- ``hidden`` (optional, ours): ``name``, ``values``, ``pattern``, ``signed``, ``segment``.

What maps to what:

============================  ===========================================================
XLSForm                       questionnaire
============================  ===========================================================
``begin group`` / ``end``     a page (the group's label is its title); questions outside
                              any group form pages of their own run
``select_one L``              ``rating`` when L's names are consecutive integers (at least
                              3; one extra integer code outside the run, e.g. 99, is the
                              scale's don't-know), else ``single_choice``
``range`` (``start``/``end``) ``rating`` on that scale
``select_multiple L``         ``multiple_choice``
``text``                      ``text`` (``appearance: multiline`` kept)
``integer`` / ``decimal``     ``number`` (``constraint`` ``. >= a and . <= b`` gives min/max)
``relevant``                  ``show_if``: ``${q}`` → ``q``, ``=`` → ``==``,
                              ``selected(${q}, 'v')`` → ``'v' in q``
``begin group`` with          a ``matrix`` (the group's name, label, hint, relevant); its
``appearance: table-list``    rows are ``select_one L`` of one rating list L; inside a
(or ``begin matrix`` /        group it is a matrix on that page, else a page of its own
``end matrix``; or ODK's
``label`` row and its
``list-nolabel`` rows)
``hidden`` (or sheet          a hidden field (``values=a,b`` in ``parameters``, or
``hidden``)                   ``constraint: regex(., 'pattern')``)
``${name}`` in labels, hints  piping: ``{name}`` (``{hidden.name}`` for a hidden field)
``randomize=true`` in         ``randomize: true`` on a choice question (its options), a
``parameters``                matrix (its rows) or a group (its questions)
``note``, metadata types      skipped, with a warning (no question is stored for them)
============================  ===========================================================

Everything the converter does not understand is an error naming the sheet, the row (as
Excel numbers it) and the column; every error of the workbook is reported at once. The
YAML produced is then checked by the questionnaire loader itself, and its problems are
mapped back to the survey row that caused them.

Written by hand because no maintained library converts XLSForm to anything but ODK's XML
(pyxform), whose model (XPath, bindings) is not this format's.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import CSIError, QuestionnaireError

MAX_ROWS = 5000
_METADATA = {"start", "end", "today", "deviceid", "phonenumber", "username", "email", "audit", "simserial",
             "subscriberid", "calculate", "start-geopoint", "background-audio"}
_PIPE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_REGEX = re.compile(r"""^\s*regex\(\s*\.\s*,\s*(?:'(?P<single>[^']*)'|"(?P<double>[^"]*)")\s*\)\s*$""")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LANGUAGE = re.compile(r"^(?:.*\((?P<code>[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)\)|(?P<plain>[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*))$")
_BOUND = re.compile(r"^\s*\.\s*(?P<op>>=|<=|>|<)\s*(?P<value>-?\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True)
class SheetProblem:
    """One problem in a workbook: ``row`` as Excel numbers it (the header is row 1)."""
    file: str
    sheet: str
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"{self.sheet}!{self.row}" if self.row else self.sheet
        return f"{self.file}: {where}" + (f" ({self.column})" if self.column else "") + f": {self.message}"


class ConversionError(CSIError):
    """The workbook cannot be converted; ``problems`` lists every problem found."""

    def __init__(self, problems: list[SheetProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class Conversion:
    """What :func:`convert_workbook` returns: the YAML text, the same as data, and warnings
    (rows skipped, choices assumed)."""
    yaml_text: str
    document: dict
    warnings: tuple[str, ...] = field(default=())


def _language(header: str) -> str | None:
    """``label::zh-CN`` → ``zh-CN``; ``label::Chinese (zh-CN)`` → ``zh-CN``."""
    match = _LANGUAGE.match(header.strip())
    if not match:
        return None
    return match.group("code") or match.group("plain")


class _Sheet:
    """A sheet as header-keyed rows, with Excel row numbers kept for messages."""

    def __init__(self, file: str, name: str, worksheet, problems: list[SheetProblem]):
        self.file, self.name, self.problems = file, name, problems
        rows = worksheet.iter_rows(values_only=True)
        header = next(rows, None) or ()
        self.columns = [str(h).strip() if h is not None else "" for h in header]
        seen = set()
        for column in self.columns:
            if column and column in seen:
                self.problem(1, column, "this column appears twice in the header")
            seen.add(column)
        self.rows: list[tuple[int, dict[str, Any]]] = []
        for number, values in enumerate(rows, start=2):
            if number > MAX_ROWS + 1:
                self.problem(number, "", f"more than {MAX_ROWS} rows; split the questionnaire")
                break
            cells = {c: v for c, v in zip(self.columns, values) if c}
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in cells.values()):
                continue
            self.rows.append((number, cells))

    def problem(self, row: int, column: str, message: str) -> None:
        self.problems.append(SheetProblem(self.file, self.name, row, column, message))

    def text(self, row: int, cells: dict, column: str) -> str:
        value = cells.get(column)
        if value is None:
            return ""
        if isinstance(value, str):
            if "\0" in value:
                self.problem(row, column, "contains a NUL character")
                return ""
            if value.startswith("="):
                self.problem(row, column, "holds a formula; type the value itself")
                return ""
            return value.strip()
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    def texts(self, row: int, cells: dict, prefix: str, languages: list[str]) -> dict[str, str]:
        """{language: text} from ``prefix`` / ``prefix::LANG`` columns."""
        out = {}
        for column in self.columns:
            if column == prefix and self.text(row, cells, column):
                out[""] = self.text(row, cells, column)
            elif column.startswith(prefix + "::"):
                language = _language(column.split("::", 1)[1])
                if language is None:
                    self.problem(1, column, "not a language: write label::en or label::zh-CN")
                    continue
                if language not in languages:
                    languages.append(language)
                value = self.text(row, cells, column)
                if value:
                    out[language] = value
        return out


def _truthy(text: str) -> bool:
    return text.strip().lower() in ("yes", "true", "1", "true()", "y")


def _parameters(text: str) -> dict[str, str]:
    """XLSForm's ``parameters`` column: ``key=value`` pairs separated by spaces
    (``randomize=true seed=${x}``, ``start=1 end=10``)."""
    return {key.lower(): value for key, value in re.findall(r"([A-Za-z_-]+)\s*=\s*(\S+)", text or "")}


def convert_piping(text: str, hidden: frozenset[str] = frozenset()) -> str:
    """XLSForm's ``${name}`` in a label or hint as this format's piping: ``{name}``, or
    ``{hidden.name}`` for a hidden field."""
    return _PIPE.sub(lambda m: "{" + ("hidden." if m.group(1) in hidden else "") + m.group(1) + "}", text)


def convert_relevant(source: str, hidden: frozenset[str] = frozenset()) -> str:
    """An XLSForm ``relevant`` expression in this format's expression language; ``${x}`` of a
    name in ``hidden`` (a hidden field) reads ``hidden.x``.

    Raises ValueError naming what it cannot convert."""
    def name(match) -> str:
        return f"hidden.{match.group(1)}" if match.group(1) in hidden else match.group(1)
    text = source.strip()
    text = re.sub(r"selected\(\s*\$\{([A-Za-z_][A-Za-z0-9_]*)\}\s*,\s*('[^']*'|\"[^\"]*\")\s*\)",
                  lambda m: f"{m.group(2)} in {name(m)}", text)
    # Outside quoted strings only: a value such as 'a=b' keeps its '='.
    parts = re.split(r"('[^']*'|\"[^\"]*\")", text)
    for i in range(0, len(parts), 2):
        part = re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", name, parts[i])
        part = re.sub(r"(?<![<>!=])=(?!=)", "==", part)
        parts[i] = re.sub(r"\bnot\s*\(", "not (", part)
    text = "".join(parts)
    unquoted = " ".join(parts[0::2])
    leftover = re.search(r"\$\{|\b(?:count-selected|string-length|if|concat|today|coalesce|jr:|position)\b|"
                         r"[A-Za-z_-]+\(", unquoted)
    if leftover:
        raise ValueError(f"cannot convert {leftover.group(0)!r} in {source!r}: use comparisons, and/or/not, "
                         "selected(${q}, 'value')")
    return text


def _scale_of(choices: list[tuple[int, str, dict]]) -> dict | None:
    """A rating scale when the list's names are consecutive integers (>= 3), with at most one
    extra integer outside the run as its don't-know code; else None."""
    try:
        codes = [int(name) for _, name, _ in choices if str(int(name)) == name]
    except ValueError:
        return None
    if len(codes) != len(choices):
        return None
    ordered = sorted(codes)
    run, extra = ordered, []
    if len(ordered) >= 2 and ordered[-1] - ordered[-2] > 1:
        run, extra = ordered[:-1], ordered[-1:]
    if len(run) < 3 or run != list(range(run[0], run[0] + len(run))):
        return None
    labels = {int(name): text for _, name, text in choices if int(name) in run and text}
    scale: dict[str, Any] = {"min": run[0], "max": run[-1]}
    if labels:
        scale["labels"] = labels
    if extra:
        scale["dont_know"] = {"code": extra[0],
                              "label": next(text for _, name, text in choices if int(name) == extra[0]) or "Don't know"}
    return scale


def convert_workbook(path: str | Path) -> Conversion:
    """The workbook at ``path`` as a questionnaire in the YAML format; raises
    ConversionError listing every problem (sheet, row, column)."""
    from openpyxl import load_workbook

    file = str(path)
    problems: list[SheetProblem] = []
    try:
        # data_only=False: a formula shows as its text ("=..."), refused by name, rather than as
        # the empty value a workbook written by a program (no cached result) would give.
        workbook = load_workbook(path, read_only=True, data_only=False)
    except FileNotFoundError:
        raise ConversionError([SheetProblem(file, "", 0, "", "no such file")]) from None
    except Exception as exc:  # openpyxl raises many kinds (zipfile.BadZipFile, KeyError, InvalidFileException)
        raise ConversionError([SheetProblem(file, "", 0, "", f"not an .xlsx workbook ({type(exc).__name__}: "
                                                             f"{str(exc).splitlines()[0] if str(exc) else ''})")]) from None
    try:
        names = {name.strip().lower(): name for name in workbook.sheetnames}
        for required in ("survey", "choices"):
            if required not in names:
                problems.append(SheetProblem(file, required, 0, "", f"the workbook has no sheet {required!r} "
                                             f"(its sheets: {', '.join(workbook.sheetnames)})"))
        if problems:
            raise ConversionError(problems)
        survey = _Sheet(file, names["survey"], workbook[names["survey"]], problems)
        choices_sheet = _Sheet(file, names["choices"], workbook[names["choices"]], problems)
        settings_sheet = _Sheet(file, names["settings"], workbook[names["settings"]], problems) \
            if "settings" in names else None
        hidden_sheet = _Sheet(file, names["hidden"], workbook[names["hidden"]], problems) if "hidden" in names else None
    finally:
        workbook.close()
    return _Converter(file, survey, choices_sheet, settings_sheet, problems, hidden_sheet).run()


class _Converter:
    def __init__(self, file, survey: _Sheet, choices: _Sheet, settings: _Sheet | None, problems,
                 hidden: _Sheet | None = None):
        self.file, self.survey, self.choices_sheet, self.settings = file, survey, choices, settings
        self.hidden_sheet = hidden
        self.problems = problems
        self.hidden: list[dict] = []               # the hidden: list, in order
        self.hidden_names: set[str] = set()
        self.hidden_rows: list[tuple[str, int]] = []  # (sheet, row) of each hidden field, for messages
        # Every hidden field's name, known before the rows that read it (``${store}`` is
        # ``hidden.store`` wherever the hidden row stands).
        self.hidden_known = frozenset(
            [survey.text(row, cells, "name") for row, cells in survey.rows
             if survey.text(row, cells, "type").strip().lower() == "hidden"]
            + ([hidden.text(row, cells, "name") for row, cells in hidden.rows] if hidden is not None else []))
        self.languages: list[str] = []
        self.warnings: list[str] = []
        self.rows_of: dict[str, int] = {}       # question or page id -> survey row
        self.page_rows: list[int] = []
        self.unlabelled: set[tuple[str, str]] = set()

    def run(self) -> Conversion:
        for column in ("type", "name"):
            if column not in self.survey.columns:
                self.survey.problem(1, column, f"the survey sheet needs a {column!r} column")
        for column in ("list_name", "name"):
            if column not in self.choices_sheet.columns:
                self.choices_sheet.problem(1, column, f"the choices sheet needs a {column!r} column")
        if self.problems:
            raise ConversionError(self.problems)
        settings = self._settings()
        lists = self._choice_lists()
        scales: dict[str, dict] = {}
        self._hidden_sheet()
        pages = self._pages(lists, scales)
        if self.problems:
            raise ConversionError(self.problems)
        default = settings.get("default_language") or (self.languages[0] if self.languages else "en")
        languages = [default] + [lang for lang in self.languages if lang not in ("", default)]
        document: dict[str, Any] = {
            "id": settings.get("form_id") or Path(self.file).stem.lower().replace(" ", "-"),
            "version": settings.get("version") or 1,
            "default_language": default,
            "languages": languages,
            "title": self._text(settings.get("title") or {"": Path(self.file).stem}, languages),
            "scales": {name: self._scale_texts(scale, languages) for name, scale in scales.items()},
            "pages": [self._page_texts(page, languages) for page in pages],
        }
        if self.hidden:
            document["hidden"] = self.hidden
        text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=120)
        self._check(text)
        return Conversion(text, document, tuple(self.warnings))

    # settings and choices

    def _settings(self) -> dict:
        out: dict[str, Any] = {}
        if self.settings is None or not self.settings.rows:
            return out
        row, cells = self.settings.rows[0]
        sheet = self.settings
        form_id = sheet.text(row, cells, "form_id")
        if form_id:
            if not re.match(r"^[a-z0-9][a-z0-9_-]*$", form_id):
                sheet.problem(row, "form_id", f"{form_id!r}: use lower-case letters, digits, - and _")
            out["form_id"] = form_id
        version = sheet.text(row, cells, "version")
        if version:
            out["version"] = int(version) if version.isdigit() else version
        default = sheet.text(row, cells, "default_language")
        if default:
            code = _language(default)
            if code is None:
                sheet.problem(row, "default_language", f"{default!r} is not a language code such as en or zh-CN")
            else:
                out["default_language"] = code
                if code not in self.languages:
                    self.languages.insert(0, code)
        titles = sheet.texts(row, cells, "title", self.languages)
        if sheet.text(row, cells, "form_title"):
            titles.setdefault("", sheet.text(row, cells, "form_title"))
        if titles:
            out["title"] = titles
        return out

    def _choice_lists(self) -> dict[str, list[tuple[int, str, dict]]]:
        lists: dict[str, list[tuple[int, str, dict]]] = {}
        sheet = self.choices_sheet
        for row, cells in sheet.rows:
            list_name, name = sheet.text(row, cells, "list_name"), sheet.text(row, cells, "name")
            if not list_name:
                sheet.problem(row, "list_name", "empty: every choice belongs to a list")
                continue
            if not name:
                sheet.problem(row, "name", "empty: every choice needs a value")
                continue
            entries = lists.setdefault(list_name, [])
            if any(n == name for _, n, _ in entries):
                sheet.problem(row, "name", f"{name!r} appears twice in list {list_name!r}")
                continue
            # A missing label is a problem only where the list is a list of options (checked
            # there): a rating scale labels only some of its points.
            entries.append((row, name, sheet.texts(row, cells, "label", self.languages)))
        return lists

    # the survey sheet

    def _pages(self, lists, scales) -> list[dict]:
        sheet = self.survey
        pages: list[dict] = []
        open_group: dict | None = None   # the page being filled (a begin group)
        matrix: dict | None = None       # the matrix being filled (table-list group or begin matrix)
        loose: dict | None = None
        seen: dict[str, int] = {}

        def page_for_loose(row: int) -> dict:
            nonlocal loose
            if loose is None:
                loose = {"id": f"page_{len(pages) + 1}", "title": {}, "questions": [], "_row": row}
                pages.append(loose)
            return loose

        def finish_matrix() -> None:
            """The open matrix closed and put on its page."""
            nonlocal matrix
            self._close_matrix(matrix)
            (open_group if open_group is not None else page_for_loose(matrix["_row"]))["questions"].append(matrix)
            matrix = None

        for row, cells in sheet.rows:
            kind = sheet.text(row, cells, "type")
            name = sheet.text(row, cells, "name")
            words = kind.replace("_", " ").split()
            if not words:
                sheet.problem(row, "type", "empty: give the question's type (text, integer, select_one LIST, ...)")
                continue
            head = words[0].lower()
            second = words[1].lower() if len(words) > 1 else ""
            appearance = sheet.text(row, cells, "appearance").lower().split()
            table = "table-list" in appearance
            if matrix is not None and matrix["_begin"] == "label" and "list-nolabel" not in appearance:
                finish_matrix()  # the rows under a "label" row end where the list-nolabel rows do
            if head == "begin" and (second == "matrix" or second == "group" and table):
                if matrix is not None:
                    sheet.problem(row, "type", f"matrix {name!r} inside matrix {matrix['id']!r}: "
                                               "close the first before")
                    continue
                self._id(name, row, seen)
                self.rows_of[name] = row
                matrix = self._matrix_head(row, cells, name, second)
                if open_group is None and second == "group":  # a table-list group on its own: a page with the matrix
                    open_group = {"id": name, "title": {}, "questions": [], "_row": row, "_matrix_page": True}
                    loose = None
                continue
            if head == "end" and second == "matrix" or head == "end" and second == "group" and matrix is not None \
                    and matrix["_begin"] == "group":
                if matrix is None or matrix["_begin"] != second:
                    sheet.problem(row, "type", f"end {second} without a begin {second}")
                    continue
                finish_matrix()
                if open_group is not None and open_group.get("_matrix_page"):
                    pages.append(open_group)
                    open_group = None
                continue
            if head == "begin" and second in ("group", "repeat"):
                if second == "repeat":
                    sheet.problem(row, "type", "repeats have no equivalent: a response answers each question once")
                    continue
                if open_group is not None:
                    sheet.problem(row, "type", f"group {name!r} inside group {open_group['id']!r}: nested groups have "
                                  "no equivalent (a group is a page) except a table (appearance table-list, a matrix); "
                                  "close the first group before")
                    continue
                self._id(name, row, seen)
                open_group = {"id": name, "title": sheet.texts(row, cells, "label", self.languages), "questions": [],
                              "_row": row}
                relevant = sheet.text(row, cells, "relevant")
                if relevant:
                    open_group["show_if"] = self._relevant(relevant, row)
                if self._randomize(row, cells):
                    open_group["randomize"] = True
                loose = None
                continue
            if head == "end" and second in ("group", "repeat"):
                if open_group is None:
                    sheet.problem(row, "type", "end group without a begin group")
                    continue
                if matrix is not None:  # a begin matrix left open: reported, and closed with its group
                    sheet.problem(matrix["_row"], "type", f"matrix {matrix['id']!r} is never closed (end matrix)")
                    finish_matrix()
                if not open_group["questions"]:
                    sheet.problem(open_group["_row"], "type", f"group {open_group['id']!r} has no questions")
                pages.append(open_group)
                open_group = None
                continue
            if head == "hidden":
                self._id(name, row, seen)
                self._hidden_row(row, cells, name)
                continue
            if head in _METADATA or head == "note":
                self.warnings.append(f"{self.file}: {sheet.name}!{row}: {kind!r} row {name!r} skipped "
                                     f"({'a note has' if head == 'note' else 'metadata has'} no equivalent)")
                continue
            question = self._question(row, cells, words, name, lists, scales)
            if question is None:
                continue
            self._id(name, row, seen)
            self.rows_of[name] = row
            if "label" in appearance and matrix is None:
                # ODK's table: a select_one of appearance "label" heads it (its label is the
                # matrix's question, its list the column heads), "list-nolabel" rows follow.
                matrix = self._matrix_head(row, cells, name, "label")
                if question["type"] != "rating" or question["scale"].startswith("range_"):
                    sheet.problem(row, "type", "a row of appearance label heads a matrix: a select_one of a rating "
                                               "list (consecutive integer names)")
                else:
                    matrix["_list"] = matrix["scale"] = question["scale"]
                continue
            if "list-nolabel" in appearance and matrix is None:
                sheet.problem(row, "appearance", "a list-nolabel row is a matrix row: put it under a select_one of "
                                                 "appearance label (the matrix's head)")
                continue
            if matrix is not None:
                self._matrix_row(matrix, row, cells, question)
            elif open_group is not None:
                open_group["questions"].append(question)
            else:
                page_for_loose(row)["questions"].append(question)
        if matrix is not None and matrix["_begin"] == "label":
            finish_matrix()  # the sheet's last rows
        elif matrix is not None:
            sheet.problem(matrix["_row"], "type", f"matrix {matrix['id']!r} is never closed (end {matrix['_begin']})")
        if open_group is not None:
            sheet.problem(open_group["_row"], "type", f"group {open_group['id']!r} is never closed (end group)")
        if not pages and not self.problems:
            sheet.problem(0, "", "no questions")
        return pages

    # matrices: a table-list group or begin matrix ... end matrix

    def _matrix_head(self, row: int, cells: dict, name: str, begin: str) -> dict:
        matrix: dict[str, Any] = {"id": name, "type": "matrix"}
        self._texts_and_conditions(matrix, row, cells, f"matrix {name!r}", None)
        matrix.update(rows=[], _row=row, _begin=begin, _list=None)
        if self._randomize(row, cells):
            matrix["randomize"] = True
        return matrix

    def _texts_and_conditions(self, entry: dict, row: int, cells: dict, what: str, required_default) -> None:
        """A question's or a matrix's label, hint, required and relevant (as ``show_if``)."""
        sheet = self.survey
        entry["text"] = sheet.texts(row, cells, "label", self.languages)
        if not entry["text"]:
            sheet.problem(row, "label", f"{what} has no label")
        hint = sheet.texts(row, cells, "hint", self.languages)
        if hint:
            entry["help"] = hint
        required = sheet.text(row, cells, "required")
        entry["required"] = _truthy(required) if required else required_default
        relevant = sheet.text(row, cells, "relevant")
        converted = self._relevant(relevant, row) if relevant else None
        if converted:
            entry["show_if"] = converted

    def _matrix_row(self, matrix: dict, row: int, cells: dict, question: dict) -> None:
        """A question row inside a matrix: a rating on the matrix's one list, whose own
        id, label, hint, construct and reverse make the matrix's row."""
        sheet = self.survey
        if question["type"] != "rating" or "scale" not in question or question["scale"].startswith("range_"):
            sheet.problem(row, "type", f"a row of matrix {matrix['id']!r} is a select_one of a rating list "
                                       "(consecutive integer names), not this")
            return
        if matrix["_list"] is None:
            matrix["_list"], matrix["scale"] = question["scale"], question["scale"]
        elif question["scale"] != matrix["_list"]:
            sheet.problem(row, "type", f"the rows of matrix {matrix['id']!r} share one list ({matrix['_list']!r}), "
                                       f"not {question['scale']!r}")
            return
        for column in ("relevant", "parameters"):
            if sheet.text(row, cells, column):
                sheet.problem(row, column, f"a matrix's rows are shown together: put {column} on the matrix's "
                                           "begin row")
        entry = {key: question[key] for key in ("id", "text", "help", "construct", "reverse") if key in question}
        entry["_required"] = question["required"] if sheet.text(row, cells, "required") else None
        entry["_row"] = row
        matrix["rows"].append(entry)

    def _close_matrix(self, matrix: dict) -> None:
        if not matrix["rows"]:
            self.survey.problem(matrix["_row"], "type", f"matrix {matrix['id']!r} has no rows (select_one rows "
                                                        "between its begin and end)")
            return
        # required: the begin row's, else the rows' own when they all agree.
        stated = {entry["_required"] for entry in matrix["rows"] if entry["_required"] is not None}
        if matrix["required"] is None and len(stated) > 1:
            self.survey.problem(matrix["_row"], "required", f"the rows of matrix {matrix['id']!r} disagree on "
                                                            "required; set it once on the begin row")
        required = matrix["required"] if matrix["required"] is not None else (stated == {True})
        matrix["required"] = required

    # hidden fields: type hidden rows and the hidden sheet

    def _hidden_row(self, row: int, cells: dict, name: str) -> None:
        sheet = self.survey
        parameters = _parameters(sheet.text(row, cells, "parameters"))
        constraint = sheet.text(row, cells, "constraint")
        spec: dict[str, Any] = {"id": name}
        if constraint:
            match = _REGEX.match(constraint)
            if not match:
                sheet.problem(row, "constraint",
                              f"a hidden field's constraint is regex(., 'pattern'), not {constraint!r}")
                return
            spec["pattern"] = match.group("single") if match.group("single") is not None else match.group("double")
        if "values" in parameters:
            spec["values"] = [v for v in parameters["values"].split(",") if v]
        for flag in ("signed", "segment"):
            if _truthy(parameters.get(flag, "")):
                spec[flag] = True
        self._add_hidden(spec, sheet, row, "parameters")

    def _hidden_sheet(self) -> None:
        sheet = self.hidden_sheet
        if sheet is None:
            return
        if "name" not in sheet.columns:
            sheet.problem(1, "name", "the hidden sheet needs a 'name' column")
            return
        for row, cells in sheet.rows:
            spec: dict[str, Any] = {"id": sheet.text(row, cells, "name")}
            if sheet.text(row, cells, "pattern"):
                spec["pattern"] = sheet.text(row, cells, "pattern")
            values = sheet.text(row, cells, "values")
            if values:
                spec["values"] = [v for v in re.split(r"[,\s]+", values) if v]
            for flag in ("signed", "segment"):
                if _truthy(sheet.text(row, cells, flag)):
                    spec[flag] = True
            self._add_hidden(spec, sheet, row, "values")

    def _add_hidden(self, spec: dict, sheet: _Sheet, row: int, column: str) -> None:
        if not spec["id"]:
            sheet.problem(row, "name", "empty: every hidden field needs a name (its URL parameter)")
        elif spec["id"] in self.hidden_names:
            sheet.problem(row, "name", f"hidden field {spec['id']!r} is declared twice")
        elif ("values" in spec) == ("pattern" in spec):
            sheet.problem(row, column, f"hidden field {spec['id']!r} needs its allowed values (values=a,b) or a "
                                       "pattern (regex), one of the two")
        else:
            self.hidden.append(spec)
            self.hidden_names.add(spec["id"])
            self.hidden_rows.append((sheet.name, row))

    def _randomize(self, row: int, cells: dict) -> bool:
        parameters = _parameters(self.survey.text(row, cells, "parameters"))
        if "seed" in parameters:
            self.warnings.append(f"{self.file}: {self.survey.name}!{row}: seed={parameters['seed']} ignored (each "
                                 "response's order is seeded by the response itself)")
        return _truthy(parameters.get("randomize", ""))

    def _id(self, name: str, row: int, seen: dict[str, int]) -> None:
        if not name:
            self.survey.problem(row, "name", "empty: every question and group needs a name")
        elif not _NAME.match(name):
            self.survey.problem(row, "name", f"{name!r}: use letters, digits and _ (starting with a letter)")
        elif name in seen:
            self.survey.problem(row, "name", f"{name!r} is also the name on row {seen[name]}")
        else:
            seen[name] = row

    def _relevant(self, source: str, row: int) -> str | None:
        from .expressions import parse_expression
        try:
            converted = convert_relevant(source, self.hidden_known)
            parse_expression(converted)
        except (ValueError, CSIError) as exc:
            self.survey.problem(row, "relevant", str(exc))
            return None
        return converted

    def _question(self, row, cells, words, name, lists, scales) -> dict | None:
        sheet = self.survey
        head = words[0].lower()
        question: dict[str, Any] = {"id": name}
        list_name = words[1] if len(words) > 1 else ""
        if head == "select" and len(words) > 2 and words[1].lower() in ("one", "multiple"):
            head, list_name = f"select_{words[1].lower()}", words[2]
        if head in ("select_one", "select_multiple"):
            if head == "select_one" and words[-1].lower() == "or_other" or list_name.endswith("_from_file"):
                sheet.problem(row, "type", f"{' '.join(words)!r} is not supported")
                return None
            if list_name not in lists:
                sheet.problem(row, "type", f"no choice list {list_name!r} in the choices sheet")
                return None
            entries = lists[list_name]
            scale = _scale_of(entries) if head == "select_one" else None
            if scale is not None:
                question.update(type="rating", scale=list_name)
                scales[list_name] = scale
            else:
                question["type"] = "single_choice" if head == "select_one" else "multiple_choice"
                for choice_row, choice, labels in entries:
                    if not labels and (list_name, choice) not in self.unlabelled:
                        self.unlabelled.add((list_name, choice))
                        self.choices_sheet.problem(choice_row, "label", f"option {choice!r} of list {list_name!r} "
                                                   f"(used by {name!r}) has no label")
                question["options"] = [{"value": int(n) if n.isdigit() else n, "label": labels}
                                       for _, n, labels in entries]
        elif head == "range":
            bounds = dict(re.findall(r"(start|end|step)\s*=\s*(-?\d+)", sheet.text(row, cells, "parameters")))
            start, end = int(bounds.get("start", 1)), int(bounds.get("end", 10))
            if int(bounds.get("step", 1)) != 1 or end - start < 2:
                sheet.problem(row, "parameters", "a range needs step=1 and at least 3 points, e.g. start=1 end=10")
                return None
            scale_name = f"range_{start}_{end}".replace("-", "m")
            scales.setdefault(scale_name, {"min": start, "max": end})
            question.update(type="rating", scale=scale_name)
        elif head == "text":
            question["type"] = "text"
            if "multiline" in sheet.text(row, cells, "appearance"):
                question["multiline"] = True
        elif head in ("integer", "decimal"):
            question["type"] = "number"
            if head == "integer":
                question["integer"] = True
            constraint = sheet.text(row, cells, "constraint")
            for part in re.split(r"\band\b", constraint) if constraint else []:
                bound = _BOUND.match(part)
                if not bound:
                    sheet.problem(row, "constraint", f"only bounds such as '. >= 0 and . <= 100' convert, not {part.strip()!r}")
                    continue
                value = float(bound.group("value"))
                value = int(value) if value.is_integer() else value
                question["min" if bound.group("op").startswith(">") else "max"] = value
        else:
            sheet.problem(row, "type", f"type {words[0]!r} has no equivalent (use text, integer, decimal, "
                          "select_one, select_multiple, range, begin group / end group)")
            return None
        self._texts_and_conditions(question, row, cells, f"question {name!r}", False)
        construct = sheet.text(row, cells, "construct")
        if construct:
            if question["type"] != "rating":
                sheet.problem(row, "construct", f"only rating questions measure a construct; {name!r} is "
                              f"{question['type']}")
            question["construct"] = construct
        if _truthy(sheet.text(row, cells, "reverse")):
            question["reverse"] = True
        if head != "range" and self._randomize(row, cells):
            question["randomize"] = True  # the loader refuses it where it does not apply, at this row
        return question

    # texts per language

    def _text(self, texts: dict[str, str], languages: list[str]) -> Any:
        """One string when one text serves every language, else {language: text}; a plain
        ``label`` column fills the languages that have no text of their own."""
        plain = texts.get("")
        by_language = {lang: texts.get(lang) or plain for lang in languages}
        if all(by_language.values()) and len(set(by_language.values())) == 1:
            return by_language[languages[0]]
        return {lang: value for lang, value in by_language.items() if value}

    def _scale_texts(self, scale: dict, languages) -> dict:
        out = dict(scale)
        if "labels" in scale:
            out["labels"] = {k: self._text(v, languages) for k, v in scale["labels"].items()}
        if "dont_know" in scale:
            label = scale["dont_know"]["label"]
            out["dont_know"] = {"code": scale["dont_know"]["code"],
                                "label": self._text(label, languages) if isinstance(label, dict) else label}
        return out

    def _page_texts(self, page: dict, languages) -> dict:
        out = {"id": page["id"]}
        if page.get("title"):
            out["title"] = self._text(page["title"], languages)
        for key in ("show_if", "randomize"):
            if page.get(key):
                out[key] = page[key]
        self.page_rows.append(page["_row"])
        out["questions"] = [self._question_texts(question, languages) for question in page["questions"]]
        return out

    def _question_texts(self, question: dict, languages) -> dict:
        """A question (or a matrix's row) with its texts per language, ``${name}`` piped."""
        def text(texts: dict) -> Any:
            return self._text({lang: convert_piping(value, self.hidden_known) for lang, value in texts.items()},
                              languages)
        q = {key: value for key, value in question.items() if not key.startswith("_")}
        q["text"] = text(q["text"])
        if "help" in q:
            q["help"] = text(q["help"])
        if "options" in q:
            q["options"] = [{"value": o["value"], "label": text(o["label"])} for o in q["options"]]
        if "rows" in q:
            q["rows"] = [self._question_texts(row, languages) for row in q["rows"]]
        return q

    def _check(self, text: str) -> None:
        """The questionnaire loader's own checks, mapped back to survey rows."""
        from .questionnaire import parse_questionnaire
        try:
            parse_questionnaire(text, self.file)
        except QuestionnaireError as exc:
            problems = []
            for problem in exc.problems:
                row, sheet = 0, self.survey.name
                match = re.match(r"pages\[(\d+)\](?:\.questions\[(\d+)\](?:\.rows\[(\d+)\])?)?", problem.path or "")
                hidden = re.match(r"hidden\[(\d+)\]", problem.path or "")
                if match:
                    page = int(match.group(1))
                    if match.group(2) is not None:
                        question = yaml.safe_load(text)["pages"][page]["questions"][int(match.group(2))]
                        if match.group(3) is not None:
                            question = question["rows"][int(match.group(3))]
                        row = self.rows_of.get(question["id"], 0)
                    elif page < len(self.page_rows):
                        row = self.page_rows[page]
                elif hidden and int(hidden.group(1)) < len(self.hidden_rows):
                    sheet, row = self.hidden_rows[int(hidden.group(1))]
                field_name = re.sub(r"\[\d+\]$", "", (problem.path or "").rsplit(".", 1)[-1])
                message = problem.message
                if field_name == "show_if" and "earlier" in message:
                    message += " (a group is one page: move the question into a later group)"
                column = {"show_if": "relevant", "randomize": "parameters", "text": "label", "help": "hint"}.get(
                    field_name, field_name)
                problems.append(SheetProblem(self.file, sheet if row else "questionnaire", row, column, message))
            raise ConversionError(problems) from None
