"""An administrator in Chromium imports a file from the wave page: a real `csi worker`
runs the job, whose page shows every problem, then the result; the form fits a 360-px
phone. Screenshots go to $CSI_SCREENSHOTS (default: the test's tmp folder)."""
import re

from .test_admin import PASSWORD, accounts  # noqa: F401  (fixtures)
from .test_admin_browser import log_in, worker  # noqa: F401  (fixtures)
from .test_browser import PHONE, browser, database_url, shots, sync_api  # noqa: F401  (fixtures)


def open_wave(page, base):
    log_in(page, base)
    page.locator("section", has_text="acsi-retail").get_by_role("link", name="2026Q4").click()
    page.wait_for_url(re.compile(r".*/admin/waves/\d+$"))


def test_admin_imports_a_file_and_reads_its_problems(browser, live_server, accounts, worker, shots, tmp_path):
    bad = tmp_path / "fieldwork.csv"
    bad.write_text("exp_overall,exp_reliability,channel\n非常好,9,实体门店\n0,great,shop\n", encoding="utf-8")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    open_wave(page, live_server)
    form = page.locator("#import-form")
    form.get_by_label("Responses collected elsewhere").set_input_files(str(bad))
    form.get_by_role("button", name="Import responses").click()
    page.wait_for_url(re.compile(r".*/admin/jobs/\d+$"))
    error = page.locator(".job-error")
    error.wait_for(timeout=120_000)
    assert error.inner_text().splitlines() == [
        "nothing was imported: 3 problems",
        "fieldwork.csv:3: channel: 'shop' is neither an option nor an option's label (options: both, online, store)",
        "fieldwork.csv:3: exp_overall: 0 is outside the scale 1..10; don't know is 99",
        "fieldwork.csv:3: exp_reliability: 'great' is not a rating; expected a number or a label of its scale"]
    page.screenshot(path=str(shots / "admin-import-1-problems.png"), full_page=True)
    page.go_back()
    form = page.locator("#import-form")
    form.get_by_label("Responses collected elsewhere").set_input_files(str(bad))
    form.get_by_label("Skip bad rows").check()
    form.get_by_role("button", name="Import responses").click()
    summary = page.locator(".import-summary")
    summary.wait_for(timeout=120_000)
    assert summary.inner_text() == "fieldwork.csv: 2 rows read (UTF-8), 1 responses imported, 1 bad rows skipped"
    page.screenshot(path=str(shots / "admin-import-2-done.png"), full_page=True)
    context.close()


def test_import_form_fits_a_phone(browser, live_server, accounts, shots):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    open_wave(page, live_server)
    form = page.locator("#import-form")
    form.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "admin-import-phone.png"), full_page=True)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 360, f"the page is {width} px wide on a 360-px phone"
    box = form.get_by_role("button", name="Import responses").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 360
    context.close()
