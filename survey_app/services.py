"""The respondent's side of storage: starting, resuming, saving page by page, completing.

Every page post carries a submission id; the id is stored with the answers in the same
transaction (primary key), so a repeated post (double click, retry after a network
error, back button) is recognised and stored once, even when the two posts race.
"""
from __future__ import annotations

import functools
import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, NamedTuple

from sqlalchemy import DateTime, Integer, String, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from models.questionnaire import Page, Question, Questionnaire, parse_questionnaire
from models.storage import hash_token
from models.storage.tables import Answer, Invitation, PageSubmission, Response, Survey, Wave, utcnow


WAVE_TTL = 2.0  # seconds


@dataclass(frozen=True)
class SaveOutcome:
    next_page: int | None   # index of the next page to show, None when the response is complete
    answers: dict[str, Any]  # all the response's answers after the post
    follow_up: bool = False  # completed and flagged by a follow-up rule


def decode_answer(question: Question, value_num: float | None, value_text: str | None) -> Any:
    """The stored value as the expression language and the forms see it."""
    if question.type == "rating":
        return None if value_num is None else int(value_num)
    if question.type == "number":
        if value_num is None:
            return None
        return int(value_num) if question.integer or float(value_num).is_integer() else value_num
    if question.type == "multiple_choice":
        return None if value_text is None else json.loads(value_text)
    if question.type == "single_choice":
        if value_text is None:
            return None
        for option in question.options:
            if str(option.value) == value_text:
                return option.value
        return value_text
    return value_text


def encode_answer(question: Question, value: Any) -> tuple[float | None, str | None]:
    if value is None or value == "" or value == []:
        return None, None
    if question.type in ("rating", "number"):
        return float(value), None
    if question.type == "multiple_choice":
        return None, json.dumps([str(v) for v in value], ensure_ascii=False)
    return None, str(value)


_RESPONSES, _ANSWERS, _SUBMISSIONS = Response.__table__, Answer.__table__, PageSubmission.__table__
_RESPONSE_COLUMNS = (Response.id, Response.survey_id, Response.wave_id, Response.invitation_id, Response.respondent_key,
                     Response.status, Response.language, Response.current_page)
_RESPONSE_KEYS = tuple(column.key for column in _RESPONSE_COLUMNS)


class ResponseState(NamedTuple):
    """A stored response as the respondent's pages see it: a snapshot read in one query.
    Not an ORM object: building one of those costs about 30 µs, and every page post reads
    a response. Fields in the order of ``_RESPONSE_COLUMNS``, then ``follow_up`` and
    ``contact`` (read only where the thank-you page needs them)."""

    id: int
    survey_id: int
    wave_id: int
    invitation_id: int | None
    respondent_key: str | None
    status: str
    language: str
    current_page: int
    follow_up: bool = False
    contact: dict | None = None


assert ResponseState._fields[:len(_RESPONSE_KEYS)] == _RESPONSE_KEYS


# What the landing, start and thank-you pages need of a response, without its answers.
_RESPONSE_ONLY_BY_KEY = (select(*_RESPONSE_COLUMNS, Response.follow_up, Response.contact)
                         .where(Response.respondent_key == bindparam("key")))
_INSERT_RESPONSE = insert(_RESPONSES).returning(_RESPONSES.c.id)
_RESPONSE_BY_KEY = (select(*_RESPONSE_COLUMNS, Answer.question_id, Answer.value_num, Answer.value_text)
                    .select_from(Response).outerjoin(Answer, Answer.response_id == Response.id)
                    .where(Response.respondent_key == bindparam("key")))
# A page post's transaction starts by recording its submission id, taken from the response
# found by the respondent's key, in one statement that also locks that response (PostgreSQL:
# FOR UPDATE; SQLite: the insert takes the database's write lock). Posts of one response thus
# run one after another, and a submission id seen before is refused (primary key). The
# response and its answers are read by the next statement, so they are read under the lock
# (a PostgreSQL statement that waited for a lock still sees the rows of its own snapshot).
_CLAIM_COLUMNS = ["submission_id", "response_id", "page_index", "created_at"]
_CLAIM_SOURCE = (select(bindparam("submission_id", type_=String), _RESPONSES.c.id, bindparam("page_index", type_=Integer),
                        bindparam("created_at", type_=DateTime(timezone=True)))
                 .where(_RESPONSES.c.respondent_key == bindparam("key")).with_for_update())
_CLAIM_SUBMISSION = insert(_SUBMISSIONS).from_select(_CLAIM_COLUMNS, _CLAIM_SOURCE)
_ANSWERS_OF = (select(_ANSWERS.c.question_id, _ANSWERS.c.value_num, _ANSWERS.c.value_text)
               .where(_ANSWERS.c.response_id == bindparam("response_id")))
_DELETE_ANSWERS = delete(_ANSWERS).where(_ANSWERS.c.response_id == bindparam("response_id"),
                                         _ANSWERS.c.question_id.in_(bindparam("question_ids", expanding=True)))
_INSERT_ANSWERS = insert(_ANSWERS)
_ANSWER_ROW_KEYS = ("response_id", "question_id", "value_num", "value_text")
# The SET clause comes from the parameters given (language, updated_at, current_page or completion).
_UPDATE_RESPONSE = update(_RESPONSES).where(_RESPONSES.c.id == bindparam("where_id"))


def _decode_rows(questionnaire: Questionnaire, rows) -> dict[str, Any]:
    """question id -> value from (question_id, value_num, value_text) rows; unknown ids are skipped."""
    out = {}
    for question_id, num, txt in rows:
        try:
            question = questionnaire.question(question_id)
        except KeyError:
            continue
        out[question_id] = decode_answer(question, num, txt)
    return out


def page_visible(page: Page, answers: dict) -> bool:
    if page.show_if is not None and not page.show_if.evaluate(answers):
        return False
    return any(q.show_if is None or q.show_if.evaluate(answers) for q in page.questions)


def visible_questions(page: Page, answers: dict) -> list[Question]:
    return [q for q in page.questions if q.show_if is None or q.show_if.evaluate(answers)]


class _CoreTransaction:
    """A page post's statements with SQLAlchemy Core, on any database (SQLite's path)."""

    def __init__(self, engine):
        self.connection = engine.connect()
        self.transaction = self.connection.begin()

    def open(self, params: dict[str, Any]) -> tuple[bool, list]:
        """(duplicate, rows of _RESPONSE_BY_KEY), read under the response's lock; duplicate:
        the submission id was used before."""
        claimed = True
        try:
            self.connection.execute(_CLAIM_SUBMISSION, params)
        except IntegrityError:  # posted before (double click, retry): nothing more is written
            self.transaction.rollback()
            self.transaction = self.connection.begin()
            claimed = False
        return not claimed, self.connection.execute(_RESPONSE_BY_KEY, {"key": params["key"]}).all()

    def write(self, response_id: int, remove: list[str], rows: list[dict], changes: dict[str, Any]) -> bool:
        """Delete the answers to ``remove``, insert ``rows``, update the response, commit."""
        connection = self.connection
        if remove:
            connection.execute(_DELETE_ANSWERS, {"response_id": response_id, "question_ids": remove})
        if rows:
            connection.execute(_INSERT_ANSWERS, rows)
        connection.execute(_UPDATE_RESPONSE, {"where_id": response_id, **changes})
        self.transaction.commit()
        return True

    def close(self) -> None:
        if self.transaction.is_active:
            self.transaction.rollback()
        self.connection.close()


class _PostgresStatements:
    """The page post's statements compiled once for psycopg: the same Core statements, so
    one definition serves both paths. The claim skips a used submission id (ON CONFLICT DO
    NOTHING) instead of failing, because an error would abort the statements queued behind
    it in the pipeline."""

    def __init__(self):
        from sqlalchemy import any_
        from sqlalchemy.dialects import postgresql

        dialect = postgresql.psycopg.dialect()
        claim = postgresql.insert(_SUBMISSIONS).from_select(_CLAIM_COLUMNS, _CLAIM_SOURCE)
        self.claim = str(claim.on_conflict_do_nothing(index_elements=["submission_id"]).compile(dialect=dialect))
        self.read = str(_RESPONSE_BY_KEY.compile(dialect=dialect))
        self.delete = str(delete(_ANSWERS).where(
            _ANSWERS.c.response_id == bindparam("response_id"),
            _ANSWERS.c.question_id == any_(bindparam("question_ids", type_=postgresql.ARRAY(String))))
            .compile(dialect=dialect))
        self._saves: dict[tuple[int, tuple[str, ...]], tuple[str, tuple[str, ...]]] = {}
        self._positional = postgresql.psycopg.dialect(paramstyle="format")

    def save(self, count: int, columns: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
        """One statement that inserts ``count`` answers and updates the response's
        ``columns`` (``WITH saved_answers AS (INSERT ...) UPDATE ...``), with positional
        parameters: the answers row after row, then the names returned, in order. One
        execution in PostgreSQL instead of one per answer plus the update. Cached per
        (page size, columns): a handful of combinations."""
        cached = self._saves.get((count, columns))
        if cached is None:
            statement = _UPDATE_RESPONSE
            if count:
                rows = [{key: bindparam(f"{key}_{n}") for key in _ANSWER_ROW_KEYS} for n in range(count)]
                statement = statement.add_cte(insert(_ANSWERS).values(rows).cte("saved_answers"))
            compiled = statement.compile(dialect=self._positional, column_keys=list(columns))
            cached = self._saves[(count, columns)] = (str(compiled),
                                                      tuple(compiled.positiontup[count * len(_ANSWER_ROW_KEYS):]))
        return cached


class _PostgresPipeline:
    """The locking transaction on PostgreSQL through psycopg's pipeline mode: claim and read
    go out together, then the writes with the COMMIT, so a page post costs two network round
    trips instead of six, and skips SQLAlchemy's execution machinery (about half the
    client-side CPU of each statement; docs/benchmarks.md). The answers and the response's
    update are one statement, so PostgreSQL executes four statements per post, not one per
    answer plus four. Used after :class:`_PostgresOptimistic` found its read outdated."""

    statements: _PostgresStatements | None = None

    def __init__(self, engine):
        if _PostgresPipeline.statements is None:
            _PostgresPipeline.statements = _PostgresStatements()
        self.pooled = engine.raw_connection()  # returned to the pool (and rolled back) by close()
        self.connection = self.pooled.driver_connection

    def open(self, params: dict[str, Any]) -> tuple[bool, list]:
        """(duplicate, rows of _RESPONSE_BY_KEY), read under the response's lock."""
        connection, sql = self.connection, self.statements
        with connection.pipeline():
            claim = connection.execute(sql.claim, params)
            read = connection.execute(sql.read, {"key": params["key"]})
        return claim.rowcount != 1, read.fetchall()

    def write(self, response_id: int, remove: list[str], rows: list[dict], changes: dict[str, Any]) -> bool:
        connection, sql = self.connection, self.statements
        with connection.pipeline():
            if remove:
                connection.execute(sql.delete, {"response_id": response_id, "question_ids": remove})
            statement, names = sql.save(len(rows), tuple(changes))
            values = {"where_id": response_id, **changes}
            connection.execute(statement, [row[key] for row in rows for key in _ANSWER_ROW_KEYS]
                               + [values[name] for name in names])
            connection.commit()
        return True

    def close(self) -> None:
        self.pooled.close()


# The optimistic page post (PostgreSQL). Its read also says whether the submission id was
# used before; the response's updated_at, which every save changes, is its version.
_OPTIMISTIC_READ = (
    "SELECT " + ", ".join(f"r.{c.key}" for c in _RESPONSE_COLUMNS)
    + ", a.question_id, a.value_num, a.value_text, r.updated_at,"
    " EXISTS (SELECT 1 FROM page_submissions WHERE submission_id = %(submission_id)s)"
    " FROM responses AS r LEFT OUTER JOIN answers AS a ON a.response_id = r.id"
    " WHERE r.respondent_key = %(key)s")


@functools.cache  # a handful of (page size, delete or not, columns) combinations
def _optimistic_write(count: int, remove: bool, columns: tuple[str, ...]) -> str:
    """One statement, its own transaction, that saves a page only if the response is as it
    was read. It locks the response only if its updated_at is still the one read (``FOR
    UPDATE`` re-checks the condition on the newest version of the row after waiting for
    another writer), claims the submission id, then replaces the page's answers and updates
    the response, each step taking its rows from the one before, so a stale read or a used
    submission id writes nothing and returns no row. Positional parameters, in order: response
    id, updated_at as read, submission id, page index, created_at, [question ids to delete],
    ``count`` x (question id, value_num, value_text), then ``columns``' values."""
    unknown = [c for c in columns if c not in _RESPONSES.c]
    if unknown:
        raise ValueError(f"not a column of responses: {unknown}")
    parts = [
        "WITH locked AS (SELECT id FROM responses WHERE id = %s AND updated_at IS NOT DISTINCT FROM %s FOR UPDATE),"
        " claimed AS (INSERT INTO page_submissions (submission_id, response_id, page_index, created_at)"
        " SELECT %s, id, %s, %s FROM locked ON CONFLICT (submission_id) DO NOTHING RETURNING response_id)"]
    if remove:
        parts.append(", removed AS (DELETE FROM answers WHERE response_id IN (SELECT response_id FROM claimed)"
                     " AND question_id = ANY(%s::varchar[]))")
    if count:
        # The first row's casts type the VALUES list's columns (a NULL alone has no type).
        values = ", ".join(["(%s::varchar, %s::float8, %s::text)"] + ["(%s, %s, %s)"] * (count - 1))
        parts.append(
            ", saved AS (INSERT INTO answers (response_id, question_id, value_num, value_text)"
            " SELECT claimed.response_id, page.question_id, page.value_num, page.value_text"
            f" FROM claimed CROSS JOIN (VALUES {values}) AS page (question_id, value_num, value_text)"
            " ON CONFLICT (response_id, question_id) DO UPDATE"
            " SET value_num = excluded.value_num, value_text = excluded.value_text)")
    parts.append(" UPDATE responses SET " + ", ".join(f"{c} = %s" for c in columns)
                 + " FROM claimed WHERE responses.id = claimed.response_id RETURNING responses.id")
    return "".join(parts)


class _AutocommitConnection:
    """A psycopg connection from the engine's pool in autocommit mode: each statement is its
    own transaction, without the BEGIN and COMMIT round trips. ``close()`` gives it back to
    the pool as the pool hands connections out."""

    def __init__(self, engine):
        self.pooled = engine.raw_connection()
        self.connection = self.pooled.driver_connection
        self.connection.autocommit = True
        self.execute = self.connection.execute

    def close(self) -> None:
        try:
            self.connection.autocommit = False
        except Exception:  # a broken connection: the pool replaces it
            self.pooled.invalidate()
        self.pooled.close()


@functools.cache
def _postgres_insert_response(columns: tuple[str, ...]) -> str:
    """``INSERT INTO responses (columns) VALUES (%(name)s, ...) RETURNING id`` for psycopg."""
    from sqlalchemy.dialects import postgresql
    return str(_INSERT_RESPONSE.compile(dialect=postgresql.psycopg.dialect(), column_keys=list(columns)))


class _PostgresOptimistic:
    """A page post on PostgreSQL in two statements and no open transaction: read (response,
    answers, whether the submission id was used before), then one statement that saves the
    page only if the response is still as read (:func:`_optimistic_write`). Against the
    locking :class:`_PostgresPipeline`, PostgreSQL runs two statements per post instead of
    five (BEGIN, claim, read, save, COMMIT) and psycopg runs no pipeline. When two posts of
    one response race, the one that read first and wrote second finds its read outdated
    (:meth:`write` returns False) and the post is done again with the locking path, which
    always succeeds."""

    def __init__(self, engine):
        self.connection = _AutocommitConnection(engine)
        self.params: dict[str, Any] = {}
        self.version = None

    def open(self, params: dict[str, Any]) -> tuple[bool, list]:
        """(duplicate, rows of response columns, answer columns, updated_at, used before)."""
        self.params = params
        rows = self.connection.execute(_OPTIMISTIC_READ, params).fetchall()
        if not rows:
            return False, rows
        self.version = rows[0][-2]
        return rows[0][-1], rows

    def write(self, response_id: int, remove: list[str], rows: list[dict], changes: dict[str, Any]) -> bool:
        """Save unless the response changed since :meth:`open` read it; False: nothing written."""
        upserted = {row["question_id"] for row in rows}
        remove = [qid for qid in remove if qid not in upserted]  # the rest are overwritten in place
        statement = _optimistic_write(len(rows), bool(remove), tuple(changes))
        params = self.params
        values = [response_id, self.version, params["submission_id"], params["page_index"], params["created_at"]]
        if remove:
            values.append(remove)
        for row in rows:
            values += (row["question_id"], row["value_num"], row["value_text"])
        values += changes.values()
        return self.connection.execute(statement, values).fetchone() is not None

    def close(self) -> None:
        self.connection.close()


class StaleRead(Exception):
    """The response changed between a page post's read and its save (another post of the
    same response was saved in between); nothing was written. Post again with
    ``locking=True``."""


class PagePost:
    """One page post: ``with service.page_post(key, page_index, submission_id) as post``.

    Entering reads the response and its answers (``response``, ``answers``; None and {} when
    the key is unknown) and whether the submission id was used before (``duplicate``).
    :meth:`save` stores the page. Two ways, one outcome:

    - locking (SQLite always; PostgreSQL with ``locking=True``): entering claims the
      submission id for the response in a transaction, which locks the response, then reads
      it; :meth:`save` commits; leaving without saving rolls back, the claim included;
    - optimistic (PostgreSQL by default): entering reads without a lock; :meth:`save` writes
      in one statement only if the response is still as read, else writes nothing and raises
      :class:`StaleRead`, and the post is done again with ``locking=True``.

    A post without a usable submission id is read without a lock: it is refused before
    anything is written.
    """

    def __init__(self, service: "SurveyService", key: str | None, page_index: int, submission_id: str,
                 locking: bool = False):
        self.service, self.key = service, key
        self.page_index, self.submission_id = page_index, submission_id
        self.locking = locking
        self.response: ResponseState | None = None
        self.answers: dict[str, Any] = {}
        self.duplicate = False
        self._transaction: _CoreTransaction | _PostgresPipeline | _PostgresOptimistic | None = None

    def __enter__(self) -> "PagePost":
        if not self.key:
            return self
        if not 8 <= len(self.submission_id) <= 64:
            self.response, self.answers = self.service.response_and_answers(self.key)
            return self
        kind = self.service._locking_type if self.locking else self.service._optimistic_type
        self._transaction = kind(self.service._engine)
        self.duplicate, rows = self._transaction.open({
            "submission_id": self.submission_id, "page_index": self.page_index, "created_at": utcnow(),
            "key": self.key})
        if rows:
            self.response, self.answers = self.service._response_from_rows(rows)
        return self

    def __exit__(self, *exc) -> None:
        if self._transaction is not None:
            self._transaction.close()

    def save(self, values: dict[str, Any], language: str, advance: bool) -> SaveOutcome:
        """Store the page's answers (replacing earlier ones for that page) and commit.

        ``values`` holds the page's visible questions (None = unanswered). ``advance``: move
        on (Next / Submit) rather than back. A repeated submission id stores nothing and
        leads where the first post led.
        """
        response, stored = self.response, self.answers
        if self.duplicate:
            return SaveOutcome(response.current_page, dict(stored))
        page_index = self.page_index
        questionnaire = self.service.questionnaire(response.survey_id)
        page = questionnaire.pages[page_index]
        page_ids = {q.id for q in page.questions}
        now = utcnow()
        answers = {qid: value for qid, value in stored.items() if qid not in page_ids}
        remove = [qid for qid in stored if qid in page_ids]  # saved before (Back, a second tab): replaced
        rows = []
        for question in page.questions:
            num, txt = encode_answer(question, values.get(question.id))
            if num is not None or txt is not None:
                rows.append({"response_id": response.id, "question_id": question.id, "value_num": num,
                             "value_text": txt})
                answers[question.id] = decode_answer(question, num, txt)
        next_page = self.service._next_visible(questionnaire, answers, page_index) if advance else page_index
        changes: dict[str, Any] = {"language": language, "updated_at": now}
        if advance and next_page is None:
            # Answers to questions that the final answers hide (the respondent went back and
            # changed an earlier answer) are not part of the response.
            visible = _visible_question_ids(questionnaire, answers)
            if any(qid not in visible for qid in answers):
                remove += [qid for qid in stored if qid not in visible and qid not in page_ids]
                rows = [row for row in rows if row["question_id"] in visible]
                answers = {qid: value for qid, value in answers.items() if qid in visible}
            changes |= {"status": "complete", "completed_at": now, "current_page": len(questionnaire.pages)}
            if any(rule.when.evaluate(answers) for rule in questionnaire.follow_up):
                changes |= {"follow_up": True, "follow_up_status": "open"}
        elif advance:
            changes["current_page"] = max(response.current_page, next_page)
        if not self._transaction.write(response.id, remove, rows, changes):
            raise StaleRead(f"response {response.id} changed since it was read")
        return SaveOutcome(next_page, answers, changes.get("follow_up", False))


def _visible_question_ids(questionnaire: Questionnaire, answers: dict) -> set[str]:
    return {q.id for p in questionnaire.pages if page_visible(p, answers) for q in visible_questions(p, answers)}


class SurveyService:
    """Database operations for the respondent blueprint. One per app; thread-safe."""

    def __init__(self, session_factory: sessionmaker[Session]):
        self.sessions = session_factory
        # Reads outside a transaction: no BEGIN and no ROLLBACK round trips (PostgreSQL), one
        # statement each. Writes keep their transactions (``self.sessions.begin()``).
        self._engine = session_factory.kw["bind"]
        self._reader = self._engine.execution_options(isolation_level="AUTOCOMMIT")
        dialect = self._engine.dialect
        psycopg = (dialect.name, dialect.driver) == ("postgresql", "psycopg")
        self._locking_type = _PostgresPipeline if psycopg else _CoreTransaction
        self._optimistic_type = _PostgresOptimistic if psycopg else _CoreTransaction
        self._questionnaires: dict[int, Questionnaire] = {}
        self._waves: dict[tuple[str, str], tuple[float, Wave]] = {}

    # ---- lookups ------------------------------------------------------------------
    def find_wave(self, questionnaire_id: str, wave_name: str) -> Wave | None:
        """The wave, from a cache kept for WAVE_TTL seconds (every request needs it; opening
        or closing a wave takes effect within that time)."""
        key = (questionnaire_id, wave_name)
        now = time.monotonic()
        cached = self._waves.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        with self.sessions() as session:
            wave = session.scalar(select(Wave).where(Wave.questionnaire_id == questionnaire_id, Wave.name == wave_name))
        if wave is not None:
            self._waves[key] = (now + WAVE_TTL, wave)
        return wave

    def questionnaire(self, survey_id: int) -> Questionnaire:
        cached = self._questionnaires.get(survey_id)
        if cached is None:
            with self.sessions() as session:
                survey = session.get(Survey, survey_id)
                content = survey.content
            cached = parse_questionnaire(json.dumps(content, ensure_ascii=False), f"survey {survey_id}")
            self._questionnaires[survey_id] = cached
        return cached

    def response_by_key(self, key: str | None) -> ResponseState | None:
        """The respondent's response (without its answers), in one autocommit query."""
        if not key:
            return None
        with self._reader.connect() as connection:
            row = connection.execute(_RESPONSE_ONLY_BY_KEY, {"key": key}).first()
        return None if row is None else ResponseState(*row)

    def response_and_answers(self, key: str | None) -> tuple[ResponseState | None, dict[str, Any]]:
        """The respondent's response and its answers, in one autocommit query."""
        if not key:
            return None, {}
        with self._reader.connect() as connection:
            rows = connection.execute(_RESPONSE_BY_KEY, {"key": key}).all()
        if not rows:
            return None, {}
        return self._response_from_rows(rows)

    def _response_from_rows(self, rows) -> tuple[ResponseState, dict[str, Any]]:
        """The response and its answers from rows of (response columns, answer columns, ...)."""
        width = len(_RESPONSE_COLUMNS)
        response = ResponseState(*rows[0][:width])
        questionnaire = self.questionnaire(response.survey_id)
        return response, _decode_rows(questionnaire, (r[width:width + 3] for r in rows if r[width] is not None))

    def page_post(self, key: str | None, page_index: int, submission_id: str, locking: bool = False) -> PagePost:
        """One page post by the respondent with ``key`` (see :class:`PagePost`)."""
        return PagePost(self, key, page_index, submission_id, locking)

    def answers(self, response: ResponseState | Response) -> dict[str, Any]:
        questionnaire = self.questionnaire(response.survey_id)
        with self._reader.connect() as connection:
            rows = connection.execute(_ANSWERS_OF, {"response_id": response.id}).all()
        return _decode_rows(questionnaire, rows)

    # ---- starting -------------------------------------------------------------------
    def start(self, wave: Wave, language: str, invitation_id: int | None = None) -> ResponseState:
        """A new response with a fresh respondent key."""
        now = utcnow()
        values = dict(survey_id=wave.survey_id, wave_id=wave.id, invitation_id=invitation_id,
                      respondent_key=secrets.token_urlsafe(32), status="partial", language=language,
                      current_page=0, started_at=now, updated_at=now, follow_up=False)
        if self._optimistic_type is _PostgresOptimistic:  # one statement, its own transaction
            from psycopg import errors

            statement = _postgres_insert_response(tuple(values))
            connection = _AutocommitConnection(self._engine)
            try:
                response_id = connection.execute(statement, values).fetchone()[0]
            except errors.IntegrityError as exc:  # as SQLAlchemy raises it (open_invitation relies on it)
                raise IntegrityError(statement, values, exc) from exc
            finally:
                connection.close()
        else:
            with self._engine.begin() as connection:
                response_id = connection.execute(_INSERT_RESPONSE, values).scalar_one()
        return ResponseState(response_id, wave.survey_id, wave.id, invitation_id, values["respondent_key"], "partial",
                             language, 0)

    def open_invitation(self, token: str, language: str) -> tuple[str, Wave | None, ResponseState | Response | None]:
        """("invalid" | "ok", wave, response). Reopening resumes the same response."""
        with self.sessions() as session:
            invitation = session.scalar(select(Invitation).where(Invitation.token_hash == hash_token(token)))
            if invitation is None:
                return "invalid", None, None
            wave = session.get(Wave, invitation.wave_id)
            response = session.scalar(select(Response).where(Response.invitation_id == invitation.id))
        if response is not None:
            return "ok", wave, response
        if not wave.is_open():
            return "ok", wave, None
        try:
            response = self.start(wave, language, invitation.id)
        except IntegrityError:  # the same link opened twice at once: the other request won
            with self.sessions() as session:
                response = session.scalar(select(Response).where(Response.invitation_id == invitation.id))
            return "ok", wave, response
        with self.sessions.begin() as session:
            session.get(Invitation, invitation.id).used_at = utcnow()
        return "ok", wave, response

    # ---- saving ---------------------------------------------------------------------
    def _next_visible(self, questionnaire: Questionnaire, answers: dict, after: int) -> int | None:
        for index in range(after + 1, len(questionnaire.pages)):
            if page_visible(questionnaire.pages[index], answers):
                return index
        return None

    def first_page(self, questionnaire: Questionnaire, answers: dict) -> int | None:
        return self._next_visible(questionnaire, answers, -1)

    def resume_page(self, response: ResponseState | Response, questionnaire: Questionnaire, answers: dict) -> int | None:
        """The first page not yet submitted (skipping pages hidden by earlier answers)."""
        index = response.current_page
        if index < len(questionnaire.pages) and page_visible(questionnaire.pages[index], answers):
            return index
        return self._next_visible(questionnaire, answers, index)

    def save_contact(self, response_id: int, contact: dict) -> None:
        with self.sessions.begin() as session:
            response = session.get(Response, response_id)
            response.contact = contact
            response.updated_at = datetime.now(timezone.utc)
