"""An administrator in Chromium: logs in, opens a wave, reads the live view, downloads
the quarterly report; the console also fits a 360-px phone. Screenshots go to
$CSI_SCREENSHOTS (default: the test's tmp folder)."""
import os
import re
import signal
import subprocess
import sys
import uuid

import pytest


from .test_admin import PASSWORD, accounts, fielded  # noqa: F401  (fixtures)
from .test_browser import FLAGS, PHONE, browser, database_url, shots, sync_api  # noqa: F401  (fixtures)


def log_in(page, base):
    page.goto(f"{base}/admin/")
    assert "/admin/login" in page.url  # anonymous visitors land on the login form
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r".*/admin/$"))


@pytest.fixture
def worker(app, database_url, tmp_path):
    """A real `csi worker` process on the app's database and queue."""
    name = f"browser-{uuid.uuid4().hex[:8]}"
    app.config["QUEUE_NAME"] = name
    env = dict(os.environ, CSI_QUEUE_NAME=name, CSI_REPORTS_DIR=str(tmp_path / "reports"), CSI_ANALYSIS_CHECK="3600")
    env.pop("CSI_REDIS_URL", None)
    process = subprocess.Popen([sys.executable, "-m", "survey_app.cli", "worker", "--database", database_url], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield process
    process.send_signal(signal.SIGINT)
    process.wait(60)


def test_admin_logs_in_opens_a_wave_and_downloads_the_report(browser, live_server, accounts, fielded, worker, shots,
                                                             tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    log_in(page, live_server)
    assert page.get_by_role("heading", name="Surveys and waves").is_visible()
    page.screenshot(path=str(shots / "admin-1-surveys.png"), full_page=True)
    page.locator("section", has_text="acsi-retail").get_by_role("link", name="2026Q4").click()
    page.wait_for_url(re.compile(r".*/admin/waves/\d+$"))
    assert page.locator("#completed").inner_text() == "300"
    page.screenshot(path=str(shots / "admin-2-wave.png"), full_page=True)
    page.get_by_role("button", name="Create the report").click()
    page.wait_for_url(re.compile(r".*/admin/jobs/\d+$"))
    # The job's page reloads itself until the worker is done, then offers the download.
    page.get_by_role("link", name="download HTML").wait_for(timeout=240_000)
    page.screenshot(path=str(shots / "admin-2b-job.png"), full_page=True)
    with page.expect_download(timeout=60_000) as download_info:
        page.get_by_role("link", name="download HTML").click()
    download = download_info.value
    assert download.suggested_filename == "report-acsi-retail-2026Q4.html"
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    html = target.read_text(encoding="utf-8")
    assert "Satisfaction index" in html and "change from 2026Q3" in html
    # The downloaded file opens on its own (figures embedded, nothing fetched).
    report = context.new_page()
    requests = []
    report.on("request", lambda r: requests.append(r.url))
    report.goto(target.as_uri())
    assert report.locator("#headline").is_visible()
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
    figures = report.locator("svg.figure")
    assert figures.count() >= 4
    assert all(figures.nth(k).bounding_box()["width"] > 100 for k in range(figures.count()))
    report.screenshot(path=str(shots / "admin-3-report.png"), full_page=True)
    context.close()


def test_console_fits_a_phone(browser, live_server, accounts, fielded, shots):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    log_in(page, live_server)
    page.locator("section", has_text="acsi-retail").get_by_role("link", name="2026Q4").click()
    page.wait_for_url(re.compile(r".*/admin/waves/\d+$"))
    page.screenshot(path=str(shots / "admin-phone-wave.png"), full_page=True)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 360, f"the page is {width} px wide on a 360-px phone"
    assert page.get_by_role("button", name="Create the report").is_visible()
    context.close()
