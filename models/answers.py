"""Question types and their answers: one entry per type, the only place that knows what a
type means.

An entry (:class:`AnswerType`, looked up with :func:`answer_type`) says, for a question of
its type: which values a page can post (:meth:`~AnswerType.choices`), how a post is read
(:meth:`~AnswerType.posted`, :meth:`~AnswerType.tampered`, :meth:`~AnswerType.parse`), how
an answer is stored in the ``answers`` table's two columns and read back
(:meth:`~AnswerType.encode`, :meth:`~AnswerType.decode`), how a file's cell is taken in
(:meth:`~AnswerType.coerce`), how it is shown (:meth:`~AnswerType.display`), its export
columns and labels (:meth:`~AnswerType.export`, :meth:`~AnswerType.value_labels`, ...) and
whether analysis reads it as a number (:attr:`~AnswerType.numeric`), and one valid answer
(:meth:`~AnswerType.example`).

Answer values, as the expression language, the forms and the follow-up rules see them:
a rating is an ``int`` (its don't-know code included), a number an ``int`` or ``float``, a
single choice the option's own value (``str`` or ``int``), a multiple choice a ``list`` of
option values as strings in option order, a text a ``str``; ``None`` is no answer.

Stored, every writer (the web's page post, the bulk loader behind imports and the demo)
goes through :meth:`AnswerType.encode`, so the same answer is the same row whoever wrote
it: ratings and numbers as ``(value, None)``, choices and text as ``(None, text)`` with a
multiple choice as a JSON list of strings. :meth:`AnswerType.decode` also reads rows an
older bulk loader wrote (a single choice with integer options as ``(1.0, None)``).

A foreign file (``csi import``, :mod:`models.importing`) may hold codes or labels in any of
the questionnaire's languages: :meth:`~AnswerType.label_codes` gives a question's labels'
codes, :meth:`~AnswerType.read_cell` reads a cell with them (how a cell reads whatever its
type: :mod:`models.cells`) and :meth:`~AnswerType.flag_columns` names a type's 0/1 columns.

Adding a type: a subclass here registered in :data:`ANSWER_TYPES`, its markup in
``survey_app/question_markup.py`` and its name in the schema's ``type`` enum.
"""
from __future__ import annotations

import json
import math
import numbers
import re
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from .cells import MISSING, cell_number, code_text, label_key, number_text, unquote
from .cells import shown as shown_cell

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from .questionnaire import Question, Questionnaire

Stored = tuple[float | None, str | None]
NO_ANSWER: Stored = (None, None)


class AnswerInvalid(ValueError):
    """A respondent's mistake in one answer: ``key`` names the message in the survey's
    translations (``error_number``, ``error_range``...), ``params`` fills it in."""

    def __init__(self, key: str, **params: Any):
        super().__init__(key)
        self.key = key
        self.params = params


def is_missing(value: Any) -> bool:
    """No answer: None, NaN, empty text or an empty list."""
    if value is None:
        return True
    if isinstance(value, str):
        return value == ""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return value != value  # NaN of any float type
    if isinstance(value, (list, tuple)) or hasattr(value, "__len__") and hasattr(value, "dtype"):
        return len(value) == 0
    return False


def option_key(value: Any) -> str:
    """The text by which a value names an option, as the page posts it: ``1`` for 1, 1.0
    and "1" (a spreadsheet column of integers arrives as floats)."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _number(num: float | None) -> int | float | None:
    if num is None or num != num:
        return None
    return int(num) if float(num).is_integer() else float(num)


class AnswerType:
    """What one question type means. Subclasses override what differs; every method takes
    the :class:`~models.questionnaire.Question` it is about."""

    name: str = ""
    fields: frozenset[str] = frozenset()  # type-specific fields a question of this type may have
    multiple = False   # posts (and answers with) several values
    numeric = False    # stored in value_num; analysis reads it as float64 (NaN = unanswered)
    model_item = False  # an item a CSI model can measure a construct with
    measure = "nominal"  # SPSS measurement level of its export column(s)
    free_text = False  # an open answer in the respondent's words (sentiment, themes, follow-up notes)
    row_type: str | None = None  # a group of rows: the parser expands it into questions of this type

    # -- the page ------------------------------------------------------------------------
    def choices(self, question: Question, language: str | None = None) -> list[tuple[str, str]]:
        """(posted value, label) of each option the page offers; [] for typed input."""
        return []

    def posted(self, question: Question, formdata) -> Any:
        """The raw post for the question: a string (or None), a list of strings if multiple."""
        return formdata.getlist(question.id) if self.multiple else formdata.get(question.id)

    def shown(self, question: Question, value: Any) -> Any:
        """An answer as the form shows it again: a string, a list of strings, or None."""
        if value is None:
            return None
        return [str(v) for v in value] if self.multiple else str(value)

    def tampered(self, question: Question, values: list[str]) -> str | None:
        """Why a post no rendered page could have sent is refused (None: it could have)."""
        if not self.multiple and len(values) > 1:
            return f"field {question.id!r} sent {len(values)} times"
        allowed = {value for value, _ in self.choices(question)}
        if allowed:
            for value in values:
                if value not in allowed:
                    return f"{value[:32]!r} is not an option of {question.id!r}"
        if self.multiple and len(set(values)) != len(values):
            return f"an option of {question.id!r} was sent twice"
        return None

    def parse(self, question: Question, raw: Any) -> Any:
        """The answer a non-empty post stands for; :class:`AnswerInvalid` for a
        respondent's mistake."""
        return raw

    # -- storage -------------------------------------------------------------------------
    def coerce(self, question: Question, value: Any) -> Any:
        """A non-missing cell of an imported or generated file as the answer the web would
        have stored; ValueError when no page could have produced it."""
        return self.parse(question, str(value).strip())

    def encode(self, question: Question, value: Any) -> Stored:
        """(value_num, value_text) as stored; :data:`NO_ANSWER` for no answer."""
        if is_missing(value):
            return NO_ANSWER
        return (float(value), None) if self.numeric else (None, str(value))

    def decode(self, question: Question, num: float | None, txt: str | None) -> Any:
        """A stored row as the answer it stands for (None for no answer)."""
        if txt is not None:
            return txt
        value = _number(num)
        return None if value is None else option_key(value)

    # -- reading and exporting -----------------------------------------------------------
    def display(self, question: Question, value: Any, language: str | None = None) -> str:
        """An answer as a person reads it (labels, not codes)."""
        labels = dict(self.choices(question, language))
        if self.multiple:
            return ", ".join(labels.get(str(v), str(v)) for v in value)
        return labels.get(option_key(value), str(value))

    def export(self, question: Question, column: pd.Series) -> dict[str, pd.Series]:
        """The wide export's column(s) from ``column`` (one cell per response: value_num as
        a float or value_text as a string, as ``load_wave_frame`` reads them; NaN/None where
        unanswered)."""
        import pandas as pd
        if self.numeric:
            return {question.id: pd.to_numeric(column, errors="coerce")}
        # Leniently: an answer the questionnaire no longer offers is still exported as stored.
        return {question.id: pd.Series([None if is_missing(v) else option_key(v) for v in column],
                                       index=column.index, dtype=object)}

    def imported(self, question: Question, cells: Mapping[str, Any]) -> Any:
        """The answer one row of :meth:`export`'s columns holds (its inverse)."""
        value = cells.get(question.id)
        return None if is_missing(value) else self.coerce(question, value)

    def flag_columns(self, question: Question) -> dict[str, str]:
        """{export column: option value} of a type exported as one 0/1 column per option
        ({} for a type exported as one column)."""
        return {}

    # -- a foreign file's cells (models/importing.py) ------------------------------------
    def label_codes(self, question: Question, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """{:func:`~models.cells.label_key` of a label: the code it stands for}, for the labels a
        file may write instead of codes: the question's labels in every language (the first
        language's code wins a clash), don't-know labels as :data:`~models.cells.MISSING`,
        then ``extra`` (a mapping file's {label: code}) over them."""
        return {label_key(label): code for label, code in (extra or {}).items()}

    def read_cell(self, question: Question, value: Any, labels: Mapping[str, Any],
                  dont_know: frozenset[float] | set[float] = frozenset(), spss_label: str | None = None) -> Any:
        """A non-empty cell of a foreign file as the value to store (a number for a
        :attr:`numeric` type), :data:`~models.cells.MISSING` for an answer that becomes
        unanswered, or ValueError(message). ``labels``: :meth:`label_codes`; ``dont_know``:
        codes meaning don't know; ``spss_label``: the SPSS value label of the cell's code.
        The base reads a number (the numeric types); :meth:`_number_fits` checks its range."""
        if spss_label is not None and label_key(spss_label) in labels:
            return self._from_label(question, spss_label, labels)
        number = cell_number(value)
        if number is None:
            if isinstance(value, str) and label_key(unquote(value)) in labels:
                return self._from_label(question, unquote(value), labels)
            raise ValueError(f"{shown_cell(value)} is not a {self.name}; expected a number{self._label_hint}")
        if number in dont_know:
            return MISSING
        self._number_fits(question, number)
        return number

    _label_hint = ""  # how read_cell's message suggests a label instead of a number

    def _number_fits(self, question: Question, number: float) -> None:
        """ValueError(message) when ``number`` read from a file cannot answer ``question``."""

    def _from_label(self, question: Question, label: str, labels: Mapping[str, Any]) -> Any:
        # A mapping file's label may name any code: it must be a number that fits (an
        # unchecked "many" stopped the import with a traceback).
        code = labels[label_key(label)]
        if code is MISSING:
            return MISSING
        number = cell_number(code)
        if number is None:
            raise ValueError(f"label {shown_cell(label)} maps to {code!r}, not a number")
        self._number_fits(question, number)
        return number

    def variable_labels(self, question: Question, language: str | None = None) -> dict[str, str]:
        text = question.text.get(language)
        if question.group is not None:  # a matrix row's text reads as part of the matrix's question
            text = f"{question.group.text.get(language)} [{text}]"
        return {question.id: text[:250]}

    def value_labels(self, question: Question, language: str | None = None) -> dict[str, dict]:
        labels = self.choices(question, language)
        return {question.id: dict(labels)} if labels else {}

    def measures(self, question: Question) -> dict[str, str]:
        return {question.id: self.measure}

    def missing_values(self, question: Question) -> dict[str, list[float]]:
        """User-missing codes of the export columns (SPSS leaves them out of statistics)."""
        return {}

    def tally(self, question: Question, counts: Mapping[Any, int], language: str | None = None,
              unknown_label: str = "(not in this questionnaire version)") -> list[dict] | None:
        """The console's distribution rows (value, label, count) from {stored value: count}
        (value_num as a number or value_text), or None when the type has none (the console
        shows a histogram of a numeric type, the latest answers of the others)."""
        choices = self.choices(question, language)
        if not choices:
            return None
        seen: dict[str, int] = {}
        for stored, count in counts.items():
            for key in self._picked(stored):
                seen[key] = seen.get(key, 0) + count
        rows = [{"value": self._row_value(question, value), "label": label, "count": seen.get(value, 0)}
                for value, label in choices]
        # Stored values the questionnaire no longer offers are shown too, so the bars add up.
        known = {value for value, _ in choices}
        rows += [{"value": value, "label": unknown_label, "count": n}
                 for value, n in sorted(seen.items()) if value not in known]
        return rows

    def _picked(self, stored: Any) -> list[str]:
        return [option_key(stored)]

    def _row_value(self, question: Question, value: str) -> Any:
        return value

    def simulate(self, question: Question, rng: np.random.Generator, n: int,
                 drivers: Mapping[str, np.ndarray]) -> Any:
        """``n`` plausible answers for a synthetic data set (None: the type is left empty).
        ``drivers``: standardized latent scores ("satisfaction", "loyalty") per respondent."""
        return None

    def example(self, question: Question) -> Any:
        """One valid answer to ``question`` (as answers are read; :meth:`shown` gives what a
        page posts for it), always the same: what a scripted respondent or a preview fills
        in. None for a type that holds no answer of its own."""
        return None


class Rating(AnswerType):
    """A point on a scale (and its don't-know code, when it has one)."""

    name = "rating"
    fields = frozenset({"scale", "construct", "reverse"})
    numeric = True
    model_item = True
    measure = "ordinal"

    def choices(self, question, language=None):
        scale = question.scale
        out = [(str(p), scale.labels[p].get(language) if p in scale.labels else "") for p in scale.points]
        if scale.dont_know_code is not None:
            label = scale.dont_know_label.get(language) if scale.dont_know_label is not None else ""
            out.append((str(scale.dont_know_code), label))
        return out

    def parse(self, question, raw):
        return int(raw)

    def coerce(self, question, value):
        number = float(value)
        if not number.is_integer() or not question.scale.accepts(int(number)):
            raise ValueError(f"{value!r} is not a point of scale {question.scale.name!r} "
                             f"({question.scale.minimum}..{question.scale.maximum})")
        return int(number)

    def decode(self, question, num, txt):
        if num is None and txt is not None:
            num = float(txt)
        value = _number(num)
        return None if value is None else int(value)

    def display(self, question, value, language=None):
        scale = question.scale
        code = int(value) if isinstance(value, numbers.Real) else None
        if code is not None and code == scale.dont_know_code and scale.dont_know_label is not None:
            return scale.dont_know_label.get(language)
        if code in scale.labels:
            return f"{code} ({scale.labels[code].get(language)})"
        return str(value)

    def value_labels(self, question, language=None):
        scale = question.scale
        labels = {float(k): v.get(language) for k, v in scale.labels.items()}
        if scale.dont_know_code is not None and scale.dont_know_label is not None:
            labels[float(scale.dont_know_code)] = scale.dont_know_label.get(language)
        return {question.id: labels} if labels else {}

    def missing_values(self, question):
        code = question.scale.dont_know_code
        return {question.id: [float(code)]} if code is not None else {}

    def _row_value(self, question, value):
        return int(value)

    _label_hint = " or a label of its scale"

    def label_codes(self, question, extra=None):
        scale = question.scale
        table: dict[str, Any] = {}
        for point, text in scale.labels.items():
            for words in text.values.values():
                table.setdefault(label_key(words), float(point))
        if scale.dont_know_label is not None:
            for words in scale.dont_know_label.values.values():
                table[label_key(words)] = MISSING
        return table | super().label_codes(question, extra)

    def _number_fits(self, question, number):
        scale = question.scale
        if not number.is_integer():
            raise ValueError(f"{number_text(number)} is not a whole number (scale {scale.minimum}..{scale.maximum})")
        if not scale.minimum <= number <= scale.maximum:
            dk = f"; don't know is {scale.dont_know_code}" if scale.dont_know_code is not None else ""
            raise ValueError(f"{number_text(number)} is outside the scale {scale.minimum}..{scale.maximum}{dk}")

    def _from_label(self, question, label, labels):
        code = labels[label_key(label)]
        if code is MISSING:
            return MISSING
        number = cell_number(code)
        if number is None or not question.scale.minimum <= number <= question.scale.maximum:
            raise ValueError(f"label {shown_cell(label)} maps to {code!r}, outside the scale")
        return number

    def example(self, question):
        return max(question.scale.minimum, question.scale.maximum - 2)  # satisfied, not at the top

    def simulate(self, question, rng, n, drivers):
        import numpy as np
        driver = drivers["loyalty"] if question.scale.kind == "nps" else drivers["satisfaction"]
        low, high = question.scale.minimum, question.scale.maximum
        noisy = driver + 0.35 * rng.standard_normal(n)
        return np.clip(np.rint(low + (high - low) * (0.7 + 0.22 * noisy)), low, high)


class SingleChoice(AnswerType):
    """One option of a list; answered with the option's own value (text or integer)."""

    name = "single_choice"
    fields = frozenset({"options", "randomize"})

    def choices(self, question, language=None):
        return [(str(o.value), o.label.get(language)) for o in question.options]

    def _option(self, question, value):
        key = option_key(value)
        for option in question.options:
            if str(option.value) == key:
                return option.value
        return None

    def parse(self, question, raw):
        found = self._option(question, raw)
        return raw if found is None else found

    def coerce(self, question, value):
        found = self._option(question, value)
        if found is None:
            raise ValueError(f"{option_key(value)[:40]!r} is not an option of {question.id!r} "
                             f"({', '.join(str(o.value) for o in question.options)})")
        return found

    def decode(self, question, num, txt):
        raw = txt if txt is not None else _number(num)  # (1.0, None): an older bulk loader's row
        if raw is None:
            return None
        found = self._option(question, raw)
        return found if found is not None else raw

    def label_codes(self, question, extra=None):
        return _option_codes(question, extra)

    def read_cell(self, question, value, labels, dont_know=frozenset(), spss_label=None):
        if spss_label is not None and label_key(spss_label) in labels:
            return labels[label_key(spss_label)]
        text = code_text(value)
        values = [str(o.value) for o in question.options]
        if text in values:
            return text
        if isinstance(value, str) and label_key(value) in labels:
            return labels[label_key(value)]
        raise ValueError(f"{shown_cell(value)} is neither an option nor an option's label "
                         f"(options: {', '.join(sorted(set(values)))})")

    def example(self, question):
        return question.options[-1].value  # "no" of a yes/no question: no complaint

    def simulate(self, question, rng, n, drivers):
        import numpy as np
        values = [o.value for o in question.options]
        if set(values) == {"yes", "no"}:
            return np.where(drivers["satisfaction"] + 0.8 * rng.standard_normal(n) < -1.3, "yes", "no")
        return rng.choice(np.array(values, dtype=object), size=n)


class MultipleChoice(AnswerType):
    """Any number of options (at most ``max_selected``); exported as one 0/1 column each."""

    name = "multiple_choice"
    fields = frozenset({"options", "max_selected", "randomize"})
    multiple = True

    def choices(self, question, language=None):
        return [(str(o.value), o.label.get(language)) for o in question.options]

    def parse(self, question, raw):
        if question.max_selected and len(raw) > question.max_selected:
            raise AnswerInvalid("error_max_selected", max=question.max_selected)
        order = [str(o.value) for o in question.options]
        return sorted(raw, key=order.index)

    def coerce(self, question, value):
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.startswith("[") else [value]
            except ValueError:
                value = [value]
        picked = [option_key(v) for v in value]
        order = [str(o.value) for o in question.options]
        unknown = [v for v in picked if v not in order]
        if unknown:
            raise ValueError(f"{unknown[0][:40]!r} is not an option of {question.id!r} ({', '.join(order)})")
        if len(set(picked)) != len(picked):
            raise ValueError(f"an option of {question.id!r} is chosen twice")
        return sorted(picked, key=order.index)

    def encode(self, question, value):
        if is_missing(value):
            return NO_ANSWER
        return None, json.dumps([str(v) for v in value], ensure_ascii=False)

    def decode(self, question, num, txt):
        if txt is None:
            value = _number(num)
            return None if value is None else [option_key(value)]
        try:
            value = json.loads(txt)
        except ValueError:
            return [txt]
        return [str(v) for v in value] if isinstance(value, list) else [option_key(value)]

    def _column(self, question, option):
        return f"{question.id}__{option.value}"

    def export(self, question, column):
        import numpy as np
        import pandas as pd
        picked = column.map(lambda v: set() if is_missing(v) else set(self._picked(v)))
        unanswered = column.map(is_missing).to_numpy(dtype=bool)
        out = {}
        for option in question.options:
            chosen = np.array(picked.map(lambda s, v=str(option.value): float(v in s)), dtype=float)
            chosen[unanswered] = np.nan
            out[self._column(question, option)] = pd.Series(chosen, index=column.index)
        return out

    def imported(self, question, cells):
        flags = [(str(o.value), cells.get(self._column(question, o))) for o in question.options]
        if all(is_missing(flag) for _, flag in flags):
            return None
        return [value for value, flag in flags if not is_missing(flag) and flag == 1]

    def flag_columns(self, question):
        return {self._column(question, o): str(o.value) for o in question.options}

    def label_codes(self, question, extra=None):
        return _option_codes(question, extra)

    def read_cell(self, question, value, labels, dont_know=frozenset(), spss_label=None):
        """Several options in one cell (``a;b``, ``a|b`` or a JSON list; values or labels),
        or a list of option values (the export's 0/1 columns read back)."""
        if isinstance(value, str) and value.startswith("["):
            try:
                parts = json.loads(value)
            except ValueError:
                raise ValueError(f"{shown_cell(value)} is not a JSON list of options") from None
            if not isinstance(parts, list):
                raise ValueError(f"{shown_cell(value)} is not a list of options")
        elif isinstance(value, str):
            parts = re.split(r"[;|]", value)
        else:
            parts = value if isinstance(value, list) else [value]
        order = [str(o.value) for o in question.options]
        chosen = []
        for part in parts:
            text = code_text(part).strip()
            if not text:
                continue
            if text in order:
                chosen.append(text)
            elif label_key(text) in labels:
                chosen.append(labels[label_key(text)])
            else:
                raise ValueError(f"{shown_cell(text)} is neither an option nor an option's label "
                                 f"(options: {', '.join(sorted(set(order)))}; separate several with ';')")
        if question.max_selected is not None and len(set(chosen)) > question.max_selected:
            raise ValueError(f"{len(set(chosen))} options chosen; at most {question.max_selected} are allowed")
        return sorted(set(chosen), key=order.index) or MISSING

    def variable_labels(self, question, language=None):
        text = question.text.get(language)
        return {self._column(question, o): f"{text} [{o.label.get(language)}]"[:250] for o in question.options}

    def value_labels(self, question, language=None):
        words = {0.0: "未选", 1.0: "已选"} if language == "zh-CN" else {0.0: "not chosen", 1.0: "chosen"}
        return {self._column(question, o): dict(words) for o in question.options}

    def measures(self, question):
        return {self._column(question, o): "nominal" for o in question.options}

    def _picked(self, stored):
        if isinstance(stored, str):
            try:
                chosen = json.loads(stored)
            except ValueError:
                chosen = [stored]
        else:
            chosen = [stored]
        return [option_key(v) for v in (chosen if isinstance(chosen, list) else [chosen])]

    def example(self, question):
        ends = [str(question.options[0].value), str(question.options[-1].value)]
        return ends[:question.max_selected or 2] if ends[0] != ends[1] else ends[:1]

    def simulate(self, question, rng, n, drivers):
        values = [o.value for o in question.options]
        return [list(rng.choice(values, size=rng.integers(1, len(values) + 1), replace=False)) for _ in range(n)]


class Text(AnswerType):
    """Free text of at most ``max_length`` characters (one line or several)."""

    name = "text"
    fields = frozenset({"max_length", "multiline"})
    free_text = True

    def tampered(self, question, values):
        found = super().tampered(question, values)
        if found is None and values and len(values[0]) > 4 * question.max_length:
            return f"{question.id!r} is far longer than its limit"
        return found

    def parse(self, question, raw):
        if len(raw) > question.max_length:
            raise AnswerInvalid("error_length", max=question.max_length)
        return raw

    def coerce(self, question, value):
        return value if isinstance(value, str) else option_key(value)

    def read_cell(self, question, value, labels, dont_know=frozenset(), spss_label=None):
        text = unquote(number_text(value) if isinstance(value, float) else str(value))
        if len(text) > question.max_length:
            raise ValueError(f"the text has {len(text)} characters; the question allows {question.max_length}")
        return text

    def display(self, question, value, language=None):
        return str(value)

    def example(self, question):
        return "Fine, thanks."[:question.max_length]


class Number(AnswerType):
    """A number typed in (decimal comma accepted), within ``min``..``max``, whole if ``integer``."""

    name = "number"
    fields = frozenset({"min", "max", "integer"})
    numeric = True
    measure = "scale"

    def parse(self, question, raw):
        text = str(raw).replace(",", ".").replace("，", ".").strip()
        if len(text) > 32:
            raise AnswerInvalid("error_number")
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise AnswerInvalid("error_number") from None
        if not value.is_finite():
            raise AnswerInvalid("error_number")
        if question.integer and value != value.to_integral_value():
            raise AnswerInvalid("error_integer")
        low, high = question.minimum, question.maximum
        number = float(value)
        if not math.isfinite(number) or (low is not None and number < low) or (high is not None and number > high):
            if low is not None and high is not None:
                raise AnswerInvalid("error_range", low=_fmt(low), high=_fmt(high))
            if low is not None:
                raise AnswerInvalid("error_min", low=_fmt(low))
            if high is not None:
                raise AnswerInvalid("error_max", high=_fmt(high))
            raise AnswerInvalid("error_number")
        return int(value) if question.integer else number

    def coerce(self, question, value):
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            value = repr(float(value))
        try:
            return self.parse(question, str(value))
        except AnswerInvalid as exc:
            limits = ", ".join(f"{k} {v}" for k, v in exc.params.items())
            raise ValueError(f"{str(value)[:40]!r} is not a valid answer to {question.id!r} "
                             f"({exc.key.removeprefix('error_')}{': ' + limits if limits else ''})") from None

    def _number_fits(self, question, number):
        if question.integer and not number.is_integer():
            raise ValueError(f"{number} is not a whole number")
        q = question
        if q.minimum is not None and number < q.minimum or q.maximum is not None and number > q.maximum:
            raise ValueError(f"{number_text(number)} is outside {q.minimum if q.minimum is not None else '-inf'}.."
                             f"{q.maximum if q.maximum is not None else 'inf'}")

    def decode(self, question, num, txt):
        if num is None and txt is not None:
            num = float(txt)
        if num is None or num != num:
            return None
        return int(num) if question.integer or float(num).is_integer() else num

    def display(self, question, value, language=None):
        return str(value)

    def example(self, question):
        low = question.minimum if question.minimum is not None else 3
        high = question.maximum if question.maximum is not None else 3
        value = min(max(3, low), high)
        if question.integer:
            return math.ceil(value) if math.ceil(value) <= high else math.floor(value)
        return int(value) if float(value).is_integer() else value

    def simulate(self, question, rng, n, drivers):
        import numpy as np
        high = question.maximum if question.maximum is not None else 30
        return np.minimum(rng.poisson(min(high, 30) / 4 + 1, size=n), high).astype(float)


def _option_codes(question: Question, extra: Mapping[str, Any] | None) -> dict[str, str]:
    """label_codes of a choice question: every language's option labels, then ``extra``,
    as option values in text."""
    table: dict[str, str] = {}
    for option in question.options:
        for words in option.label.values.values():
            table.setdefault(label_key(words), str(option.value))
    return table | {label_key(label): str(code) for label, code in (extra or {}).items()}


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


class Matrix(AnswerType):
    """A grid: several rating items on one scale asked together ("rate us on these seven
    aspects"). A matrix holds no answer of its own: the parser expands each of its ``rows``
    into an ordinary question of type :attr:`row_type` (its own id, construct tag and
    ``reverse``, the matrix's scale, ``required`` and ``show_if``) carrying the matrix as
    its ``group``, so storage, exports and analysis see ordinary rating items; only the
    page's markup draws the group as one grid."""

    name = "matrix"
    fields = frozenset({"scale", "rows", "randomize"})
    row_type = "rating"


ANSWER_TYPES: Mapping[str, AnswerType] = MappingProxyType(
    {entry.name: entry for entry in (Rating(), SingleChoice(), MultipleChoice(), Text(), Number(), Matrix())})


def answer_type(question: Question) -> AnswerType:
    """The entry of ``question``'s type."""
    return ANSWER_TYPES[question.type]


def encode(question: Question, value: Any) -> Stored:
    return ANSWER_TYPES[question.type].encode(question, value)


def decode(question: Question, num: float | None, txt: str | None) -> Any:
    return ANSWER_TYPES[question.type].decode(question, num, txt)


def decode_rows(questionnaire: Questionnaire, rows: Iterable) -> dict[str, Any]:
    """question id -> answer, from rows of (question_id, value_num, value_text) given as
    tuples or as mappings with those keys (rows of questions the questionnaire does not
    have are skipped; a row holding no answer reads None)."""
    out = {}
    for row in rows:
        if isinstance(row, Mapping):
            question_id, num, txt = row["question_id"], row["value_num"], row["value_text"]
        else:
            question_id, num, txt = row
        try:
            question = questionnaire.question(question_id)
        except KeyError:
            continue
        out[question_id] = decode(question, num, txt)
    return out
