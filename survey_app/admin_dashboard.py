"""The console's dashboard of a survey (routes on the admin blueprint), and its follow-up SLA.

    GET  /admin/surveys/<questionnaire_id>/dashboard[?wave=W]
    POST /admin/surveys/<questionnaire_id>/follow-up-sla    (admins; hours, or clear)

The numbers come from ``models.storage.dashboard`` (stored analyses and live counts);
nothing is estimated in the request: a wave without a stored analysis offers the button
that queues it (``admin.analysis_job``, as the wave page does). The same data is served
as JSON by the API (``/api/v1/surveys/<id>/dashboard``) and printed by ``csi dashboard``.
"""
from __future__ import annotations

from collections.abc import Callable

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from models.storage import StorageError, follow_up
from models.storage.dashboard import CHART_DAYS, survey_dashboard
from models.storage.tables import QuestionnaireVersion, Wave

from . import dashboard_charts as charts
from . import dashboard_strings  # noqa: F401  (registers the dashboard's texts)
from .admin import _db, bp, current_user, login_required
from .console_errors import console_error
from .console_i18n import console_language, ct


def dashboard_for(session, questionnaire_id: str, wave: str | None, default_sla_hours: float) -> dict:
    """The dashboard's data (a StorageError for an unknown survey or wave)."""
    from analysis.stored import CODE_VERSION
    return survey_dashboard(session, questionnaire_id, wave, code_version=CODE_VERSION,
                            default_sla_hours=default_sla_hours)


def default_sla_hours() -> float:
    return float(current_app.config.get("FOLLOW_UP_OVERDUE_HOURS", 48))


def construct_name(name: str, questionnaire=None) -> str:
    """A construct's name in the console's language, as the report writes it (the
    questionnaire's own ``model.names`` first)."""
    from analysis.report_text import construct_label
    return construct_label(name, console_language(), questionnaire)


def variable_name(name: str) -> str:
    from analysis.report_text import SEGMENT_VARIABLES
    return SEGMENT_VARIABLES.get(console_language(), SEGMENT_VARIABLES["en"]).get(name, name)


def _headline_row(index: list[dict], headline: str) -> dict | None:
    return next((r for r in index if r.get("construct") == headline), index[0] if index else None)


def level_name(questionnaire, variable: str, level: str) -> str:
    """A segment's level as respondents read it: the option label of the question of that id
    (channel "both": "Both"), in the console's language; an invitation attribute as stored."""
    try:
        question = questionnaire.question(variable)
    except KeyError:
        return level
    labels = {str(o.value): o.label.get(console_language()) for o in question.options or ()}
    return labels.get(str(level), level)


def segment_note(questionnaire) -> Callable[[str], str]:
    """A segment's warning from the stored analysis (English, as the estimator wrote it) in the
    console's language: the report's own translation (``analysis.report_text.localize_note``),
    with the dashboard's names for constructs, segment variables and levels."""
    language = console_language()
    if language == "en":
        return lambda note: note
    from analysis.report_text import Names, localize_note
    names = Names(language, lambda construct: construct_name(construct, questionnaire), variable_name,
                  lambda variable, level: level_name(questionnaire, variable, level))
    return lambda note: localize_note(note, names)


def _figures(data: dict, questionnaire) -> dict:
    """The dashboard's charts (Markup) from its data, in the console's language."""
    figures = {}
    headline = data["headline"]
    axis = ct("dash_axis")
    points = []
    for wave in data["waves"]:
        row = _headline_row(wave["analysis"].get("index", []), headline) or {}
        points.append({"label": wave["name"], "estimate": row.get("estimate"), "ci_low": row.get("ci_low"),
                       "ci_high": row.get("ci_high"), "current": wave["analysis"].get("current", True)})
    if points:
        trend_title = ct("dash_chart_trend", construct=construct_name(headline, questionnaire))
        figures["trend"] = charts.trend_chart(points, trend_title,
                                              missing=ct("dash_chart_not_computed"), axis_word=axis)
    this = next((w for w in data["waves"] if w["name"] == data["wave"]), None)
    if this is not None and this["analysis"].get("index"):
        rows = [{"label": construct_name(r["construct"], questionnaire), "estimate": r.get("estimate"), "ci_low": r.get("ci_low"),
                 "ci_high": r.get("ci_high")} for r in this["analysis"]["index"]]
        figures["indices"] = charts.interval_chart(rows, ct("dash_chart_indices", wave=data["wave"]), axis_word=axis)
    figures["segments"] = []
    for block in data["segments"]["variables"]:
        rows = [{"label": ct("dash_segment_label", segment=level_name(questionnaire, block["variable"], r["segment"]),
                             n=r["n"]), "estimate": r.get("estimate"),
                 "ci_low": r.get("ci_low"), "ci_high": r.get("ci_high")}
                for r in block["rows"] if r.get("construct") in (headline, None)]
        if rows:
            title = ct("dash_chart_segment", construct=construct_name(headline, questionnaire),
                       variable=variable_name(block["variable"]))
            figures["segments"].append((block, charts.interval_chart(rows, title, missing=ct("dash_too_few"),
                                                                     axis_word=axis)))
    days = data["completions_per_day"][-CHART_DAYS:]
    if days:
        figures["days"] = charts.bar_chart([(d["date"][5:], d["completed"], f"{d['completed']:,}") for d in days],
                                           ct("dash_chart_days"), label_share=16, value_share=14)
    funnel = data["funnel"]
    if funnel and funnel["invited"]:
        stages = [(ct(f"dash_stage_{name}"), funnel[name]) for name in ("invited", "opened", "started", "completed")]
        figures["funnel"] = charts.bar_chart(
            [(name, value, f"{value:,} ({100 * value / funnel['invited']:.0f}%)") for name, value in stages],
            ct("dash_chart_funnel"), maximum=funnel["invited"], label_share=30, value_share=28)
    return figures


@bp.route("/surveys/<questionnaire_id>/dashboard")
@login_required()
def dashboard(questionnaire_id: str):
    try:
        data = dashboard_for(_db(), questionnaire_id, request.args.get("wave") or None, default_sla_hours())
    except StorageError as exc:
        return render_template("admin/message.html", title=ct("dash_not_found"), body=console_error(exc)), 404
    from survey_app.respondent import service
    latest = _db().scalar(select(QuestionnaireVersion.id).where(QuestionnaireVersion.questionnaire_id == questionnaire_id)
                          .order_by(QuestionnaireVersion.id.desc()).limit(1))
    questionnaire = service().questionnaire(latest)
    title = questionnaire.title.get(console_language())  # the title in the console's language
    from .admin_jobs import wave_analysis_refusal
    refusals = {w["wave_id"]: wave_analysis_refusal(_db().get(Wave, w["wave_id"])) for w in data["waves"]
                if w["analysis"].get("status") != "stored" or not w["analysis"].get("current", True)}
    return render_template("admin/dashboard.html", d=data, figures=_figures(data, questionnaire), chart_days=CHART_DAYS,
                           refusals=refusals,
                           headline=construct_name(data["headline"], questionnaire), variable_name=variable_name,
                           title=title, segment_note=segment_note(questionnaire))


@bp.route("/surveys/<questionnaire_id>/follow-up-sla", methods=["POST"])
@login_required("admin")
def follow_up_sla(questionnaire_id: str):
    if _db().scalar(select(QuestionnaireVersion.id).where(QuestionnaireVersion.questionnaire_id == questionnaire_id).limit(1)) is None:
        abort(404)
    clear = request.form.get("action") == "clear"
    hours = None if clear else request.form.get("hours", "")
    try:
        stored = follow_up.set_sla_hours(_db(), questionnaire_id, hours, current_user().username)
    except follow_up.SLAError as exc:
        _db().rollback()
        flash(ct(f"dash_sla_{exc.kind}", value=repr(exc.value or "nothing") if exc.kind == "not_number" else exc.value,
                 max=f"{follow_up.MAX_SLA_HOURS:,}"), "error")
    else:
        _db().commit()
        if stored is None:
            flash(ct("dash_sla_default", survey=questionnaire_id, hours=f"{default_sla_hours():g}"), "ok")
        else:
            flash(ct("dash_sla_saved", survey=questionnaire_id, hours=f"{stored:g}"), "ok")
    target = request.form.get("next")
    if target == "follow_up":
        return redirect(url_for("admin.follow_up"))
    return redirect(url_for("admin.dashboard", questionnaire_id=questionnaire_id))
