"""The console's fieldwork pages (routes on the admin blueprint): a wave's e-mail invitations
(import a list, reminder policy, each invitee's status, sending) and a questionnaire's
webhooks with their delivery log. Each action has its ``csi invitations`` / ``csi webhooks``
equivalent."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Response as FlaskResponse, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from models.storage import StorageError
from models.storage import invitations as mail_store
from models.storage import webhooks as hook_store
from models.storage.repository import stored_questionnaire
from models.storage.tables import Wave, Webhook

from .admin import _db, _wave, bp, login_required
from .admin_invitations import invitation_problems
from .console_errors import console_error
from .console_i18n import ct
from .downloads import attachment


@bp.route("/waves/<int:wave_id>/mail")
@login_required()
def wave_mail(wave_id: int):
    wave = _wave(wave_id)
    if request.args.get("format") == "csv":
        return FlaskResponse("\ufeff" + mail_store.status_csv_text(mail_store.status_rows(_db(), wave)), mimetype="text/csv",
                             headers=attachment(f"invitees-{wave.questionnaire_id}-{wave.name}.csv"))
    questionnaire = stored_questionnaire(wave.questionnaire_version)
    smtp_ready = bool(current_app.config.get("SMTP_URL") and current_app.config.get("MAIL_SENDER"))
    return render_template("admin/wave_mail.html", wave=wave, q=questionnaire,
                           counts=mail_store.status_counts(_db(), wave), smtp_ready=smtp_ready)


@bp.route("/waves/<int:wave_id>/mail/import", methods=["POST"])
@login_required("admin")
def wave_mail_import(wave_id: int):
    wave = _wave(wave_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(ct("choose_mail_csv"), "error")
        return redirect(url_for("admin.wave_mail", wave_id=wave_id))
    send_at = None
    if request.form.get("send_at"):
        try:
            send_at = datetime.fromisoformat(request.form["send_at"]).replace(tzinfo=timezone.utc)
        except ValueError:
            flash(ct("send_at_not_date", value=repr(request.form["send_at"][:40])), "error")
            return redirect(url_for("admin.wave_mail", wave_id=wave_id))
    questionnaire = stored_questionnaire(wave.questionnaire_version)
    try:
        rows = mail_store.read_invitation_csv(upload.read(mail_store.MAX_LIST_BYTES + 1), upload.filename)
        result = mail_store.import_email_invitations(
            _db(), wave, rows, current_app.config["SECRET_KEY"], languages=questionnaire.languages,
            default_language=questionnaire.default_language, send_after=send_at, source=upload.filename)
        _db().commit()
    except mail_store.InvitationListError as exc:
        _db().rollback()
        for message in invitation_problems(exc):
            flash(message, "error")
        return redirect(url_for("admin.wave_mail", wave_id=wave_id))
    except StorageError as exc:
        _db().rollback()
        flash(console_error(exc), "error")
        return redirect(url_for("admin.wave_mail", wave_id=wave_id))
    when = ct("queued_go_out_at", at=f"{send_at:%Y-%m-%d %H:%M}") if send_at else ct("queued_send_when_ready")
    flash(ct("invitations_queued", created=result.created, already=result.already_invited, when=when), "ok")
    return redirect(url_for("admin.wave_mail", wave_id=wave_id))


@bp.route("/waves/<int:wave_id>/mail/reminders", methods=["POST"])
@login_required("admin")
def wave_mail_reminders(wave_id: int):
    wave = _wave(wave_id)
    if request.form.get("automatic") != "yes":
        wave.reminder_max = wave.reminder_after_days = None
        _db().commit()
        flash(ct("reminders_off"), "ok")
        return redirect(url_for("admin.wave_mail", wave_id=wave_id))
    try:
        max_reminders = int(request.form.get("max", ""))
        after_days = float(request.form.get("after_days", ""))
        if not (1 <= max_reminders <= 10 and 0.5 <= after_days <= 60):
            raise ValueError
    except ValueError:
        flash(ct("reminders_rule"), "error")
        return redirect(url_for("admin.wave_mail", wave_id=wave_id))
    wave.reminder_max, wave.reminder_after_days = max_reminders, after_days
    _db().commit()
    flash(ct("reminders_on", max=max_reminders, days=f"{after_days:g}"), "ok")
    return redirect(url_for("admin.wave_mail", wave_id=wave_id))


@bp.route("/webhooks", methods=["GET", "POST"])
@login_required("admin")
def webhooks():
    new_secret = None
    if request.method == "POST":
        survey = request.form.get("survey", "")
        try:
            if _db().scalar(select(Wave.id).where(Wave.questionnaire_id == survey).limit(1)) is None:
                raise StorageError(ct("no_survey_with_waves", id=repr(survey[:64])))
            webhook = hook_store.add_webhook(_db(), survey, request.form.get("url", ""), request.form.getlist("events"))
            _db().commit()
            new_secret = webhook.secret
            flash(ct("webhook_added", id=webhook.id), "ok")
        except StorageError as exc:
            _db().rollback()
            flash(console_error(exc), "error")
    surveys = sorted(set(_db().scalars(select(Wave.questionnaire_id))))
    return render_template("admin/webhooks.html", hooks=hook_store.list_webhooks(_db()), surveys=surveys,
                           events=hook_store.EVENTS, deliveries=hook_store.delivery_log(_db(), limit=50),
                           new_secret=new_secret)


@bp.route("/webhooks/<int:webhook_id>/active", methods=["POST"])
@login_required("admin")
def webhook_active(webhook_id: int):
    webhook = _db().get(Webhook, webhook_id)
    if webhook is None:
        abort(404)
    webhook.active = request.form.get("active") == "yes"
    _db().commit()
    flash(ct("webhook_enabled" if webhook.active else "webhook_disabled", id=webhook_id), "ok")
    return redirect(url_for("admin.webhooks"))


@bp.route("/waves/<int:wave_id>/mail/send", methods=["POST"])
@login_required("admin")
def wave_mail_send(wave_id: int):
    """Queue a sending round (the worker sends; the page follows the job): the invitations that
    are due, or the reminders that are due under the form's limits."""
    from .admin_jobs import _queue_job

    wave = _wave(wave_id)
    if not wave.is_open():
        flash(ct("wave_closed_no_send"), "error")
        return redirect(url_for("admin.wave_mail", wave_id=wave_id))
    if request.form.get("what") == "reminders":
        try:
            max_reminders = int(request.form.get("max") or wave.reminder_max or 2)
            after_days = float(request.form.get("after_days") or wave.reminder_after_days or 3)
        except ValueError:
            flash(ct("reminders_numbers"), "error")
            return redirect(url_for("admin.wave_mail", wave_id=wave_id))
        job_id = _queue_job("send_reminders", {"wave_id": wave.id, "max_reminders": max_reminders,
                                               "after_days": after_days}, dedupe_key=f"mail:reminders:{wave.id}")
    else:
        job_id = _queue_job("send_invitations", {"wave_id": wave.id}, dedupe_key=f"mail:invitations:{wave.id}")
    if job_id is None:
        return redirect(url_for("admin.wave_mail", wave_id=wave_id))
    return redirect(url_for("admin.job", job_id=job_id))
