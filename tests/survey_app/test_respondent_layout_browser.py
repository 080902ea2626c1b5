"""The respondent pages' spacing measured in Chromium on a 360-px phone and a 1280-px desktop,
in English and Chinese: cards clear the header, the follow-up contact form's fields stand
apart, a matrix's error rows stay under their column heads, and a rating button's "10" has
room inside its button. Screenshots go to $CSI_SCREENSHOTS (default: the test's tmp folder)."""
import pytest

from .test_browser import PHONE, Person, browser, database_url, phone_answers, shots  # noqa: F401 (fixtures)

DEVICES = {"phone": PHONE, "desktop": {"viewport": {"width": 1280, "height": 900}}}
OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
# Space between the header's bottom and the first thing below it (a card or the progress bar).
HEADER_GAP = """() => {
  const header = document.querySelector('header.top').getBoundingClientRect();
  const first = document.querySelector('main').firstElementChild.getBoundingClientRect();
  return first.top - header.bottom;
}"""
# For each label of the follow-up form: the space above it to the field (or its error) before it.
LABEL_GAPS = """() => {
  const form = document.querySelector('main form');
  const items = [...form.querySelectorAll('label.text-label, label.consent > span, '
                                          + 'input[type=text], input[type=tel], input[type=email], p.error')];
  const gaps = [];
  items.forEach((item, i) => {
    if (i > 0 && (item.matches('label') || item.matches('label.consent > span')))
      gaps.push([item.textContent.trim().slice(0, 20), item.getBoundingClientRect().top - items[i - 1].getBoundingClientRect().bottom]);
  });
  return gaps;
}"""
# Space between the follow-up card's top padding edge and its heading.
HEADING_GAP = """() => {
  const heading = document.querySelector('main section:last-of-type h2');
  const card = heading.parentElement, style = getComputedStyle(card);
  const inner = card.getBoundingClientRect().top + parseFloat(style.borderTopWidth) + parseFloat(style.paddingTop);
  return heading.getBoundingClientRect().top - inner;
}"""
# The smallest space between a rating button's digits and its border, left or right.
TEXT_ROOM = """selector => Math.min(...[...document.querySelectorAll(selector)].map(face => {
  const range = document.createRange();
  const number = face.querySelector('.num') || face;
  range.selectNodeContents(number);
  const text = range.getBoundingClientRect(), box = face.getBoundingClientRect();
  return Math.min(text.left - box.left, box.right - text.right) - parseFloat(getComputedStyle(face).borderLeftWidth);
}))"""


def unhappy(question):
    return "2" if question.id == "sat_overall" else phone_answers(question)


@pytest.mark.parametrize("device", ["phone", "desktop"])
@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_cards_clear_the_header_and_the_follow_up_form_has_room(app, live_server, browser, shots, acsi,
                                                               language, device):
    context = browser.new_context(**DEVICES[device], locale=language)
    page = context.new_page()
    person = Person(page, shots, f"layout-{device}-{language}")
    page.goto(f"{live_server}/s/acsi-retail/2026Q4?lang={language}")
    person.shot("intro")
    gaps = {"intro": page.evaluate(HEADER_GAP)}
    with page.expect_navigation():
        page.locator("button.primary").click()
    person.next()  # nothing answered: the error summary on the card
    person.shot("errors")
    gaps["errors"] = page.evaluate(HEADER_GAP)
    room = {}  # on every page of rating buttons (1-10 and the 0-10 NPS)
    for _ in range(12):
        if "/done" in page.url:
            break
        gaps[person.questions()[0]] = page.evaluate(HEADER_GAP)
        if page.locator(".scale.row .face").count():
            room[person.questions()[0]] = page.evaluate(TEXT_ROOM, ".scale.row .face")
        if "nps" in person.questions():
            person.shot("nps")
        person.answer_page(acsi, unhappy)
        person.next()
    assert "/done" in page.url and page.locator("form #consent").is_visible()  # a low score: the contact form
    person.shot("follow-up")
    gaps["done"] = page.evaluate(HEADER_GAP)
    label_gaps = page.evaluate(LABEL_GAPS)
    heading_gap = page.evaluate(HEADING_GAP)
    # The consent reads as a checkbox before it is ticked: an empty box drawn beside its text.
    consent_box = page.evaluate("""() => { const s = getComputedStyle(document.querySelector('label[for=consent] span'), '::before');
        return [parseFloat(s.width), parseFloat(s.borderTopWidth), s.content]; }""")
    # A wrong e-mail address and no consent: errors under the fields.
    page.fill("#email", "not an address")
    with page.expect_navigation():
        page.locator("main form button.primary").click()
    assert page.locator("#email-error").is_visible() and page.locator("#consent-error").is_visible()
    person.shot("follow-up-errors")
    error_gaps = page.evaluate(LABEL_GAPS)
    overflow = page.evaluate(OVERFLOW)
    context.close()

    assert all(gap >= 8 for gap in gaps.values()), gaps
    assert len(label_gaps) == 3 and all(gap >= 8 for _, gap in label_gaps), label_gaps  # phone, e-mail, consent
    assert len(error_gaps) == 3 and all(gap >= 8 for _, gap in error_gaps), error_gaps
    assert abs(heading_gap) <= 1, heading_gap  # no empty band above the heading
    assert "loy_repurchase" in room and all(space >= 3 for space in room.values()), room  # "10" not edge to edge
    assert overflow <= 0
    assert consent_box[0] >= 14 and consent_box[1] >= 2 and consent_box[2] == '""', consent_box


@pytest.mark.parametrize("device", ["phone", "desktop"])
@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_matrix_error_rows_stay_under_their_heads(app, live_server, browser, shots, grid, language, device):
    context = browser.new_context(**DEVICES[device], locale=language)
    page = context.new_page()
    page.goto(f"{live_server}/s/grid-retail/W1?lang={language}")
    with page.expect_navigation():
        page.locator("button.primary").click()
    page.locator('label[for="q_staff-6"]').click()  # one row answered, the others in error
    with page.expect_navigation():
        page.locator("button.primary").click()
    assert page.locator("fieldset.grid-row.has-error").count() == 6
    page.screenshot(path=str(shots / f"layout-matrix-{device}-{language}-errors.png"), full_page=True)
    room = page.evaluate(TEXT_ROOM, "fieldset#q-q_staff label.point:not(.dk) .face")
    header_gap = page.evaluate(HEADER_GAP)
    overflow = page.evaluate(OVERFLOW)
    if device == "desktop":
        heads = page.locator(".grid-heads .grid-points > span")
        head_x = [heads.nth(i).bounding_box() for i in range(11)]
        rows = {row: page.locator(f"fieldset#q-{row} label.point") for row in ("q_staff", "q_advice", "q_parking")}
        misaligned = {row: max(max(abs(h["x"] - p["x"]), abs(h["width"] - p["width"]))
                               for h, p in zip(head_x, (points.nth(i).bounding_box() for i in range(11))))
                      for row, points in rows.items()}
        dk_size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.grid-heads .dk small')).fontSize)")
        legend_x = {row: page.locator(f"fieldset#q-{row} legend").bounding_box()["x"] for row in rows}
    context.close()

    assert header_gap >= 8 and overflow <= 0
    assert room >= 3, room
    if device == "desktop":
        assert all(shift <= 1 for shift in misaligned.values()), misaligned  # an error row and a valid one alike
        assert max(legend_x.values()) - min(legend_x.values()) <= 1, legend_x
        assert dk_size >= 13, dk_size  # the don't-know head as legible as the scale's end labels
