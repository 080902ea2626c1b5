"""A full quota seen in Chromium: the respondent's ending on a 360-px phone (Chinese) and a
desktop (English), and the console's "Quotas and limits" on the wave page. Screenshots go
to $CSI_SCREENSHOTS (default: the test's tmp folder)."""
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.storage.accounts import create_admin
from models.storage.tables import Wave

from .test_browser import PHONE, Person, browser, database_url, shots  # noqa: F401  (fixtures)
from .test_quotas import QUOTA_TEXT, field_wave, quota_questionnaire

DESKTOP = {"viewport": {"width": 1280, "height": 900}}


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("device, language", [("phone", "zh-CN"), ("desktop", "en")])
def test_full_quota_ending_on_phone_and_desktop(app, live_server, browser, shots, engine, device, language):
    questionnaire = quota_questionnaire(0)  # full from the start
    field_wave(engine, questionnaire)
    context = browser.new_context(**(PHONE if device == "phone" else DESKTOP), locale=language)
    page = context.new_page()
    person = Person(page, shots, f"quota-{device}-{language}")
    page.goto(f"{live_server}/s/quota-demo/Q1?lang={language}")
    with page.expect_navigation():
        page.locator("form[action$='/start'] button").click()
    person.choose("region", "north")
    person.choose("channel", "store")
    person.next()
    assert page.locator("h1").inner_text() == ("感谢您抽出时间" if language == "zh-CN" else "Thank you for your time")
    assert QUOTA_TEXT[language] in page.locator("main").inner_text()
    assert page.locator("div.question").count() == 0 and no_sideways_scroll(page)
    person.shot("quota-full")
    context.close()


@pytest.mark.parametrize("device, language", [("phone", "zh-CN"), ("desktop", "en")])
def test_console_quotas_section(app, live_server, browser, shots, engine, device, language):
    questionnaire = quota_questionnaire(0)
    field_wave(engine, questionnaire, max_completes=300)
    with Session(engine) as session:
        create_admin(session, "alice", "correct horse battery", "admin")
        session.commit()
    context = browser.new_context(**(PHONE if device == "phone" else DESKTOP), locale=language,
                                  extra_http_headers={"Accept-Language": language})
    page = context.new_page()
    page.goto(f"{live_server}/admin/login")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "correct horse battery")
    with page.expect_navigation():
        page.locator("form button[type=submit]").last.click()
    with Session(engine) as session:
        wave_id = session.scalar(select(Wave.id).where(Wave.name == "Q1"))
    page.goto(f"{live_server}/admin/waves/{wave_id}")
    section = page.locator("#quotas")
    text = section.inner_text()
    assert ("配额与限制" if language == "zh-CN" else "Quotas and limits") in text
    assert "0 / 300" in text and "0 / 0" in text
    assert no_sideways_scroll(page)
    section.screenshot(path=str(shots / f"quota-console-{device}-{language}.png"))
    context.close()
