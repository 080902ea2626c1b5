"""The facts behind a survey's dashboard, as queries: one JSON-ready dict for the
console page, the API and ``csi dashboard``.

Estimates come only from the stored analyses (``wave_analyses.summary``, written by
``analysis.stored``); nothing here estimates anything. A wave without a stored analysis
is reported as not computed. Counts (funnel, completions per day, follow-up) are read
live from the responses and invitations.

Funnel stages are cumulative over the wave's invitations, each the furthest an invitee
got (as ``invitations.invitee_status`` reads them): invited; opened (the link was
opened, which also creates the response); started (at least one answer saved, or
completed); completed. Responses from public links have no invitation and are counted
apart (``without_invitation``), so no stage can exceed the one before it.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, defer

from .analyses import wave_data_version
from .follow_up import overdue_by_survey, survey_sla_hours
from .repository import StorageError, find_wave
from .tables import Answer, Invitation, Response, QuestionnaireVersion, Wave, WaveAnalysis, _aware, utcnow

# Days shown in the completions chart (the JSON carries every day of the wave).
CHART_DAYS = 31


def _quota_status(session, wave):
    from .quotas import quota_status
    return quota_status(session, wave)


def survey_dashboard(session: Session, questionnaire_id: str, wave_name: str | None = None, *, code_version: str,
                     default_sla_hours: float, headline: str = "satisfaction", now: datetime | None = None) -> dict:
    """The dashboard of ``questionnaire_id`` at ``wave_name`` (default: its latest wave by name).

    ``code_version``: the analysis code's version (``analysis.stored.CODE_VERSION``; a stored
    analysis made by other code is shown but marked not current). ``default_sla_hours``:
    the follow-up SLA of surveys without one of their own. A ``StorageError`` for an unknown
    survey or wave."""
    now = now or utcnow()
    survey = session.scalar(select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == questionnaire_id)
                            .order_by(QuestionnaireVersion.id.desc()).limit(1))
    if survey is None:
        known = ", ".join(sorted(set(session.scalars(select(QuestionnaireVersion.questionnaire_id))))) or "none"
        raise StorageError(f"no questionnaire {questionnaire_id!r} (stored: {known})")
    waves = list(session.scalars(select(Wave).where(Wave.questionnaire_id == questionnaire_id).order_by(Wave.name)))
    if wave_name is not None:
        selected = find_wave(session, questionnaire_id, wave_name)
    else:
        selected = waves[-1] if waves else None
    stored = {row.wave_id: row for row in session.scalars(
        select(WaveAnalysis).options(defer(WaveAnalysis.payload)).where(WaveAnalysis.wave_id.in_([w.id for w in waves])))}
    wave_rows = [_wave_entry(session, wave, stored.get(wave.id), code_version) for wave in waves]
    this = next((row for row in wave_rows if selected is not None and row["name"] == selected.name), None)
    sla, own = survey_sla_hours(session, questionnaire_id, default_sla_hours)
    out: dict[str, Any] = {
        "survey": questionnaire_id, "title": survey.title, "wave": selected.name if selected else None,
        "generated_at": now.isoformat(timespec="seconds"), "headline": headline,
        "waves": wave_rows,
        "segments": _segments(this, stored.get(selected.id) if selected else None),
        "completions_per_day": completions_per_day(session, selected.id) if selected else [],
        "funnel": funnel(session, selected.id) if selected else None,
        # The wave's cap ("*") and its questionnaire's quotas: count of limit, and responses ended.
        "quotas": [status.to_dict() for status in _quota_status(session, selected)] if selected else [],
        # What customers wrote: each open question's themes from the stored analysis (no
        # per-response rows: those are for the follow-up queue).
        "texts": _texts(stored.get(selected.id) if selected else None),
        "follow_up": {"sla_hours": sla, "sla_own": own, **follow_up_counts(session, questionnaire_id),
                      "overdue": overdue_by_survey(session, default_sla_hours, now, questionnaire_id).get(
                          questionnaire_id, 0)},
    }
    return out


def _wave_entry(session: Session, wave: Wave, row: WaveAnalysis | None, code_version: str) -> dict:
    version = wave_data_version(session, wave.id)
    entry = {"name": wave.name, "wave_id": wave.id, "closed": bool(wave.closed), "completed": version.completed}
    if row is None:
        entry["analysis"] = {"status": "not computed"}
        return entry
    summary = row.summary or {}
    entry["analysis"] = {
        "status": "stored", "current": row.data_version == version.version and row.code_version == code_version,
        "computed_at": _aware(row.computed_at).isoformat(timespec="seconds"), "n": row.n_used,
        "bootstrap": row.n_boot, "seed": row.seed,
        "index": [{k: r.get(k) for k in ("construct", "estimate", "ci_low", "ci_high")}
                  for r in summary.get("index", [])]}
    return entry


def _texts(row: WaveAnalysis | None) -> list[dict]:
    found = ((row.summary or {}).get("texts") or {}) if row is not None else {}
    return [{"question": question, "n_answers": value.get("n_answers", 0),
             "themes": [{key: theme.get(key) for key in ("theme", "label", "share", "negative", "mean_with",
                                                         "mean_without", "difference")}
                        for theme in value.get("themes", [])]}
            for question, value in found.items()]


def _segments(entry: dict | None, row: WaveAnalysis | None) -> dict:
    """This wave's index per segment from its stored analysis: status ``stored``, ``not
    computed`` (no stored analysis, or one computed only as part of another wave's trend)."""
    if entry is None or row is None or (row.summary or {}).get("segments") is None:
        return {"status": "not computed", "variables": []}
    variables = []
    for block in row.summary["segments"]:
        rows = [{k: r.get(k) for k in ("segment", "n", "construct", "estimate", "ci_low", "ci_high", "small")}
                for r in block.get("rows", [])]
        variables.append({"variable": block.get("variable"), "rows": rows, "warnings": list(block.get("warnings", []))})
    return {"status": "stored", "current": entry["analysis"].get("current", False), "variables": variables}


def completions_per_day(session: Session, wave_id: int) -> list[dict]:
    """[{date (UTC, ISO), completed}] for every day from the first completion to the last,
    days without one included (a gap in fieldwork shows as a gap)."""
    day = _utc_day(session, Response.completed_at)
    counts = {}
    for value, count in session.execute(select(day, func.count()).where(
            Response.wave_id == wave_id, Response.status == "complete", Response.completed_at.is_not(None))
            .group_by(day)):
        counts[value if isinstance(value, date) else date.fromisoformat(str(value)[:10])] = int(count)
    if not counts:
        return []
    first, last = min(counts), max(counts)
    return [{"date": (first + timedelta(days=k)).isoformat(), "completed": counts.get(first + timedelta(days=k), 0)}
            for k in range((last - first).days + 1)]


def _utc_day(session: Session, column):
    # PostgreSQL's date() of a timestamptz uses the session's time zone; SQLite stores UTC text.
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)


def funnel(session: Session, wave_id: int) -> dict:
    """Invited, opened, started, completed over the wave's invitations (cumulative), and the
    responses without an invitation (public links)."""
    answered = exists().where(Answer.response_id == Response.id)
    # A join rather than EXISTS per invitation: PostgreSQL runs an EXISTS inside FILTER once per row.
    invited, opened = session.execute(select(
        func.count(Invitation.id),
        func.count(Invitation.id).filter(or_(Invitation.opened_at.is_not(None), Invitation.used_at.is_not(None),
                                             Response.id.is_not(None))))
        .outerjoin(Response, Response.invitation_id == Invitation.id)
        .where(Invitation.wave_id == wave_id)).one()
    # Complete responses by the (wave, status) index; the answer check only for the partial ones.
    counts: dict[tuple[bool, bool], int] = {}
    stages = ((True, Response.status == "complete"), (False, and_(Response.status != "complete", answered)))
    for complete, condition in stages:
        for invited_row, n in session.execute(
                select(Response.invitation_id.is_not(None), func.count())
                .where(Response.wave_id == wave_id, condition).group_by(Response.invitation_id.is_not(None))):
            counts[(bool(invited_row), complete)] = counts.get((bool(invited_row), complete), 0) + int(n)

    def count(invited_row: bool, complete: bool | None) -> int:
        if complete is None:
            return counts.get((invited_row, True), 0) + counts.get((invited_row, False), 0)
        return counts.get((invited_row, complete), 0)
    return {"invited": int(invited), "opened": int(opened), "started": count(True, None), "completed": count(True, True),
            "without_invitation": {"started": count(False, None), "completed": count(False, True)}}


def follow_up_counts(session: Session, questionnaire_id: str) -> dict:
    """Open follow-ups of the survey: callable (a consented contact) and without contact."""
    contacts = session.scalars(select(Response.contact).join(Wave, Wave.id == Response.wave_id).where(
        Wave.questionnaire_id == questionnaire_id, Response.follow_up.is_(True), Response.follow_up_status == "open"))
    callable_, no_contact = 0, 0
    for contact in contacts:
        if contact:
            callable_ += 1
        else:
            no_contact += 1
    return {"open": callable_, "no_contact": no_contact}
