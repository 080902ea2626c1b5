"""The respondent's path through a survey, with the Flask test client, on SQLite and PostgreSQL."""
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.storage import load_wave_frame
from models.storage.tables import Answer, Invitation, PageSubmission, Response
from survey_app.state import state_of

from .. import chain_questionnaire
from .conftest import Page, Respondent, assert_row_matches, https_client


def stored(engine):
    with Session(engine) as session:
        return session.scalars(select(Response).order_by(Response.id)).all()


def count_answers(engine):
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(Answer))


def test_intro_shows_privacy_notice_before_any_question(client, acsi, engine):
    page = Respondent(client, acsi).get("/s/acsi-retail/2026Q4")
    assert page.status == 200
    assert acsi.privacy_notice.get("en") in page.text and page.question_ids == []
    assert stored(engine) == []  # opening a link stores nothing


def test_complete_survey_stores_exactly_what_was_posted(client, acsi, engine):
    person = Respondent(client, acsi)
    first = person.start()
    assert first.status == 200 and first.question_ids == ["channel", "categories", "visits_per_month"]
    done = person.finish(first)
    assert acsi.thank_you.get("en") in done.text
    (response,) = stored(engine)
    assert response.status == "complete" and response.language == "en" and response.completed_at is not None
    row = load_wave_frame(engine, "acsi-retail", "2026Q4").iloc[0]
    assert_row_matches(row, person.posted, acsi)
    # show_if: complaint_resolved is asked only of those who complained ('no' is the default answer here)
    assert "complaint_resolved" not in person.posted and "complaint_resolved" not in row.dropna().index


def test_required_question_error_is_next_to_the_field_and_answers_are_kept(client, acsi, engine):
    person = Respondent(client, acsi)
    page = person.answer(person.start())  # -> expectations page
    assert page.question_ids == ["exp_overall", "exp_customization", "exp_reliability"]
    again = person.answer(page, overrides={"exp_customization": None, "exp_overall": "7"})
    assert again.status == 422
    error_at = again.text.index('id="exp_customization-error"')
    assert again.text.index('id="q-exp_customization"') < error_at < again.text.index('id="q-exp_reliability"')
    assert "Please answer this question." in again.text
    assert again.checked("exp_overall") == ["7"] and again.checked("exp_reliability") == ["8"]
    assert 'aria-invalid="true"' in again.text
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Answer).where(Answer.question_id.like("exp_%"))) == 0


@pytest.mark.parametrize("value, message", [
    ("abc", "Please enter a number."), ("2.5", "Please enter a whole number."),
    ("101", "Please enter a number between 0 and 100."), ("-1", "Please enter a number between 0 and 100."),
    ("1e400", "Please enter a number between 0 and 100."),
])
def test_number_errors(client, acsi, value, message):
    person = Respondent(client, acsi)
    page = person.answer(person.start(), overrides={"visits_per_month": value})
    assert page.status == 422 and message in page.text
    assert f'value="{value}"' in page.text  # what the respondent typed stays in the box


@pytest.mark.parametrize("overrides", [
    {"exp_overall": "11"},                  # outside the 1-10 scale
    {"exp_overall": "<script>"},
    {"exp_overall": ["3", "4"]},            # a radio group sent twice
    {"is_admin": "1"},                      # a field not on the page
    {"exp_overall": "99", "sat_overall": "3"},
])
def test_tampered_posts_get_a_400_page_and_store_nothing(client, acsi, engine, overrides):
    person = Respondent(client, acsi)
    page = person.answer(person.start())
    before = count_answers(engine)
    data = person.page_data(page)
    data.update(overrides)
    result = person.post(page.url, data, follow=False)
    assert result.status == 400
    assert "We could not accept this form" in result.text and "Traceback" not in result.text
    assert count_answers(engine) == before


def test_missing_or_forged_csrf_token_is_rejected(client, acsi, engine):
    person = Respondent(client, acsi)
    page = person.start()
    for token in (None, "forged", page.csrf + "x"):
        data = person.page_data(page)
        if token is None:
            del data["csrf_token"]
        else:
            data["csrf_token"] = token
        result = person.post(page.url, data, follow=False)
        assert result.status == 400 and "Your session has expired" in result.text
    assert count_answers(engine) == 0


def test_csrf_token_from_another_session_is_rejected(app, client, acsi, engine):
    stranger = Respondent(https_client(app), acsi)
    stranger_page = stranger.start()
    person = Respondent(client, acsi)
    page = person.start()
    data = person.page_data(page)
    data["csrf_token"] = stranger_page.csrf
    assert person.post(page.url, data, follow=False).status == 400


def test_leave_and_resume_where_one_left_off(app, client, acsi, engine):
    person = Respondent(client, acsi)
    page = person.answer(person.start())          # page 1 saved
    page = person.answer(page, overrides={"exp_overall": "4"})   # page 2 saved, now on page 3
    assert page.question_ids[0] == "qual_overall"
    # "Close the browser": a new client that keeps only the cookie jar.
    cookie = client.get_cookie("csi_session")
    other = https_client(app)
    other.set_cookie(cookie.key, cookie.value, domain=cookie.domain or "localhost")
    again = Respondent(other, acsi).get("/s/acsi-retail/2026Q4")
    assert again.question_ids == page.question_ids and "your earlier answers are saved" in again.text
    back = Respondent(other, acsi).post(again.url, {**Respondent(other, acsi).page_data(again, nav="back")})
    assert back.question_ids[0] == "exp_overall" and back.checked("exp_overall") == ["4"]
    assert len(stored(engine)) == 1


def test_head_of_a_page_is_a_get_without_body_and_changes_nothing(client, acsi, engine):
    """A link checker's HEAD is answered as GET is (200, no body), never read as a page post
    (which refused it with 422 for its missing token)."""
    person = Respondent(client, acsi)
    person.start()
    before = (len(stored(engine)), count_answers(engine))
    head = client.head("/s/acsi-retail/2026Q4/p/1")
    assert head.status_code == 200 and head.data == b""
    assert (len(stored(engine)), count_answers(engine)) == before


def test_cannot_skip_ahead(client, acsi):
    person = Respondent(client, acsi)
    person.start()
    page = person.get("/s/acsi-retail/2026Q4/p/5")
    assert page.url.endswith("/p/1")


def test_invitation_is_single_use_and_resumes(app, client, acsi, engine, invitations):
    token = invitations[0]
    person = Respondent(client, acsi)
    intro = person.get(f"/i/{token}")
    assert intro.url == "/s/acsi-retail/2026Q4" and acsi.privacy_notice.get("en") in intro.text
    page = person.answer(person.post("/s/acsi-retail/2026Q4/start", {"csrf_token": intro.csrf}))
    # The same link in another browser resumes the same response, never a second one.
    other = Respondent(https_client(app), acsi)
    resumed = other.get(f"/i/{token}")
    assert resumed.question_ids == page.question_ids
    other.finish(resumed)
    responses = stored(engine)
    assert len(responses) == 1 and responses[0].status == "complete"
    with Session(engine) as session:
        invitation = session.scalars(select(Invitation).where(Invitation.id == responses[0].invitation_id)).one()
        assert invitation.used_at is not None and invitation.attributes == {"region": "north", "tier": "gold"}
    # After completion the link shows the thank-you page.
    third = Respondent(https_client(app), acsi).get(f"/i/{token}")
    assert third.url.endswith("/done") and "Thank you" in third.text


@pytest.mark.parametrize("token", ["x" * 43, "short", "a" * 300])
def test_unknown_invitation_tokens_get_a_friendly_404(client, acsi, engine, token):
    page = Respondent(client, acsi).get(f"/i/{token}")
    assert page.status == 404 and "This link is not valid" in page.text
    assert stored(engine) == []


def test_double_submit_of_the_final_page_stores_one_response(client, acsi, engine):
    person = Respondent(client, acsi)
    page = person.advance_to(person.start(), "cdv_product_value")
    data = person.page_data(page)
    first = client.post(page.url, data=data)
    second = client.post(page.url, data=data)   # double click / retry with the same submission id
    # The completing post is answered with the thank-you page itself (at its own address); the
    # repeat finds the response complete and is sent there.
    assert first.status_code == 200 and Page.parse(first, page.url).url == "/s/acsi-retail/2026Q4/done"
    assert "Thank you" in first.get_data(as_text=True)
    assert second.status_code == 302 and second.headers["Location"].endswith("/done")
    (response,) = stored(engine)
    assert response.status == "complete"
    with Session(engine) as session:
        per_question = session.execute(select(Answer.question_id, func.count()).group_by(Answer.question_id)).all()
        assert all(n == 1 for _, n in per_question)
        assert session.scalar(select(func.count()).select_from(PageSubmission)) == 7


def test_repeated_middle_page_post_is_recognised(client, acsi, engine):
    person = Respondent(client, acsi)
    page = person.start()
    data = person.page_data(page)
    first = Page.parse(client.post(page.url, data=data), page.url)
    before = count_answers(engine)
    repeat = Page.parse(client.post(page.url, data=data), page.url)
    # Both posts are answered with page 2 itself, at its own address, and stored once.
    assert first.status == repeat.status == 200
    assert first.url == repeat.url == "/s/acsi-retail/2026Q4/p/2"
    assert repeat.question_ids == first.question_ids == ["exp_overall", "exp_customization", "exp_reliability"]
    assert 'href="/s/acsi-retail/2026Q4/p/2?lang=zh-CN"' in repeat.text  # switching language stays on page 2
    assert 'data-address="/s/acsi-retail/2026Q4/p/2"' in repeat.text
    assert count_answers(engine) == before


@pytest.mark.parametrize("path, status, text", [
    ("/s/acsi-retail/2026Q3", 403, "This survey is closed"),
    ("/s/acsi-retail/2031Q1", 404, "We could not find this survey"),
    ("/s/nope/2026Q4", 404, "We could not find this survey"),
    ("/nothing/here", 404, "Page not found"),
])
def test_closed_and_unknown_waves_get_friendly_pages(client, acsi, path, status, text):
    page = Respondent(client, acsi).get(path)
    assert page.status == status and text in page.text and "Traceback" not in page.text


@pytest.mark.parametrize("how", ["link", "header"])
def test_chinese_chosen_from_link_or_browser(client, ccsi, acsi, engine, how):
    person = Respondent(client, acsi)
    if how == "link":
        intro = person.get("/s/acsi-retail/2026Q4?lang=zh-CN")
    else:
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN,zh;q=0.9,en;q=0.5"  # sent on every request
        intro = person.get("/s/acsi-retail/2026Q4")
    assert "您在本店的购物体验" in intro.text and "开始答卷" in intro.text and 'lang="zh-CN"' in intro.text
    page = person.post("/s/acsi-retail/2026Q4/start", {"csrf_token": intro.csrf})
    assert "第 1 页，共" in page.text and "下一页" in page.text
    person.answer(page)
    assert stored(engine)[0].language == "zh-CN"


def test_language_switch_link_and_chinese_default(client, ccsi):
    intro = Respondent(client, ccsi).get("/s/ccsi-mobile/2026Q4")
    assert "手机用户满意度调查" in intro.text and 'href="?lang=en"' in intro.text
    english = Respondent(client, ccsi).get("/s/ccsi-mobile/2026Q4?lang=en")
    assert "Mobile phone customer satisfaction survey" in english.text


def test_hostile_text_is_stored_as_given_and_shown_escaped(client, acsi, engine):
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    person = Respondent(client, acsi, {"comments": hostile})
    page = person.advance_to(person.start(), "comments")
    after = person.answer(page, nav="back")  # saved, then shown again on the way forward
    shown = person.answer(after)
    assert "comments" in shown.question_ids
    assert "<script>alert" not in shown.text and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in shown.text
    with Session(engine) as session:
        assert session.scalar(select(Answer.value_text).where(Answer.question_id == "comments")) == hostile


def test_show_if_page_appears_only_when_condition_holds(client, ccsi, engine):
    unhappy = Respondent(client, ccsi, {"complained": "yes", "sat_overall": "3"})
    page = unhappy.start(survey="ccsi-mobile")
    seen = []
    while "/done" not in page.url:
        seen += page.question_ids
        page = unhappy.answer(page)
    assert "complaint_handling" in seen
    (response,) = stored(engine)
    assert response.follow_up is True and response.follow_up_status == "open"


def test_follow_up_contact_needs_consent(client, acsi, engine):
    person = Respondent(client, acsi, {"sat_overall": "2"})
    done = person.finish(person.start())
    assert "May we contact you?" in done.text
    refused = person.post(done.url, {"csrf_token": done.csrf, "phone": "+86 138 0000 0000"}, follow=False)
    assert refused.status == 422 and "Please tick the box" in refused.text
    accepted = person.post(done.url, {"csrf_token": done.csrf, "phone": "+86 138 0000 0000", "consent": "yes"})
    assert "We will be in touch" in accepted.text
    assert stored(engine)[0].contact == {"name": "", "phone": "+86 138 0000 0000", "email": "", "consent": True}


@pytest.fixture
def unhappy_done(client, acsi):
    """A dissatisfied respondent on the thank-you page, which asks for a contact."""
    person = Respondent(client, acsi, {"sat_overall": "2"})
    done = person.finish(person.start())
    assert "May we contact you?" in done.text
    return person, done


@pytest.mark.parametrize("phone, email, stored_phone", [
    ("+86 138 0000 0000", "", "+86 138 0000 0000"),
    ("(010) 6552-9988", "", "(010) 6552-9988"),
    ("123456", "", "123456"),
    ("＋８６ １３８ ０００００ ０００", "", "+86 138 00000 000"),  # full-width, as a Chinese keyboard may type it
    ("", "li.wei+survey@mail.example.cn", ""),
    ("", "x@localhost", ""),
])
def test_plausible_phone_numbers_and_email_addresses_are_accepted(unhappy_done, engine, phone, email, stored_phone):
    person, done = unhappy_done
    accepted = person.post(done.url, {"csrf_token": done.csrf, "phone": phone, "email": email, "consent": "yes"})
    assert accepted.status == 200 and "We will be in touch" in accepted.text
    assert stored(engine)[0].contact == {"name": "", "phone": stored_phone, "email": email, "consent": True}


MESSAGES = {"en": {"phone": "Please enter a phone number with at least 6 digits",
                   "email": "Please enter an email address such as"},
            "zh-CN": {"phone": "请输入至少 6 位数字的电话号码", "email": "请输入有效的电子邮箱地址"}}


@pytest.mark.parametrize("field, value, language", [
    ("phone", "12345", "en"), ("phone", "call me after 6", "zh-CN"), ("phone", "138 0000 0000 ext. 5", "en"),
    ("phone", "1+2345678", "zh-CN"), ("phone", "1" * 21, "en"), ("phone", "٣٣٣٣٣٣٣", "zh-CN"),
    ("email", "no-at-sign", "en"), ("email", "a @example.com", "zh-CN"), ("email", "a@example..com", "en"),
    ("email", "a@-example.com", "zh-CN"), ("email", "a@example.com\nBcc: x@example.org", "en"),
    ("email", "名字@example.com", "zh-CN"),
])
def test_implausible_contact_fields_get_a_message_next_to_the_field(unhappy_done, engine, field, value, language):
    person, done = unhappy_done
    data = {"csrf_token": done.csrf, "phone": "+86 138 0000 0000", "email": "", "consent": "yes", field: value}
    refused = person.post(f"{done.url}?lang={language}", data, follow=False)
    assert refused.status == 422
    message = MESSAGES[language][field]
    other = "email" if field == "phone" else "phone"
    text = refused.text
    # The message follows its own field and comes before the next one; the field says so.
    assert text.index(f'id="{field}"') < text.index(message) < text.index(f'id="consent"')
    assert (text.index(f'id="{field}-error"') < text.index(f'for="{other}"')) is (field == "phone")
    assert f'aria-describedby="{field}-error"' in text and f'id="{other}-error"' not in text
    assert 'checked' in text.split('id="consent"')[1].split(">")[0], "the ticked box stays ticked"
    assert stored(engine)[0].contact is None


def test_satisfied_customer_is_not_flagged(client, acsi, engine):
    done = Respondent(client, acsi).finish(Respondent(client, acsi).start())
    assert "May we contact you?" not in done.text
    assert stored(engine)[0].follow_up is False


def test_no_ip_or_user_agent_is_stored(client, acsi, engine):
    Respondent(client, acsi).finish(Respondent(client, acsi).start())
    with Session(engine) as session:
        row = session.execute(select(Response)).scalar_one()
        values = [str(getattr(row, c.key)) for c in Response.__table__.columns]
    assert not any("127.0.0.1" in v or "werkzeug" in v.lower() for v in values)


def test_security_headers_and_cookie_flags(client, acsi):
    response = client.get("/s/acsi-retail/2026Q4")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "<script" not in response.get_data(as_text=True)
    for error_path in ("/s/acsi-retail/2031Q1", "/i/" + "y" * 40):
        assert client.get(error_path).headers["X-Frame-Options"] == "DENY"


def test_oversized_post_gets_413(client, acsi):
    person = Respondent(client, acsi)
    page = person.start()
    data = person.page_data(page)
    data["padding"] = "x" * 100_000
    result = person.post(page.url, data, follow=False)
    assert result.status == 413 and "Too much text" in result.text


def test_server_error_page_has_no_stack_trace(app, client, acsi, monkeypatch):
    service = state_of(app).service

    def broken(*args, **kwargs):
        raise RuntimeError("database exploded")
    monkeypatch.setattr(service, "find_wave", broken)
    response = client.get("/s/acsi-retail/2026Q4")
    text = response.get_data(as_text=True)
    assert response.status_code == 500 and "Something went wrong" in text
    assert "Traceback" not in text and "exploded" not in text


def test_static_assets_are_served_locally(client):
    response = client.get("/static/style.css")
    assert response.status_code == 200 and "--primary" in response.get_data(as_text=True)


def test_forwarded_headers_are_trusted_only_when_configured(database_url):
    from survey_app import create_app

    forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Host": "survey.example.com"}
    for hops, expected in ((0, "localhost 127.0.0.1"), (1, "survey.example.com 203.0.113.9")):
        app = create_app({"DATABASE_URL": database_url, "AUTO_MIGRATE": True, "PROXY_HOPS": hops})

        @app.get("/_probe")
        def probe():
            from flask import request
            return f"{request.host} {request.remote_addr}"
        assert app.test_client().get("/_probe", headers=forwarded).get_data(as_text=True) == expected
        state_of(app).engine.dispose()


def test_cached_option_markup_follows_the_language_and_the_answer(client, acsi):
    """Options come from a cache (survey_app/options.py): switching language or answering
    must still show that language's labels and exactly the chosen option checked."""
    person = Respondent(client, acsi)
    page = person.advance_to(person.start(), "sat_level")
    english = person.get(page.url + "?lang=en").text
    assert 'value="5"' in english and "Very satisfied" in english
    chinese = person.get(page.url + "?lang=zh-CN").text
    assert "非常满意" in chinese and "Very satisfied" not in chinese
    answered = person.answer(page, overrides={"sat_level": "4"})
    back = person.get(page.url)
    assert back.checked("sat_level") == ["4"]
    assert answered.status == 200


def stored_answers(engine) -> dict:
    with Session(engine) as session:
        return {a.question_id: (a.value_num, a.value_text) for a in session.scalars(select(Answer))}


def test_changed_earlier_answer_replaces_it_and_drops_answers_it_now_hides(client, ccsi, engine):
    """Back to an earlier page, a different answer: that page's answers are replaced, and the
    answers on a page the new answer hides are not part of the completed response (on
    PostgreSQL this is the pipeline's DELETE ... = ANY path)."""
    # The optional questions go unanswered: fewer answers than visible questions must not
    # hide the answer that has to go.
    skipped = {q.id: None for q in ccsi.questions if not q.required}
    person = Respondent(client, ccsi, {"complained": "yes", "complaint_handling": "3", **skipped})
    complaint = person.advance_to(person.start(survey="ccsi-mobile"), "complaint_handling")
    loyalty = person.answer(complaint)
    assert stored_answers(engine)["complaint_handling"] == (3.0, None)
    page = person.answer(loyalty, nav="back")
    while "complained" not in page.question_ids:  # Back, page by page, to the complaint question
        page = person.answer(page, nav="back")
    assert page.checked("complained") == ["yes"]
    after = person.answer(page, overrides={"complained": "no"})
    assert stored_answers(engine)["complained"] == (None, "no")
    assert "complaint_handling" not in after.question_ids  # the complaint page is now skipped
    assert "complaint_handling" in stored_answers(engine)  # ... and dropped only on completion
    done = person.finish(after)
    assert "/done" in done.url
    answers = stored_answers(engine)
    assert "complaint_handling" not in answers and answers["complained"] == (None, "no")
    assert not set(skipped) & set(answers)
    (response,) = stored(engine)
    assert response.status == "complete" and response.follow_up is False


@pytest.fixture
def chain(app, engine):
    from models.questionnaire import parse_questionnaire
    from models.storage import create_wave, register_questionnaire
    questionnaire = parse_questionnaire(chain_questionnaire.QUESTIONNAIRE, "chain.yaml")
    with Session(engine) as session:
        create_wave(session, register_questionnaire(session, questionnaire), "W1")
        session.commit()
    return questionnaire


def test_a_stale_answer_keeps_no_chain_of_conditions_alive(client, chain, engine):
    """visited -> complained -> handling: answered down the chain (a badly handled complaint),
    then back to the first page and "visited" changed to no. "complained" is now hidden, so
    its stored "yes" shows neither the complaint page nor requires "handling"; completion
    drops both, the follow-up rule ("handling <= 2") is not set off by the stale 1, and the
    wave's frame holds neither."""
    person = Respondent(client, chain, {"visited": "yes", "complained": "yes", "handling": "1", "overall": "4"})
    page = person.start(survey="chain", wave="W1")
    for expected in (["visited"], ["complained"], ["handling"]):
        assert page.question_ids == expected
        page = person.answer(page)
    assert page.question_ids == ["overall"]
    for _ in range(3):
        page = person.answer(page, nav="back")
    assert page.question_ids == ["visited"]
    after = person.answer(page, overrides={"visited": "no"})
    assert after.question_ids == ["overall"]  # not "handling", shown by the stale "complained"
    assert set(stored_answers(engine)) == {"visited", "complained", "handling", "overall"}  # kept while partial
    back = person.answer(after, nav="back")
    assert back.question_ids == ["visited"]  # Back skips the stale pages too
    done = person.finish(person.answer(back, overrides={"visited": "no"}))
    assert "/done" in done.url
    assert stored_answers(engine) == {"visited": (None, "no"), "overall": (4.0, None)}
    (response,) = stored(engine)
    assert response.status == "complete" and response.follow_up is False
    assert set(load_wave_frame(engine, "chain", "W1").columns) == {"visited", "overall"}
