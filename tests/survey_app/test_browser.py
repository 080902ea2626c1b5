"""A person answers a whole questionnaire in Chromium on a 360-px phone viewport, leaves
mid-way, comes back, finishes; the stored response equals what was clicked.

Needs Debian's chromium (/usr/bin/chromium; .ci/run installs it and sets
CSI_REQUIRE_BROWSER=1 so a missing browser fails CI instead of skipping). Screenshots of
every page go to $CSI_SCREENSHOTS (default: the test's tmp folder).
"""
import os
from pathlib import Path

import pytest

from models.answers import answer_type
from models.storage import load_wave_frame
from tests.conftest import sqlite_copy

from .conftest import assert_row_matches

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}

if not Path(CHROMIUM).exists():
    if os.environ.get("CSI_REQUIRE_BROWSER"):
        raise RuntimeError(f"{CHROMIUM} is missing but CSI_REQUIRE_BROWSER is set")
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium; .ci/run does)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")


@pytest.fixture(params=["sqlite"])
def database_url(request, tmp_path):
    # Browser tests exercise the front end; the storage backends are covered by the other suites.
    return sqlite_copy(request, tmp_path)  # a copy of the session's migrated template


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def shots(tmp_path):
    folder = Path(os.environ.get("CSI_SCREENSHOTS", tmp_path / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Person:
    """Clicks like a person: on the visible labels, typing into boxes."""

    def __init__(self, page, shots: Path, prefix: str):
        self.page = page
        self.shots = shots
        self.prefix = prefix
        self.step = 0
        self.clicked: dict[str, object] = {}

    def shot(self, name: str) -> Path:
        self.step += 1
        path = self.shots / f"{self.prefix}-{self.step:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def questions(self) -> list[str]:
        return [e.get_attribute("id")[2:] for e in self.page.locator("div.question").all()]

    def choose(self, question_id: str, value: str) -> None:
        box = self.page.locator(f'input[name="{question_id}"][value="{value}"]')
        self.page.locator(f'label[for="{box.get_attribute("id")}"]').click()
        self.clicked[question_id] = value

    def tick(self, question_id: str, values: list[str]) -> None:
        for value in values:
            box = self.page.locator(f'input[name="{question_id}"][value="{value}"]')
            self.page.locator(f'label[for="{box.get_attribute("id")}"]').click()
        self.clicked[question_id] = values

    def type(self, question_id: str, text: str) -> None:
        self.page.fill(f"#{question_id}", text)
        self.clicked[question_id] = text

    def answer_page(self, questionnaire, choice_for) -> None:
        for qid in self.questions():
            question = questionnaire.question(qid)
            value = choice_for(question)
            if value is None:
                continue
            entry = answer_type(question)
            if entry.multiple:
                self.tick(qid, value)
            elif entry.choices(question):  # one of the options the page offers
                self.choose(qid, value)
            else:
                self.type(qid, value)

    def next(self) -> None:
        with self.page.expect_navigation():
            self.page.locator('button[value="next"]').click()


def phone_answers(question):
    if question.id == "sat_overall":
        return "9"
    if question.type == "rating":
        return str(question.scale.maximum - 1 - (len(question.id) % 3))
    if question.type == "single_choice":
        return str(question.options[0].value) if question.id != "complained" else "no"
    if question.type == "multiple_choice":
        return [str(question.options[1].value)]
    if question.type == "number":
        return "4"
    return "店员很热情 — friendly staff <b>!</b>"


def test_phone_respondent_leaves_and_comes_back(app, live_server, browser, shots, acsi, engine):
    context = browser.new_context(**PHONE, locale="en-US")
    page = context.new_page()
    person = Person(page, shots, "phone")
    page.goto(f"{live_server}/s/acsi-retail/2026Q4")
    assert page.locator("h1").inner_text() == acsi.title.get("en")
    assert acsi.privacy_notice.get("en") in page.content()
    person.shot("intro")
    with page.expect_navigation():
        page.get_by_role("button", name="Start the survey").click()
    assert page.url == f"{live_server}/s/acsi-retail/2026Q4/p/1"  # the first page, at its own address
    # Press Next with nothing answered: errors next to the fields, nothing lost.
    person.next()
    assert page.locator(".error").first.is_visible()
    person.shot("errors")
    for number in range(2, 5):
        person.answer_page(acsi, phone_answers)
        person.shot(f"page-{person.questions()[0]}")
        person.next()
        # The next page comes in answer to the post; the address bar still shows its own address,
        # so a reload shows it again (no "resend the form?" dialog, nothing posted twice).
        assert page.url == f"{live_server}/s/acsi-retail/2026Q4/p/{number}"
    shown = person.questions()
    page.reload()
    assert person.questions() == shown and page.url.endswith("/p/4")
    left_at = person.questions()
    # The 0-10 / 1-10 scale fits in one row on a 360-px screen: no horizontal scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    storage = context.storage_state()
    context.close()  # the person closes the browser

    context = browser.new_context(**PHONE, locale="en-US", storage_state=storage)
    page = context.new_page()
    person.page = page
    page.goto(f"{live_server}/s/acsi-retail/2026Q4")
    assert person.questions() == left_at
    assert "your earlier answers are saved" in page.content()
    person.shot("resumed")
    for _ in range(10):
        if "/done" in page.url:
            break
        person.answer_page(acsi, phone_answers)
        person.shot(f"page-{person.questions()[0]}")
        person.next()
    assert "/done" in page.url and acsi.thank_you.get("en") in page.content()
    person.shot("thanks")
    context.close()

    row = load_wave_frame(engine, "acsi-retail", "2026Q4").iloc[0]
    assert_row_matches(row, person.clicked, acsi)


def test_keyboard_only_chinese_desktop(app, live_server, browser, shots, ccsi):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    person = Person(page, shots, "desktop-zh")
    page.goto(f"{live_server}/s/ccsi-mobile/2026Q4")
    assert "手机用户满意度调查" in page.locator("h1").inner_text()
    person.shot("intro")
    page.keyboard.press("Tab")  # language switch link
    assert page.evaluate("document.activeElement.textContent") == "English"
    page.keyboard.press("Tab")  # start button
    assert page.evaluate("document.activeElement.textContent") == "开始答卷"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "第 1 页" in page.content()
    # Tab into the first radio group and choose with the arrow keys, as a keyboard user does.
    page.locator('input[name="brand"]').first.focus()
    page.keyboard.press("ArrowDown")
    assert page.locator('input[name="brand"]:checked').get_attribute("value") == "brand_b"
    focused = page.evaluate("getComputedStyle(document.activeElement.nextElementSibling).outlineStyle")
    assert focused == "solid"  # a visible focus ring
    page.fill("#months_owned", "14")
    person.shot("keyboard-page1")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # submits the form (Next)
    assert "img_trust" in " ".join(person.questions())
    person.shot("page2")
    context.close()
