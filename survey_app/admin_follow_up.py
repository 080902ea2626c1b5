"""The console's follow-up queue and case page (routes on the admin blueprint).

The queue: filters (survey, wave, status, assignee, segment, age, text), priority or age
order, pages of 50, and the same selection as CSV. A case: the customer's answers with
option and scale labels, why it was flagged, the contact, the history of every change,
and (for admins) assignment, status with outcome, and a note appended to the history.
"""
from __future__ import annotations

from flask import Response as FlaskResponse, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from models import navigation
from models.hidden import with_hidden
from models.answers import answer_type, decode_rows
from models.storage import StorageError, follow_up
from models.storage.repository import stored_questionnaire
from models.storage.tables import Answer, Response, QuestionnaireVersion, Wave

from .admin import _db, bp, current_user, login_required
from .console_errors import console_error
from .console_i18n import console_language, ct, lt


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
        page=number("page", int) or 1, theme=(args.get("theme") or "").strip()[:100] or None).checked()


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
    questionnaire = stored_questionnaire(_db().get(QuestionnaireVersion, response.survey_id))
    # Decoded as the rules saw them at completion: ``'home' in categories`` tests membership
    # of the list, not a substring of the stored JSON text.
    answers = decode_rows(questionnaire, _db().execute(
        select(Answer.question_id, Answer.value_num, Answer.value_text).where(Answer.response_id == response_id)))
    shown = [(q, answer_type(q).display(q, answers[q.id], console_language())) for q in questionnaire.questions
             if answers.get(q.id) is not None]
    reasons = [lt(rule.reason) if rule.reason else rule.id
               for rule in navigation.flagging_rules(questionnaire, with_hidden(answers, response.hidden))]
    assignee = follow_up.assignee_name(_db(), response)
    wave = _db().get(Wave, response.wave_id)
    texts = follow_up.open_texts(_db(), [(response, wave)]).get(response_id, ())
    return render_template("admin/follow_up_item.html", response=response, q=questionnaire, shown=shown, texts=texts,
                           reasons=reasons, wave=wave, statuses=follow_up.STATUSES,
                           outcomes=follow_up.OUTCOMES, users=list(follow_up.assignable_users(_db())),
                           assignee=assignee, history=follow_up.history(_db(), response_id))


