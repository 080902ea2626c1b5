"""A matrix page in Chromium: cards on a 360-px phone (nothing wider than the screen), a
table on a desktop, in English and Chinese; answered with the keyboard and the mouse.
Screenshots go to $CSI_SCREENSHOTS (default: the test's tmp folder)."""
import pytest

from models.storage import load_wave_frame

from .test_browser import PHONE, browser, database_url, shots  # noqa: F401 (fixtures)

ROWS = ["q_staff", "q_advice", "q_range", "q_clean", "q_wait", "q_returns", "q_parking"]
OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def start(page, live_server, language):
    page.goto(f"{live_server}/s/grid-retail/W1?lang={language}")
    with page.expect_navigation():
        page.locator("button.primary").click()


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_phone_grid_is_one_card_per_row_and_never_wider_than_the_screen(app, live_server, browser, shots, grid,
                                                                         engine, language):
    context = browser.new_context(**PHONE, locale=language)
    page = context.new_page()
    start(page, live_server, language)
    assert page.evaluate(OVERFLOW) <= 0
    rows = page.locator("fieldset.grid-row")
    assert rows.count() == len(ROWS)
    assert not page.locator(".grid-heads").is_visible()  # a phone shows each card's own end labels
    boxes = [rows.nth(i).bounding_box() for i in range(rows.count())]
    assert all(box["x"] >= 0 and box["x"] + box["width"] <= 360 for box in boxes)
    assert all(a["y"] + a["height"] <= b["y"] for a, b in zip(boxes, boxes[1:]))  # stacked cards
    # Every point of a card sits in one line within the card (ten points at 360 px).
    points = [rows.first.locator("label.point:not(.dk)").nth(i).bounding_box() for i in range(10)]
    assert len({round(p["y"]) for p in points}) == 1 and points[-1]["x"] + points[-1]["width"] <= 360
    page.screenshot(path=str(shots / f"matrix-phone-{language}.png"), full_page=True)
    # Next without answering: an error on each row, still no overflow.
    with page.expect_navigation():
        page.locator("button.primary").click()
    assert page.locator("fieldset.grid-row.has-error").count() == len(ROWS)
    assert page.evaluate(OVERFLOW) <= 0
    page.screenshot(path=str(shots / f"matrix-phone-{language}-errors.png"), full_page=True)
    for index, row in enumerate(ROWS):
        page.locator(f'label[for="{row}-{index}"]').click()  # taps on the visible faces
    with page.expect_navigation():
        page.locator("button.primary").click()
    assert page.locator("fieldset#q-s_price").is_visible()
    assert page.evaluate(OVERFLOW) <= 0
    page.screenshot(path=str(shots / f"matrix-phone-{language}-labelled.png"), full_page=True)
    page.locator('label[for="s_price-3"]').click()
    with page.expect_navigation():
        page.locator("button.primary").click()  # the optional rows left out
    context.close()
    frame = load_wave_frame(engine, "grid-retail", "W1")
    assert frame.loc[frame.index[0], ROWS].tolist() == [1, 2, 3, 4, 5, 6, 7]


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_desktop_grid_is_a_table_answered_with_the_keyboard(app, live_server, browser, shots, grid, engine, language):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale=language)
    page = context.new_page()
    start(page, live_server, language)
    assert page.locator(".grid-heads").is_visible()
    heads = page.locator(".grid-heads .grid-points > span")
    assert heads.count() == 11  # ten points and don't know
    first_row = page.locator("fieldset#q-q_staff label.point")
    # Column heads stand in one line and line up with each row's points, in one line too.
    assert len({round(heads.nth(i).bounding_box()["y"]) for i in range(11)}) == 1
    assert len({round(first_row.nth(i).bounding_box()["y"]) for i in range(11)}) == 1
    for i in (0, 9, 10):
        head, point = heads.nth(i).bounding_box(), first_row.nth(i).bounding_box()
        assert abs((head["x"] + head["width"] / 2) - (point["x"] + point["width"] / 2)) < 2
    rows = [page.locator(f"fieldset#q-{row}").bounding_box() for row in ROWS]
    assert all(abs(r["height"] - rows[0]["height"]) < 40 for r in rows)  # one line each, not cards
    assert page.evaluate(OVERFLOW) <= 0
    # Keyboard: Tab reaches a row's radio group, arrows move within that row only.
    page.locator('input[name="q_staff"]').first.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert page.locator('input[name="q_staff"]:checked').get_attribute("value") == "3"
    assert page.locator('input[name="q_advice"]:checked').count() == 0
    assert page.evaluate("getComputedStyle(document.activeElement.nextElementSibling).outlineStyle") == "solid"
    page.keyboard.press("Tab")  # to the next row's group
    assert page.evaluate("document.activeElement.name") == "q_advice"
    page.screenshot(path=str(shots / f"matrix-desktop-{language}.png"), full_page=True)
    context.close()
