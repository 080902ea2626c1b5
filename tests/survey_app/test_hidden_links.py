"""Hidden fields and piping on the respondent's pages, on SQLite and PostgreSQL: values from
public links and invitations, refused values and signatures, storage, show_if, follow-up
rules, piped texts (escaped, per respondent), exports, segments and ``csi links sign``."""
import html
import re
from urllib.parse import urlencode

import pyreadstat
import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.hidden import signature
from models.questionnaire import parse_questionnaire
from models.storage import create_invitations, create_wave, find_wave, register_questionnaire
from models.storage.tables import Response
from survey_app.state import state_of
from tests.hidden_questionnaire import HIDDEN_YAML

from .conftest import Respondent, https_client

BASE = "/s/hidden-demo/W1"


@pytest.fixture
def hq():
    return parse_questionnaire(HIDDEN_YAML, "hidden.yaml")


@pytest.fixture
def hidden_app(app, hq):
    with Session(state_of(app).engine) as session:
        create_wave(session, register_questionnaire(session, hq), "W1")
        session.commit()
    return app


def responses(app):
    with Session(state_of(app).engine) as session:
        return session.scalars(select(Response).order_by(Response.id)).all()


def start(app, hq, query, client=None, **kwargs):
    person = Respondent(client or https_client(app), hq, answers={"overall": "2", "fruit": "b"})
    intro = person.get(f"{BASE}?{urlencode(query)}", **kwargs)
    return person, intro


def begin(person, intro):
    assert intro.status == 200, intro.text
    action = html.unescape(re.search(r'<form method="post" action="([^"]+)"', intro.text).group(1))
    return person.post(action, {"csrf_token": intro.csrf})


def test_public_link_values_are_stored_and_undeclared_ones_ignored(hidden_app, hq):
    person, intro = start(hidden_app, hq, {"store": "S12", "channel": "app", "utm_source": "mail", "lang": "en"})
    assert responses(hidden_app) == []  # the introduction stores nothing
    first = begin(person, intro)
    assert "How was your visit to store S12?" in first.text
    (response,) = responses(hidden_app)
    assert response.hidden == {"store": "S12", "channel": "app"}
    second = person.answer(first)
    # show_if on hidden.channel; the option label pipes an earlier answer in the respondent's language
    assert second.question_ids == ["why", "app_only"]
    assert "You gave 2 and like Bananas. Why?" in second.text and "Yes, Bananas and all" in second.text
    done = person.answer(second)
    assert "/done" in done.url
    (response,) = responses(hidden_app)
    assert response.status == "complete" and response.follow_up  # the rule reads hidden.channel
    assert response.hidden == {"store": "S12", "channel": "app"}


def test_web_channel_hides_the_app_question_and_raises_no_follow_up(hidden_app, hq):
    person, intro = start(hidden_app, hq, {"channel": "web"})
    first = begin(person, intro)
    assert "How was your visit to store our store?" in first.text  # the fallback
    second = person.answer(first)
    assert second.question_ids == ["why"]
    person.answer(second)
    (response,) = responses(hidden_app)
    assert response.status == "complete" and not response.follow_up


@pytest.mark.parametrize("query", [
    {"store": "S99999"}, {"channel": "tv"}, {"store": "S1\x00"}, {"note": "x" * 10_000}, {"store": "<script>"},
    {"note": "line\nbreak"},
], ids=["pattern", "values", "nul", "10kb", "script", "control"])
@pytest.mark.parametrize("language, title", [("en", "This survey link is not valid"), ("zh-CN", "此调查链接无效")])
def test_a_refused_value_gets_a_calm_page_in_the_respondents_language(hidden_app, hq, query, language, title):
    client = https_client(hidden_app)
    response = client.get(f"{BASE}?{urlencode(query)}", headers={"Accept-Language": language})
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and "Traceback" not in body
    if any("\x00" in v for v in query.values()):  # the app-wide NUL guard answers first, in the same calm way
        assert {"en": "We could not accept this request", "zh-CN": "无法接受此请求"}[language] in body
    else:
        assert title in body
    # Posting to the start button with the same values is refused as well; nothing stored.
    intro = client.get(BASE)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', intro.get_data(as_text=True)).group(1)
    posted = client.post(f"{BASE}/start?{urlencode(query)}", data={"csrf_token": csrf})
    assert posted.status_code == 400
    assert responses(hidden_app) == []


def test_signed_values(hidden_app, hq):
    secret = hidden_app.secret_key
    sig = signature(secret, "hidden-demo", "W1", hq.hidden, {"agent": "alice"})
    person, intro = start(hidden_app, hq, {"agent": "alice", "store": "S3", "sig": sig})
    begin(person, intro)
    (response,) = responses(hidden_app)
    assert response.hidden == {"agent": "alice", "store": "S3"}
    for query in ({"agent": "mallory", "sig": sig}, {"agent": "alice"}, {"agent": "alice", "sig": "0" * 64},
                  {"agent": "alice", "sig": sig + "00"}):
        for language, words in (("en", "has been changed or is missing"), ("zh-CN", "已被更改或缺失")):
            page = https_client(hidden_app).get(f"{BASE}?{urlencode(query)}", headers={"Accept-Language": language})
            assert page.status_code == 400 and words in page.get_data(as_text=True)
    # The signature of W1 does not open another wave.
    with Session(state_of(hidden_app).engine) as session:
        create_wave(session, find_wave(session, "hidden-demo", "W1").questionnaire_version, "W2")
        session.commit()
    other = https_client(hidden_app).get(f"/s/hidden-demo/W2?{urlencode({'agent': 'alice', 'sig': sig})}")
    assert other.status_code == 400


def test_hostile_value_is_shown_as_text(hidden_app, hq):
    hostile = "<script>alert('x')</script> & 门店 🙂"
    person, intro = start(hidden_app, hq, {"note": hostile})
    first = begin(person, intro)
    assert "<script>alert" not in first.text
    assert html.escape(f"Note: {hostile}", quote=False) in first.text.replace("&#39;", "'")
    (response,) = responses(hidden_app)
    assert response.hidden == {"note": hostile}


def test_two_respondents_see_their_own_piped_text(hidden_app, hq):
    one, intro_one = start(hidden_app, hq, {"store": "S1"})
    two, intro_two = start(hidden_app, hq, {"store": "S2", "lang": "zh-CN"})
    two.answers = {"overall": "9", "fruit": "a"}
    first_one, first_two = begin(one, intro_one), begin(two, intro_two)
    assert "store S1?" in first_one.text and "门店S2的访问" in first_two.text
    second_one, second_two = one.answer(first_one), two.answer(first_two)
    assert "You gave 2 and like Bananas. Why?" in second_one.text
    assert "您打了9分，喜欢苹果。为什么？" in second_two.text
    # And again, after the markup cache has seen both: each still sees their own.
    again = one.get(second_one.url)
    assert "You gave 2 and like Bananas" in again.text and "苹果" not in again.text
    # A piped question with an error shows the respondent's own text too.
    error = one.answer(one.get(f"{BASE}/p/1"), overrides={"overall": None})
    assert error.status == 422 and "store S1?" in error.text


def test_invitation_attributes_become_hidden_values(hidden_app, hq):
    engine = state_of(hidden_app).engine
    with Session(engine) as session:
        tokens = create_invitations(session, find_wave(session, "hidden-demo", "W1"), [
            {"store": "S7", "channel": "app", "email": "a@example.com"},
            {"store": "not-a-store", "channel": "web"}])  # a refused value is left out, not a lock-out
        session.commit()
    for token in tokens:
        person = Respondent(https_client(hidden_app), hq)
        intro = person.get(f"/i/{token}")
        assert intro.status == 200
        person.post(f"{BASE}/start", {"csrf_token": intro.csrf})
    first, second = responses(hidden_app)
    assert first.hidden == {"store": "S7", "channel": "app"} and second.hidden == {"channel": "web"}


def plain(column):
    return [None if v is None or v != v else v for v in column.tolist()]


def test_export_columns_and_segments(hidden_app, hq):
    from models.exports import export_frame, labels
    from models.storage.repository import load_response_attributes

    for query in ({"store": "S1", "channel": "app"}, {"store": "S2"}, {}):
        person, intro = start(hidden_app, hq, query)
        person.finish(begin(person, intro))
    engine = state_of(hidden_app).engine
    frame = export_frame(engine, hq, "W1")
    assert [c for c in frame.columns if c.startswith("hidden.")] == [
        "hidden.store", "hidden.channel", "hidden.agent", "hidden.note"]
    assert plain(frame["hidden.store"]) == ["S1", "S2", None]
    assert plain(frame["hidden.channel"]) == ["app", None, None]
    variable, _ = labels(hq, frame.columns, "zh-CN")
    assert variable["hidden.store"] == "隐藏字段（来自链接）: store"
    attributes = load_response_attributes(engine, "hidden-demo", "W1")
    assert plain(attributes["hidden.store"]) == ["S1", "S2", None]
    from analysis.report import segment_variables
    assert segment_variables(hq, attributes.columns) == ["hidden.store"]


def test_export_file_carries_hidden_columns(hidden_app, hq, tmp_path):
    from models.exports import export_wave

    person, intro = start(hidden_app, hq, {"store": "S5", "note": "=HYPERLINK(1)"})
    person.finish(begin(person, intro))
    data, _ = export_wave(state_of(hidden_app).engine, hq, "W1", "csv")
    text = data.decode("utf-8-sig")
    header, row = text.splitlines()[:2]
    assert "hidden.store" in header and "S5" in row
    assert "'=HYPERLINK(1)" in row  # neutralized like every other cell
    sav, _ = export_wave(state_of(hidden_app).engine, hq, "W1", "sav")
    path = tmp_path / "w1.sav"
    path.write_bytes(sav)
    frame, meta = pyreadstat.read_sav(str(path))
    assert frame["hidden.store"].tolist() == ["S5"]  # a valid SPSS name as it is
    assert meta.column_names_to_labels["hidden.store"] == "Hidden field (from the link): store"


def test_cli_links_sign(hidden_app, hq):
    from survey_app.cli import main

    url = state_of(hidden_app).url
    runner = CliRunner()
    result = runner.invoke(main, ["links", "sign", "--survey", "hidden-demo", "--wave", "W1", "--database", url,
                                  "--base-url", "https://survey.example/", "store=S12", "agent=bob", "channel=app"])
    assert result.exit_code == 0, result.output
    link = result.output.strip()
    assert link.startswith("https://survey.example/s/hidden-demo/W1?store=S12&channel=app&agent=bob&sig=")
    # The CLI app signs with the instance key, as the server does: the link opens.
    path = link.removeprefix("https://survey.example")
    assert https_client(hidden_app).get(path).status_code == 200
    # Unsigned fields only: no sig parameter.
    plain = runner.invoke(main, ["links", "sign", "--survey", "hidden-demo", "--wave", "W1", "--database", url,
                                 "store=S1"])
    assert plain.exit_code == 0 and plain.output.strip() == "/s/hidden-demo/W1?store=S1"
    for args, message in ((["shop=S1"], "'shop' is not a hidden field of 'hidden-demo'"),
                          (["store=X1"], "store='X1' is not accepted: the questionnaire allows matching S[0-9]{1,4}"),
                          (["channel=tv"], "allows one of app, web"),
                          (["store"], "'store' is not FIELD=VALUE")):
        bad = runner.invoke(main, ["links", "sign", "--survey", "hidden-demo", "--wave", "W1", "--database", url, *args])
        assert bad.exit_code == 1 and message in bad.output, bad.output


def test_switching_language_on_the_introduction_keeps_the_link_values(hidden_app, hq):
    sig = signature(hidden_app.secret_key, "hidden-demo", "W1", hq.hidden, {"agent": "alice"})
    person, intro = start(hidden_app, hq, {"store": "S4", "agent": "alice", "sig": sig, "utm": "x"})
    switch = html.unescape(re.search(r'<a href="([^"]*)" hreflang="zh-CN"', intro.text).group(1))
    assert switch == f"?store=S4&agent=alice&sig={sig}&lang=zh-CN"  # declared values and signature only
    chinese = person.get(f"{BASE}{switch}")
    assert "开始答卷" in chinese.text
    begin(person, chinese)
    (response,) = responses(hidden_app)
    assert response.hidden == {"store": "S4", "agent": "alice"} and response.language == "zh-CN"


def test_csi_validate_names_file_and_line_of_bad_piping(tmp_path):
    from survey_app.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text(HIDDEN_YAML.replace("You gave {overall}", "You gave {why}").replace(
        "Was the {hidden.channel} easy", "Was the {hidden.chanel} easy"), encoding="utf-8")
    lines = bad.read_text(encoding="utf-8").splitlines()
    why = next(i for i, s in enumerate(lines, 1) if "You gave {why}" in s)
    chanel = next(i for i, s in enumerate(lines, 1) if "{hidden.chanel}" in s)
    result = CliRunner().invoke(main, ["validate", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:{why}: pages[1].questions[0].text: pipes {{why}}, which is asked on the same or a later page; " \
           "only earlier answers can be piped" in result.output
    assert f"{bad}:{chanel}: pages[1].questions[1].text: pipes undeclared hidden field {{hidden.chanel}}" in result.output


def test_broken_utf8_and_repeated_parameters(hidden_app, hq):
    person = Respondent(https_client(hidden_app), hq)
    intro = person.get(f"{BASE}?note=%ED%A0%80%FF&store=S1&store=S2&store%5B%5D=x")
    first = begin(person, intro)
    assert first.status == 200
    (response,) = responses(hidden_app)
    # Undecodable bytes stay as the percent-escaped text Werkzeug leaves them as (stored on both
    # backends); the first of a repeated parameter counts; store[] is not store.
    assert response.hidden == {"note": "%ED%A0%80%FF", "store": "S1"}


def test_completion_webhook_carries_the_hidden_values(hidden_app, hq):
    from models.storage.tables import WebhookDelivery
    from models.storage.webhooks import add_webhook

    engine = state_of(hidden_app).engine
    with Session(engine) as session:
        add_webhook(session, "hidden-demo", "http://127.0.0.1:9/hook", ["response.completed"], secret="s" * 32)
        session.commit()
    person, intro = start(hidden_app, hq, {"store": "S8", "channel": "web"})
    person.finish(begin(person, intro))
    with Session(engine) as session:
        (delivery,) = session.scalars(select(WebhookDelivery)).all()
    assert delivery.payload["hidden"] == {"store": "S8", "channel": "web"}
    assert "hidden.store" not in delivery.payload["answers"]  # values from the link are no answers
