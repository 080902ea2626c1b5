"""No English sentence on the Simplified Chinese console, on the error paths too.

A company's administrator reads the console in 中文 with real data and real mistakes: invalid
questionnaires of many kinds uploaded, bad invitation lists and bad response files, jobs that
fail (no responses, an unknown wave to compare with, a file gone, no mail server), an
analysis whose segments are too small, a preview answered wrongly. Every console page so
reached is read as a reader sees it (text, labels, titles, the problems' <pre>) and every run
of three or more English words that is not data (ids, file and user names, what a customer
typed) is a leak. A new English text on any of these paths fails here; the few English runs
that are right on a Chinese page are listed in ``ALLOWED`` with the reason.
"""
from __future__ import annotations

import copy
import functools
import io
import json
import re

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

import questionnaires
from models.storage import find_wave
from models.storage import jobs as job_store
from models.storage.tables import QuestionnaireVersion
from survey_app.jobs import run_job

from .conftest import https_client
from .test_admin import accounts, csrf_of, fielded, login  # noqa: F401  (fixtures)
from .test_console_i18n import _Page

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # words do not depend on the backend

# Words a Chinese page keeps in Latin letters (technical names and statistics symbols, as a
# Chinese service team writes them); they never count towards a run.
TECHNICAL = {"CSV", "API", "SMTP", "URL", "JSON", "POST", "HMAC", "SHA", "PDF", "HTML", "Excel", "SPSS", "YAML",
             "UTF", "MICOM", "PLS", "Holm", "Webhook", "UTC", "CSI", "ACSI", "ECSI", "CCSI", "SCSB", "ID", "NUL", "CRM",
             "HTTP", "GB", "KiB", "MiB", "NPS", "AVE", "HTMT", "VIF", "MGA", "csi", "toolkit", "n", "p", "s", "x", "e",
             "g", "key", "value", "min", "max", "show_if", "true", "false", "FILE", "zh", "CN", "en"}
SKIPPED_TAGS = {"code", "script", "style", "q", "time"}  # machine text and customers' words
SHOWN_ATTRIBUTES = ("aria-label", "placeholder", "data-label", "title", "alt")
WORD = re.compile(r"[A-Za-z]+(?:['’-][A-Za-z]+)*")
TOKEN = re.compile(r"[^\s,;:()<>=|/\"“”'‘’]+")  # (a path such as pages[0].id or a {placeholder} is one token)
QUOTED = re.compile(r"(?<![A-Za-z])'[^'\n]*'(?![A-Za-z])")  # a value as the message quotes it (Python's repr)

# (pattern found in a leaking run, why it is right on a Chinese page)
ALLOWED: list[tuple[str, str]] = [
    (r"\A[a-z_]+(?:, [a-z_]+)+\Z", "a list of the names a file may use (fields, question types, export formats), "
                                   "written as the file must write them"),
    (r"ConnectionError|Connection refused|HTTPConnectionPool", "a network library's own error (redis, requests) "
                                                               "quoted after the Chinese sentence, as raised: what an "
                                                               "administrator searches for"),
    (r"\Aapt-get install chromium\Z", "a command to type"),
]


class _Texts(_Page):
    """What a reader sees: text nodes and labelling attributes, outside <code>, <q>, scripts,
    and outside an element marked with another language (the switch's "English"); a
    message's lines one by one."""
    SKIPPED = SKIPPED_TAGS
    LINES = True


def shown_texts(html: str) -> tuple[str | None, list[str]]:
    parser = _Texts()
    parser.feed(html)
    parser.close()
    return parser.lang, parser.texts


def english_runs(text: str, data: list[str]) -> list[str]:
    """Stretches of ``text`` without Chinese that hold three or more English words; data
    (``data``: longest first), quoted values ('x', as the messages quote what a file holds) and
    identifiers (a token with a digit, ``_``, ``.``, ``@``, brackets or braces) are not words."""
    for value in data:
        text = text.replace(value, " ")
    text = QUOTED.sub(" ", text)
    found = []
    for stretch in re.split(r"[^\x00-\x7f‘’“”–—…]+", text):
        words = [token for token in TOKEN.findall(stretch)
                 if WORD.fullmatch(token.strip("'’.!?…")) and token.strip("'’.!?…") not in TECHNICAL]
        if len(words) >= 3:
            found.append(stretch.strip())
    return found


def leaks(html: str, data: list[str]) -> list[str]:
    lang, texts = shown_texts(html)
    assert lang == "zh-CN"
    out = []
    for text in texts:
        for run in english_runs(text, data):
            if not any(re.search(pattern, run) for pattern, _ in ALLOWED):
                out.append(run)
    return out


# --------------------------------------------------------------------------- the scenario

@functools.cache
def _acsi() -> dict:
    return yaml.safe_load(questionnaires.path("acsi_retail").read_text(encoding="utf-8"))


def acsi_raw() -> dict:
    return copy.deepcopy(_acsi())


def dumped(raw: dict) -> bytes:
    return json.dumps(raw, ensure_ascii=False, indent=1).encode("utf-8")  # (JSON is YAML too)


def page_question(raw, page: int, question: int) -> dict:
    return raw["pages"][page]["questions"][question]


def bad_questionnaires() -> list[tuple[str, bytes]]:
    """Files a researcher might upload, each wrong in its own way (several problems in some)."""
    out = [("empty.yaml", b""), ("latin1.yaml", "id: caf\xe9\n".encode("latin-1")),
           ("syntax.yaml", b"id: x\ntitle: [unclosed\n"), ("list.yaml", b"- id: x\n"),
           ("duplicate-key.yaml", b"id: a\nid: b\n")]

    def mutated(name, change):
        raw = acsi_raw()
        change(raw)
        out.append((name, dumped(raw)))

    mutated("fields.yaml", lambda raw: (raw.pop("version"), raw.update(colour="red", size=2),
                                        page_question(raw, 0, 0).update(type="slider")))
    mutated("types.yaml", lambda raw: (raw.update(languages="en"), page_question(raw, 0, 0).update(required="yes"),
                                       raw.update(version=[1])))
    mutated("scale.yaml", lambda raw: (page_question(raw, 1, 0).update(scale="eleven"),
                                       raw["scales"]["ten_point"].update(min=10, max=1),
                                       raw["scales"]["ten_point"]["dont_know"].update(code=5)))
    mutated("ids.yaml", lambda raw: (page_question(raw, 0, 1).update(id=page_question(raw, 0, 0)["id"]),
                                     raw["pages"][1].update(id=raw["pages"][0]["id"])))
    mutated("show-if.yaml", lambda raw: (page_question(raw, 0, 0).update(show_if="nobody == 1"),
                                         page_question(raw, 0, 1).update(show_if="overall ==="),
                                         page_question(raw, 1, 0).update(show_if=f"{page_question(raw, 2, 0)['id']} > 3")))
    mutated("texts.yaml", lambda raw: (page_question(raw, 0, 0).update(text={"en": "Only English"}),
                                       page_question(raw, 0, 1).update(text={"en": "Why {nobody}?", "zh-CN": "为何{nobody}？",
                                                                             "fr": "Pourquoi ?"})))
    mutated("model.yaml", lambda raw: raw.update(model={"text": "satisfaction ~ nothing_here +"}))
    mutated("constructs.yaml", lambda raw: [q.pop("construct", None) for page in raw["pages"][:2]
                                            for q in page["questions"]])
    mutated("options.yaml", lambda raw: raw["pages"][-1]["questions"].append(
        {"id": "how_found", "type": "single_choice", "text": {"en": "How?", "zh-CN": "如何？"}, "segment": False,
         "options": [{"value": 1, "label": {"en": "A", "zh-CN": "甲"}}, {"value": 1, "label": {"en": "B", "zh-CN": "乙"}}],
         "max_selected": 2}))
    mutated("follow-up.yaml", lambda raw: raw.update(follow_up=[{"when": "nobody < 3"}]))
    mutated("quotas.yaml", lambda raw: raw.update(quotas=[{"id": "q1", "when": "region == 'north'", "limit": -1},
                                                          {"id": "q1", "when": "1 == 1", "limit": 5}]))
    mutated("email.yaml", lambda raw: raw.update(email={"invitation": {
        "subject": {"en": "Hi\nthere", "zh-CN": "您好"}, "body": {"en": "No link {nothing}", "zh-CN": "没有链接"}}}))
    mutated("hidden.yaml", lambda raw: raw.update(hidden=[{"id": "sig", "values": ["a"]}, {"id": "store", "pattern": "("},
                                                          {"id": "store", "values": ["b"]}]))
    mutated("blocks.yaml", lambda raw: raw.update(blocks=[{"id": "b", "pages": ["nowhere", raw["pages"][0]["id"]]},
                                                          {"id": "b", "pages": [raw["pages"][1]["id"]]}]))
    return out


@pytest.fixture
def zh_console(app, engine, accounts, fielded, acsi, tmp_path, monkeypatch):  # noqa: F811
    """A logged-in zh-CN administrator who has walked every error path; the pages they saw."""
    from analysis.stored import compute_analysis

    app.config.update(QUEUE_FILE=str(tmp_path / "queue.sqlite3"), QUEUE_NAME="zh-leaks", REPORT_BOOTSTRAP=60,
                      REPORT_PERMUTATIONS=40)
    monkeypatch.setenv("CSI_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("CSI_IMPORTS_DIR", str(tmp_path / "imports"))
    compute_analysis(engine, "acsi-retail", "2026Q4", n_boot=60, n_perm=40)
    compute_analysis(engine, "acsi-retail", "2026Q3", n_boot=60, n_perm=40)
    client = https_client(app)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN,zh;q=0.9"
    assert login(client).status_code == 302
    pages: dict[str, str] = {}
    data: list[str] = []
    with Session(engine) as session:
        waves = {(w.questionnaire_id, w.name): w.id for w in (find_wave(session, q, n) for q in ("acsi-retail", "ccsi-mobile")
                                                              for n in ("2026Q3", "2026Q4"))}
    acsi_q4, ccsi_q4 = waves[("acsi-retail", "2026Q4")], waves[("ccsi-mobile", "2026Q4")]

    def see(label, url):
        response = client.get(url)
        pages[label] = response.get_data(as_text=True)
        return response

    def post(label, url, form, files=None):
        token = csrf_of(client.get("/admin/").get_data(as_text=True))
        body = {"csrf_token": token, **form, **(files or {})}
        response = client.post(url, data=body, content_type="multipart/form-data" if files else None)
        location = response.headers.get("Location") if response.status_code in (302, 303) else None
        pages[label] = (client.get(location) if location else response).get_data(as_text=True)
        return response

    # Questionnaires that are refused, one upload each.
    for name, content in bad_questionnaires():
        post(f"upload {name}", "/admin/questionnaires", {}, {"file": (io.BytesIO(content), name)})
        data.append(name)
    # A new version that changes the questionnaire (the confirm page), stored.
    raw = acsi_raw()
    raw["version"] = 2
    raw["pages"][2]["questions"].append({"id": "qual_staff", "type": "rating", "scale": "ten_point",
                                         "construct": "perceived_quality", "text": {"en": "Staff?", "zh-CN": "店员？"}})
    raw["pages"][0]["questions"].pop(1)  # (categories)
    post("upload changes", "/admin/questionnaires", {}, {"file": (io.BytesIO(dumped(raw)), "acsi v2.yaml")})
    data.append("acsi v2.yaml")
    confirm = re.search(r'name="confirm" value="([0-9a-f]+)"', pages["upload changes"]).group(1)
    post("upload confirmed", "/admin/questionnaires", {"content": dumped(raw).decode("utf-8"), "filename": "acsi v2.yaml",
                                                       "confirm": confirm})
    # Invitation lists and e-mail lists that are refused.
    for name, content in (("bad.csv", b"region,region\nnorth,south\n"), ("cells.csv", b"region\nnorth,extra\n"),
                          ("latin1.csv", "region\nZ\xfcrich\n".encode("latin-1")), ("empty.csv", b""),
                          ("huge.csv", b"region\n\"" + b"x" * 140_000 + b"\"\n")):  # (a bare CR ends a line: accepted)
        post(f"invitations {name}", f"/admin/waves/{acsi_q4}/invitations", {}, {"file": (io.BytesIO(content), name)})
        data.append(name)
    for name, content in (("mail.csv", b"name\nLi\n"), ("mail2.csv", b"email\nnot-an-address\n")):
        post(f"mail list {name}", f"/admin/waves/{acsi_q4}/mail/import", {}, {"file": (io.BytesIO(content), name)})
        data.append(name)
    # Files of responses: refused at once, or failing in their job.
    post("import no file", f"/admin/waves/{acsi_q4}/import", {})
    post("import docx", f"/admin/waves/{acsi_q4}/import", {}, {"file": (io.BytesIO(b"x"), "answers.docx")})
    data += ["answers.docx"]
    bad_rows = "exp_overall,exp_reliability,region_code\n非常好,9,x\n0,Excellent,y\n12,very,z\n".encode("utf-8")
    post("import bad rows", f"/admin/waves/{acsi_q4}/import", {}, {"file": (io.BytesIO(bad_rows), "fieldwork.csv")})
    post("import skip rows", f"/admin/waves/{acsi_q4}/import", {"skip_bad_rows": "1"},
         {"file": (io.BytesIO(bad_rows), "fieldwork.csv")})
    post("import no columns", f"/admin/waves/{acsi_q4}/import", {}, {"file": (io.BytesIO(b"a,b\n1,2\n"), "fieldwork.csv")})
    post("import bad mapping", f"/admin/waves/{acsi_q4}/import", {},
         {"file": (io.BytesIO(bad_rows), "fieldwork.csv"),
          "mapping": (io.BytesIO(b"columns: [1]\ncolour: red\n"), "map.yaml")})
    data += ["fieldwork.csv", "map.yaml"]
    # Jobs that fail: no responses to analyse or report, an unknown wave to compare with, an
    # unknown kind, a file gone, no mail server; and the ones that work, with their progress.
    post("analysis empty", f"/admin/waves/{ccsi_q4}/analysis", {})  # refused at once: too few responses
    post("report empty", f"/admin/waves/{ccsi_q4}/report", {"lang": "zh-CN"})
    # The same jobs queued elsewhere (the API, a schedule) fail with the estimator's message.
    job_store.create_job(engine, "analysis", {"survey": "ccsi-mobile", "wave": "2026Q4"}, created_by="alice")
    job_store.create_job(engine, "report", {"survey": "ccsi-mobile", "wave": "2026Q4", "language": "zh-CN"},
                         created_by="alice")
    post("report compare", f"/admin/waves/{acsi_q4}/report", {"lang": "zh-CN", "compare": "1999Q1"})
    post("export ok", f"/admin/waves/{acsi_q4}/export-job", {"format": "csv"})
    post("mail send", f"/admin/waves/{acsi_q4}/mail/send", {"what": "invitations"})
    job_store.create_job(engine, "fax", {"survey": "acsi-retail"}, created_by="alice")
    job_store.create_job(engine, "export", {"survey": "acsi-retail", "wave": "2026Q4", "format": "docx"}, created_by="alice")
    job_store.create_job(engine, "import", {"survey": "acsi-retail", "wave": "2026Q4", "file": str(tmp_path / "gone.csv"),
                                            "name": "gone.csv"}, created_by="alice")
    data.append("gone.csv")
    progress: list[str] = []
    real_progress = job_store.set_progress

    def record(engine_, job_id, fraction, message):  # the real function, its messages noted
        progress.append(message)
        real_progress(engine_, job_id, fraction, message)
    monkeypatch.setattr(job_store, "set_progress", record)
    for job_id in job_store.queued_jobs(engine):
        run_job(engine, job_id, "test-worker")
    monkeypatch.undo()
    for message in dict.fromkeys(progress):  # each progress message as a running job shows it
        job_id, _ = job_store.create_job(engine, "analysis", {"survey": "acsi-retail", "wave": "2026Q4"}, created_by="alice")
        job_store.claim_job(engine, job_id, "test-worker")
        job_store.set_progress(engine, job_id, 0.5, message)
    fax = next(job.id for job in job_store.list_jobs(engine, limit=100) if job.kind == "fax")
    post("retry", f"/admin/jobs/{fax}/retry", {})
    for job in job_store.list_jobs(engine, limit=100):
        see(f"job {job.id} {job.kind} {job.status}", f"/admin/jobs/{job.id}")
    see("jobs", "/admin/jobs")
    # Exports refused, limits refused, an unknown survey or wave on the dashboard.
    see("export language", f"/admin/waves/{acsi_q4}/export?lang=fr")
    pages["export language"] = client.get("/admin/waves/%d" % acsi_q4).get_data(as_text=True)
    post("limits", f"/admin/waves/{acsi_q4}/limits", {"max_completes": "lots", "close_at": ""})
    see("dashboard unknown survey", "/admin/surveys/nobody/dashboard")
    see("dashboard unknown wave", "/admin/surveys/acsi-retail/dashboard?wave=1999Q1")
    # A webhook whose receiver does not answer.
    from models.storage import webhooks as hook_store
    from survey_app.webhooks import attempt
    with Session(engine) as session:
        hook_store.add_webhook(session, "acsi-retail", "http://127.0.0.1:9/hook", ["response.completed"])
        deliveries = hook_store.record_event(session, "acsi-retail", "response.completed", {"response_id": 1})
        session.commit()
        for delivery_id in deliveries:
            attempt(session, delivery_id, timeout=2)
    # Every other page, with these data.
    see("index", "/admin/")
    for (survey, wave), wave_id in waves.items():
        see(f"wave {survey} {wave}", f"/admin/waves/{wave_id}")
        see(f"mail {survey} {wave}", f"/admin/waves/{wave_id}/mail")
    for survey in ("acsi-retail", "ccsi-mobile"):
        see(f"dashboard {survey}", f"/admin/surveys/{survey}/dashboard")
        see(f"dashboard {survey} 2026Q3", f"/admin/surveys/{survey}/dashboard?wave=2026Q3")
    with Session(engine) as session:
        versions = session.scalars(select(QuestionnaireVersion)).all()
        version_ids = [(v.id, v.questionnaire_id) for v in versions]
    for version_id, survey in version_ids:
        see(f"preview {survey} {version_id}", f"/admin/surveys/{version_id}/preview")
        see(f"changes {survey} {version_id}", f"/admin/surveys/{version_id}/changes")
        see(f"preview page 1 {survey} {version_id}", f"/admin/surveys/{version_id}/preview/1")
    acsi_v1 = min(v for v, s in version_ids if s == "acsi-retail")
    page = client.get(f"/admin/surveys/{acsi_v1}/preview/1").get_data(as_text=True)
    response = client.post(f"/admin/surveys/{acsi_v1}/preview/1?lang=zh-CN",
                           data={"csrf_token": csrf_of(page), "nav": "next"})
    pages["preview unanswered"] = response.get_data(as_text=True)
    for label, url in (("follow-up", "/admin/follow-up?status=all"), ("webhooks", "/admin/webhooks"),
                       ("users", "/admin/users"), ("missing", "/admin/waves/987654")):
        see(label, url)
    with Session(engine) as session:
        names = list(session.scalars(select(QuestionnaireVersion.questionnaire_id)))
    data += names + ["alice", "victor", "test-worker"]
    data += [q.id for q in acsi.questions]
    return {"pages": pages, "data": sorted(set(data), key=len, reverse=True), "progress": progress}


def test_no_english_sentence_on_the_chinese_console(zh_console):
    pages = zh_console["pages"]
    found = {label: list(dict.fromkeys(runs)) for label, html in pages.items() if (runs := leaks(html, zh_console["data"]))}
    assert found == {}, "English on the zh-CN console (translate it, or add it to ALLOWED with the reason):\n" + \
        "\n".join(f"{label}: {runs}" for label, runs in found.items())
    # The error paths were really walked: each page shows its error, in Chinese.
    shown = {label: " ".join(shown_texts(html)[1]) for label, html in pages.items()}
    expected = {
        "upload syntax.yaml": "YAML 语法错误", "upload fields.yaml": "未知字段 'colour', 'size'",
        "upload show-if.yaml": "show_if：意外的字符 '='（第 11 个字符处）", "upload model.yaml": "两个 '+' 之间没有内容",
        "upload email.yaml": "正文中没有 {opt_out_link}", "upload blocks.yaml": "至少需要 2 项",
        "upload changes": "保存这个新版本吗？", "invitations huge.csv": "单元格内容超过长度上限（131072 个字符）",
        "mail list mail2.csv": "mail2.csv，第 2 行，email：'not-an-address' 不是有效的电子邮箱地址", "import no file": "请选择要导入的文件",
        "import docx": "answers.docx：无法导入 .docx 文件", "export language": "问卷 'acsi-retail' 没有语言 'fr'",
        "dashboard unknown wave": "问卷 'acsi-retail' 没有波次 '1999Q1'；现有波次：2026Q3, 2026Q4",
        "dashboard acsi-retail": "（< 100），估计不稳定，检验效力低，解读需谨慎",
        "jobs": "未导入任何答卷：发现 3 个问题",
    }
    assert {label: text for label, text in expected.items() if text not in shown[label]} == {}
    jobs = shown["jobs"]
    for text in ("波次 '2026Q4' 只有 0 份完整答卷", "无法与波次 '1999Q1' 对比", "未配置 SMTP 服务器",
                 "导出格式 'docx' / 布局 'wide'", "上传的文件 gone.csv 已不存在", "fieldwork.csv:4: exp_reliability: 'very' 不是评分",
                 "fieldwork.csv：读取 3 行（UTF-8），导入 1 份答卷，跳过 2 个错误行", "map.yaml:2: colour: 未知字段 'colour'",
                 "已重新排队", "导入答卷"):
        assert text in jobs, text
    assert "/tmp" not in jobs  # an uploaded mapping is named as uploaded, never by the server's path
    assert {"checking every row", "reading the responses"} <= set(zh_console["progress"])  # each shown on a running job
