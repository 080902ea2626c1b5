"""The console in Chromium in both languages: on a 360-px phone in Chinese nothing is wider than
the screen (tables become cards or scroll inside their box). Screenshots of every page (phone
and 1280-px desktop, zh-CN and en) go to $CSI_SCREENSHOTS (default: the test's tmp folder)."""
import re

from .test_admin import PASSWORD, accounts, fielded  # noqa: F401  (fixtures)
from .test_browser import FLAGS, PHONE, browser, database_url, shots, sync_api  # noqa: F401  (fixtures)
from .test_console_i18n import console_data, console_pages  # noqa: F401  (fixtures)

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
LABELS = {"zh-CN": ("用户名", "密码", "登录"), "en": ("Username", "Password", "Log in")}

# Elements wider than the viewport (their right edge past it), as "tag#id.class" strings.
WIDE_ELEMENTS = """() => {
  const width = document.documentElement.clientWidth;
  return [...document.querySelectorAll('body *')].filter(e => {
    const box = e.getBoundingClientRect();
    // Inside a box that scrolls sideways on purpose (a wide table), its cells may be wider.
    for (let p = e.parentElement; p; p = p.parentElement) {
      const style = getComputedStyle(p);
      if ((style.overflowX === 'auto' || style.overflowX === 'scroll') && p.scrollWidth > p.clientWidth) return false;
    }
    return box.width > 0 && box.right > width + 1;
  }).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + e.className : ''));
}"""


def _log_in(page, base, language):
    username, password, button = LABELS[language]
    page.goto(f"{base}/admin/login")
    page.get_by_label(username).fill("alice")
    page.get_by_label(password).fill(PASSWORD)
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_url(re.compile(r".*/admin/$"))


def _walk(browser, base, data, shots, language, device, name):
    context = browser.new_context(**device, locale=language)
    page = context.new_page()
    _log_in(page, base, language)
    overflow = {}
    for number, url in enumerate(console_pages(data) + ["/admin/login"]):
        if url == "/admin/login":
            context.clear_cookies()
            context.add_cookies([{"name": "csi_console_lang", "value": language, "url": base + "/admin/"}])
        page.goto(base + url)
        assert page.locator("html").get_attribute("lang") == language
        page.screenshot(path=str(shots / f"console-{name}-{language}-{number:02d}.png"), full_page=True)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        if width > device["viewport"]["width"]:
            overflow[url] = (width, page.evaluate(WIDE_ELEMENTS)[:5])
    context.close()
    return overflow


def test_console_in_chinese_fits_a_360_px_phone(browser, live_server, console_data, shots):
    assert _walk(browser, live_server, console_data, shots, "zh-CN", PHONE, "phone") == {}


def test_console_screens_in_both_languages(browser, live_server, console_data, shots):
    """The other three views (English phone, both desktops) fit too; the screenshots are looked at."""
    assert _walk(browser, live_server, console_data, shots, "en", PHONE, "phone") == {}
    for language in ("zh-CN", "en"):
        assert _walk(browser, live_server, console_data, shots, language, DESKTOP, "desktop") == {}
