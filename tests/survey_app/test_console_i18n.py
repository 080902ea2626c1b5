"""The console's language: the table's rules (complete, no duplicates, same placeholders), the
header switch (a cookie that survives login), Accept-Language, and <html lang>."""
from html.parser import HTMLParser

import pytest

import survey_app.admin  # noqa: F401  (registers the console's texts)
from survey_app import console_i18n
from survey_app.console_i18n import register_strings, strings

from .test_admin import PASSWORD, accounts, csrf_of, fielded, login  # noqa: F401  (fixtures)
from .conftest import https_client


class _Lang(HTMLParser):
    def __init__(self):
        super().__init__()
        self.lang = None

    def handle_starttag(self, tag, attrs):
        if tag == "html":
            self.lang = dict(attrs).get("lang")


def html_lang(page: str) -> str | None:
    parser = _Lang()
    parser.feed(page)
    return parser.lang


@pytest.fixture
def scratch_table(monkeypatch):
    """A private copy of the table, so refused or test registrations never leak into other tests."""
    monkeypatch.setattr(console_i18n, "_STRINGS", {k: dict(v) for k, v in console_i18n._STRINGS.items()})


def test_registration_refuses_duplicates_gaps_and_placeholder_drift(scratch_table):
    register_strings({"en": {"t_hello": "Hello {name}"}, "zh-CN": {"t_hello": "你好 {name}"}})
    assert console_i18n.translate("zh-CN", "t_hello", name="王") == "你好 王"
    with pytest.raises(ValueError, match="already registered: t_hello"):
        register_strings({"en": {"t_hello": "Hi"}, "zh-CN": {"t_hello": "嗨"}})
    with pytest.raises(ValueError, match="missing in zh-CN: t_only_en"):
        register_strings({"en": {"t_only_en": "x"}, "zh-CN": {}})
    with pytest.raises(ValueError, match=r"t_count: zh-CN placeholders \[\] differ from en \['n'\]"):
        register_strings({"en": {"t_count": "{n} items"}, "zh-CN": {"t_count": "若干项"}})
    with pytest.raises(ValueError, match="unknown language"):
        register_strings({"en": {"t_fr": "x"}, "zh-CN": {"t_fr": "x"}, "fr": {"t_fr": "x"}})
    # Nothing of a refused table was kept.
    assert {"t_only_en", "t_count", "t_fr"}.isdisjoint(console_i18n.registered_keys())


def test_every_key_in_both_languages():
    assert set(strings("en")) == set(strings("zh-CN")) and strings("en")
    # (only the gap between sentences is empty in Chinese)
    assert [key for key, text in strings("zh-CN").items() if not text.strip()] == ["space"]


@pytest.mark.parametrize("header, expected", [("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"), ("zh", "zh-CN"),
                                              ("zh-TW", "zh-CN"), ("en-US,en;q=0.9", "en"), ("fr", "en"),
                                              ("de, zh;q=0.5", "zh-CN"), ("", "en")])
def test_accept_language_picks_the_login_page_language(app, header, expected):
    client = https_client(app)
    page = client.get("/admin/login", headers={"Accept-Language": header} if header else {})
    assert html_lang(page.get_data(as_text=True)) == expected


def test_switch_is_remembered_across_login_and_overrides_the_browser(app, accounts):  # noqa: F811
    client = https_client(app)
    page = client.get("/admin/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    switched = client.post("/admin/language", data={"csrf_token": csrf_of(page), "lang": "zh-CN",
                                                    "next": "/admin/login"})
    assert switched.status_code == 302 and switched.headers["Location"].endswith("/admin/login")
    cookie = client.get_cookie(console_i18n.COOKIE, path="/admin")
    assert cookie.value == "zh-CN" and cookie.http_only and cookie.secure
    assert html_lang(client.get("/admin/login", headers={"Accept-Language": "en"}).get_data(as_text=True)) == "zh-CN"
    assert login(client).status_code == 302  # login clears the session, not the language
    index = client.get("/admin/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert html_lang(index) == "zh-CN" and "退出登录（alice）" in index
    back = client.post("/admin/language", data={"csrf_token": csrf_of(index), "lang": "en", "next": "/admin/jobs"})
    assert back.headers["Location"].endswith("/admin/jobs")
    assert html_lang(client.get("/admin/jobs").get_data(as_text=True)) == "en"


def test_switch_refuses_unknown_languages_and_foreign_targets(app, accounts):  # noqa: F811
    client = https_client(app)
    token = csrf_of(client.get("/admin/login").get_data(as_text=True))
    assert client.post("/admin/language", data={"csrf_token": token, "lang": "fr"}).status_code == 400
    away = client.post("/admin/language", data={"csrf_token": token, "lang": "zh-CN", "next": "https://evil.example/"})
    assert away.status_code == 302 and away.headers["Location"].endswith("/admin/")
    assert client.post("/admin/language", data={"lang": "zh-CN"}).status_code == 400  # no CSRF token


# ---------------------------------------------------------------------------------------------
# Every console page in both languages, read with an HTML parser.

# Words a Chinese page keeps in Latin letters: technical names a Chinese service team says as
# they are, units and statistics symbols. Everything else in Latin letters on a zh-CN page must
# be data (ids, wave and user names), collected from the fixture below.
TECHNICAL = {"CSV", "API", "SMTP", "URL", "JSON", "POST", "HMAC", "SHA", "PDF", "HTML", "Excel", "SPSS", "YAML",
             "UTF", "MICOM", "Holm", "bootstrap", "Webhook", "csi", "toolkit", "UTC", "CSI", "MAIL", "SENDER", "ID", "NUL",
             "CRM", "n", "p", "v", "s", "attr", "docs", "exports", "md", "zh", "CN", "en",
             "email", "region", "tier", "channel"}  # (the last: CSV column names, typed as they are)
SKIPPED_TAGS = {"code", "pre", "q", "time", "script", "style", "title"}  # data and machine text, not the interface
SHOWN_ATTRIBUTES = ("aria-label", "placeholder", "data-label", "title", "alt")


class _Page(HTMLParser):
    """The text a reader sees (text nodes and labelling attributes) outside <code>/<pre>, and not
    inside an element marked with another language (the switch's "English" button).
    ``SKIPPED``: elements whose text is not the interface's; ``LINES``: a text node's lines
    kept apart (one reading each)."""
    SKIPPED = SKIPPED_TAGS
    LINES = False
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.lang = None
        self.stack: list[tuple[str, bool]] = []  # (tag, skipped)
        self.texts: list[str] = []

    def _skipped(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.lang = attrs.get("lang")
        foreign = attrs.get("lang") not in (None, self.lang)
        skipped = self._skipped() or tag in self.SKIPPED or foreign
        if not skipped:
            self.texts += [attrs[name] for name in SHOWN_ATTRIBUTES if attrs.get(name)]
            if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
                self.texts.append(attrs["value"])
        if tag not in self.VOID:
            self.stack.append((tag, skipped))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if data.strip() and not self._skipped():
            if self.LINES:
                self.texts.extend(line.strip() for line in data.splitlines() if line.strip())
            else:
                self.texts.append(data.strip())


def read_page(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def latin_words(text: str) -> set[str]:
    words, current = set(), []
    for char in text + " ":
        if char.isascii() and char.isalpha():
            current.append(char)
        elif current:
            words.add("".join(current))
            current = []
    return words


def has_cjk(text: str) -> bool:
    return any("\u3400" <= char <= "\u9fff" or "\uff00" <= char <= "\uffef" or "\u3000" <= char <= "\u303f"
               for char in text)


@pytest.fixture
def console_data(app, engine, accounts, fielded, acsi):  # noqa: F811
    """Every kind of row a console page lists: waves with responses and a stored analysis, a
    follow-up case with history, jobs (queued, failed, done), a webhook with a delivery, tokens."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from analysis.stored import compute_analysis
    from models.storage import find_wave
    from models.storage import jobs as job_store
    from models.storage import webhooks as hook_store
    from models.storage.follow_up import update_follow_up
    from models.storage.tables import AdminUser, Response

    from .test_follow_up import answer_and_leave_contact

    compute_analysis(engine, "acsi-retail", "2026Q4", n_boot=100, n_perm=60)
    answer_and_leave_contact(app, acsi, 2, name="Wang Fang", extra={"categories": ["home"]})
    with Session(engine) as session:
        case = session.scalar(select(Response.id).where(Response.follow_up.is_(True)))
        alice = session.scalar(select(AdminUser).where(AdminUser.username == "alice"))
        update_follow_up(session, case, alice, status="called", note="Voicemail; call again.", assignee="alice")
        update_follow_up(session, case, alice, status="resolved", outcome="problem_solved")
        hook_store.add_webhook(session, "acsi-retail", "https://crm.example.com/hooks/csi", ["response.completed"])
        hook_store.record_event(session, "acsi-retail", "response.completed", {"response_id": case})
        wave = find_wave(session, "acsi-retail", "2026Q4")
        session.commit()
        wave_id = wave.id
    queued, _ = job_store.create_job(engine, "report", {"survey": "acsi-retail", "wave": "2026Q4", "language": "zh-CN",
                                                        "compare": "2026Q3"}, created_by="alice")
    failed, _ = job_store.create_job(engine, "export", {"survey": "acsi-retail", "wave": "2026Q4"}, created_by="alice")
    job_store.claim_job(engine, failed, "test-worker")
    job_store.fail_job(engine, failed, "ExportError: disk full")
    done, _ = job_store.create_job(engine, "analysis", {"survey": "acsi-retail", "wave": "2026Q3"}, created_by="alice")
    job_store.claim_job(engine, done, "test-worker")
    job_store.finish_job(engine, done, {"n": 300, "seconds": 4.2})
    data_words = {"acsi", "retail", "Q", "alice", "victor", "tests", "Wang", "Fang", "Voicemail", "call", "again",
                  "disk", "full", "ExportError", "home", "response", "completed", "https", "crm", "example", "com",
                  "hooks", "gold", "Fine", "thanks"}  # (a tier in the filter's example; a typed answer)
    data_words |= {word for event in hook_store.EVENTS for word in latin_words(event)}  # identifiers a receiver matches
    from models.storage.tables import QuestionnaireVersion, Wave
    with Session(engine) as session:
        names = list(session.scalars(select(QuestionnaireVersion.questionnaire_id))) + list(session.scalars(select(Wave.name)))
    data_words |= {word for name in names for word in latin_words(name)}
    data_words |= {word for question in acsi.questions for word in latin_words(question.id)}
    data_words |= {word for question in acsi.questions for option in question.options
                   for word in latin_words(str(option.value))}
    return {"wave": wave_id, "case": case, "jobs": (queued, failed, done), "data_words": data_words}


def console_pages(data) -> list[str]:
    queued, failed, done = data["jobs"]
    return ["/admin/", f"/admin/waves/{data['wave']}", f"/admin/waves/{data['wave']}/mail", "/admin/jobs",
            f"/admin/jobs/{queued}", f"/admin/jobs/{failed}", f"/admin/jobs/{done}", "/admin/follow-up?status=all",
            f"/admin/follow-up/{data['case']}", "/admin/webhooks", "/admin/users", "/admin/waves/987654"]


def untranslated(html: str, allowed: set[str]) -> list[str]:
    """Texts of a zh-CN page with Latin words that are neither technical names nor data."""
    page = read_page(html)
    assert page.lang == "zh-CN"
    return [text for text in page.texts if latin_words(text) - allowed - TECHNICAL]


def english_leaks(html: str) -> list[str]:
    page = read_page(html)
    assert page.lang == "en"
    return [text for text in page.texts if has_cjk(text)]


def test_every_console_page_in_both_languages(app, console_data):
    allowed = console_data["data_words"]
    chinese = https_client(app)
    chinese.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN,zh;q=0.9,en;q=0.8"
    login_page = chinese.get("/admin/login").get_data(as_text=True)
    assert untranslated(login_page, allowed) == []
    assert login(chinese).status_code == 302
    english = https_client(app)
    english.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"  # the switch wins over the browser
    token = csrf_of(english.get("/admin/login").get_data(as_text=True))
    english.post("/admin/language", data={"csrf_token": token, "lang": "en", "next": "/admin/login"})
    assert login(english).status_code == 302
    problems = {}
    for url in console_pages(console_data):
        zh, en = chinese.get(url), english.get(url)
        assert zh.status_code == en.status_code and zh.status_code in (200, 404), (url, zh.status_code)
        found = untranslated(zh.get_data(as_text=True), allowed) + english_leaks(en.get_data(as_text=True))
        if found:
            problems[url] = found
    assert problems == {}
    # The pages really hold what they were given (else an empty page would pass).
    wave = read_page(chinese.get(f"/admin/waves/{console_data['wave']}").get_data(as_text=True)).texts
    assert "感知质量" in wave and "重新计算分析" in wave and "各题作答情况" in wave
    case = read_page(chinese.get(f"/admin/follow-up/{console_data['case']}").get_data(as_text=True)).texts
    assert "问题已解决" in " ".join(case) and "不满意顾客" in " ".join(case)
    jobs = " ".join(read_page(chinese.get("/admin/jobs").get_data(as_text=True)).texts)
    assert "排队中" in jobs and "失败" in jobs and "已完成" in jobs and "重试" in jobs
    missing = read_page(chinese.get("/admin/waves/987654").get_data(as_text=True)).texts
    assert "页面不存在" in missing


def test_flash_messages_and_form_errors_in_chinese(app, console_data):
    client = https_client(app)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    refused = client.post("/admin/login", data={"csrf_token": csrf_of(client.get("/admin/login").get_data(as_text=True)),
                                                "username": "alice", "password": "wrong password!"})
    assert refused.status_code == 401 and "用户名或密码错误。" in read_page(refused.get_data(as_text=True)).texts
    assert login(client).status_code == 302
    token = csrf_of(client.get("/admin/").get_data(as_text=True))
    wave = console_data["wave"]
    actions = [("/admin/waves", {"questionnaire_id": "acsi-retail", "name": "bad name!"}, "波次名称须为"),
               ("/admin/waves", {"questionnaire_id": "acsi-retail", "name": "2027Q1"}, "已创建 acsi-retail 的波次 2027Q1"),
               (f"/admin/waves/{wave}/state", {"action": "close"}, "波次 2026Q4 已关闭。"),
               (f"/admin/waves/{wave}/mail/reminders", {"automatic": "yes", "max": "99", "after_days": "3"}, "提醒：每位受邀人"),
               (f"/admin/waves/{wave}/mail/send", {"what": "invitations"}, "波次已关闭"),
               (f"/admin/waves/{wave}/invitations", {}, "请选择带表头行的受访者 CSV"),
               ("/admin/questionnaires", {}, "请选择要上传的问卷文件"),
               ("/admin/tokens", {"username": "alice", "name": "x", "days": "soon"}, "有效天数：1 到 3650 之间的整数。"),
               ("/admin/users/1/unlock", {}, "已清除 alice 的登录失败记录。"),
               ("/admin/users", {"username": "fred", "role": "viewer", "password": "short"}, "密码太短：至少 10 个字符")]
    for url, form, expected in actions:
        page = client.post(url, data={"csrf_token": token, **form}, follow_redirects=True)
        shown = " ".join(read_page(page.get_data(as_text=True)).texts)
        assert expected in shown, (url, shown[:300])
        assert untranslated(page.get_data(as_text=True), console_data["data_words"] | {"bad", "name"}) == [], url
    filtered = client.get("/admin/follow-up?older_than_hours=soon", follow_redirects=True).get_data(as_text=True)
    assert "older_than_hours 必须是数字，而不是 'soon'" in " ".join(read_page(filtered).texts)


def _template_keys() -> dict[str, set[str]]:
    """Keys of ct("...") calls in every console template, found by Jinja's own parser."""
    from pathlib import Path

    from jinja2 import Environment, nodes

    import survey_app

    folder = Path(survey_app.__file__).parent / "templates" / "admin"
    keys = {}
    for path in sorted(folder.glob("*.html")):
        tree = Environment().parse(path.read_text(encoding="utf-8"))
        found = set()
        for call in tree.find_all(nodes.Call):
            if isinstance(call.node, nodes.Name) and call.node.name == "ct" and call.args:
                argument = call.args[0]
                options = [argument.expr1, argument.expr2] if isinstance(argument, nodes.CondExpr) else [argument]
                assert all(isinstance(o, nodes.Const) for o in options), f"{path.name}: ct() with a computed key"
                found |= {o.value for o in options}
        keys[path.name] = found
    return keys


def test_every_template_key_exists_and_every_key_is_used():
    import ast
    from pathlib import Path

    import survey_app

    keys = _template_keys()
    assert all(keys.values()), keys  # every console template speaks through the table
    used = set().union(*keys.values())
    assert used - set(strings("en")) == set(), "keys used in templates but not registered"
    # Python code (flash messages, form errors) uses keys as string constants.
    folder = Path(survey_app.__file__).parent
    constants = {node.value for path in folder.glob("*.py") for node in ast.walk(ast.parse(path.read_text()))
                 if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    plain = {key for key in strings("en") if "." not in key}  # "group.value" keys are reached through cv()
    assert plain - used - constants == set(), "registered keys nobody uses"
    # Texts that are the same in both languages are technical names, not forgotten translations.
    same = {key for key in strings("en") if strings("en")[key] == strings("zh-CN")[key]}
    assert same <= {"title_suffix", "th_webhook"}, same


def test_storage_refusals_in_chinese(app, engine, acsi):
    """Every template of survey_app.console_errors matches a message the model really raises
    (raised here, not copied), and the console shows it in Chinese with its values."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from models.storage import StorageError
    from models.storage import accounts as acc
    from models.storage import create_wave
    from models.storage import follow_up as fu
    from models.storage import invitations as mail
    from models.storage import webhooks as hooks
    from models.storage.tables import AdminUser, Response, QuestionnaireVersion
    import csv

    from models.errors import CSIError
    from models.exports import export_wave
    from models.storage import find_wave
    from models.storage import jobs as job_store
    from models.storage.dashboard import survey_dashboard
    from survey_app.console_errors import _STORAGE, ERRORS_ZH, translate_error

    from .test_follow_up import answer_and_leave_contact

    answer_and_leave_contact(app, acsi, 2, name="Li Lei")
    good = "correct horse battery"
    messages = []

    def refused(action):
        with pytest.raises(CSIError) as caught:  # StorageError, and the export's ExportError
            action()
        messages.append(str(caught.value))
    with Session(engine) as session:

        acc.create_admin(session, "dora", good, "admin")
        acc.create_admin(session, "ed", good, "viewer")
        token = acc.create_api_token(session, "dora", "bi", 30)
        refused(lambda: acc.create_admin(session, "x", good, "admin"))
        refused(lambda: acc.create_admin(session, "fred", good, "owner"))
        refused(lambda: acc.create_admin(session, "fred", "short", "admin"))
        refused(lambda: acc.create_admin(session, "dora", good, "admin"))
        refused(lambda: acc.set_password(session, "nobody", good))
        refused(lambda: acc.create_api_token(session, "dora", "bi", 0))
        refused(lambda: acc.create_api_token(session, "dora", " ", 30))
        refused(lambda: acc.create_api_token(session, "dora", "a\tb", 30))
        refused(lambda: acc.revoke_api_token(session, 987654))
        token_id = next(t.id for t, owner in acc.list_api_tokens(session) if owner.username == "dora")
        acc.revoke_api_token(session, token_id)
        refused(lambda: acc.revoke_api_token(session, token_id))
        acc.disable_user(session, "ed")
        refused(lambda: acc.disable_user(session, "ed"))
        refused(lambda: acc.create_api_token(session, "ed", "bi", 30))
        refused(lambda: fu.QueueFilter(status="later").checked())
        refused(lambda: fu.QueueFilter(order="random").checked())
        refused(lambda: fu.QueueFilter(segment="gold").checked())
        refused(lambda: fu.QueueFilter(page=0).checked())
        dora = session.scalar(select(AdminUser).where(AdminUser.username == "dora"))
        case = session.scalar(select(Response.id).where(Response.follow_up.is_(True)))
        refused(lambda: fu.update_follow_up(session, 987654, dora, status="called"))
        refused(lambda: fu.update_follow_up(session, case, dora, status="later"))
        refused(lambda: fu.update_follow_up(session, case, dora, outcome="happy"))
        refused(lambda: fu.update_follow_up(session, case, dora, status="resolved"))
        refused(lambda: fu.update_follow_up(session, case, dora, note="x" * (fu.MAX_NOTE + 1)))
        refused(lambda: fu.update_follow_up(session, case, dora, assignee="zoe"))
        session.rollback()
        refused(lambda: hooks.check_url("ftp://crm.example.com/"))
        refused(lambda: hooks.check_url("https://user:secret@crm.example.com/"))
        refused(lambda: hooks.check_url("https://crm.example.com/a b"))
        refused(lambda: hooks.check_events(["response.deleted"]))
        refused(lambda: hooks.check_events([]))
        survey = session.scalar(select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == "acsi-retail"))
        refused(lambda: create_wave(session, survey, "2026Q4"))
        session.rollback()
        refused(lambda: mail.read_invitation_csv(b"email\n\xff\n", "list.csv"))
        refused(lambda: mail.read_invitation_csv(b"email\na\x00b\n", "list.csv"))
        refused(lambda: mail.read_invitation_csv(b"name\nLi\n", "list.csv"))
        refused(lambda: mail.read_invitation_csv(b"email\na@example.com,extra\n", "list.csv"))
        refused(lambda: mail.read_invitation_csv(b"x" * (mail.MAX_LIST_BYTES + 1), "list.csv"))
        refused(lambda: mail.read_invitation_csv(b'email\n"' + b"x" * 140_000 + b'"\n', "list.csv"))
        wave = find_wave(session, "acsi-retail", "2026Q4")
        rows = [{"email": ""}, {"email": "not-an-address"}, {"email": "li@example.com"}, {"email": "LI@example.com"},
                {"email": "wang@example.com", "language": "fr"}] + [{"email": f"bad{k}"} for k in range(50)]
        refused(lambda: mail.import_email_invitations(session, wave, rows, "secret", languages=("en", "zh-CN"),
                                                      default_language="en", source="list.csv"))
        refused(lambda: mail.import_email_invitations(session, wave, [], "secret", languages=("en",),
                                                      default_language="en", source="list.csv"))
        refused(lambda: find_wave(session, "acsi-retail", "1999Q1"))
        refused(lambda: find_wave(session, "nobody", "1999Q1"))
        refused(lambda: survey_dashboard(session, "nobody", None, code_version="x", default_sla_hours=48))
        refused(lambda: hooks.get_webhook(session, 987654))
        refused(lambda: hooks.add_webhook(session, "acsi-retail", "https://crm.example.com/", ["response.completed"],
                                          secret="short"))
        refused(lambda: export_wave(engine, acsi, "2026Q4", "csv", "wide", language="fr"))
    queued, _ = job_store.create_job(engine, "report", {"survey": "acsi-retail", "wave": "2026Q4"})
    refused(lambda: job_store.retry_job(engine, 987654))
    refused(lambda: job_store.retry_job(engine, queued))
    # Python's csv module on a bare carriage return, as the console reads an invitation list (line by line).
    with pytest.raises(csv.Error) as caught:
        list(csv.DictReader(iter(["region\n", "north\rsouth\n"])))
    messages.append(f"list.csv:2: {caught.value}")
    assert token  # (the token made above was real)
    def first_template(text):
        return next((english for (pattern, _), english in zip(_STORAGE.entries, _STORAGE.pairs) if pattern.match(text)),
                    None)

    matched = set()
    for message in messages:
        chinese = translate_error(message, "zh-CN")
        assert chinese != message and has_cjk(chinese), message
        assert not [line for line in chinese.splitlines() if not has_cjk(line)], chinese  # every line
        assert translate_error(message, "en") == message
        for line in message.splitlines():  # the template that wrote it: on the whole line, else after a FILE:LINE:
            parts = [line] + [line[cut + 2:] for cut in range(len(line)) if line.startswith(": ", cut)]
            matched.add(next(t for t in map(first_template, parts) if t is not None))
    assert matched == set(ERRORS_ZH), set(ERRORS_ZH) - matched  # no template is dead
    assert translate_error("the disk is full", "zh-CN") == "the disk is full"  # unknown: shown as it is
    assert translate_error("password too short: at least 10 characters", "zh-CN") == "密码太短：至少 10 个字符"
