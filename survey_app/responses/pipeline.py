"""The page post's transaction on PostgreSQL in two network round trips instead of six.

Why this exists beside the one SQLAlchemy Core path (``storage._CoreTransaction``), which
runs the same statements one at a time: BEGIN, claim, read, insert the answers, update the
response, COMMIT, each a round trip to the server. On a host whose cores are shared with
other work every round trip waits for the scheduler twice (for PostgreSQL's process and for
ours), and at the service bar the Core path's page post on PostgreSQL became a pause after
pressing Next that respondents notice. Sent through psycopg's pipeline mode the same
statements cost two round trips (BEGIN, claim and read together; then the writes with the
COMMIT), and the pause went away (the figures: docs/benchmarks.md, "Survey server at the
service bar: after the return to Flask's session and Flask-WTF").

The statements are storage's own SQLAlchemy Core statements, compiled once for psycopg
with named parameters, and rows are read by column name. The one difference: the claim
skips a used submission id (``ON CONFLICT DO NOTHING``) instead of failing, because an
error would abort the read queued behind it; a used id is then told by the claim's row
count (0 while the response exists).
"""
from __future__ import annotations

import functools
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Json
from sqlalchemy import ARRAY, Engine, String, any_, bindparam, delete, insert, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError

from models.storage.webhooks import DELIVERY_COLUMNS

from .storage import (_CLAIM_COLUMNS, _CLAIM_SOURCE, _RESPONSE_AND_ANSWERS, _answers, _deliveries, _responses,
                      _submissions)

_DIALECT = postgresql.psycopg.dialect()


def _sql(statement, **kwargs) -> str:
    return str(statement.compile(dialect=_DIALECT, **kwargs))


_CLAIM_SQL = _sql(postgresql.insert(_submissions).from_select(_CLAIM_COLUMNS, _CLAIM_SOURCE)
                  .on_conflict_do_nothing(index_elements=["submission_id"]))
_READ_SQL = _sql(_RESPONSE_AND_ANSWERS)
_DELETE_SQL = _sql(delete(_answers).where(_answers.c.response_id == bindparam("response_id"),
                                         _answers.c.question_id == any_(bindparam("question_ids", type_=ARRAY(String)))))
_INSERT_SQL = _sql(insert(_answers), column_keys=["response_id", "question_id", "value_num", "value_text"])
_DELIVERY_SQL = _sql(insert(_deliveries), column_keys=list(DELIVERY_COLUMNS))


@functools.cache  # quota_claims' module-level statements
def _compiled(statement) -> tuple[str, dict]:
    """The SQL and the values of its literals (``count + 1``, ``status = 'complete'``), which
    SQLAlchemy sends as parameters too."""
    compiled = statement.compile(dialect=_DIALECT)
    return str(compiled), dict(compiled.params)


@functools.cache  # a handful of column sets: moving on, going back, completing (with or without follow-up)
def _update_sql(columns: tuple[str, ...]) -> str:
    return _sql(update(_responses).where(_responses.c.id == bindparam("where_id")), column_keys=list(columns))


class PipelinedTransaction:
    """The same interface as ``storage._CoreTransaction``: open(params), write(...), close()."""

    dialect = "postgresql"

    def __init__(self, engine: Engine):
        self.pooled = engine.raw_connection()  # back to the pool, rolled back, by close()
        self.connection: psycopg.Connection = self.pooled.driver_connection

    def run(self, statement, params: dict[str, Any]) -> list:
        """One more statement in the transaction, outside the pipeline (quota_claims' few,
        at a completion with quotas); its rows, if it returns any."""
        sql, fixed = _compiled(statement)
        params = {**fixed, **params}
        with _as_sqlalchemy_errors(sql, params):
            cursor = self.connection.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def open(self, params: dict[str, Any]) -> tuple[bool, list]:
        connection = self.connection
        with _as_sqlalchemy_errors(_CLAIM_SQL, params), connection.pipeline():
            claim = connection.execute(_CLAIM_SQL, params)
            read = connection.cursor(row_factory=dict_row).execute(_READ_SQL, {"key": params["key"]})
        rows = read.fetchall()
        return bool(rows) and claim.rowcount != 1, rows

    def write(self, response_id: int, remove: list[str], rows: list[dict], changes: dict[str, Any],
              deliveries: list[dict] = ()) -> None:
        connection = self.connection
        statement = _update_sql(tuple(changes))
        with _as_sqlalchemy_errors(statement, changes), connection.pipeline():
            if remove:
                connection.execute(_DELETE_SQL, {"response_id": response_id, "question_ids": remove})
            if rows:
                connection.cursor().executemany(_INSERT_SQL, rows)
            connection.execute(statement, {"where_id": response_id, **changes})
            if deliveries:
                connection.cursor().executemany(_DELIVERY_SQL, [{**d, "payload": Json(d["payload"])} for d in deliveries])
            connection.commit()

    def close(self) -> None:
        self.pooled.close()


class _as_sqlalchemy_errors:
    """psycopg's errors raised as SQLAlchemy's (OperationalError, IntegrityError, ...), as
    the Core path raises them, so that the app treats both paths' failures alike."""

    def __init__(self, statement: str, params):
        self.statement, self.params = statement, params

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if isinstance(error, psycopg.Error):
            raise DBAPIError.instance(self.statement, self.params, error, psycopg.Error) from error
        return False
