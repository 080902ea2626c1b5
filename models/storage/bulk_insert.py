"""Storing many responses at once (imports, the demo, benchmarks): one transaction, one
code path per backend.

100,000 respondents x 30 items are 100,000 response rows and about 2.9 million answer
rows. Where the time went before this module (cProfile, load average 8 on 2 cores;
docs/benchmarks.md, "Importing responses"):

- SQLAlchemy's per-row parameter processing of the 100,000 responses: 19 s under the
  profiler on either backend. Both backends now get plain DBAPI calls with values prepared
  once per distinct value (SQLAlchemy's own bind processors on SQLite).
- One Python tuple per answer, all 2.9 million built before inserting. Each
  distinct value of a column is checked and encoded once (a column of ratings has ten),
  every cell is only an index into that table (:class:`AnswerCells`), and answer rows are
  made one batch at a time.
- On PostgreSQL, the server: its CPU time (33 s on a quiet host) was mostly the per-row
  foreign-key checks of 2.9 million answers (20 s) and 100,000 responses (1.5 s). Where the
  database role may set ``session_replication_role`` (a superuser, or on PostgreSQL 15+
  ``GRANT SET ON PARAMETER session_replication_role``), the import switches those per-row
  checks off for its two COPYs and does what they would have done once, set-based
  (:func:`_per_row_checks_off`); elsewhere the per-row checks stay. COPY gives the server
  the rows in one statement per table (the first version's pipelined executemany of the
  answers cost 34 s of client CPU alone, and of the responses 12 s under the profiler);
  it is the one PostgreSQL-specific path here. SQLite has no COPY; the driver's
  ``executemany`` of one prepared statement is its fastest bulk path, and SQLite's own
  B-tree work alone is 10-15 s of CPU for 3 million rows at load average 13.
- Index order: answers go in sorted by (response, question), so the primary-key index of
  ``answers`` grows at its right edge rather than in 30 passes across it.

Response ids are reserved before the rows are written (a sequence on PostgreSQL, the next
free rowid on SQLite while this transaction holds SQLite's write lock), so no statement
needs RETURNING and no id is read back by key.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from sqlalchemy import Connection, Engine, insert
from sqlalchemy.exc import DBAPIError

from ..answers import answer_type, is_missing
from .tables import Answer, Response, QuestionnaireVersion, Wave, utcnow

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

ANSWER_BATCH = 100_000  # answer rows formatted and sent at a time (memory stays at one batch)
_ANSWER_COLUMNS = ("response_id", "question_id", "value_num", "value_text")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def bulk_insert_responses(engine: Engine, survey: QuestionnaireVersion, wave: Wave, answers: pd.DataFrame,
                          language: str | Iterable[str] = "en", status: str | Iterable[str] = "complete",
                          started_at: Iterable[datetime] | None = None,
                          completed_at: Iterable[datetime] | None = None,
                          follow_up: Iterable[bool] | None = None,
                          contacts: Iterable[dict | None] | None = None,
                          origin: str = "web", import_keys: Iterable[str | None] | None = None,
                          then: Callable[[Connection], None] | None = None) -> list[int]:
    """Insert responses, one per row of ``answers`` (columns = question ids; NaN, None, "" or
    an empty list = unanswered). Each cell is read as its question's type reads an imported
    value (``AnswerType.coerce``: 1.0 for option 1, a list or JSON text for a multiple
    choice) and stored as the web would store it; a cell no page could have produced raises
    :class:`~models.storage.repository.StorageError` naming its row and column, and nothing
    is stored.

    Used for imports, the demo and benchmarks; the web app writes page by page instead.
    ``language`` and ``status`` are one value for all rows or one per row. ``follow_up``
    flags rows for the follow-up queue (status "open"); ``contacts`` holds their consented
    contact details. ``origin`` is "web" or "imported"; ``import_keys`` (unique within the
    wave) let a re-imported file be recognised. All rows are stored in one transaction, or
    none; ``then(connection)`` runs last in that transaction (imports count their quotas
    there). Returns the new response ids in row order.
    """
    from .repository import stored_questionnaire

    questionnaire = stored_questionnaire(survey)
    # Checked and encoded before the transaction: a bad cell stores nothing and locks nothing.
    cells = AnswerCells.of(answers, questionnaire)
    count = len(answers)
    now = utcnow()

    def each(values, default) -> list:
        if values is None:
            return [default] * count
        return [values] * count if isinstance(values, str) else list(values)

    statuses, ends, flags = each(status, "complete"), each(completed_at, now), each(follow_up, False)
    # Column by column (a list per column of responses), in _RESPONSE_COLUMNS' order after id.
    rows = {"survey_id": [survey.id] * count, "wave_id": [wave.id] * count, "status": statuses,
            "language": each(language, "en"), "current_page": [0] * count, "started_at": each(started_at, now),
            "updated_at": ends, "completed_at": [end if state == "complete" else None for end, state in zip(ends, statuses)],
            "follow_up": flags, "follow_up_status": ["open" if flag else None for flag in flags],
            "contact": each(contacts, None), "origin": [origin] * count, "import_key": each(import_keys, None)}
    if not count:
        if then is not None:
            with engine.begin() as connection:
                then(connection)
        return []
    with engine.begin() as connection:
        dialect = connection.dialect
        if dialect.name == "postgresql" and _is_psycopg3(connection):
            write = _insert_postgres
        elif dialect.name == "sqlite":
            write = _insert_sqlite
        else:  # another database: SQLAlchemy's portable executemany (not benchmarked)
            write = _insert_portable
        try:
            ids = write(connection, rows, cells)
        except dialect.dbapi.Error as exc:
            # Raised by the driver's own cursor: wrapped as SQLAlchemy wraps it elsewhere
            # (an IntegrityError stays an IntegrityError for the caller).
            raise DBAPIError.instance(None, None, exc, dialect.dbapi.Error, dialect=dialect) from exc
        if then is not None:
            then(connection)
    return ids


# --------------------------------------------------------------------------- answers as cells

@dataclass(frozen=True)
class AnswerCells:
    """The answers of a frame as stored, without one Python object per cell.

    ``codes``: int32 (rows x questions), each cell's index into ``nums``/``texts``/``questions``
    (a table of the distinct stored values of all columns), -1 where unanswered; columns are
    in sorted question-id order, so walking ``codes`` row by row yields answers sorted by
    (response, question). ``nums``/``texts``: value_num (float or None) and value_text (str
    or None) of each table entry; ``questions``: its question id.
    """

    codes: np.ndarray
    nums: list
    texts: list
    questions: list

    @classmethod
    def of(cls, answers: pd.DataFrame, questionnaire) -> AnswerCells:
        import numpy as np
        import pandas as pd

        from .repository import StorageError

        entries = []
        for column in answers.columns:
            try:
                question = questionnaire.question(str(column))
            except KeyError:
                raise StorageError(f"column {str(column)[:64]!r} is not a question of {questionnaire.id!r}") from None
            entries.append((str(column), question, answer_type(question)))
        order = sorted(range(len(entries)), key=lambda k: entries[k][0])
        codes = np.full((len(answers), len(entries)), -1, dtype=np.int32)
        nums: list = []
        texts: list = []
        questions: list = []
        for target, position in enumerate(order):
            qid, question, entry = entries[position]
            column = answers.iloc[:, position]
            if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
                values = column.to_numpy(dtype=float, na_value=np.nan)
                present = np.flatnonzero(~np.isnan(values))
                distinct, first, inverse = np.unique(values[present], return_index=True, return_inverse=True)
                # A bad value is reported on the first row holding it.
                encoded = [_encode_cell(question, entry, value, row)
                           for value, row in zip(distinct.tolist(), present[first].tolist())]
                local = np.array([-1 if num is None and txt is None else k for k, (num, txt) in enumerate(encoded)],
                                 dtype=np.int32)
            else:
                present_list, inverse_list, encoded, seen = [], [], [], {}
                for row, value in enumerate(column.tolist()):
                    # NaN in a text column too (pandas' "missing" there): stored, it made empty
                    # answer rows that the console counted as answers.
                    if is_missing(value):
                        continue
                    key = value if isinstance(value, (str, int, float)) else None
                    if key is None or key not in seen:
                        encoded.append(_encode_cell(question, entry, value, row))
                        if key is not None:
                            seen[key] = len(encoded) - 1
                    present_list.append(row)
                    inverse_list.append(seen[key] if key is not None else len(encoded) - 1)
                present = np.asarray(present_list, dtype=np.int64)
                inverse = np.asarray(inverse_list, dtype=np.int64)
                local = np.array([-1 if num is None and txt is None else k for k, (num, txt) in enumerate(encoded)],
                                 dtype=np.int32)
            offset = len(nums)
            nums.extend(num for num, _ in encoded)
            texts.extend(txt for _, txt in encoded)
            questions.extend([qid] * len(encoded))
            if len(present):
                mapped = local[inverse]
                codes[present, target] = np.where(mapped < 0, -1, mapped + offset)
        return cls(codes, nums, texts, questions)

    def batches(self, response_ids: np.ndarray, size: int = ANSWER_BATCH) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(response id, table index) of the present cells, row by row, about ``size`` at a time."""
        import numpy as np

        per_row = max(1, size // max(1, self.codes.shape[1]))
        for start in range(0, len(self.codes), per_row):
            block = self.codes[start:start + per_row]
            rows, columns = np.nonzero(block >= 0)
            if len(rows):
                yield response_ids[start:start + per_row][rows], block[rows, columns]


def _encode_cell(question, entry, value, row: int) -> tuple[float | None, str | None]:
    """(value_num, value_text) of one cell; ``row`` counts from 0 (messages count from 1)."""
    from .repository import StorageError

    try:
        answer = entry.coerce(question, value)
    except (TypeError, ValueError) as exc:
        raise StorageError(f"row {int(row) + 1}, column {question.id!r}: {exc}") from None
    return entry.encode(question, answer)


# --------------------------------------------------------------------------- PostgreSQL: COPY

def _is_psycopg3(connection: Connection) -> bool:
    return type(connection.connection.dbapi_connection).__module__.split(".")[0] == "psycopg"


def _copy_field(value: Any) -> str:
    """One field of PostgreSQL's COPY text format (\\N is NULL)."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value).translate(_COPY_ESCAPES)


_RESPONSE_COLUMNS = ("id", "survey_id", "wave_id", "status", "language", "current_page", "started_at", "updated_at",
                     "completed_at", "follow_up", "follow_up_status", "contact", "origin", "import_key")


def _insert_postgres(connection: Connection, rows: dict[str, list], cells: AnswerCells) -> list[int]:
    """COPY both tables (why: the module docstring); ids come from the table's sequence
    up front, so concurrent writers (the web app) never collide with them."""
    import numpy as np

    raw = connection.connection.dbapi_connection
    with raw.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('responses', 'id')) FROM generate_series(1, %s)",
                       (len(rows["wave_id"]),))
        ids = [row[0] for row in cursor.fetchall()]
        previous_role = _per_row_checks_off(cursor)
        if previous_role is not None:
            _lock_referenced(cursor, rows)
        dumps = connection.dialect._json_serializer or json.dumps
        fields = [[str(i) for i in ids]]
        for name in _RESPONSE_COLUMNS[1:]:
            values = rows[name]
            if name == "contact":
                values = [None if v is None else dumps(v) for v in values]
            fields.append(_each_distinct(values, _copy_field))
        with cursor.copy(f"COPY responses ({', '.join(_RESPONSE_COLUMNS)}) FROM STDIN") as copy:
            copy.write("".join("\t".join(row) + "\n" for row in zip(*fields)))
        # Each table entry's row after the response id, written once: "q01\t5.0\t\N\n".
        tails = np.array([f"\t{_copy_field(q)}\t{_copy_field(num)}\t{_copy_field(txt)}\n"
                          for q, num, txt in zip(cells.questions, cells.nums, cells.texts)], dtype=object)
        heads = np.array([str(i) for i in ids], dtype=object)
        positions = np.arange(len(ids))
        id_array = np.asarray(ids, dtype=np.int64)
        sent = []  # (least, greatest) response id each batch of answers names
        with cursor.copy(f"COPY answers ({', '.join(_ANSWER_COLUMNS)}) FROM STDIN") as copy:
            for at, codes in cells.batches(positions):
                copy.write("".join(heads[at] + tails[codes]))
                sent.append((int(id_array[at].min()), int(id_array[at].max())))
        if previous_role is not None:
            # Back to the per-row checks before anything else this transaction writes
            # (the caller's ``then``: quota counters).
            cursor.execute("SELECT set_config('session_replication_role', %s, true)", (previous_role,))
            if sent:
                _check_answers_have_responses(cursor, min(low for low, _ in sent), max(high for _, high in sent))
    return ids


# Per-row foreign-key checks, once per import instead. In PostgreSQL a foreign key is checked
# by a system trigger per inserted row (RI_FKey_check_ins), queued until the statement ends;
# for 2.9 million answers that was 20 of the server's 33 s of CPU (docs/benchmarks.md). With
# session_replication_role = replica, triggers (these included) do not fire; unique keys,
# NOT NULL and the rows' types are still enforced. The checks are then done once:
#
# - answers -> responses: every answer names a response this same transaction inserted. No
#   other transaction can see those rows until commit, so none can delete one meanwhile;
#   what a per-row check could still catch is a bug here, and one anti-join over the
#   answers' response-id range finds that (_check_answers_have_responses; 1 s).
# - responses -> surveys, waves: every response has the same survey and wave. A per-row
#   check locks its referenced row FOR KEY SHARE (so nobody deletes it or changes its key
#   before commit); _lock_referenced takes those locks once, before the COPY, and refuses a
#   survey or wave that is gone. The responses' other foreign keys (invitation_id,
#   follow_up_assignee_id) are not among _RESPONSE_COLUMNS, so they are NULL.
#
# tests/models/test_importing_postgres_checks.py checks that answers and responses have no
# triggers other than these foreign keys' (user triggers would be skipped too).
_CHECKS_SAVEPOINT = "csi_bulk_insert_checks"


def _per_row_checks_off(cursor) -> str | None:
    """Switch off per-row triggers (foreign-key checks) for the rest of this transaction, if
    this database role may (a superuser; on PostgreSQL 15+ any role granted ``SET ON
    PARAMETER session_replication_role``). Returns the setting to restore afterwards, or
    None when the checks stay on (not permitted, or the session is not in the ordinary
    "origin" role already)."""
    import psycopg

    previous = cursor.execute("SELECT current_setting('session_replication_role')").fetchone()[0]
    if previous != "origin":
        return None
    # SET LOCAL lasts until the transaction ends; a savepoint lets a refused SET leave the
    # transaction usable (an error otherwise aborts it).
    cursor.execute(f"SAVEPOINT {_CHECKS_SAVEPOINT}")
    try:
        cursor.execute("SET LOCAL session_replication_role = replica")
    except psycopg.errors.InsufficientPrivilege:
        cursor.execute(f"ROLLBACK TO SAVEPOINT {_CHECKS_SAVEPOINT}")
        previous = None
    cursor.execute(f"RELEASE SAVEPOINT {_CHECKS_SAVEPOINT}")
    return previous


def _lock_referenced(cursor, rows: dict[str, list]) -> None:
    """What the per-row checks of responses' survey_id and wave_id do, once per distinct
    value: lock the referenced rows FOR KEY SHARE, refusing any that does not exist."""
    from .repository import StorageError

    for table, column in (("surveys", "survey_id"), ("waves", "wave_id")):
        wanted = sorted(set(rows[column]))
        cursor.execute(f"SELECT id FROM {table} WHERE id = ANY(%s) FOR KEY SHARE", (wanted,))
        missing = set(wanted) - {row[0] for row in cursor.fetchall()}
        if missing:
            raise StorageError(f"{table} {sorted(missing)} no longer exist (deleted meanwhile?)")


def _check_answers_have_responses(cursor, low: int, high: int) -> None:
    """Refuse (raise, so the transaction rolls back) any answer with a response id in
    ``low``..``high`` whose response does not exist: one anti-join instead of a check per row."""
    from .repository import StorageError

    cursor.execute("SELECT a.response_id FROM answers a WHERE a.response_id BETWEEN %s AND %s "
                   "AND NOT EXISTS (SELECT FROM responses r WHERE r.id = a.response_id) LIMIT 1", (low, high))
    orphan = cursor.fetchone()
    if orphan is not None:
        raise StorageError(f"an answer names response {orphan[0]}, which was not stored (nothing was imported)")


# --------------------------------------------------------------------------- SQLite: executemany

def _insert_sqlite(connection: Connection, rows: dict[str, list], cells: AnswerCells) -> list[int]:
    """The driver's executemany with values prepared as SQLAlchemy would bind them (each
    distinct value once). The first response takes the next rowid; this transaction then
    holds SQLite's only write lock, so the ids after it are free until commit."""
    import numpy as np

    from .repository import StorageError

    columns = _RESPONSE_COLUMNS[1:]
    prepared = list(zip(*(_bound(connection, Response, name, rows[name]) for name in columns)))
    marks = ", ".join("?" * len(columns))
    raw = connection.connection.dbapi_connection
    cursor = raw.cursor()
    try:
        cursor.execute(f"INSERT INTO responses ({', '.join(columns)}) VALUES ({marks})", prepared[0])
        first = cursor.lastrowid
        if cursor.execute("SELECT max(id) FROM responses").fetchone()[0] != first:
            raise StorageError("responses.id is not growing by one (SQLite's rowid is exhausted?)")
        ids = list(range(first, first + len(prepared)))
        cursor.executemany(f"INSERT INTO responses (id, {', '.join(columns)}) VALUES (?, {marks})",
                           ((i, *values) for i, values in zip(ids[1:], prepared[1:])))
        questions = np.array(cells.questions, dtype=object)
        nums = np.array([None if v is None else float(v) for v in cells.nums], dtype=object)
        texts = np.array(cells.texts, dtype=object)
        sql = f"INSERT INTO answers ({', '.join(_ANSWER_COLUMNS)}) VALUES (?, ?, ?, ?)"
        for response_ids, codes in cells.batches(np.asarray(ids, dtype=np.int64)):
            cursor.executemany(sql, zip(response_ids.tolist(), questions[codes].tolist(), nums[codes].tolist(),
                                        texts[codes].tolist()))
    finally:
        cursor.close()
    return ids


def _bound(connection: Connection, table, name: str, values: list) -> list:
    """A column's values as the driver receives them from SQLAlchemy (its bind processor:
    DATETIME as text, JSON dumped, booleans as 0/1; None stays SQL NULL)."""
    process = table.__table__.c[name].type._cached_bind_processor(connection.dialect)
    if process is None:
        return values
    return _each_distinct(values, lambda value: None if value is None else process(value))


def _each_distinct(values: list, convert) -> list:
    """``[convert(v) for v in values]``, calling ``convert`` once per distinct hashable value
    (100,000 responses share a few timestamps, statuses and languages)."""
    out, cache = [], {}
    for value in values:
        try:
            converted = cache[value]
        except KeyError:
            converted = cache[value] = convert(value)
        except TypeError:  # unhashable (contact details)
            converted = convert(value)
        out.append(converted)
    return out


# --------------------------------------------------------------------------- other databases

def _insert_portable(connection: Connection, columns: dict[str, list], cells: AnswerCells) -> list[int]:
    import numpy as np
    from sqlalchemy import null

    sql_null = null()  # SQL NULL, not JSON 'null'
    rows = [dict(zip(columns, values)) for values in zip(*columns.values())]
    for row in rows:
        if row["contact"] is None:
            row["contact"] = sql_null
    result = connection.execute(insert(Response).returning(Response.id, sort_by_parameter_order=True), rows)
    ids = [row[0] for row in result]
    for response_ids, codes in cells.batches(np.asarray(ids, dtype=np.int64)):
        connection.execute(insert(Answer), [dict(zip(_ANSWER_COLUMNS, (i, cells.questions[k], cells.nums[k],
                                                                       cells.texts[k])))
                                            for i, k in zip(response_ids.tolist(), codes.tolist())])
    return ids

