"""The follow-up workflow: the call-back queue a service team works from.

A completed response that a follow-up rule flags joins the queue (status ``open``). Only
customers who left contact details with their consent are *callable*; the others stay in
the analysis and are counted apart ("no contact"). The queue is ordered the way call
centres triage dissatisfied customers: the most valuable customers first (an invitation's
``revenue``/``value`` attribute, else its ``tier``), then the most dissatisfied (the
satisfaction construct's items on a 0-100 scale, lowest first), then the oldest.

Every change (status, note, assignee, outcome) is an event with who and when; notes are
appended, never overwritten. Closing a case (status ``resolved``) records its outcome.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from ..answers import answer_type
from .repository import StorageError, stored_questionnaire
from .tables import AdminUser, Answer, FollowUpEvent, Invitation, Response, QuestionnaireVersion, QuestionnaireSetting, Wave, _aware, utcnow
from .webhooks import record_event

STATUSES = ("open", "called", "resolved")
OUTCOMES = {"reached": "reached, talked it through", "problem_solved": "problem solved",
            "churn_risk": "churn risk", "would_not_talk": "would not talk"}
ORDERS = ("priority", "oldest", "newest")
# Tier names as CRM systems commonly spell them, from most to least valuable.
TIER_RANK = {"platinum": 5, "diamond": 5, "vip": 5, "gold": 4, "premium": 4, "silver": 3, "bronze": 2,
             "standard": 1, "basic": 1, "regular": 1}
MAX_NOTE = 5000
# A follow-up SLA longer than a year is a typo (hours for days), not a service level.
MAX_SLA_HOURS = 24 * 366


@dataclass(frozen=True)
class QueueFilter:
    """What the queue shows. ``assignee``: a user name, ``"none"`` (unassigned) or None (all);
    ``segment``: ``key=value``: the invitation's attribute ``key``, else the hidden value the
    link carried, else the answer to question ``key`` (tier=gold, channel=store); ``search``: text in the
    contact, notes or attributes; ``older_than_hours``: only cases at least that old;
    ``theme``: only customers whose open answer mentions a theme whose label contains it
    (themes of the wave's stored analysis)."""

    questionnaire_id: str | None = None
    wave_id: int | None = None
    status: str | None = "open"
    assignee: str | None = None
    segment: str | None = None
    search: str | None = None
    older_than_hours: float | None = None
    order: str = "priority"
    page: int = 1
    per_page: int = 50
    theme: str | None = None

    def checked(self) -> "QueueFilter":
        if self.status not in STATUSES + (None,):
            raise StorageError(f"follow-up status {self.status!r}: choose one of {', '.join(STATUSES)} (or all)")
        if self.order not in ORDERS:
            raise StorageError(f"order {self.order!r}: choose one of {', '.join(ORDERS)}")
        if self.segment is not None and "=" not in self.segment:
            raise StorageError(f"segment {self.segment!r}: write it as key=value, e.g. tier=gold")
        if not 1 <= self.per_page <= 1000 or self.page < 1:
            raise StorageError("page must be 1 or more, and 1-1000 rows per page")
        return self


@dataclass(frozen=True)
class OpenText:
    """A flagged customer's open answer with what the wave's stored analysis found in it
    (sentiment and theme labels; None and () before the wave is analysed)."""
    question_id: str
    text: str
    sentiment: str | None = None
    score: float | None = None
    themes: tuple[str, ...] = ()


@dataclass(frozen=True)
class QueueRow:
    response: Response
    wave: Wave
    attributes: dict[str, Any]
    satisfaction: float | None    # 0-100, mean of the satisfaction items; None without them
    value: float                  # revenue/value attribute, else the tier's rank (higher first)
    age_hours: float
    overdue: bool
    assignee: str | None
    sla_hours: float = 48.0       # the SLA of the case's survey (its own, else the default)
    texts: tuple[OpenText, ...] = ()  # open answers with sentiment and themes

    @property
    def negative_text(self) -> bool:
        return any(t.sentiment == "negative" for t in self.texts)


@dataclass(frozen=True)
class Queue:
    rows: list[QueueRow]
    total: int                    # callable cases matching the filter (all pages)
    no_contact: int               # flagged cases matching the filter whose customer gave no contact consent
    overdue: int                  # callable open cases older than the SLA
    filter: QueueFilter = field(default_factory=QueueFilter)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.filter.per_page))


def customer_value(attributes: dict[str, Any]) -> float:
    for key in ("revenue", "value", "customer_value", "clv"):
        try:
            return float(str(attributes[key]).replace(",", ""))
        except (KeyError, ValueError):
            continue
    return float(TIER_RANK.get(str(attributes.get("tier", "")).strip().lower(), 0))


def _satisfaction_items(questionnaire) -> dict[str, tuple[float, float, int | None]]:
    """Satisfaction item id -> (scale min, max, don't-know code): the construct named like
    "satisfaction", else every rating item."""
    constructs = questionnaire.constructs()
    names = [c for c in constructs if "satisf" in c.lower()]
    items = [i for c in names for i in constructs[c]] or [q.id for q in questionnaire.rating_items]
    out = {}
    for item in items:
        scale = questionnaire.question(item).scale
        out[item] = (float(scale.minimum), float(scale.maximum), scale.dont_know_code)
    return out


def _satisfaction(answers: dict[str, float], items: dict[str, tuple[float, float, int | None]]) -> float | None:
    """ACSI's 0-100 rescaling, (x - min) / (max - min) * 100, averaged over answered items."""
    values = [(answers[i] - low) / (high - low) * 100 for i, (low, high, dont_know) in items.items()
              if i in answers and answers[i] != dont_know and high > low]
    return sum(values) / len(values) if values else None


def follow_up_queue(session: Session, wanted: QueueFilter = QueueFilter(), *, sla_hours: float = 48,
                    now: datetime | None = None) -> Queue:
    wanted = wanted.checked()
    now = now or utcnow()
    query = (select(Response, Wave, Invitation.attributes, AdminUser.username)
             .join(Wave, Wave.id == Response.wave_id)
             .outerjoin(Invitation, Invitation.id == Response.invitation_id)
             .outerjoin(AdminUser, AdminUser.id == Response.follow_up_assignee_id)
             .where(Response.follow_up.is_(True)))
    if wanted.questionnaire_id:
        query = query.where(Wave.questionnaire_id == wanted.questionnaire_id)
    if wanted.wave_id:
        query = query.where(Wave.id == wanted.wave_id)
    if wanted.status:
        query = query.where(Response.follow_up_status == wanted.status)
    if wanted.assignee == "none":
        query = query.where(Response.follow_up_assignee_id.is_(None))
    elif wanted.assignee:
        query = query.where(AdminUser.username == wanted.assignee)
    found = session.execute(query).all()

    segment_key, _, segment_value = (wanted.segment or "").partition("=")
    segment_key, segment_value = segment_key.strip(), segment_value.strip()
    answered = _answers_to(session, segment_key, [r.id for r, _, attributes, _ in found
                                                  if segment_key not in (attributes or {})
                                                  and segment_key not in (r.hidden or {})]) if segment_key else {}
    needle = (wanted.search or "").strip().lower()
    notes = _notes_by_response(session, [r.id for r, *_ in found]) if needle else {}
    candidates, no_contact = [], 0
    for response, wave, attributes, assignee in found:
        attributes = dict(attributes or {})
        if segment_key and segment_value not in _segment_values(segment_key, attributes, response.hidden or {},
                                                                answered.get(response.id)):
            continue
        age = (now - _aware(response.completed_at or response.updated_at)).total_seconds() / 3600
        if wanted.older_than_hours is not None and age < wanted.older_than_hours:
            continue
        if needle and needle not in " ".join([str(response.contact or ""), str(attributes), notes.get(response.id, ""),
                                              response.follow_up_note or ""]).lower():
            continue
        if not response.contact:
            no_contact += 1
            continue
        candidates.append((response, wave, attributes, assignee, age))

    satisfaction = _satisfaction_by_response(session, [(r, w) for r, w, *_ in candidates])
    texts = open_texts(session, [(r, w) for r, w, *_ in candidates])
    slas = sla_hours_by_survey(session)
    rows = []
    theme = (wanted.theme or "").strip().lower()
    for response, wave, attributes, assignee, age in candidates:
        found_texts = texts.get(response.id, ())
        if theme and not any(theme in label.lower() for t in found_texts for label in t.themes):
            continue
        sla = slas.get(wave.questionnaire_id, sla_hours)
        rows.append(QueueRow(response, wave, attributes, satisfaction.get(response.id), customer_value(attributes), age,
                             response.follow_up_status == "open" and age > sla, assignee, sla, found_texts))
    if wanted.order == "priority":
        # The most valuable customers first; among equals, those who wrote something negative
        # (a complaint in their own words), then the least satisfied, then the oldest case.
        rows.sort(key=lambda r: (-r.value, not r.negative_text, r.satisfaction if r.satisfaction is not None else 101.0,
                                 -r.age_hours, r.response.id))
    else:
        rows.sort(key=lambda r: (r.age_hours, r.response.id), reverse=wanted.order == "oldest")
    start = (wanted.page - 1) * wanted.per_page
    return Queue(rows[start:start + wanted.per_page], len(rows), no_contact, sum(r.overdue for r in rows), wanted)


def _answers_to(session: Session, question_id: str, response_ids: list[int]) -> dict[int, tuple]:
    """Response id -> (value_text, value_num) of its answer to ``question_id``."""
    out: dict[int, tuple] = {}
    for start in range(0, len(response_ids), 500):
        for response_id, text, number in session.execute(
                select(Answer.response_id, Answer.value_text, Answer.value_num)
                .where(Answer.response_id.in_(response_ids[start:start + 500]), Answer.question_id == question_id)):
            out[response_id] = (text, number)
    return out


def _segment_values(key: str, attributes: dict, hidden: dict, answer: tuple | None) -> set[str]:
    """What a case has for segment ``key``: its invitation's attribute, else the hidden value
    its link carried, else its answer to the question ``key`` (each option of a multiple choice)."""
    import json
    import math

    if key in attributes:
        return {str(attributes[key])}
    if key in hidden:
        return {str(hidden[key])}
    if answer is None:
        return set()
    text, number = answer
    if text is not None:
        if text.startswith("["):
            try:
                return {str(v) for v in json.loads(text)}
            except ValueError:
                pass
        return {text}
    if number is None or (isinstance(number, float) and math.isnan(number)):
        return set()
    return {str(int(number)) if float(number).is_integer() else str(number)}


def _satisfaction_by_response(session: Session, pairs: list[tuple[Response, Wave]]) -> dict[int, float | None]:
    by_survey: dict[int, list[int]] = {}
    for response, _ in pairs:
        by_survey.setdefault(response.survey_id, []).append(response.id)
    out: dict[int, float | None] = {}
    for survey_id, ids in by_survey.items():
        items = _satisfaction_items(stored_questionnaire(session.get(QuestionnaireVersion, survey_id)))
        answers: dict[int, dict[str, float]] = {}
        for start in range(0, len(ids), 500):
            for response_id, question, value in session.execute(
                    select(Answer.response_id, Answer.question_id, Answer.value_num)
                    .where(Answer.response_id.in_(ids[start:start + 500]), Answer.question_id.in_(list(items)),
                           Answer.value_num.is_not(None))):
                answers.setdefault(response_id, {})[question] = value
        for response_id in ids:
            out[response_id] = _satisfaction(answers.get(response_id, {}), items)
    return out


def open_texts(session: Session, pairs: list[tuple[Response, Wave]]) -> dict[int, tuple[OpenText, ...]]:
    """Response id -> its open answers, each with the sentiment and themes the wave's stored
    analysis found (``summary["texts"]``, written by the analysis job)."""
    from .tables import WaveAnalysis

    if not pairs:
        return {}
    text_questions: dict[int, set[str]] = {}
    for response, _ in pairs:
        if response.survey_id not in text_questions:
            questionnaire = stored_questionnaire(session.get(QuestionnaireVersion, response.survey_id))
            text_questions[response.survey_id] = {q.id for q in questionnaire.questions
                                                    if answer_type(q).free_text}
    wanted_questions = set().union(*text_questions.values())
    if not wanted_questions:
        return {}
    wave_ids = {wave.id for _, wave in pairs}
    summaries = {wave_id: (summary or {}).get("texts") or {} for wave_id, summary in session.execute(
        select(WaveAnalysis.wave_id, WaveAnalysis.summary).where(WaveAnalysis.wave_id.in_(wave_ids)))}
    wave_of = {response.id: wave.id for response, wave in pairs}
    ids = list(wave_of)
    out: dict[int, list[OpenText]] = {}
    for start in range(0, len(ids), 500):
        for response_id, question_id, value in session.execute(
                select(Answer.response_id, Answer.question_id, Answer.value_text)
                .where(Answer.response_id.in_(ids[start:start + 500]), Answer.question_id.in_(wanted_questions),
                       Answer.value_text.is_not(None)).order_by(Answer.response_id, Answer.question_id)):
            if not value.strip():
                continue
            found = summaries.get(wave_of[response_id], {}).get(question_id) or {}
            labels = [t["label"] for t in found.get("themes", [])]
            entry = (found.get("responses") or {}).get(str(response_id))
            if entry:
                sentiment, score, mentioned = entry
                out.setdefault(response_id, []).append(OpenText(
                    question_id, value, sentiment, score, tuple(labels[j] for j in mentioned if j < len(labels))))
            else:
                out.setdefault(response_id, []).append(OpenText(question_id, value))
    return {response_id: tuple(found) for response_id, found in out.items()}


def _notes_by_response(session: Session, ids: list[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        for response_id, value in session.execute(
                select(FollowUpEvent.response_id, FollowUpEvent.value)
                .where(FollowUpEvent.response_id.in_(ids[start:start + 500]), FollowUpEvent.kind == "note")):
            out[response_id] = out.get(response_id, "") + " " + (value or "")
    return out


def update_follow_up(session: Session, response_id: int, by: AdminUser | None, *, status: str | None = None,
                     note: str | None = None, assignee: str | None = None, outcome: str | None = None,
                     now: datetime | None = None) -> Response:
    """Apply the given changes and record one event each. ``assignee``: a user name, or ""
    to unassign. Setting status ``resolved`` needs an outcome (given now or before)."""
    now = now or utcnow()
    response = session.get(Response, response_id)
    if response is None or not response.follow_up:
        raise StorageError(f"response {response_id} is not in the follow-up queue")
    if status is not None and status not in STATUSES:
        raise StorageError(f"follow-up status {status!r}: choose one of {', '.join(STATUSES)}")
    if outcome is not None and outcome not in OUTCOMES:
        raise StorageError(f"outcome {outcome!r}: choose one of {', '.join(OUTCOMES)}")
    if status == "resolved" and not (outcome or response.follow_up_outcome):
        raise StorageError(f"closing follow-up {response_id} needs its outcome: {', '.join(OUTCOMES)}")
    note = (note or "").replace("\x00", "").strip()
    if len(note) > MAX_NOTE:
        raise StorageError(f"a note may have at most {MAX_NOTE:,} characters (this one has {len(note):,})")
    events = []
    if assignee is not None:
        target = None
        if assignee:
            target = session.scalar(select(AdminUser).where(AdminUser.username == assignee))
            if target is None:
                raise StorageError(f"no console user {assignee!r} to assign follow-up {response_id} to")
        if (target.id if target else None) != response.follow_up_assignee_id:
            response.follow_up_assignee_id = target.id if target else None
            events.append(("assignee", assignee or None))
    if outcome is not None and outcome != response.follow_up_outcome:
        response.follow_up_outcome = outcome
        events.append(("outcome", outcome))
    if status is not None and status != response.follow_up_status:
        response.follow_up_status = status
        response.follow_up_closed_at = now if status == "resolved" else None
        events.append(("status", status))
    if note:
        response.follow_up_note = note  # the latest note, for lists; the history keeps every one
        events.append(("note", note))
    if not events:
        return response
    response.follow_up_updated_at = now
    session.add_all(FollowUpEvent(response_id=response_id, at=now, user_id=by.id if by else None, kind=kind,
                                  value=value) for kind, value in events)
    wave = session.get(Wave, response.wave_id)
    record_event(session, wave.questionnaire_id, "followup.updated", {
        "survey": wave.questionnaire_id, "wave": wave.name, "response_id": response_id,
        "status": response.follow_up_status, "outcome": response.follow_up_outcome,
        "assignee": assignee_name(session, response), "by": by.username if by else None,
        "changes": [{"kind": kind, "value": value} for kind, value in events]}, now)
    return response


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    user: str | None
    kind: str
    value: str | None


def history(session: Session, response_id: int) -> list[HistoryEntry]:
    query = (select(FollowUpEvent.at, AdminUser.username, FollowUpEvent.kind, FollowUpEvent.value)
             .outerjoin(AdminUser, AdminUser.id == FollowUpEvent.user_id)
             .where(FollowUpEvent.response_id == response_id).order_by(FollowUpEvent.at, FollowUpEvent.id))
    return [HistoryEntry(_aware(at), user, kind, value) for at, user, kind, value in session.execute(query)]


CSV_COLUMNS = ("response_id", "survey", "wave", "status", "assignee", "outcome", "satisfaction_0_100", "value",
               "age_hours", "overdue", "completed_at", "name", "phone", "email", "latest_note")


def queue_csv(queue: Queue, neutralize: Any = None) -> str:
    """The queue as CSV text (UTF-8 BOM added by the caller), one row per case, with the
    invitation's attributes after the fixed columns. ``neutralize``: a function applied to
    each row (the exports' formula neutralization)."""
    attribute_keys = sorted({key for row in queue.rows for key in row.attributes})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    fix = neutralize or (lambda values: list(values))
    writer.writerow(fix(list(CSV_COLUMNS) + [f"attr_{k}" for k in attribute_keys]))
    for row in queue.rows:
        contact = row.response.contact or {}
        completed = row.response.completed_at
        writer.writerow(fix([
            row.response.id, row.wave.questionnaire_id, row.wave.name, row.response.follow_up_status, row.assignee or "",
            row.response.follow_up_outcome or "", "" if row.satisfaction is None else round(row.satisfaction, 1),
            row.value, round(row.age_hours, 1), "yes" if row.overdue else "no",
            _aware(completed).isoformat(timespec="seconds") if completed else "", contact.get("name", ""),
            contact.get("phone", ""), contact.get("email", ""), row.response.follow_up_note or "",
            *[row.attributes.get(k, "") for k in attribute_keys]]))
    return out.getvalue()


def overdue_by_survey(session: Session, sla_hours: float, now: datetime | None = None,
                      questionnaire_id: str | None = None) -> dict[str, int]:
    """Open, callable follow-ups older than their survey's SLA (``sla_hours`` for surveys
    without one of their own), per questionnaire id; only surveys with overdue cases."""
    now = now or utcnow()
    slas = sla_hours_by_survey(session)
    # One query: each survey with an SLA of its own against its cutoff, the rest against the default.
    late = [and_(Wave.questionnaire_id == qid, Response.completed_at < now - timedelta(hours=hours))
            for qid, hours in slas.items()]
    default_late = Response.completed_at < now - timedelta(hours=sla_hours)
    late.append(and_(Wave.questionnaire_id.not_in(list(slas)), default_late) if slas else default_late)
    query = (select(Wave.questionnaire_id, Response.contact).join(Wave, Wave.id == Response.wave_id)
             .where(Response.follow_up.is_(True), Response.follow_up_status == "open", or_(*late)))
    if questionnaire_id is not None:
        query = query.where(Wave.questionnaire_id == questionnaire_id)
    out: dict[str, int] = {}
    for qid, contact in session.execute(query):
        if contact:  # JSON null and {} are no contact: not callable
            out[qid] = out.get(qid, 0) + 1
    return out


def overdue_callable(session: Session, sla_hours: float, now: datetime | None = None) -> int:
    """Open, callable follow-ups older than their survey's SLA (the console's banner)."""
    return sum(overdue_by_survey(session, sla_hours, now).values())


def sla_hours_by_survey(session: Session) -> dict[str, float]:
    """questionnaire id -> its own follow-up SLA in hours (surveys that set one)."""
    return {qid: float(hours) for qid, hours in session.execute(
        select(QuestionnaireSetting.questionnaire_id, QuestionnaireSetting.follow_up_sla_hours)
        .where(QuestionnaireSetting.follow_up_sla_hours.is_not(None)))}


def survey_sla_hours(session: Session, questionnaire_id: str, default: float) -> tuple[float, bool]:
    """(SLA hours, whether the survey set its own) of a questionnaire."""
    own = session.scalar(select(QuestionnaireSetting.follow_up_sla_hours)
                         .where(QuestionnaireSetting.questionnaire_id == questionnaire_id))
    return (float(own), True) if own is not None else (float(default), False)


class SLAError(StorageError):
    """A follow-up SLA that is not a number of hours in range. ``kind``: "not_number" or
    "out_of_range"; ``value``: the text given (cut to 40 characters), for a console message."""

    def __init__(self, kind: str, value: str):
        self.kind, self.value = kind, value
        if kind == "not_number":
            message = f"follow-up SLA: give the hours as a number, e.g. 48 (not {value or 'nothing'!r})"
        else:
            message = (f"follow-up SLA: {value} hours is out of range; give more than 0 and at most "
                       f"{MAX_SLA_HOURS:,} hours (a year)")
        super().__init__(message)


def parse_sla_hours(value: Any) -> float:
    """Hours from a form field or an option: a number above 0 and at most a year."""
    text = str(value if value is not None else "").strip().replace(",", ".")
    try:
        hours = float(text)
    except ValueError:
        raise SLAError("not_number", text[:40]) from None
    if not 0 < hours <= MAX_SLA_HOURS:  # NaN fails this too
        raise SLAError("out_of_range", text[:40])
    return hours


def set_sla_hours(session: Session, questionnaire_id: str, hours: Any, by: str | None = None,
                  now: datetime | None = None) -> float | None:
    """Set (or, with ``hours`` None, clear) a questionnaire's follow-up SLA; the hours as stored."""
    if session.scalar(select(QuestionnaireVersion.id).where(QuestionnaireVersion.questionnaire_id == questionnaire_id).limit(1)) is None:
        known = ", ".join(sorted(set(session.scalars(select(QuestionnaireVersion.questionnaire_id))))) or "none"
        raise StorageError(f"no questionnaire {questionnaire_id!r} (stored: {known})")
    value = None if hours is None else parse_sla_hours(hours)
    setting = session.get(QuestionnaireSetting, questionnaire_id)
    if setting is None:
        setting = QuestionnaireSetting(questionnaire_id=questionnaire_id)
        session.add(setting)
    setting.follow_up_sla_hours = value
    setting.updated_at = now or utcnow()
    setting.updated_by = by
    session.flush()
    return value


def assignee_name(session: Session, response: Response) -> str | None:
    if response.follow_up_assignee_id is None:
        return None
    return session.scalar(select(AdminUser.username).where(AdminUser.id == response.follow_up_assignee_id))


def assignable_users(session: Session) -> Iterable[str]:
    return session.scalars(select(AdminUser.username).order_by(AdminUser.username))
