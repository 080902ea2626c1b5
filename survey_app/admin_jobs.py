"""Console pages for background jobs (part of the admin blueprint): the jobs list with
status, progress, times and errors; a job's page, which follows it until it is done and
then offers its output; retry of a failed job; queueing a report, an export or a
wave's analysis. CLI equivalents: ``csi jobs list``, ``csi jobs retry ID``,
``csi report``, ``csi analyse --survey S --wave W [--queue]``.
"""
from __future__ import annotations

from pathlib import Path

from flask import Response as FlaskResponse, abort, current_app, flash, redirect, render_template, request, url_for

from models.errors import CSIError
from models.storage import StorageError
from models.storage import jobs as job_store

from .admin import REPORT_CSP, _db, _wave, bp, current_user, login_required
from .console_errors import console_error
from .console_i18n import ct
from .console_job_texts import job_progress, job_text
from .downloads import attachment
from .jobs import enqueue, queue_of_app, retry
from .state import current_state

# A job's error and progress (stored in English) in the console's language.
bp.add_app_template_global(job_text, "job_text")
bp.add_app_template_global(job_progress, "job_progress")

OUTPUT_TYPES = {"html": "text/html", "pdf": "application/pdf", "csv": "text/csv",
                "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "sav": "application/x-spss-sav"}


def _engine():
    return current_state().engine


def analysis_refusal(questionnaire, completed: int) -> str | None:
    """Why a wave of ``questionnaire`` with ``completed`` complete responses cannot be
    analysed (nor reported) yet, in the console's language; None when it can. The console
    says so and offers no button, instead of queuing a job bound to fail."""
    from analysis.report import minimum_sample
    if questionnaire.model_spec is None:
        return ct("analysis_no_model")
    needed = minimum_sample(questionnaire.csi_model())
    return ct("analysis_too_few", n=completed, needed=needed) if completed < needed else None


def wave_analysis_refusal(wave) -> str | None:
    """:func:`analysis_refusal` for a stored wave (its own questionnaire version, its count)."""
    from models.storage import console
    from survey_app.respondent import service
    return analysis_refusal(service().questionnaire(wave.survey_id), console.wave_progress(_db(), wave).completed)


def _refuse_if_not_analysable(wave):
    """A redirect to the wave page with the reason when the wave cannot be analysed yet."""
    reason = wave_analysis_refusal(wave)
    if reason is None:
        return None
    flash(reason, "error")
    return redirect(url_for("admin.wave", wave_id=wave.id))


def _queue_job(kind: str, params: dict, dedupe_key: str | None = None):
    try:
        job_id, created = enqueue(_engine(), queue_of_app(current_app), kind, params, dedupe_key=dedupe_key,
                                  created_by=current_user().username)
    except CSIError as exc:
        flash(console_error(exc), "error")
        return None
    if not created:
        flash(ct("same_job_running", id=job_id), "ok")
    return job_id


@bp.route("/jobs")
@login_required()
def jobs():
    shown = job_store.list_jobs(_engine(), limit=100)
    active = any(job.status in job_store.ACTIVE for job in shown)
    return render_template("admin/jobs.html", jobs=shown, active=active)


@bp.route("/jobs/<int:job_id>")
@login_required()
def job(job_id: int):
    found = job_store.get_job(_engine(), job_id)
    if found is None:
        abort(404)
    return render_template("admin/job.html", job=found, active=found.status in job_store.ACTIVE)


@bp.route("/jobs/<int:job_id>/retry", methods=["POST"])
@login_required("admin")
def job_retry(job_id: int):
    try:
        retry(_engine(), queue_of_app(current_app), job_id)
        flash(ct("job_queued_again", id=job_id), "ok")
    except StorageError as exc:
        flash(console_error(exc), "error")
    return redirect(url_for("admin.job", job_id=job_id))


@bp.route("/jobs/<int:job_id>/output/<kind>")
@login_required()
def job_output(job_id: int, kind: str):
    found = job_store.get_job(_engine(), job_id)
    if found is None or found.status != "done" or not found.output:
        abort(404)
    # Only a path the job itself recorded, with the extension its kind writes.
    recorded = found.output.get("file" if kind not in ("html", "pdf") else kind)
    if not recorded or kind not in OUTPUT_TYPES or not str(recorded).endswith("." + kind):
        abort(404)
    path = Path(recorded)
    if not path.is_file():
        abort(404, description="the file is gone from the reports folder")
    data = path.read_bytes()
    headers = {}
    if kind == "html" and request.args.get("view") == "1":
        # Shown inside the console: the report has no script, only its own <style> and data: images.
        headers["Content-Security-Policy"] = REPORT_CSP
    else:
        params = found.params or {}
        name = f"report-{params.get('survey')}-{params.get('wave')}" if found.kind == "report" else path.stem
        headers.update(attachment(f"{name}.{kind}"))
    return FlaskResponse(data, mimetype=OUTPUT_TYPES[kind], headers=headers)


@bp.route("/waves/<int:wave_id>/report", methods=["POST"])
@login_required()
def report_job(wave_id: int):
    wave = _wave(wave_id)
    refused = _refuse_if_not_analysable(wave)
    if refused is not None:
        return refused
    compare = request.form.get("compare") or None
    language = request.form.get("lang") or None
    params = {"survey": wave.questionnaire_id, "wave": wave.name, "compare": compare, "language": language,
              "pdf": request.form.get("pdf") == "1"}
    job_id = _queue_job("report", params)
    if job_id is None:
        return redirect(url_for("admin.wave", wave_id=wave_id))
    return redirect(url_for("admin.job", job_id=job_id))


@bp.route("/waves/<int:wave_id>/analysis", methods=["POST"])
@login_required()
def analysis_job(wave_id: int):
    wave = _wave(wave_id)
    refused = _refuse_if_not_analysable(wave)
    if refused is not None:
        return refused
    config = current_app.config
    params = {"survey": wave.questionnaire_id, "wave": wave.name, "n_boot": int(config.get("REPORT_BOOTSTRAP", 1000)),
              "n_perm": int(config.get("REPORT_PERMUTATIONS", 1000))}
    job_id = _queue_job("analysis", params, dedupe_key=f"analysis:{wave.questionnaire_id}/{wave.name}")
    if job_id is None:
        return redirect(url_for("admin.wave", wave_id=wave_id))
    return redirect(url_for("admin.job", job_id=job_id))


@bp.route("/waves/<int:wave_id>/export-job", methods=["POST"])
@login_required()
def export_job(wave_id: int):
    from models.exports import EXPORT_FORMATS
    wave = _wave(wave_id)
    fmt, layout = request.form.get("format", "csv"), request.form.get("layout", "wide")
    if fmt not in EXPORT_FORMATS or layout not in ("wide", "long"):
        abort(400)
    job_id = _queue_job("export", {"survey": wave.questionnaire_id, "wave": wave.name, "format": fmt, "layout": layout})
    if job_id is None:
        return redirect(url_for("admin.wave", wave_id=wave_id))
    return redirect(url_for("admin.job", job_id=job_id))


IMPORT_SUFFIXES = (".csv", ".txt", ".xlsx", ".sav")


@bp.route("/waves/<int:wave_id>/import", methods=["POST"])
@login_required("admin")
def import_responses(wave_id: int):
    """Responses collected by another tool, imported in the background (``csi import``)."""
    import secrets

    from .jobs import imports_folder

    wave = _wave(wave_id)
    upload = request.files.get("file")
    name = (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1][:200] if upload is not None else ""
    suffix = Path(name).suffix.lower()
    if not name:
        flash(ct("import_choose_file"), "error")
        return redirect(url_for("admin.wave", wave_id=wave_id))
    if suffix not in IMPORT_SUFFIXES:
        flash(ct("import_wrong_type", name=name, suffix=suffix) if suffix else ct("import_no_suffix", name=name), "error")
        return redirect(url_for("admin.wave", wave_id=wave_id))
    folder = imports_folder()
    folder.mkdir(parents=True, exist_ok=True)
    stem = secrets.token_hex(12)  # never the uploaded name: it is only shown, not used as a path
    target = folder / f"{stem}{suffix}"
    upload.save(target)
    params = {"survey": wave.questionnaire_id, "wave": wave.name, "file": str(target), "name": name,
              "skip_bad_rows": request.form.get("skip_bad_rows") == "1"}
    mapping = request.files.get("mapping")
    if mapping is not None and mapping.filename:
        mapping_target = folder / f"{stem}-mapping.yaml"
        mapping.save(mapping_target)
        params["mapping"] = str(mapping_target)
        params["mapping_name"] = mapping.filename.replace("\\", "/").rsplit("/", 1)[-1][:200]  # shown, never a path
    job_id = _queue_job("import", params)
    if job_id is None:
        target.unlink(missing_ok=True)
        return redirect(url_for("admin.wave", wave_id=wave_id))
    return redirect(url_for("admin.job", job_id=job_id))
