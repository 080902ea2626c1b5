"""The console's preview of a stored questionnaire version (survey_app/admin_preview.py): every
page in both languages with the respondent's markup, a conditional path walked by answering or
by setting answers, nothing stored; hostile preview answers refused calmly; a new version's
changes shown before it is stored. Runs on SQLite and PostgreSQL."""
from __future__ import annotations

import html
import io
import json
import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.questionnaire import parse_questionnaire
from models.storage import register_questionnaire
from models.storage.tables import Answer, PageSubmission, Response, QuestionnaireVersion
from tests.hidden_questionnaire import HIDDEN_YAML
from tests.matrix_questionnaire import QUESTIONNAIRE as MATRIX_YAML

from .conftest import https_client
from .test_admin import accounts, admin_client, csrf_of  # noqa: F401  (fixtures)


@pytest.fixture
def versions(engine):
    """Survey ids of the hidden-field demo and the matrix questionnaire."""
    with Session(engine) as session:
        ids = {name: register_questionnaire(session, parse_questionnaire(text, f"{name}.yaml")).id
               for name, text in (("hidden", HIDDEN_YAML), ("matrix", MATRIX_YAML))}
        session.commit()
    return ids


def stored_rows(engine) -> tuple[int, ...]:
    with Session(engine) as session:
        return tuple(session.scalar(select(func.count()).select_from(table)) for table in (Response, Answer, PageSubmission))


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_preview_needs_a_console_login_and_unknown_versions_are_404(app, admin_client, versions):
    anonymous = https_client(app)
    for url in (f"/admin/surveys/{versions['hidden']}/preview", f"/admin/surveys/{versions['hidden']}/preview/1",
                f"/admin/surveys/{versions['hidden']}/changes"):
        response = anonymous.get(url)
        assert response.status_code == 302 and "/admin/login" in response.headers["Location"]
    for url in ("/admin/surveys/99999/preview", "/admin/surveys/99999/preview/1", "/admin/surveys/99999/changes",
                f"/admin/surveys/{versions['hidden']}/preview/3", f"/admin/surveys/{versions['hidden']}/preview/0"):
        assert admin_client.get(url).status_code == 404, url


LANGUAGES = [  # (language, title, a piped question with its placeholder, an option label)
    ("en", "Store visit", "How was your visit to store [hidden.store]?", "Apples"),
    ("zh-CN", "门店访问", "您对门店[hidden.store]的访问满意吗？", "苹果"),
]


def test_every_page_renders_in_both_languages_with_placeholders(admin_client, versions, engine):
    survey = versions["hidden"]
    before = stored_rows(engine)
    for language, title, question, label in LANGUAGES:
        overview = text_of(admin_client.get(f"/admin/surveys/{survey}/preview?lang={language}"))
        assert "Preview of hidden-demo v1" in overview
        assert re.findall(r'/admin/surveys/\d+/preview/(\d+)\?', overview)[:2] == ["1", "2"]
        page = admin_client.get(f"/admin/surveys/{survey}/preview/1?lang={language}")
        body = text_of(page)
        assert page.status_code == 200 and f'<html lang="{language}">' in body and title in body
        assert question in body and label in body
        second = text_of(admin_client.get(f"/admin/surveys/{survey}/preview/2?lang={language}"))
        assert "[overall]" in second and "[fruit]" in second  # piped answers not given yet
    admin_client.set_cookie("csi_console_lang", "zh-CN", domain="localhost", path="/admin")
    chinese = text_of(admin_client.get(f"/admin/surveys/{survey}/preview"))
    assert "预览 hidden-demo v1" in chinese and '<strong aria-current="true" lang="zh-CN">中文</strong>' in chinese
    assert "不会保存任何内容" in text_of(admin_client.get(f"/admin/surveys/{survey}/preview/1"))
    assert stored_rows(engine) == before


def test_a_matrix_page_is_the_respondents_grid(admin_client, versions):
    body = text_of(admin_client.get(f"/admin/surveys/{versions['matrix']}/preview/1?lang=zh-CN"))
    assert 'class="question matrix' in body and body.count('class="grid-row') == 7
    assert "员工的友好程度" in body and "不知道/不适用" in body


def test_walking_a_conditional_path_by_answering_stores_nothing(admin_client, versions, engine):
    survey = versions["hidden"]
    before = stored_rows(engine)
    first = admin_client.get(f"/admin/surveys/{survey}/preview/1?lang=en&h.channel=app&h.store=S12")
    body = text_of(first)
    assert "How was your visit to store S12?" in body
    posted = admin_client.post(f"/admin/surveys/{survey}/preview/1?lang=en&h.channel=app&h.store=S12",
                               data={"csrf_token": csrf_of(first.get_data(as_text=True)), "submission_id": "preview-page",
                                     "overall": "2", "fruit": "a", "nav": "next"})
    assert posted.status_code == 302
    target = posted.headers["Location"]
    assert "/preview/2?" in target and "a.overall=2" in target and "a.fruit=a" in target and "h.channel=app" in target
    second = text_of(admin_client.get(target))
    assert "You gave 2 and like Apples. Why?" in second
    assert "Was the app easy to use?" in second  # shown: the hidden channel is "app"
    web = text_of(admin_client.get(target.replace("h.channel=app", "h.channel=web")))
    assert "Was the web easy to use?" not in web and "app_only" in web  # hidden, and named as hidden
    finish = admin_client.post(target, data={"csrf_token": csrf_of(second), "submission_id": "preview-page",
                                             "app_only": "1", "nav": "next"})
    assert finish.status_code == 302 and "end=1" in finish.headers["Location"]
    end = text_of(admin_client.get(finish.headers["Location"]))
    assert "the response would be complete here" in end and "low_app" in end  # the follow-up rule holds
    assert stored_rows(engine) == before


def test_a_missing_required_answer_shows_the_respondents_message(admin_client, versions):
    survey = versions["hidden"]
    page = admin_client.get(f"/admin/surveys/{survey}/preview/1?lang=zh-CN")
    response = admin_client.post(f"/admin/surveys/{survey}/preview/1?lang=zh-CN",
                                 data={"csrf_token": csrf_of(page.get_data(as_text=True)), "submission_id": "x" * 12,
                                       "fruit": "a", "nav": "next"})
    assert response.status_code == 422 and "请回答此题" in text_of(response)


HOSTILE = [  # (query string, the value named as refused)
    ("a.overall=abc", "overall"),
    ("a.overall=1000", "overall"),
    ("a.overall=5&a.overall=6", "overall"),
    ("a.fruit=zzz", "fruit"),
    ("a.fruit=" + "x" * 5000, "fruit"),
    ("h.store=%3Cscript%3Ealert(1)%3C/script%3E", "hidden.store"),
    ("h.channel=tv", "hidden.channel"),
    ("h.note=" + "n" * 300, "hidden.note"),
    ("a.why=%E2%80%AE%F0%9F%98%80" + "&a.nobody=1&lang=xx&h.=1&a.=2", None),
]


def test_hostile_preview_answers_are_refused_by_name_never_a_500(admin_client, versions, engine):
    survey = versions["hidden"]
    before = stored_rows(engine)
    for query, refused in HOSTILE:
        for url in (f"/admin/surveys/{survey}/preview?{query}", f"/admin/surveys/{survey}/preview/2?{query}"):
            response = admin_client.get(url)
            body = response.get_data(as_text=True)
            assert response.status_code == 200, (url, response.status_code)
            assert "<script>alert" not in body
            if refused:
                assert "not a value a page accepts" in html.unescape(body) and refused in body, url
    assert stored_rows(engine) == before


def test_a_tampered_preview_post_is_a_400_page(admin_client, versions):
    survey = versions["hidden"]
    page = admin_client.get(f"/admin/surveys/{survey}/preview/1")
    token = csrf_of(page.get_data(as_text=True))
    for data in ({"overall": "77"}, {"fruit": "z"}, {"sneaky": "1"}, {"nav": "sideways"}):
        response = admin_client.post(f"/admin/surveys/{survey}/preview/1", data={"csrf_token": token, **data})
        assert response.status_code == 400 and "not ones this page offers" in text_of(response)
    without_token = admin_client.post(f"/admin/surveys/{survey}/preview/1", data={"overall": "5"})
    assert without_token.status_code == 400


def upload(client, text: str, name: str = "v2.yaml", **form):
    token = csrf_of(client.get("/admin/").get_data(as_text=True))
    if "content" in form:
        return client.post("/admin/questionnaires", data={"csrf_token": token, **form})
    return client.post("/admin/questionnaires", content_type="multipart/form-data",
                       data={"csrf_token": token, "file": (io.BytesIO(text.encode()), name)})


def test_a_new_version_shows_its_changes_before_it_is_stored(admin_client, engine, versions):
    raw = parse_questionnaire(MATRIX_YAML).raw
    changed = json.loads(json.dumps(raw))
    changed["version"] = "2"
    changed["scales"]["five"]["max"] = 7  # rescales the satisfaction grid
    content = json.dumps(changed, ensure_ascii=False)
    with Session(engine) as session:
        count = session.scalar(select(func.count()).select_from(QuestionnaireVersion))
    shown = upload(admin_client, content)
    body = text_of(shown)
    assert shown.status_code == 200 and "Store this new version?" in body
    assert "s_price rescaled: 1..5 became 1..7" in body
    assert "breaks comparison with earlier waves for: satisfaction" in body
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(QuestionnaireVersion)) == count  # nothing stored yet
    hashed = re.search(r'name="confirm" value="([0-9a-f]{64})"', body).group(1)
    kept = re.search(r'name="content" value="([^"]*)"', shown.get_data(as_text=True)).group(1)
    stored = upload(admin_client, "", content=html.unescape(kept), filename="v2.yaml", confirm=hashed)
    assert stored.status_code == 302
    after = text_of(admin_client.get("/admin/"))
    assert "v2.yaml: ok: grid-retail v2" in after and "It breaks comparison with earlier waves for: satisfaction" in after
    with Session(engine) as session:
        latest = session.scalar(select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == "grid-retail").order_by(QuestionnaireVersion.id.desc()))
        assert latest.version == "2"
    changes = text_of(admin_client.get(f"/admin/surveys/{latest.id}/changes"))
    assert "From v1 to v2:" in changes and "s_app rescaled: 1..5 became 1..7" in changes


def test_a_changed_text_posted_with_an_old_confirmation_is_shown_again(admin_client, engine, versions):
    changed = json.loads(json.dumps(parse_questionnaire(MATRIX_YAML).raw))
    changed["version"] = "3"
    changed["pages"][1]["questions"][1]["text"]["en"] = "Anything else to tell us?"
    response = upload(admin_client, "", content=json.dumps(changed), filename="v3.json", confirm="0" * 64)
    assert response.status_code == 200 and "Store this new version?" in text_of(response)
    assert "<strong>Notice:</strong> comment: text reworded (en)" in text_of(response)
    with Session(engine) as session:
        assert session.scalar(select(QuestionnaireVersion).where(QuestionnaireVersion.version == "3")) is None


def test_upload_problems_in_chinese_on_the_chinese_console(admin_client):
    admin_client.set_cookie("csi_console_lang", "zh-CN", domain="localhost", path="/admin")
    bad = MATRIX_YAML.replace("scale: ten", "scale: eleven").replace("id: q_advice", "id: q_staff")
    response = upload(admin_client, bad, "bad.yaml")
    body = text_of(response)
    assert response.status_code == 422 and "问卷未保存" in body
    assert re.search(r"bad\.yaml:\d+: pages\[0\]\.questions\[0\]\.scale: 未知量表 'eleven'（已定义的量表：ten, five）", body), body
    assert "题目编号 'q_staff' 重复" in body
