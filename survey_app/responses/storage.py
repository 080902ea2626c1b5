"""The respondent's side of storage: starting, resuming, saving page by page, completing.

One set of SQLAlchemy Core statements serves SQLite and PostgreSQL; every row is read by
column name.
Every page post carries a submission id, stored in the same transaction as the page's
answers (primary key), so a repeated post (double click, retry after a network error, back
button) is recognised and stored once, even when the two posts race.

On PostgreSQL the same statements go through psycopg's pipeline mode (``pipeline.py``), in
two round trips instead of six: measured at the service bar, the difference is a pause a
respondent notices (the figures are in that module and in docs/benchmarks.md).
"""
from __future__ import annotations

import dataclasses
import json
import secrets
import time
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import DateTime, Engine, Integer, String, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from models.answers import decode_rows
from models.hidden import HiddenRefused, read_hidden, with_hidden
from models.quotas import WAVE_QUOTA_ID
from models.questionnaire import Questionnaire, parse_questionnaire
from models.storage import hash_token
from models.storage.tables import Answer, Invitation, PageSubmission, Response, QuestionnaireVersion, Wave, WebhookDelivery, utcnow

from . import quota_claims
from .page_save import PageSave, ResponseState, SaveOutcome, plan_page_save

WAVE_TTL = 2.0  # seconds

_responses, _answers, _submissions = Response.__table__, Answer.__table__, PageSubmission.__table__
_deliveries = WebhookDelivery.__table__
_STATE = [_responses.c[name] for name in ("id", "survey_id", "wave_id", "invitation_id", "respondent_key", "status",
                                          "language", "current_page", "hidden", "quota_id")]
_BY_KEY = _responses.c.respondent_key == bindparam("key")
# What the landing, start and thank-you pages need of a response, without its answers.
_RESPONSE = select(*_STATE, _responses.c.follow_up, _responses.c.contact).where(_BY_KEY)
# A page shown: the response and its answers in one query (no answers: one row of NULLs).
_RESPONSE_AND_ANSWERS = (select(*_STATE, _answers.c.question_id, _answers.c.value_num, _answers.c.value_text)
                         .select_from(_responses.outerjoin(_answers, _answers.c.response_id == _responses.c.id))
                         .where(_BY_KEY))
# A page post's transaction starts by recording its submission id for the response found by
# the respondent's key, in one statement that also locks that response (FOR UPDATE of its row
# on PostgreSQL; SQLite ignores FOR UPDATE and is locked as a whole, see _CoreTransaction). Posts
# of one response thus run one after another, and a submission id seen before is refused by
# its primary key. The response and its answers are read by the next statement, so they are
# read under the lock and as the post before left them (on PostgreSQL a statement that waited
# for a row lock sees the other tables as they were when it started; the next one sees all).
_CLAIM_COLUMNS = ["submission_id", "response_id", "page_index", "created_at"]
_CLAIM_SOURCE = (select(bindparam("submission_id", type_=String), _responses.c.id,
                        bindparam("page_index", type_=Integer), bindparam("created_at", type_=DateTime(timezone=True)))
                 .where(_BY_KEY).with_for_update())
_CLAIM = insert(_submissions).from_select(_CLAIM_COLUMNS, _CLAIM_SOURCE)
_ANSWERS_OF = (select(_answers.c.question_id, _answers.c.value_num, _answers.c.value_text)
               .where(_answers.c.response_id == bindparam("response_id")))
_DELETE_ANSWERS = delete(_answers).where(_answers.c.response_id == bindparam("response_id"),
                                         _answers.c.question_id.in_(bindparam("question_ids", expanding=True)))


class _CoreTransaction:
    """A page post's transaction through SQLAlchemy Core, on either database."""

    def __init__(self, engine: Engine):
        self.connection = engine.connect()
        self.transaction = self.connection.begin()
        self.dialect = self.connection.dialect.name
        if self.dialect == "sqlite":
            # SQLite has no row locks and ignores FOR UPDATE. BEGIN IMMEDIATE takes the
            # database's write lock at once (waiting up to the busy timeout), so what follows
            # is read under it, as FOR UPDATE makes it on PostgreSQL.
            try:
                self.connection.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:  # locked past the timeout, or gone: the connection goes back
                self.close()
                raise

    def open(self, params: dict[str, Any]) -> tuple[bool, list]:
        """(duplicate, rows of _RESPONSE_AND_ANSWERS as mappings): the claim, then the read."""
        duplicate = False
        try:
            self.connection.execute(_CLAIM, params)
        except IntegrityError:  # posted before (double click, retry): nothing more is written
            self.transaction.rollback()
            duplicate = True
        return duplicate, list(self.connection.execute(_RESPONSE_AND_ANSWERS, {"key": params["key"]}).mappings())

    def run(self, statement, params: dict[str, Any]) -> list:
        """One more statement in the transaction (quota_claims'); its rows, if it returns any."""
        result = self.connection.execute(statement, params)
        return list(result) if result.returns_rows else []

    def write(self, response_id: int, remove: list[str], rows: list[dict], changes: dict[str, Any],
              deliveries: list[dict] = ()) -> None:
        """Delete the answers to ``remove``, insert ``rows``, update the response, record the
        webhook ``deliveries`` (rows of webhook_deliveries), commit."""
        if remove:
            self.connection.execute(_DELETE_ANSWERS, {"response_id": response_id, "question_ids": remove})
        if rows:
            self.connection.execute(insert(_answers), rows)
        self.connection.execute(update(_responses).where(_responses.c.id == response_id).values(**changes))
        if deliveries:
            self.connection.execute(insert(_deliveries), list(deliveries))
        self.transaction.commit()

    def close(self) -> None:
        try:
            if self.transaction.is_active:
                self.transaction.rollback()
        finally:
            self.connection.close()


class PagePost:
    """One page post, one transaction: ``with service.page_post(key, page_index, submission_id) as post``.

    Entering begins the transaction, records the submission id for the respondent's response,
    which locks the response, and reads the response (``response``; None when the key is
    unknown) and its answers (``answers``) under that lock. A submission id used before
    (``duplicate``) is refused by its primary key; the response is read as it is and nothing
    will be written. Posts of one response thus take effect one after another, each checked
    against what the one before saved. :meth:`save` writes and commits; leaving without
    saving rolls back, the claim included.

    A post without a usable submission id (8 to 64 characters) is read without a transaction:
    it is refused before anything is written.
    """

    def __init__(self, service: "RespondentService", key: str | None, page_index: int, submission_id: str):
        self.service, self.key = service, key
        self.page_index, self.submission_id = page_index, submission_id
        self.response: ResponseState | None = None
        self.answers: dict[str, Any] = {}
        self.duplicate = False
        self._transaction = None

    def __enter__(self) -> "PagePost":
        if not self.key:
            return self
        if not 8 <= len(self.submission_id) <= 64:
            self.response, self.answers = self.service.response_and_answers(self.key)
            return self
        self._transaction = self.service.transaction_type(self.service.engine)
        try:
            self.duplicate, rows = self._transaction.open({
                "submission_id": self.submission_id, "page_index": self.page_index, "created_at": utcnow(),
                "key": self.key})
        except BaseException:  # (a database that is locked or gone) __exit__ is not called for a failed __enter__
            self.__exit__()
            raise
        if rows:
            self.response, self.answers = self.service.response_from_rows(rows)
        return self

    def __exit__(self, *exc) -> None:
        if self._transaction is not None:
            transaction, self._transaction = self._transaction, None
            transaction.close()

    def save(self, values: dict[str, Any], language: str, advance: bool,
             max_completes: int | None = None) -> SaveOutcome:
        """Store the page's answers (replacing earlier ones for that page) and commit.

        ``values`` holds the page's visible questions (None = unanswered). ``advance``: move
        on (Next / Submit) rather than back. A repeated submission id stores nothing and
        leads where the first post led. ``max_completes``: the wave's cap on completions.
        A full quota (or a full wave) ends the response instead (``SaveOutcome.quota``).
        """
        response, stored = self.response, self.answers
        if self.duplicate:
            if response.status == "quota_full":  # a re-sent post of a response a quota ended: the same ending
                return SaveOutcome(None, dict(stored), False, quota=response.quota_id)
            return SaveOutcome(response.current_page, dict(stored))
        questionnaire = self.service.questionnaire(response.survey_id)
        plan = plan_page_save(questionnaire, response, stored, self.page_index, values, language, advance, utcnow())
        if advance and (questionnaire.quotas or max_completes is not None):
            plan = self._quotas(questionnaire, response, plan, max_completes)
        deliveries = self._completion_deliveries(questionnaire, response, plan) \
            if plan.changes.get("status") == "complete" else []
        self._transaction.write(response.id, plan.remove, [{"response_id": response.id, **row} for row in plan.rows],
                                plan.changes, deliveries)
        return plan.outcome

    def _quotas(self, questionnaire: Questionnaire, response: ResponseState, plan: PageSave,
                max_completes: int | None) -> PageSave:
        """The plan, or the plan ending the response when its answers put it in a full quota.

        At completion the places are taken for good (``quota_claims.claim``, the database
        decides between the last respondents); on an earlier page a quota whose questions
        are all asked by now and that is already full ends the response at once, rather
        than after the rest of the questionnaire (a look only: the completion decides)."""
        answers, transaction = plan.outcome.answers, self._transaction
        # Quotas may count by hidden fields (``hidden.region``) as well as by answers.
        seen = with_hidden(answers, response.hidden)
        if plan.changes.get("status") == "complete":
            claims = [(quota.id, quota.limit) for quota in questionnaire.quotas if quota.applies(seen)]
            if max_completes is not None:
                claims.append((WAVE_QUOTA_ID, max_completes))
            full = quota_claims.claim(transaction.run, transaction.dialect, response.wave_id, claims) if claims else None
        else:
            asked = {q.id for page in questionnaire.pages[:self.page_index + 1] for q in page.questions}
            here = {q.id for q in questionnaire.pages[self.page_index].questions}
            decided = [quota for quota in questionnaire.quotas
                       if here.intersection(quota.when.names) and asked.issuperset(quota.when.names)
                       and quota.applies(seen)]
            counted = quota_claims.counts(transaction.run, response.wave_id) if decided else {}
            full = next((quota.id for quota in decided if counted.get(quota.id, 0) >= quota.limit), None)
        if full is None:
            return plan
        ended = {name: value for name, value in plan.changes.items()
                 if name not in ("completed_at", "follow_up", "follow_up_status")}
        ended |= {"status": "quota_full", "quota_id": full}
        return dataclasses.replace(plan, changes=ended, outcome=SaveOutcome(None, answers, False, quota=full))

    def _completion_deliveries(self, questionnaire: Questionnaire, response: ResponseState, plan) -> list[dict]:
        """Webhook deliveries announcing the completion (and the follow-up flag), written by
        ``write`` in the same transaction as the last page: a completed response is never left
        unannounced, and no receiver is called while the respondent waits (the worker
        delivers). A questionnaire without webhooks costs one small query."""
        from models.storage.webhooks import delivery_rows

        with self.service.engine.connect() as connection:
            def payload() -> dict[str, Any]:
                wave_name = connection.execute(select(Wave.name).where(Wave.id == response.wave_id)).scalar()
                attributes = None
                if response.invitation_id is not None:
                    attributes = connection.execute(select(Invitation.attributes)
                                                    .where(Invitation.id == response.invitation_id)).scalar()
                return {"survey": questionnaire.id, "wave": wave_name, "response_id": response.id,
                        "language": plan.changes.get("language"),
                        "completed_at": plan.changes["completed_at"].isoformat(),
                        "follow_up": bool(plan.outcome.follow_up), "invitation": attributes or None,
                        "hidden": response.hidden or None,
                        "answers": plan.outcome.answers}

            events = ["response.completed"] + (["followup.flagged"] if plan.outcome.follow_up else [])
            return delivery_rows(connection, questionnaire.id, events, payload)


class RespondentService:
    """Database operations for the respondent blueprint. One per app; thread-safe."""

    def __init__(self, engine: Engine):
        self.engine = engine
        dialect = engine.dialect
        if (dialect.name, dialect.driver) == ("postgresql", "psycopg"):
            from .pipeline import PipelinedTransaction  # why: see that module
            self.transaction_type = PipelinedTransaction
        else:
            self.transaction_type = _CoreTransaction
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        # Single statements outside a transaction (each is its own): no BEGIN and COMMIT or
        # ROLLBACK round trips.
        self._reader = engine.execution_options(isolation_level="AUTOCOMMIT")
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
                content = session.get(QuestionnaireVersion, survey_id).content
            cached = parse_questionnaire(json.dumps(content, ensure_ascii=False), f"survey {survey_id}")
            self._questionnaires[survey_id] = cached
        return cached

    def response_by_key(self, key: str | None) -> ResponseState | None:
        """The respondent's response (without its answers)."""
        if not key:
            return None
        with self._reader.connect() as connection:
            row = connection.execute(_RESPONSE, {"key": key}).first()
        return None if row is None else ResponseState.from_row(row._mapping)

    def response_and_answers(self, key: str | None) -> tuple[ResponseState | None, dict[str, Any]]:
        """The respondent's response and its answers, in one query."""
        if not key:
            return None, {}
        with self._reader.connect() as connection:
            rows = list(connection.execute(_RESPONSE_AND_ANSWERS, {"key": key}).mappings())
        return self.response_from_rows(rows) if rows else (None, {})

    def response_from_rows(self, rows: list) -> tuple[ResponseState, dict[str, Any]]:
        """The response and its answers from the row mappings of _RESPONSE_AND_ANSWERS."""
        response = ResponseState.from_row(rows[0])
        answered = [row for row in rows if row["question_id"] is not None]
        return response, with_hidden(decode_rows(self.questionnaire(response.survey_id), answered), response.hidden)

    def answers(self, response: ResponseState) -> dict[str, Any]:
        with self._reader.connect() as connection:
            rows = list(connection.execute(_ANSWERS_OF, {"response_id": response.id}).mappings())
        return with_hidden(decode_rows(self.questionnaire(response.survey_id), rows), response.hidden)

    def page_post(self, key: str | None, page_index: int, submission_id: str) -> PagePost:
        """One page post by the respondent with ``key`` (see :class:`PagePost`)."""
        return PagePost(self, key, page_index, submission_id)

    # ---- starting -------------------------------------------------------------------
    def start(self, wave: Wave, language: str, invitation_id: int | None = None,
              hidden: dict[str, str] | None = None) -> ResponseState:
        """A new response with a fresh respondent key and the link's ``hidden`` values (read
        and checked by ``models.hidden.read_hidden``). A second response for one invitation
        raises SQLAlchemy's IntegrityError (the column is unique)."""
        now = utcnow()
        hidden = dict(hidden) if hidden else None
        values = dict(survey_id=wave.survey_id, wave_id=wave.id, invitation_id=invitation_id,
                      respondent_key=secrets.token_urlsafe(32), status="partial", language=language,
                      current_page=0, started_at=now, updated_at=now, follow_up=False, hidden=hidden)
        with self._reader.connect() as connection:  # one statement: its own transaction
            response_id = connection.execute(insert(_responses).values(values).returning(_responses.c.id)).scalar_one()
        return ResponseState(id=response_id, survey_id=wave.survey_id, wave_id=wave.id, invitation_id=invitation_id,
                             respondent_key=values["respondent_key"], status="partial", language=language,
                             current_page=0, hidden=hidden)

    def _response_of_invitation(self, invitation_id: int) -> ResponseState | None:
        with self._reader.connect() as connection:
            row = connection.execute(select(*_STATE).where(_responses.c.invitation_id == invitation_id)).first()
        return None if row is None else ResponseState.from_row(row._mapping)

    def open_invitation(self, token: str, language: str) -> tuple[str, Wave | None, ResponseState | None]:
        """("invalid" | "ok", wave, response). Reopening resumes the same response."""
        with self.sessions() as session:
            invitation = session.scalar(select(Invitation).where(Invitation.token_hash == hash_token(token)))
            if invitation is None:
                return "invalid", None, None
            wave = session.get(Wave, invitation.wave_id)
        response = self._response_of_invitation(invitation.id)
        if response is not None:
            return "ok", wave, response
        if not wave.is_open():
            return "ok", wave, None
        hidden = invitation_hidden(self.questionnaire(wave.survey_id), invitation.attributes)
        try:
            response = self.start(wave, language, invitation.id, hidden)
        except IntegrityError:  # the same link opened twice at once: the other request won
            return "ok", wave, self._response_of_invitation(invitation.id)
        with self.sessions.begin() as session:
            session.get(Invitation, invitation.id).used_at = utcnow()
        return "ok", wave, response

    def record_display_order(self, response_id: int, order: dict[str, list[str]]) -> None:
        """Add ``order`` (models.randomization) to what the response was shown; written only
        when something in it is new (a page shown again costs one read)."""
        with self.engine.begin() as connection:
            stored = connection.scalar(select(_responses.c.display_order).where(_responses.c.id == response_id)) or {}
            if all(stored.get(key) == value for key, value in order.items()):
                return
            connection.execute(update(_responses).where(_responses.c.id == response_id)
                               .values(display_order={**stored, **order}))

    def save_contact(self, response_id: int, contact: dict) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(_responses).where(_responses.c.id == response_id)
                               .values(contact=contact, updated_at=datetime.now(timezone.utc)))


def invitation_hidden(questionnaire: Questionnaire, attributes: dict | None) -> dict[str, str]:
    """The hidden values an invitation's attributes give its response: the declared fields,
    each kept only when its rule accepts it (the survey team set them, so no signature is
    asked for; a value the rule refuses is left out, as an unset one, rather than locking
    the invitee out of their survey)."""
    out = {}
    for field in questionnaire.hidden:
        try:
            out.update(read_hidden((field,), attributes or {}, check_signature=False))
        except HiddenRefused:
            continue
    return out
