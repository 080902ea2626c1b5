"""Hidden fields and piping in a real browser, on a 360-px phone and a desktop, in English
and Chinese: the piped text shows the respondent's values as text (a hostile hidden value
runs no script), and a refused link is a calm page. Screenshots go to $CSI_SCREENSHOTS."""
import os
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy.orm import Session

from models.questionnaire import parse_questionnaire
from models.storage import create_wave, register_questionnaire
from survey_app.state import state_of
from tests.conftest import sqlite_copy
from tests.hidden_questionnaire import HIDDEN_YAML

from .test_browser import CHROMIUM, FLAGS, PHONE  # noqa: F401  (skips the module without Chromium)

from playwright import sync_api  # a test dependency: missing is a failure, not a skip
HOSTILE = "<img src=x onerror=alert(1)><script>alert(2)</script>"


@pytest.fixture(params=["sqlite"])
def database_url(request, tmp_path):
    return sqlite_copy(request, tmp_path)  # a copy of the session's migrated template


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def hidden_server(app, live_server):
    with Session(state_of(app).engine) as session:
        create_wave(session, register_questionnaire(session, parse_questionnaire(HIDDEN_YAML, "h.yaml")), "W1")
        session.commit()
    return live_server


@pytest.mark.parametrize("device", ["phone", "desktop"])
@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_piped_values_show_as_text_and_refusals_are_calm(browser, hidden_server, tmp_path, device, language):
    shots = Path(os.environ.get("CSI_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    options = PHONE if device == "phone" else {"viewport": {"width": 1280, "height": 900}}
    context = browser.new_context(**options, locale=language)
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    query = urlencode({"store": "S12", "channel": "app", "note": HOSTILE, "lang": language})
    page.goto(f"{hidden_server}/s/hidden-demo/W1?{query}")
    page.locator("button.primary").click()
    question = page.locator("#q-overall")
    question.wait_for()
    words = {"en": ("How was your visit to store S12?", "Note: "), "zh-CN": ("您对门店S12的访问满意吗？", "备注：")}[language]
    assert words[0] in question.inner_text() and words[1] + HOSTILE in question.inner_text()
    page.screenshot(path=str(shots / f"hidden-piped-{device}-{language}.png"), full_page=True)
    page.locator("#q-overall label.point").nth(1).click()
    page.locator("#q-fruit label.choice").nth(0).click()
    page.locator("button[value=next]").click()
    page.locator("#q-why").wait_for()
    expected = {"en": "You gave 2 and like Apples. Why?", "zh-CN": "您打了2分，喜欢苹果。为什么？"}[language]
    assert expected in page.locator("#q-why").inner_text()
    assert page.locator("#q-app_only").is_visible()  # show_if: hidden.channel == 'app'
    page.screenshot(path=str(shots / f"hidden-piped2-{device}-{language}.png"), full_page=True)
    assert dialogs == []  # the hostile value ran nothing
    context.close()
    # A fresh visitor (the one above resumes their own response, whatever the link carries).
    context = browser.new_context(**options, locale=language)
    refused = context.new_page()
    answer = refused.goto(f"{hidden_server}/s/hidden-demo/W1?{urlencode({'store': 'S1<x>', 'lang': language})}")
    assert answer.status == 400
    title = {"en": "This survey link is not valid", "zh-CN": "此调查链接无效"}[language]
    assert title in refused.locator("h1").inner_text()
    refused.screenshot(path=str(shots / f"hidden-refused-{device}-{language}.png"), full_page=True)
    context.close()
