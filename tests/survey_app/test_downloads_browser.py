"""Chromium saves a download of a Chinese-named wave under its Chinese name (RFC 5987
``filename*``), with the export options picked on the wave page."""
import csv
import io
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from analysis.simulate import simulate_responses
from models.storage import bulk_insert_responses, create_wave
from models.storage.tables import QuestionnaireVersion

from .test_admin import accounts  # noqa: F401  (fixtures)
from .test_admin_browser import log_in
from .test_browser import browser, database_url, shots  # noqa: F401  (fixtures)

WAVE = "2026年第四季度"


def test_chinese_wave_export_keeps_its_name(browser, live_server, accounts, engine, acsi, shots, tmp_path):
    with Session(engine, expire_on_commit=False) as session:
        survey = session.scalar(select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == "acsi-retail"))
        wave = create_wave(session, survey, WAVE)
        session.commit()
    bulk_insert_responses(engine, survey, wave, simulate_responses(acsi, 12, seed=6))
    bulk_insert_responses(engine, survey, wave, simulate_responses(acsi, 3, seed=7).iloc[:, :2], status="partial")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    log_in(page, live_server)
    page.goto(f"{live_server}/admin/waves/{wave.id}")
    form = page.locator("#export-form")
    form.get_by_label("Labels in").select_option("zh-CN")
    form.get_by_label("include partial responses").check()
    page.screenshot(path=str(shots / "wave-export-form.png"), full_page=True)
    with page.expect_download() as download_info:
        form.get_by_role("button", name="Download responses").click()
    download = download_info.value
    assert download.suggested_filename == f"acsi-retail-{WAVE}-wide-with-partial.csv"
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) == 15 and sum(r["status"] == "partial" for r in rows) == 3
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rows[0]["started_at"])
    context.close()
