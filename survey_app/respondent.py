"""Respondent blueprint: public links, invitation links, pages, thank-you and follow-up."""
from __future__ import annotations

import uuid

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for

from models import navigation
from models.hidden import SIGNATURE_PARAM, HiddenRefused, read_hidden, with_hidden
from models.questionnaire import Questionnaire
from models.randomization import arrange, block_order_of_page, page_order, page_sequence
from models.storage.tables import Wave

from .forms import CONTACT_FIELDS, PageAnswers, Tampered, check_tampering, validate_answers, validate_contact
from .i18n import LANGUAGE_NAMES, translate
from .question_markup import questions_html as render_questions
from .responses import PagePost, ResponseState, RespondentService
from .state import current_state

bp = Blueprint("respondent", __name__)


class FriendlyError(Exception):
    """Rendered as a calm page in the respondent's language (see ``create_app``)."""

    def __init__(self, status: int, title_key: str, body_key: str, questionnaire: Questionnaire | None = None):
        self.status, self.title_key, self.body_key, self.questionnaire = status, title_key, body_key, questionnaire


def service() -> RespondentService:
    return current_state().service


def language_for(questionnaire: Questionnaire | None) -> str:
    available = list(questionnaire.languages) if questionnaire else list(LANGUAGE_NAMES)
    asked = request.args.get("lang")
    if asked in available:
        session["lang"] = asked
    chosen = session.get("lang")
    if chosen in available:
        return chosen
    best = request.accept_languages.best_match(available + [a.split("-")[0] for a in available])
    if best:
        return next((a for a in available if a == best or a.split("-")[0] == best), available[0])
    return questionnaire.default_language if questionnaire else "en"


def _wave_or_fail(questionnaire_id: str, wave_name: str) -> tuple[Wave, Questionnaire]:
    wave = service().find_wave(questionnaire_id, wave_name)
    if wave is None:
        raise FriendlyError(404, "not_found_title", "not_found_body")
    return wave, service().questionnaire(wave.survey_id)


def _own_response(wave: Wave) -> ResponseState | None:
    key = session.get("responses", {}).get(str(wave.id))
    response = service().response_by_key(key)
    return response if response is not None and response.wave_id == wave.id else None


def _remember(wave: Wave, response: ResponseState) -> None:
    keys = dict(session.get("responses", {}))
    keys[str(wave.id)] = response.respondent_key
    session["responses"] = keys
    session.permanent = True


def _link_hidden(questionnaire: Questionnaire, wave: Wave) -> dict[str, str]:
    """The declared hidden values in the link's query string (models.hidden), or a calm
    refusal in the respondent's language when one fails its rule or its signature."""
    if not questionnaire.hidden:
        return {}
    try:
        return read_hidden(questionnaire.hidden, request.args, secret=current_app.secret_key,
                           survey=questionnaire.id, wave=wave.name)
    except HiddenRefused as exc:
        current_app.logger.info("refused link for %s/%s: %s", questionnaire.id, wave.name, exc)
        body = "hidden_signature_body" if exc.reason == "signature" else "hidden_invalid_body"
        raise FriendlyError(400, "hidden_title", body, questionnaire) from None


def _link_query(questionnaire: Questionnaire) -> dict[str, str]:
    """The link's declared parameters (and its signature), carried from the introduction to
    the start button: the hidden values are read, and checked again, when the response starts."""
    keep = {field.id for field in questionnaire.hidden} | {SIGNATURE_PARAM}
    return {k: v for k, v in request.args.items() if k in keep}


def _context(questionnaire: Questionnaire, language: str, **extra):
    def t(key, **values):
        return translate(language, key, **values)
    switch = [(code, LANGUAGE_NAMES.get(code, code)) for code in questionnaire.languages if code != language]
    return {"q": questionnaire, "lang": language, "t": t, "switch": switch, **extra}


@bp.get("/s/<questionnaire_id>/<wave_name>")
def landing(questionnaire_id: str, wave_name: str):
    wave, questionnaire = _wave_or_fail(questionnaire_id, wave_name)
    language = language_for(questionnaire)
    response = _own_response(wave)
    if response is not None:
        if response.status == "complete":
            return redirect(url_for(".done", questionnaire_id=questionnaire_id, wave_name=wave_name))
        if response.status == "quota_full":
            return _show_quota_full(questionnaire, language, response.quota_id)
        if response.current_page > 0:
            return _resume(questionnaire_id, wave_name, response, questionnaire)
        # A started response with nothing answered yet (e.g. just opened from an invitation)
        # still sees the introduction and privacy notice first.
    if not wave.is_open():
        raise FriendlyError(403, "closed_title", "closed_body", questionnaire)
    hidden = _link_hidden(questionnaire, wave)  # refused here, before the respondent reads the introduction
    link_query = _link_query(questionnaire) if hidden else {}
    return render_template("intro.html", wave=wave, link_query=link_query, **_context(questionnaire, language))


@bp.post("/s/<questionnaire_id>/<wave_name>/start")
def start(questionnaire_id: str, wave_name: str):
    wave, questionnaire = _wave_or_fail(questionnaire_id, wave_name)
    language = language_for(questionnaire)
    response = _own_response(wave)  # the CSRF token was checked before the view (Flask-WTF's CSRFProtect)
    if response is None:
        if not wave.is_open():
            raise FriendlyError(403, "closed_title", "closed_body", questionnaire)
        hidden = _link_hidden(questionnaire, wave)
        response = service().start(wave, language, hidden=hidden)
        _remember(wave, response)
        answers = with_hidden({}, hidden)
        first = navigation.next_page(questionnaire, answers, -1, page_sequence(questionnaire, str(response.id)))
        if first is not None:  # answered with the first page itself, as a page post is with the next
            return _show_page(wave, questionnaire, language, first, answers, response.id)
    return _resume(questionnaire_id, wave_name, response, questionnaire)


def _resume(questionnaire_id: str, wave_name: str, response: ResponseState, questionnaire: Questionnaire):
    answers = service().answers(response)
    index = navigation.resume_page(questionnaire, answers, response.current_page,
                                   page_sequence(questionnaire, str(response.id)))
    if index is None:
        return redirect(url_for(".done", questionnaire_id=questionnaire_id, wave_name=wave_name))
    return redirect(url_for(".page", questionnaire_id=questionnaire_id, wave_name=wave_name, number=index + 1,
                            resumed=1 if response.current_page else None))


@bp.route("/s/<questionnaire_id>/<wave_name>/p/<int:number>", methods=["GET", "POST"])
def page(questionnaire_id: str, wave_name: str, number: int):
    wave, questionnaire = _wave_or_fail(questionnaire_id, wave_name)
    language = language_for(questionnaire)
    key = session.get("responses", {}).get(str(wave.id))
    if request.method in ("GET", "HEAD"):  # HEAD is a GET without its body (a link checker), never a post
        response, answers = service().response_and_answers(key)
        return _page(wave, questionnaire, language, number, response, answers, None)
    # A post is read, checked and saved in one transaction under the response's lock
    # (responses.PagePost): posts of one response take effect one after another, each checked
    # against what the one before saved.
    index = number - 1
    in_range = 0 <= index < len(questionnaire.pages)  # else no transaction: the post is sent back where it belongs
    submission_id = request.form.get("submission_id", "") if in_range else ""
    with service().page_post(key, index, submission_id) as post:
        return _page(wave, questionnaire, language, number, post.response, post.answers, post)


def _page(wave: Wave, questionnaire: Questionnaire, language: str, number: int, response: ResponseState | None,
          answers: dict, post: PagePost | None):
    """Show page ``number`` (``post`` None) or check and save the posted page."""
    questionnaire_id, wave_name = wave.questionnaire_id, wave.name
    if response is None or response.wave_id != wave.id:
        return redirect(url_for(".landing", questionnaire_id=questionnaire_id, wave_name=wave_name))
    if response.status == "complete":
        return redirect(url_for(".done", questionnaire_id=questionnaire_id, wave_name=wave_name))
    if response.status == "quota_full":
        return _show_quota_full(questionnaire, language, response.quota_id)
    if not wave.is_open():
        raise FriendlyError(403, "closed_title", "closed_body", questionnaire)
    index = number - 1
    order = page_sequence(questionnaire, str(response.id))
    in_effect = navigation.answers_in_effect(questionnaire, answers)  # stale answers count as none
    if not 0 <= index < len(questionnaire.pages) \
            or not navigation.reached(questionnaire, index, response.current_page, order) \
            or not navigation.page_visible(questionnaire.pages[index], in_effect):
        # No skipping ahead, no hidden pages: go to where the respondent really is.
        return _resume(questionnaire_id, wave_name, response, questionnaire)
    if post is None:
        return _show_page(wave, questionnaire, language, index, answers, response.id,
                          resumed=request.args.get("resumed") == "1")
    questions = navigation.visible_questions(questionnaire.pages[index], in_effect)
    try:
        check_tampering(request.form, questions)
    except Tampered as exc:
        current_app.logger.info("rejected page post for response %s: %s", response.id, exc)
        abort(400)
    form = PageAnswers(questions, formdata=request.form)  # CSRFProtect checked the token before the view
    going_back = request.form.get("nav") == "back"
    values = validate_answers(form, language, require=not going_back)
    if form.errors:
        return _show_page(wave, questionnaire, language, index, answers, response.id, form=form, status=422)
    if not 8 <= len(form.submission_id) <= 64:
        abort(400)  # no submission id: not a form we rendered
    outcome = post.save(values, language, advance=not going_back, max_completes=wave.max_completes)
    if outcome.quota is not None:  # a full quota (or wave): ended politely, not completed
        return _show_quota_full(questionnaire, language, outcome.quota)
    if outcome.next_page is None:  # complete: answered with the thank-you page itself
        return _show_done(wave, questionnaire, language, outcome.follow_up)
    if going_back:
        previous = navigation.previous_page(questionnaire, answers, index, order)
        if previous is not None:
            return redirect(url_for(".page", questionnaire_id=questionnaire_id, wave_name=wave_name,
                                    number=previous + 1))
    # Moving on, the post is answered with the next page itself rather than a redirect to it:
    # one round trip per page instead of two (what a respondent on a slow phone network waits
    # for, and 40% of the server's requests). The page names its own address (form action,
    # links, and a script that puts it in the address bar), and a repeated post is harmless:
    # its submission id is recognised and the page it leads to is shown again.
    return _show_page(wave, questionnaire, language, outcome.next_page, outcome.answers, response.id)


def _show_page(wave: Wave, questionnaire: Questionnaire, language: str, index: int, answers: dict, response_id: int, *,
               form=None, status: int = 200, resumed: bool = False):
    """Page ``index`` with the saved ``answers`` (or the posted ``form`` with its errors),
    randomized parts in the order of response ``response_id`` (stored with it)."""
    page_spec = questionnaire.pages[index]
    answers = navigation.answers_in_effect(questionnaire, answers)  # nor shown, nor piped: stale answers
    order = page_order(page_spec, str(response_id))
    shown = {**order, **block_order_of_page(questionnaire, page_spec, str(response_id))}
    if shown:
        service().record_display_order(response_id, shown)
    questions = arrange(page_spec, navigation.visible_questions(page_spec, answers), order)
    sequence = page_sequence(questionnaire, str(response_id))
    if form is None:
        form = PageAnswers(questions, answers=answers)
    visible_pages = navigation.visible_pages(questionnaire, answers, sequence)
    previous = navigation.previous_page(questionnaire, answers, index, sequence)
    position = visible_pages.index(index) + 1
    is_last = navigation.is_last_page(questionnaire, answers, index, sequence)
    here = url_for(".page", questionnaire_id=wave.questionnaire_id, wave_name=wave.name, number=index + 1)
    questions_html = render_questions(
        questionnaire, questions, language, {q.id: form[q.id].data for q in questions},
        {q.id: form[q.id].errors[0] if form[q.id].errors else None for q in questions}, order, answers=answers)
    return render_template(
        "page.html", form=form, page=page_spec, position=position, total=len(visible_pages), previous=previous,
        is_last=is_last, resumed=resumed, here=here, submission_id=uuid.uuid4().hex, questions_html=questions_html,
        **_context(questionnaire, language)), status


@bp.route("/s/<questionnaire_id>/<wave_name>/done", methods=["GET", "POST"])
def done(questionnaire_id: str, wave_name: str):
    wave, questionnaire = _wave_or_fail(questionnaire_id, wave_name)
    language = language_for(questionnaire)
    response = _own_response(wave)
    if response is None or response.status != "complete":
        return redirect(url_for(".landing", questionnaire_id=questionnaire_id, wave_name=wave_name))
    errors: dict[str, str] = {}
    saved = response.contact is not None
    if request.method == "POST":
        if not response.follow_up or saved:
            abort(400)
        unknown = set(request.form) - {"csrf_token", "submission_id", "consent", *CONTACT_FIELDS}
        if unknown or any(len(request.form.get(k, "")) > 200 for k in CONTACT_FIELDS):
            abort(400)  # not what our form sends (its fields have maxlength 200)
        fields, errors = validate_contact(request.form, language)
        if not errors:
            service().save_contact(response.id, {**fields, "consent": True})
            saved = True
    return _show_done(wave, questionnaire, language, response.follow_up, saved=saved, errors=errors,
                      contact=request.form if request.method == "POST" else {})


def _show_quota_full(questionnaire: Questionnaire, language: str, quota_id: str | None):
    """The end of a response that a full quota (or the wave's cap) screened out: the
    quota's own text in the respondent's language, else the built-in wording."""
    quota = next((quota for quota in questionnaire.quotas if quota.id == quota_id), None)
    body = quota.text.get(language) if quota is not None else translate(language, "quota_full_body")
    return render_template("message.html", title=translate(language, "quota_full_title"), body=body,
                           **_context(questionnaire, language))


def _show_done(wave: Wave, questionnaire: Questionnaire, language: str, follow_up: bool, *,
               saved: bool = False, errors: dict[str, str] | None = None, contact=None):
    """The thank-you page; with ``follow_up``, the form that asks for a contact (``contact``:
    what was typed into it, shown again with ``errors``, a message per field)."""
    here = url_for(".done", questionnaire_id=wave.questionnaire_id, wave_name=wave.name)
    return render_template("done.html", follow_up=follow_up, saved=saved,
                           errors=errors or {}, contact=contact or {}, here=here,
                           **_context(questionnaire, language)), (422 if errors else 200)


@bp.get("/i/<token>")
def invitation(token: str):
    if not 16 <= len(token) <= 128:
        raise FriendlyError(404, "invalid_link_title", "invalid_link_body")
    status, wave, response = service().open_invitation(token, language_for(None))
    if status == "invalid":
        raise FriendlyError(404, "invalid_link_title", "invalid_link_body")
    questionnaire = service().questionnaire(wave.survey_id)
    _mark_opened(token)
    if response is None:
        raise FriendlyError(403, "closed_title", "closed_body", questionnaire)
    _remember(wave, response)
    return redirect(url_for(".landing", questionnaire_id=wave.questionnaire_id, wave_name=wave.name))


def _mark_opened(token: str) -> None:
    """Record the first time an invitation's link was opened (the console's "opened" status;
    no tracking pixel in the e-mails)."""
    from models.storage import hash_token
    from models.storage.invitations import mark_opened
    from models.storage.tables import Invitation
    from sqlalchemy import select
    with service().sessions() as session:
        invitation_id = session.scalar(select(Invitation.id).where(Invitation.token_hash == hash_token(token)))
        if invitation_id is not None:
            mark_opened(session, invitation_id)
            session.commit()
