"""The console's preview in Chromium on a desktop and a 360-px phone, in English and Chinese:
the page a respondent sees (a matrix grid, piped texts) under the preview's bar, no sideways
scrolling, and the conditional path walked by answering. Screenshots go to $CSI_SCREENSHOTS."""
import re

from sqlalchemy.orm import Session

from models.questionnaire import parse_questionnaire
from models.storage import register_questionnaire
from tests.hidden_questionnaire import HIDDEN_YAML
from tests.matrix_questionnaire import QUESTIONNAIRE as MATRIX_YAML

from .test_admin import accounts  # noqa: F401  (fixtures)
from .test_admin_browser import log_in
from .test_browser import PHONE, browser, database_url, shots, sync_api  # noqa: F401  (fixtures)


def test_preview_on_a_phone_and_a_desktop_in_both_languages(browser, live_server, accounts, engine, shots):
    with Session(engine) as session:
        ids = {name: register_questionnaire(session, parse_questionnaire(text, f"{name}.yaml")).id
               for name, text in (("hidden", HIDDEN_YAML), ("matrix", MATRIX_YAML))}
        session.commit()
    for device, options in (("desktop", {"viewport": {"width": 1280, "height": 900}}), ("phone", PHONE)):
        context = browser.new_context(**options)
        page = context.new_page()
        log_in(page, live_server)
        for language in ("en", "zh-CN"):
            # The console's own language follows (its switch's cookie), so the whole page is in one language.
            context.add_cookies([{"name": "csi_console_lang", "value": language, "url": f"{live_server}/admin/"}])
            page.goto(f"{live_server}/admin/surveys/{ids['matrix']}/preview/1?lang={language}")
            assert page.locator(".grid-row").count() == 7 and page.locator(".preview-bar").is_visible()
            assert page.evaluate("() => document.documentElement.scrollWidth") <= options["viewport"]["width"]
            page.screenshot(path=str(shots / f"preview-matrix-{device}-{language}.png"), full_page=True)
            page.goto(f"{live_server}/admin/surveys/{ids['hidden']}/preview?lang={language}&h.channel=app")
            assert page.evaluate("() => document.documentElement.scrollWidth") <= options["viewport"]["width"]
            page.screenshot(path=str(shots / f"preview-overview-{device}-{language}.png"), full_page=True)
        # Walk the path: answer page 1 as a respondent would; page 2 pipes the answers in.
        context.add_cookies([{"name": "csi_console_lang", "value": "en", "url": f"{live_server}/admin/"}])
        page.goto(f"{live_server}/admin/surveys/{ids['hidden']}/preview/1?lang=en&h.channel=app")
        page.locator("label[for='overall-1']").click()
        page.get_by_label("Bananas").check()
        page.get_by_role("button", name="Next").click()
        page.wait_for_url(re.compile(r".*/preview/2\?.*a\.overall=2.*"))
        assert page.get_by_text("You gave 2 and like Bananas. Why?").is_visible()
        assert page.get_by_text("Was the app easy to use?").is_visible()
        page.screenshot(path=str(shots / f"preview-walked-{device}-en.png"), full_page=True)
        # A new version that rescales the satisfaction grid: its changes before it is stored.
        language = "zh-CN" if device == "phone" else "en"
        version, top = ("3", 6) if device == "phone" else ("2", 7)  # the phone's upload follows the desktop's
        context.add_cookies([{"name": "csi_console_lang", "value": language, "url": f"{live_server}/admin/"}])
        page.goto(f"{live_server}/admin/")
        page.locator("input[type=file]").set_input_files(files=[{
            "name": "grid-v2.yaml", "mimeType": "application/yaml",
            "buffer": MATRIX_YAML.replace('version: "1"', f'version: "{version}"').replace("max: 5", f"max: {top}").encode()}])
        page.locator("form[enctype] button[type=submit]").click()
        page.locator(".changes").wait_for()
        assert page.locator(".alert").count() == 1  # breaks comparison for satisfaction
        assert page.evaluate("() => document.documentElement.scrollWidth") <= options["viewport"]["width"]
        page.screenshot(path=str(shots / f"upload-changes-{device}-{language}.png"), full_page=True)
        if device == "desktop":
            page.get_by_role("button", name="Store this version").click()
            page.wait_for_url(re.compile(r".*/admin/$"))
            assert page.locator("section", has_text="grid-retail").locator(".versions a").count() == 3  # 2 previews, 1 changes
            page.screenshot(path=str(shots / "upload-stored-desktop-en.png"), full_page=True)
        context.close()
