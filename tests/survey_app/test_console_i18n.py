"""The console's language: the table's rules (complete, no duplicates, same placeholders), the
header switch (a cookie that survives login), Accept-Language, and <html lang>."""
from html.parser import HTMLParser

import pytest

import survey_app.admin  # noqa: F401  (registers the console's texts)
from survey_app import console_i18n
from survey_app.console_i18n import register_strings, strings

from .test_admin import PASSWORD, accounts, csrf_of, login  # noqa: F401  (fixtures)
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
    assert all(text.strip() for text in strings("zh-CN").values())


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
    assert html_lang(index) == "zh-CN" and "退出 alice" in index
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
