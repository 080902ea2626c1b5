"""The Users page in Chromium, on a desktop and on a 360-px phone: an admin creates a viewer
and an API token (shown once), then revokes it. Screenshots go to $CSI_SCREENSHOTS."""
import re

from .test_admin import PASSWORD, accounts  # noqa: F401  (fixtures)
from .test_admin_browser import log_in
from .test_browser import FLAGS, PHONE, browser, database_url, shots, sync_api  # noqa: F401  (fixtures)


def test_admin_manages_users_and_tokens_in_the_browser(browser, live_server, accounts, shots):
    for name, options in (("desktop", {"viewport": {"width": 1280, "height": 900}}), ("phone", PHONE)):
        context = browser.new_context(**options)
        page = context.new_page()
        log_in(page, live_server)
        page.get_by_role("link", name="Users").click()
        page.wait_for_url(re.compile(r".*/admin/users$"))
        new_user = page.locator("form", has=page.get_by_role("button", name="Create user"))
        new_user.get_by_label("Name").fill(f"carol-{name}")
        new_user.get_by_label("Role").select_option("viewer")
        new_user.get_by_label("Password").fill("carol's long password")
        new_user.get_by_role("button", name="Create user").click()
        assert page.get_by_text(f"User carol-{name} (viewer) created.").is_visible()
        new_token = page.locator("form", has=page.get_by_role("button", name="Create token"))
        new_token.get_by_label("For").select_option(f"carol-{name}")
        new_token.get_by_label("Name").fill("dashboards")
        new_token.get_by_label("Days until expiry").fill("30")
        new_token.get_by_role("button", name="Create token").click()
        assert re.fullmatch(r"csi_[A-Za-z0-9_-]{43}", page.locator("#new-token").inner_text())
        page.screenshot(path=str(shots / f"admin-users-{name}.png"), full_page=True)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= options["viewport"]["width"], f"the page is {width} px wide"
        row = page.locator("tr", has_text=f"carol-{name}").filter(has_text="dashboards")
        row.get_by_role("button", name="Revoke").click()
        assert page.get_by_text(re.compile(r"API token \d+ revoked\.")).is_visible()
        assert page.locator("tr", has_text=f"carol-{name}").filter(has_text="dashboards").locator("td").nth(6) \
            .inner_text() == "revoked"
        context.close()
