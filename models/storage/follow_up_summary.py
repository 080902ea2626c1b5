"""How a wave's call-backs went, for the report: the call-centre figures a service manager
reads (how many flagged, callable, reached and resolved, how fast), and whether the
customers who were called back are more satisfied when they answer the next wave.

"The same customer" is recognised by the invitation: the same e-mail address (case
ignored), else the same ``customer_id`` attribute. Responses from public links cannot be
followed across waves and are left out of that comparison.

Times are hours from the response's completion: to the first change a person made to the
case (status, note, assignee or outcome: the first contact attempt on record) and to its
closing. Medians, as call-centre service levels are stated.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from .follow_up import OUTCOMES, _satisfaction, _satisfaction_items
from .repository import find_wave, stored_questionnaire, wave_names
from .tables import Answer, FollowUpEvent, Invitation, Response, QuestionnaireVersion, _aware


@dataclass(frozen=True)
class NextWave:
    """Customers flagged in the wave who answered the next wave too: their satisfaction
    (0-100, mean of the satisfaction items) then and now, called back or not."""
    from_wave: str                # the wave whose flagged customers are followed
    wave: str                     # the next wave, where they answered again
    called_n: int
    called_before: float | None
    called_after: float | None
    not_called_n: int
    not_called_before: float | None
    not_called_after: float | None


@dataclass(frozen=True)
class FollowUpSummary:
    wave: str
    flagged: int
    callable: int
    no_contact: int
    open: int
    called: int                   # status "called" (in progress)
    resolved: int                 # closed cases
    outcomes: dict[str, int] = field(default_factory=dict)
    hours_to_first_action: float | None = None   # median, closed or acted-on cases
    hours_to_close: float | None = None          # median, closed cases
    next_wave: NextWave | None = None

    @property
    def resolved_share(self) -> float | None:
        """Share of callable cases closed with the problem solved."""
        return self.outcomes.get("problem_solved", 0) / self.callable if self.callable else None

    def as_dict(self) -> dict:
        out = {k: getattr(self, k) for k in ("wave", "flagged", "callable", "no_contact", "open", "called", "resolved",
                                              "hours_to_first_action", "hours_to_close")}
        out["outcomes"] = dict(self.outcomes)
        out["resolved_share"] = self.resolved_share
        out["next_wave"] = None if self.next_wave is None else dict(vars(self.next_wave))
        return out


def _customer_key(invitation: Invitation | None) -> str | None:
    if invitation is None:
        return None
    if invitation.email:
        return "email:" + invitation.email.strip().lower()
    customer = (invitation.attributes or {}).get("customer_id")
    return f"id:{customer}" if customer not in (None, "") else None


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def follow_up_summary(engine: Engine, questionnaire_id: str, wave_name: str) -> FollowUpSummary:
    """The call-back figures of ``wave_name`` (complete responses flagged for follow-up).

    ``next_wave`` follows this wave's flagged customers into the next wave; for the latest
    wave, which has none, it follows the previous wave's flagged customers into this one
    (what the quarterly report of the latest wave can show)."""
    with Session(engine) as session:
        wave = find_wave(session, questionnaire_id, wave_name)
        rows = session.execute(
            select(Response, Invitation).outerjoin(Invitation, Invitation.id == Response.invitation_id)
            .where(Response.wave_id == wave.id, Response.status == "complete", Response.follow_up.is_(True))).all()
        flagged = [response for response, _ in rows]
        callable_ = [r for r in flagged if r.contact]
        first_action: dict[int, object] = {}
        if flagged:
            for response_id, at in session.execute(
                    select(FollowUpEvent.response_id, FollowUpEvent.at)
                    .where(FollowUpEvent.response_id.in_([r.id for r in flagged]), FollowUpEvent.user_id.is_not(None))
                    .order_by(FollowUpEvent.at)):
                first_action.setdefault(response_id, at)
        outcomes: dict[str, int] = {key: 0 for key in OUTCOMES}
        to_first, to_close = [], []
        for response in callable_:
            if response.follow_up_status == "resolved" and response.follow_up_outcome:
                outcomes[response.follow_up_outcome] = outcomes.get(response.follow_up_outcome, 0) + 1
            done = _aware(response.completed_at) if response.completed_at else None
            if done is None:
                continue
            if response.id in first_action:
                to_first.append((_aware(first_action[response.id]) - done).total_seconds() / 3600)
            if response.follow_up_closed_at:
                to_close.append((_aware(response.follow_up_closed_at) - done).total_seconds() / 3600)
        next_wave = _next_wave(session, questionnaire_id, wave_name, rows)
        if next_wave is None:
            earlier = [name for name in wave_names(engine, questionnaire_id) if name < wave_name]
            if earlier:
                previous = find_wave(session, questionnaire_id, earlier[-1])
                previous_rows = session.execute(
                    select(Response, Invitation).outerjoin(Invitation, Invitation.id == Response.invitation_id)
                    .where(Response.wave_id == previous.id, Response.status == "complete",
                           Response.follow_up.is_(True))).all()
                next_wave = _next_wave(session, questionnaire_id, earlier[-1], previous_rows)
        return FollowUpSummary(
            wave_name, len(flagged), len(callable_), len(flagged) - len(callable_),
            sum(r.follow_up_status == "open" for r in callable_), sum(r.follow_up_status == "called" for r in callable_),
            sum(r.follow_up_status == "resolved" for r in callable_), {k: v for k, v in outcomes.items() if v},
            statistics.median(to_first) if to_first else None, statistics.median(to_close) if to_close else None,
            next_wave)


def _satisfaction_of(session: Session, responses: list[Response]) -> dict[int, float | None]:
    """Response id -> 0-100 satisfaction, each response read with its own questionnaire version."""
    out: dict[int, float | None] = {}
    by_survey: dict[int, list[Response]] = {}
    for response in responses:
        by_survey.setdefault(response.survey_id, []).append(response)
    for survey_id, group in by_survey.items():
        questionnaire = stored_questionnaire(session.get(QuestionnaireVersion, survey_id))
        items = _satisfaction_items(questionnaire)
        answers: dict[int, dict[str, float]] = {r.id: {} for r in group}
        for response_id, question_id, number in session.execute(
                select(Answer.response_id, Answer.question_id, Answer.value_num)
                .where(Answer.response_id.in_(list(answers)), Answer.question_id.in_(list(items)))):
            if number is not None:
                answers[response_id][question_id] = number
        out.update({rid: _satisfaction(values, items) for rid, values in answers.items()})
    return out


def _next_wave(session: Session, questionnaire_id: str, wave_name: str, flagged_rows) -> NextWave | None:
    later = [name for name in wave_names(session.get_bind(), questionnaire_id) if name > wave_name]
    if not later:
        return None
    next_name = later[0]
    following = find_wave(session, questionnaire_id, next_name)
    keyed = {}
    for response, invitation in flagged_rows:
        key = _customer_key(invitation)
        if key is not None and response.contact:
            keyed[key] = response
    if not keyed:
        return NextWave(wave_name, next_name, 0, None, None, 0, None, None)
    again = {}
    for response, invitation in session.execute(
            select(Response, Invitation).join(Invitation, Invitation.id == Response.invitation_id)
            .where(Response.wave_id == following.id, Response.status == "complete")).all():
        key = _customer_key(invitation)
        if key in keyed:
            again[key] = response
    pairs = [(keyed[key], later_response) for key, later_response in again.items()]
    satisfaction = _satisfaction_of(session, [r for pair in pairs for r in pair])
    reached = {"reached", "problem_solved", "churn_risk"}
    called = [(a, b) for a, b in pairs if a.follow_up_status == "resolved" and a.follow_up_outcome in reached]
    not_called = [(a, b) for a, b in pairs if a.follow_up_status == "open"]
    return NextWave(wave_name, next_name, len(called), _mean(satisfaction[a.id] for a, _ in called),
                    _mean(satisfaction[b.id] for _, b in called), len(not_called),
                    _mean(satisfaction[a.id] for a, _ in not_called), _mean(satisfaction[b.id] for _, b in not_called))
