"""The survey dashboard in Chromium at 1280 px and on a 360-px phone, in English and
Chinese: charts drawn, numbers readable, nothing wider than the screen. Screenshots go to
$CSI_SCREENSHOTS (default: the test's tmp folder)."""
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models.storage import create_invitations, find_wave
from models.storage.follow_up import set_sla_hours
from models.storage.tables import Response, utcnow

from .test_admin import accounts, fielded  # noqa: F401  (fixtures)
from .test_admin_browser import log_in
from .test_browser import PHONE, browser, database_url, shots  # noqa: F401  (fixtures)
from .test_dashboard import tag_segments


def test_dashboard_on_desktop_and_phone_in_both_languages(browser, live_server, app, engine, accounts, fielded, shots):
    from analysis.stored import compute_analysis
    tag_segments(engine, "2026Q4", ["gold", "silver", "basic"] * 100)
    with Session(engine) as session:
        wave = find_wave(session, "acsi-retail", "2026Q4")
        create_invitations(session, wave, [{"tier": "gold"}] * 120)  # invited, never opened
        ids = list(session.scalars(select(Response.id).where(Response.wave_id == wave.id).order_by(Response.id)))
        now = utcnow()
        for k, response_id in enumerate(ids):  # fieldwork over 12 days, busier at the start
            done = now - timedelta(days=11 - min(11, int((k / len(ids)) ** 1.6 * 12)), hours=1)
            session.execute(update(Response).where(Response.id == response_id).values(completed_at=done))
        flagged = ids[:6]
        for k, response_id in enumerate(flagged):
            session.execute(update(Response).where(Response.id == response_id).values(
                follow_up=True, follow_up_status="open", contact={"phone": "+86 138 0000 0000", "consent": True}
                if k < 5 else None, completed_at=now - timedelta(hours=10 + 20 * k)))
        set_sla_hours(session, "acsi-retail", 36, "alice")
        session.commit()
    compute_analysis(engine, "acsi-retail", "2026Q4", n_boot=60, n_perm=30)
    for name, options in (("desktop", {"viewport": {"width": 1280, "height": 900}}), ("phone", PHONE)):
        for language in ("en", "zh-CN"):
            context = browser.new_context(**options, locale=language)
            context.set_extra_http_headers({"Accept-Language": language})
            page = context.new_page()
            log_in(page, live_server) if language == "en" else _log_in_any(page, live_server)
            page.goto(f"{live_server}/admin/surveys/acsi-retail/dashboard")
            assert page.locator("svg.chart").count() >= 5  # trend, indices, 1 segment variable, per day, funnel
            assert page.locator("#sla-overdue").inner_text() == "3"  # 50, 70 and 90 hours old, SLA 36 hours
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= options["viewport"]["width"], (name, language, width)
            page.screenshot(path=str(shots / f"dashboard-{name}-{language}.png"), full_page=True)
            page.goto(f"{live_server}/admin/follow-up")
            page.locator("#slas summary").click()  # the SLA of each survey, with its overdue count
            assert page.locator("#sla-acsi-retail").is_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= options["viewport"]["width"]
            page.screenshot(path=str(shots / f"follow-up-sla-{name}-{language}.png"), full_page=True)
            context.close()


def _log_in_any(page, base):
    from .test_admin import PASSWORD
    page.goto(f"{base}/admin/login")
    page.locator("input[name=username]").fill("alice")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url("**/admin/")
