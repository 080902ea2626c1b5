"""The console's preview of a stored questionnaire version and the changes between versions.

``/admin/surveys/<id>/preview``: every page of the version with whether the preview's answers
show it, a form to set the answers that conditions read and the hidden values, and the
language (the questionnaire's own). ``/admin/surveys/<id>/preview/<n>``: page *n* drawn with
the respondent's template and markup; answering it and pressing Next walks the path a
respondent with those answers would take. The answers live in the address only
(``survey_app.preview``): nothing is written to the database. ``/admin/surveys/<id>/changes``:
what changed from the version stored before it (``models.questionnaire_diff``).
"""
from __future__ import annotations

from urllib.parse import urlencode

from flask import abort, redirect, render_template, request, url_for
from sqlalchemy import select

from models import navigation
from models.questionnaire import Questionnaire
from models.questionnaire_diff import diff_questionnaires
from models.storage.repository import stored_questionnaire
from models.storage.tables import QuestionnaireVersion

from . import preview
from .admin import _db, bp, login_required
from .console_i18n import console_language, ct
from .forms import PageAnswers, Tampered, check_tampering, validate_answers
from .i18n import LANGUAGE_NAMES, translate


def _version(survey_id: int) -> tuple[QuestionnaireVersion, Questionnaire]:
    survey = _db().get(QuestionnaireVersion, survey_id)
    if survey is None:
        abort(404)
    return survey, stored_questionnaire(survey)


def previous_version(survey: QuestionnaireVersion) -> QuestionnaireVersion | None:
    """The version of the same questionnaire stored just before ``survey``."""
    return _db().scalar(select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == survey.questionnaire_id, QuestionnaireVersion.id < survey.id)
                        .order_by(QuestionnaireVersion.id.desc()).limit(1))


def _language(questionnaire: Questionnaire) -> str:
    """The respondent language previewed: ``?lang=`` if the questionnaire has it, else the
    console's if it has that, else its default."""
    for wanted in (request.args.get("lang"), console_language()):
        if wanted in questionnaire.languages:
            return wanted
    return questionnaire.default_language


def _url(endpoint: str, survey_id: int, language: str, state: preview.PreviewState, **values) -> str:
    extra = [(k, v) for k, v in values.items() if k != "number" and v is not None]
    path = url_for(endpoint, survey_id=survey_id, **({"number": values["number"]} if "number" in values else {}))
    return f"{path}?{urlencode([('lang', language), *state.query(), *extra])}"


@bp.route("/surveys/<int:survey_id>/preview")
@login_required()
def preview_pages(survey_id: int):
    survey, questionnaire = _version(survey_id)
    language = _language(questionnaire)
    state = preview.read_state(questionnaire, request.args)
    ended = request.args.get("end") == "1"
    flagged = [rule.id for rule in navigation.flagging_rules(questionnaire, state.merged)] if ended else []
    switches = preview.condition_questions(questionnaire)
    return render_template(
        "admin/preview.html", survey=survey, q=questionnaire, lang=language, state=state, ended=ended, flagged=flagged,
        rows=preview.page_rows(questionnaire, state, language), switches=switches,
        switch_ids={q.id for q in switches}, choices_of=preview.choices_of,
        url=lambda endpoint, **values: _url(endpoint, survey_id, values.pop("lang", language), state, **values),
        languages=[(code, LANGUAGE_NAMES.get(code, code)) for code in questionnaire.languages],
        previous=previous_version(survey), answer_param=preview.ANSWER_PARAM, hidden_param=preview.HIDDEN_PARAM)


@bp.route("/surveys/<int:survey_id>/preview/<int:number>", methods=["GET", "POST"])
@login_required()
def preview_page(survey_id: int, number: int):
    survey, questionnaire = _version(survey_id)
    if not 1 <= number <= len(questionnaire.pages):
        abort(404)
    language = _language(questionnaire)
    state = preview.read_state(questionnaire, request.args)
    index = number - 1
    if request.method in ("GET", "HEAD"):
        return _show(survey, questionnaire, language, state, index)
    parts = preview.page_parts(questionnaire, index, language, state)
    try:
        check_tampering(request.form, list(parts.questions))
    except Tampered:
        return _show(survey, questionnaire, language, state, index, tampered=True, status=400)
    form = PageAnswers(list(parts.questions), formdata=request.form)  # CSRFProtect checked the token
    going_back = request.form.get("nav") == "back"
    values = validate_answers(form, language, require=not going_back)
    if form.errors:
        return _show(survey, questionnaire, language, state, index, form=form, status=422)
    for question_id, value in values.items():
        preview.set_answer(questionnaire, state, question_id, value)
    answers = state.merged
    target = (navigation.previous_page(questionnaire, answers, index) if going_back
              else navigation.next_page(questionnaire, answers, index))
    if target is None and not going_back:  # the respondent would be done: back to the overview
        return redirect(_url("admin.preview_pages", survey_id, language, state, end="1"))
    return redirect(_url("admin.preview_page", survey_id, language, state, number=(target if target is not None else index) + 1))


def _show(survey: QuestionnaireVersion, questionnaire: Questionnaire, language: str, state: preview.PreviewState, index: int, *,
          form: PageAnswers | None = None, tampered: bool = False, status: int = 200):
    parts = preview.page_parts(questionnaire, index, language, state, form)
    switch = [(code, LANGUAGE_NAMES.get(code, code)) for code in questionnaire.languages if code != language]
    here = url_for("admin.preview_page", survey_id=survey.id, number=index + 1)
    return render_template(
        "admin/preview_page.html", q=questionnaire, lang=language, t=lambda key, **v: translate(language, key, **v),
        switch=switch, link_query=state.query(), here=here, form_action=f"{here}?{urlencode([('lang', language), *state.query()])}",
        form=parts.form, page=parts.page, parts=parts, position=parts.position or "–", total=parts.total,
        previous=parts.previous, is_last=parts.is_last, resumed=False, submission_id="preview-page",
        questions_html=parts.html, survey=survey, state=state, tampered=tampered, number=index + 1,
        overview=_url("admin.preview_pages", survey.id, language, state)), status


@bp.route("/surveys/<int:survey_id>/changes")
@login_required()
def version_changes(survey_id: int):
    survey, questionnaire = _version(survey_id)
    before = previous_version(survey)
    diff = diff_questionnaires(stored_questionnaire(before), questionnaire) if before is not None else None
    return render_template("admin/changes.html", survey=survey, q=questionnaire, before=before, diff=diff)


def change_text(change) -> str:
    """A change (models.questionnaire_diff.Change) in the console's language."""
    return ct(f"diff.{change.kind}", **{k: _value(v) for k, v in change.values.items()})


def _value(value) -> str:
    if isinstance(value, bool):
        return ct("yes") if value else ct("no")
    return ct("diff_none") if value == "none" else str(value)


bp.add_app_template_global(change_text, "change_text")
