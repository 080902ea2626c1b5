"""The console's follow-up queue and case page (routes on the admin blueprint).

The queue: filters (survey, wave, status, assignee, segment, age, text), priority or age
order, pages of 50, and the same selection as CSV. A case: the customer's answers with
option and scale labels, why it was flagged, the contact, the history of every change,
and (for admins) assignment, status with outcome, and a note appended to the history.
"""
from __future__ import annotations

import json

from flask import Response as FlaskResponse, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from models.storage import StorageError, follow_up
from models.storage.repository import stored_questionnaire
from models.storage.tables import Answer, Response, Survey, Wave

from .admin import _db, bp, current_user, login_required
from .console_errors import console_error
from .console_i18n import ct, lt


def _sla_hours() -> float:
    return float(current_app.config.get("FOLLOW_UP_OVERDUE_HOURS", 48))


def _filter_from(args) -> follow_up.QueueFilter:
    def number(name, kind):
        value = (args.get(name) or "").strip()
        if not value:
            return None
        try:
            return kind(value)
        except ValueError:
            raise StorageError(ct("filter_not_number", name=name, value=repr(value[:40]))) from None

    status = args.get("status") or "open"
    return follow_up.QueueFilter(
        questionnaire_id=args.get("survey") or None, wave_id=number("wave", int),
        status=None if status == "all" else status, assignee=args.get("assignee") or None,
        segment=(args.get("segment") or "").strip() or None, search=(args.get("q") or "")[:200] or None,
        older_than_hours=number("older_than_hours", float), order=args.get("order") or "priority",
        page=number("page", int) or 1).checked()


@bp.route("/follow-up", endpoint="follow_up")
@login_required()
def follow_up_queue():
    try:
        wanted = _filter_from(request.args)
    except StorageError as exc:
        flash(console_error(exc), "error")
        return redirect(url_for("admin.follow_up"))
    if request.args.get("format") == "csv":
        from models.exports import neutralize_row
        everything = follow_up.QueueFilter(**{**wanted.__dict__, "page": 1, "per_page": 1000})
        queue = follow_up.follow_up_queue(_db(), everything, sla_hours=_sla_hours())
        return FlaskResponse("\ufeff" + follow_up.queue_csv(queue, neutralize_row), mimetype="text/csv",
                             headers={"Content-Disposition": 'attachment; filename="follow-up.csv"'})
    queue = follow_up.follow_up_queue(_db(), wanted, sla_hours=_sla_hours())
    surveys = sorted(set(_db().scalars(select(Wave.questionnaire_id))))
    own = follow_up.sla_hours_by_survey(_db())
    late = follow_up.overdue_by_survey(_db(), _sla_hours())
    slas = [{"survey": s, "hours": own.get(s, _sla_hours()), "own": s in own, "overdue": late.get(s, 0)} for s in surveys]
    waves = list(_db().scalars(select(Wave).order_by(Wave.questionnaire_id, Wave.name)))
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("admin/follow_up.html", queue=queue, wanted=wanted, surveys=surveys, waves=waves,
                           users=list(follow_up.assignable_users(_db())), statuses=follow_up.STATUSES,
                           orders=follow_up.ORDERS, args=args, sla_hours=_sla_hours(), slas=slas)


@bp.route("/follow-up/<int:response_id>", methods=["GET", "POST"])
@login_required()
def follow_up_item(response_id: int):
    response = _db().get(Response, response_id)
    if response is None or not response.follow_up:
        abort(404)
    if request.method == "POST":
        if current_user().role != "admin":
            abort(403)
        form = request.form
        try:
            follow_up.update_follow_up(_db(), response_id, current_user(), status=form.get("status") or None,
                                       note=form.get("note"), assignee=form.get("assignee"),
                                       outcome=form.get("outcome") or None)
            _db().commit()
            flash(ct("follow_up_saved", id=response_id), "ok")
            return redirect(url_for("admin.follow_up_item", response_id=response_id))
        except StorageError as exc:
            _db().rollback()
            flash(console_error(exc), "error")
        response = _db().get(Response, response_id)
    questionnaire = stored_questionnaire(_db().get(Survey, response.survey_id))
    answers = decoded_answers(questionnaire, _db().execute(
        select(Answer.question_id, Answer.value_num, Answer.value_text).where(Answer.response_id == response_id)))
    shown = [(q, _shown_answer(q, answers[q.id])) for q in questionnaire.questions if q.id in answers]
    reasons = [lt(rule.reason) if rule.reason else rule.id for rule in questionnaire.follow_up
               if _holds(rule.when, answers)]
    assignee = follow_up.assignee_name(_db(), response)
    return render_template("admin/follow_up_item.html", response=response, q=questionnaire, shown=shown,
                           reasons=reasons, wave=_db().get(Wave, response.wave_id), statuses=follow_up.STATUSES,
                           outcomes=follow_up.OUTCOMES, users=list(follow_up.assignable_users(_db())),
                           assignee=assignee, history=follow_up.history(_db(), response_id))


def decoded_answers(questionnaire, rows) -> dict:
    """Stored answers as the follow-up rules saw them at completion: numbers for ratings and
    numbers, an option's own value for a single choice, a list for a multiple choice (so
    ``'home' in categories`` tests membership, not a substring of the stored JSON)."""
    out = {}
    for question_id, number, text in rows:
        try:
            question = questionnaire.question(question_id)
        except KeyError:
            continue
        if question.type == "multiple_choice" and text is not None:
            try:
                out[question_id] = list(json.loads(text))
            except (ValueError, TypeError):
                out[question_id] = [text]
        elif question.type == "single_choice":
            raw = text if text is not None else (int(number) if float(number).is_integer() else number)
            out[question_id] = next((o.value for o in question.options if str(o.value) == str(raw)), raw)
        elif number is not None:
            out[question_id] = int(number) if float(number).is_integer() else number
        else:
            out[question_id] = text
    return out


def _shown_answer(question, value) -> str:
    """An answer as a caller reads it: option labels instead of codes, a rating with its label."""
    labels = {str(o.value): lt(o.label) for o in question.options}
    if question.type == "multiple_choice":
        return ", ".join(labels.get(str(v), str(v)) for v in value)
    if question.type == "single_choice":
        return labels.get(str(value), str(value))
    if question.type == "rating" and question.scale is not None:
        code = int(value) if isinstance(value, (int, float)) else None
        if code == question.scale.dont_know_code and question.scale.dont_know_label is not None:
            return lt(question.scale.dont_know_label)
        if code in question.scale.labels:
            return f"{code} ({lt(question.scale.labels[code])})"
    return str(value)


def _holds(expression, answers) -> bool:
    try:
        return bool(expression.evaluate(answers))
    except Exception:  # a rule that cannot be evaluated on these answers did not flag them
        return False
