"""Downloads a Chinese company saves as they come: RFC 5987 file names with an ASCII
fallback, a UTF-8 BOM on every CSV, and the console's export options (partial
responses, label language). Runs on SQLite and PostgreSQL."""
import csv
import io
from urllib.parse import unquote

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from analysis.simulate import simulate_responses
from models.storage import bulk_insert_responses, create_wave
from models.storage.tables import QuestionnaireVersion
from survey_app.downloads import ascii_fallback, attachment

from .test_admin import accounts, admin_client, csrf_of  # noqa: F401  (fixtures)

WAVE = "2026年第四季度"


@pytest.mark.parametrize("name, fallback", [
    ("acsi-retail-2026Q4-wide.csv", "acsi-retail-2026Q4-wide.csv"),
    (f"acsi-retail-{WAVE}-wide.csv", "acsi-retail-2026-wide.csv"),
    ("报告.html", "download.html"),
    ("Ünïcode wave.sav", "Unicode_wave.sav"),
])
def test_ascii_fallback(name, fallback):
    assert ascii_fallback(name) == fallback


def test_attachment_header_carries_the_exact_name_and_no_injection():
    header = attachment(f"acsi-{WAVE}.csv")["Content-Disposition"]
    assert header == ("attachment; filename=\"acsi-2026.csv\"; "
                      "filename*=UTF-8''acsi-2026%E5%B9%B4%E7%AC%AC%E5%9B%9B%E5%AD%A3%E5%BA%A6.csv")
    hostile = attachment('x"\r\nSet-Cookie: a=b/../..\\y.csv')["Content-Disposition"]
    assert "\r" not in hostile and "\n" not in hostile and hostile.count('"') == 2
    assert "/" not in unquote(hostile.split("''", 1)[1]) and "\\" not in hostile


@pytest.fixture
def chinese_wave(engine, acsi):
    with Session(engine, expire_on_commit=False) as session:
        survey = session.scalar(select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == "acsi-retail"))
        wave = create_wave(session, survey, WAVE)
        session.commit()
    bulk_insert_responses(engine, survey, wave, simulate_responses(acsi, 20, seed=3))
    bulk_insert_responses(engine, survey, wave, simulate_responses(acsi, 2, seed=4).iloc[:, :3], status="partial")
    return wave.id


def test_export_download_names_and_options(admin_client, chinese_wave):
    page = admin_client.get(f"/admin/waves/{chinese_wave}").get_data(as_text=True)
    assert 'name="partial" value="1"' in page and '<option value="zh-CN" lang="zh-CN">中文</option>' in page
    response = admin_client.get(f"/admin/waves/{chinese_wave}/export?format=csv&partial=1&lang=zh-CN")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert 'filename="acsi-retail-2026-wide-with-partial.csv"' in disposition
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == f"acsi-retail-{WAVE}-wide-with-partial.csv"
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert [r["status"] for r in rows].count("partial") == 2 and len(rows) == 22
    complete_only = admin_client.get(f"/admin/waves/{chinese_wave}/export?format=csv")
    assert len(list(csv.DictReader(io.StringIO(complete_only.data.decode("utf-8-sig"))))) == 20
    refused = admin_client.get(f"/admin/waves/{chinese_wave}/export?format=sav&lang=fr", follow_redirects=True)
    assert "has no language &#39;fr&#39;; its languages: en, zh-CN" in refused.get_data(as_text=True)


def test_invitation_links_csv_has_a_bom_and_an_rfc5987_name(admin_client, chinese_wave):
    token = csrf_of(admin_client.get(f"/admin/waves/{chinese_wave}").get_data(as_text=True))
    upload = "email,tier,地区\r\na@example.com,gold,北京\r\n".encode("utf-8")
    response = admin_client.post(f"/admin/waves/{chinese_wave}/invitations", content_type="multipart/form-data",
                                 data={"csrf_token": token, "file": (io.BytesIO(upload), "客户.csv")})
    assert response.status_code == 200
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0] == ["email", "tier", "地区", "link"] and rows[1][:3] == ["a@example.com", "gold", "北京"]
    disposition = response.headers["Content-Disposition"]
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == f"invitations-acsi-retail-{WAVE}.csv"
    assert 'filename="invitations-acsi-retail-2026.csv"' in disposition
