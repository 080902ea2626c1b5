"""The page skeleton cache (survey_app/page_skeleton.py) serves exactly what rendering the
template in full would, for every state a page can be in, with each respondent's own
token, submission id and answers."""
import re

import pytest

from survey_app.page_skeleton import CSRF, QUESTIONS, SUBMISSION, PageSkeletons, _split

from .conftest import Respondent, https_client


class RenderEveryTime:
    """Stand-in for PageSkeletons that renders the template in full on every request."""

    def render(self, key, render, **gaps):
        return render(**gaps)


def normalized(text: str) -> str:
    """A page with the per-request random values (token, submission id) blanked."""
    text = re.sub(r'(name="csrf_token" type="hidden" value=")[^"]+', r"\1TOKEN", text)
    return re.sub(r'(name="submission_id" type="hidden" value=")[^"]+', r"\1SUBMISSION", text)


def walk(app, questionnaire, survey, answers):
    """Every page a respondent sees: start, Next, a validation error, Back, a language switch,
    leaving and resuming; (status, normalized HTML) of each."""
    client = https_client(app)
    person = Respondent(client, questionnaire, answers)
    seen = []
    page = person.start(survey=survey)
    seen.append(page)
    page = person.answer(page)
    seen.append(page)
    required = next(q for q in page.question_ids if questionnaire.question(q).required)
    seen.append(person.answer(page, overrides={required: None}))  # left unanswered: 422 with the error shown
    seen.append(person.answer(page, nav="back"))                 # page 1 with its answers
    seen.append(person.get(page.url + "?lang=" + questionnaire.languages[-1]))
    seen.append(person.get(page.url + "?lang=" + questionnaire.languages[0]))
    resumed = https_client(app)
    cookie = client.get_cookie("csi_session")
    resumed.set_cookie(cookie.key, cookie.value, domain=cookie.domain or "localhost")
    seen.append(Respondent(resumed, questionnaire).get(f"/s/{survey}/2026Q4"))  # "your earlier answers are saved"
    page = seen[-1]
    while "/done" not in page.url:
        page = person.answer(person.get(page.url))
        seen.append(page)
    return [(p.status, normalized(p.text)) for p in seen]


@pytest.mark.parametrize("survey, fixture", [("acsi-retail", "acsi"), ("ccsi-mobile", "ccsi")])
def test_cached_pages_equal_full_renders(app, request, survey, fixture):
    questionnaire = request.getfixturevalue(fixture)
    answers = {"complained": "yes"} if survey == "ccsi-mobile" else {}
    cached = walk(app, questionnaire, survey, answers)
    again = walk(app, questionnaire, survey, answers)             # the second walk is served from the cache
    app.extensions["csi"]["page_skeletons"] = RenderEveryTime()
    full = walk(app, questionnaire, survey, answers)
    assert [status for status, _ in full].count(422) == 1 and len(full) > 8
    assert cached == full
    assert again == full


def test_each_respondent_gets_its_own_token_submission_id_and_answers(app, acsi):
    first, second = Respondent(https_client(app), acsi), Respondent(https_client(app), acsi)
    one = first.answer(first.start(), overrides={"channel": "online"})
    two = second.answer(second.start(), overrides={"channel": "store"})
    back_one, back_two = first.answer(one, nav="back"), second.answer(two, nav="back")
    assert back_one.checked("channel") == ["online"] and back_two.checked("channel") == ["store"]
    assert back_one.csrf != back_two.csrf and back_one.submission_id != back_two.submission_id
    assert normalized(back_one.text).replace('value="online" checked', 'value="online"') == \
        normalized(back_two.text).replace('value="store" checked', 'value="store"')


def test_split_keeps_text_and_gaps_in_order():
    page = f"<a>{CSRF}<b>{QUESTIONS}<c>{SUBMISSION}<d>"
    texts, gaps = _split(page)
    assert texts == ("<a>", "<b>", "<c>", "<d>") and gaps == (CSRF, QUESTIONS, SUBMISSION)


def test_values_are_escaped_except_the_questions_markup():
    skeletons = PageSkeletons()
    page = skeletons.render("k", lambda **gaps: f"{gaps['csrf_token']}|{gaps['submission_id']}|{gaps['questions_html']}",
                            csrf_token='a"b', submission_id="<s>", questions_html="<div>q</div>")
    assert page == "a&#34;b|&lt;s&gt;|<div>q</div>"


def test_a_template_without_a_gap_fails_loudly():
    with pytest.raises(ValueError, match="submission"):
        PageSkeletons().render("k", lambda **gaps: f"{gaps['csrf_token']}{gaps['questions_html']}",
                               csrf_token="t", submission_id="s", questions_html="")


def test_cache_is_bounded():
    skeletons = PageSkeletons(limit=3)
    for n in range(10):
        skeletons.render(n, lambda **g: f"{n}{g['csrf_token']}{g['submission_id']}{g['questions_html']}",
                         csrf_token="t", submission_id="s", questions_html="")
    assert len(skeletons._cache) <= 3
