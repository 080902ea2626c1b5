"""E-mail invitations and reminders against a real SMTP server on loopback (aiosmtpd): every
message arrives, its link opens the survey and completes it, reminders reach only those who
have not completed, an opted-out address gets nothing more, a 550 refusal is a bounce."""
from __future__ import annotations

import email
import re
import socket
from email import policy
from urllib.parse import urlparse

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

import questionnaires
from models import load_questionnaire
from models.storage import create_wave, find_wave, register_questionnaire
from models.storage.tables import Invitation
from survey_app.state import state_of

from .conftest import Respondent, https_client

SECRET = "test-secret-" + "x" * 40


class Mailbox:
    """An aiosmtpd handler that keeps every accepted message and refuses scripted recipients:
    ``bounce@`` with 550 always, ``later@`` with 451 the first time."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.refused_once: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("bounce@"):
            return "550 5.1.1 No such user"
        if address.startswith("later@") and address not in self.refused_once:
            self.refused_once.add(address)
            return "451 4.7.1 Greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    mailbox.url = f"smtp://127.0.0.1:{port}"
    yield mailbox
    controller.stop()


@pytest.fixture
def mail_app(database_url, smtp, monkeypatch):
    from survey_app import create_app

    settings = {"CSI_SECRET_KEY": SECRET, "CSI_SMTP_URL": smtp.url, "CSI_MAIL_SENDER": "survey@shop.example",
                "CSI_MAIL_REPLY_TO": "service@shop.example", "CSI_MAIL_RATE": "0", "CSI_BASE_URL": "https://survey.example",
                "CSI_DATABASE_URL": database_url}
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    app = create_app({"DATABASE_URL": database_url, "AUTO_MIGRATE": True, "TESTING": True,
                      "PROPAGATE_EXCEPTIONS": False})
    with Session(state_of(app).engine) as session:
        survey = register_questionnaire(session, load_questionnaire(questionnaires.path("acsi_retail")))
        create_wave(session, survey, "2026Q4")
        session.commit()
    yield app
    state_of(app).engine.dispose()


def csi(*args: str):
    from survey_app.cli import main

    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result


def invitation_list(tmp_path, rows: str):
    path = tmp_path / "people.csv"
    path.write_text("email,language,name,tier\n" + rows, encoding="utf-8")
    return str(path)


def link_in(message, kind: str = "i") -> str:
    body = message.get_body(("plain",)).get_content()
    return re.search(rf"https://survey\.example/{kind}/[A-Za-z0-9_-]+", body).group(0)


def path_of(url: str) -> str:
    return urlparse(url).path


WAVE = ("--survey", "acsi-retail", "--wave", "2026Q4")


def test_invite_answer_remind_opt_out_bounce(mail_app, smtp, tmp_path, acsi):
    people = invitation_list(tmp_path, "ann@example.com,en,Ann,gold\nli@example.com,zh-CN,李雷,basic\n"
                                       "bob@example.com,,Bob,gold\nbounce@example.com,en,,basic\n"
                                       "later@example.com,en,,basic\n")
    result = csi("invitations", "import", *WAVE, people)
    assert result.exit_code == 0, result.output
    assert "5 invitations queued" in result.output
    # Importing the same list again invites nobody twice.
    again = csi("invitations", "import", *WAVE, people)
    assert "0 invitations queued" in again.output and "5 already invited" in again.output

    sent = csi("invitations", "send", *WAVE)
    assert sent.exit_code == 0, sent.output
    assert "3 sent, 1 bounced, 1 deferred" in sent.output
    assert {m["To"] for m in smtp.messages} == {"ann@example.com", "li@example.com", "bob@example.com"}

    # Each message: language, headers, both parts, a personal link and an opt-out link.
    ann, li = smtp.to("ann@example.com")[0], smtp.to("li@example.com")[0]
    assert ann["Subject"] == "Your experience shopping with us: a five-minute survey"
    assert "五分钟问卷" in li["Subject"] and "李雷您好" in li.get_body(("plain",)).get_content()
    assert ann["Reply-To"] == "service@shop.example"
    assert ann["List-Unsubscribe"].strip() == f"<{link_in(ann, 'o')}>"  # unfolded
    assert ann["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link_in(ann) in ann.get_body(("html",)).get_content()
    assert link_in(ann) != link_in(li)

    # The greylisted address goes out on the next send; a bounced one never again.
    retry = csi("invitations", "send", *WAVE)
    assert "1 sent, 0 bounced, 0 deferred" in retry.output
    assert len(smtp.to("later@example.com")) == 1 and not smtp.to("bounce@example.com")

    # Ann completes the survey through her link.
    respondent = Respondent(https_client(mail_app), acsi)
    intro = respondent.get(path_of(link_in(ann)))
    assert intro.status == 200 and intro.csrf
    first = respondent.post("/s/acsi-retail/2026Q4/start", {"csrf_token": intro.csrf})
    done = respondent.finish(first)
    assert "/done" in done.url
    # Bob opens the link but does not finish; li opts out with a one-click POST (no cookie, no token).
    https_client(mail_app).get(path_of(link_in(smtp.to("bob@example.com")[0])))
    one_click = https_client(mail_app).post(path_of(link_in(li, "o")), data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200 and "不会再收到" in one_click.get_data(as_text=True)

    status = csi("invitations", "status", *WAVE, "--csv", str(tmp_path / "status.csv"))
    assert status.exit_code == 0, status.output
    rows = {row.split(",")[0]: row for row in (tmp_path / "status.csv").read_text(encoding="utf-8-sig").splitlines()[1:]}
    by_email = {row.split(",")[1]: row.split(",")[3] for row in rows.values()}
    assert by_email == {"ann@example.com": "completed", "li@example.com": "opted out", "bob@example.com": "opened",
                        "bounce@example.com": "bounced", "later@example.com": "sent"}

    # Reminders: due only after the interval; then only Bob and later@ (not Ann: completed; not
    # li: opted out; not bounce@), and at most --max times.
    before = len(smtp.messages)
    early = csi("invitations", "remind", *WAVE, "--after-days", "1")
    assert "0 sent" in early.output and len(smtp.messages) == before
    for _ in range(3):
        reminded = csi("invitations", "remind", *WAVE, "--after-days", "0", "--max", "2")
        assert reminded.exit_code == 0, reminded.output
    reminders = smtp.messages[before:]
    assert sorted(m["To"] for m in reminders) == ["bob@example.com", "bob@example.com",
                                                  "later@example.com", "later@example.com"]
    assert all(m["Subject"].startswith("Reminder:") for m in reminders)
    # A reminder carries the same personal link as the invitation.
    assert link_in(reminders[0]) == link_in(smtp.to(reminders[0]["To"])[0])

    with Session(state_of(mail_app).engine) as session:
        bounced = session.scalar(select(Invitation).where(Invitation.email == "bounce@example.com"))
        assert bounced.mail_status == "bounced" and bounced.bounce_message.startswith("550")


def test_opted_out_address_is_not_invited_to_later_waves(mail_app, smtp, tmp_path):
    people = invitation_list(tmp_path, "ann@example.com,en,Ann,gold\n")
    assert csi("invitations", "import", *WAVE, people).exit_code == 0
    assert csi("invitations", "send", *WAVE).exit_code == 0
    opt_out_path = path_of(link_in(smtp.messages[0], "o"))
    page = https_client(mail_app).get(opt_out_path)
    assert page.status_code == 200 and "Stop these e-mails" in page.get_data(as_text=True)
    assert https_client(mail_app).post(opt_out_path).status_code == 200
    with Session(state_of(mail_app).engine) as session:
        create_wave(session, find_wave(session, "acsi-retail", "2026Q4").questionnaire_version, "2027Q1")
        session.commit()
    later = ("--survey", "acsi-retail", "--wave", "2027Q1")
    assert csi("invitations", "import", *later, people).exit_code == 0
    result = csi("invitations", "send", *later)
    assert "0 sent" in result.output and len(smtp.messages) == 1


@pytest.mark.parametrize("rows, message", [
    ("not-an-address,en,,\n", "people.csv:3: email: 'not-an-address' is not a valid e-mail address"),
    ("a@example.com,fr,,\n", "people.csv:3: language: 'fr' is not one of the questionnaire's languages"),
    ("a@example.com,en,,\nA@example.com,en,,\n", "people.csv:4: email: A@example.com is also on row 3"),
    (",en,,\n", "people.csv:3: email: empty"),
])
def test_bad_lists_are_refused_whole_with_the_row(mail_app, tmp_path, rows, message):
    result = csi("invitations", "import", *WAVE, invitation_list(tmp_path, "ok@example.com,en,,\n" + rows))
    assert result.exit_code == 1
    assert message in result.output
    with Session(state_of(mail_app).engine) as session:
        assert session.scalar(select(Invitation.id)) is None  # nothing stored


def test_send_without_smtp_settings_says_what_to_set(mail_app, tmp_path, monkeypatch):
    monkeypatch.delenv("CSI_SMTP_URL")
    assert csi("invitations", "import", *WAVE, invitation_list(tmp_path, "a@example.com,en,,\n")).exit_code == 0
    result = csi("invitations", "send", *WAVE)
    assert result.exit_code == 1 and "set CSI_SMTP_URL" in result.output


def test_unreachable_smtp_server_is_one_line(mail_app, tmp_path, monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    monkeypatch.setenv("CSI_SMTP_URL", f"smtp://127.0.0.1:{closed}")
    assert csi("invitations", "import", *WAVE, invitation_list(tmp_path, "a@example.com,en,,\n")).exit_code == 0
    result = csi("invitations", "send", *WAVE)
    assert result.exit_code == 1 and f"cannot reach the SMTP server 127.0.0.1:{closed}" in result.output
    with Session(state_of(mail_app).engine) as session:
        assert session.scalar(select(Invitation.mail_status)) == "queued"  # still to send


def test_changed_secret_key_refuses_to_send_dead_links(mail_app, smtp, tmp_path, monkeypatch):
    assert csi("invitations", "import", *WAVE, invitation_list(tmp_path, "a@example.com,en,,\n")).exit_code == 0
    monkeypatch.setenv("CSI_SECRET_KEY", "another-secret-" + "y" * 40)
    result = csi("invitations", "send", *WAVE)
    assert result.exit_code == 1 and "secret key changed" in result.output and not smtp.messages


def test_questionnaire_email_templates_are_validated():
    from models.errors import QuestionnaireError
    from models.questionnaire import parse_questionnaire

    text = questionnaires.path("acsi_retail").read_text(encoding="utf-8")
    broken = text.replace("\nscales:", "\nemail:\n  invitation:\n    subject: Hi {nme}\n    body: No link here\nscales:", 1)
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire(broken, "acsi.yaml")
    messages = "\n".join(str(p) for p in caught.value.problems)
    assert "email.invitation.subject: unknown placeholder {nme}" in messages
    assert "has no {link}" in messages and "has no {opt_out_link}" in messages


def test_console_imports_a_list_sets_reminders_and_shows_status(mail_app, smtp, tmp_path):
    import io

    from models.storage.accounts import create_admin
    from models.storage.tables import Wave

    from .test_admin import csrf_of, login

    with Session(state_of(mail_app).engine) as session:
        create_admin(session, "lead", "correct horse battery staple", "admin")
        wave_id = find_wave(session, "acsi-retail", "2026Q4").id
        session.commit()
    client = https_client(mail_app)
    login(client, "lead", "correct horse battery staple")
    page = client.get(f"/admin/waves/{wave_id}/mail").get_data(as_text=True)
    imported = client.post(f"/admin/waves/{wave_id}/mail/import", content_type="multipart/form-data", data={
        "csrf_token": csrf_of(page),
        "file": (io.BytesIO("\ufeffemail,language,tier\nann@example.com,en,=1+1\nli@example.com,zh-CN,gold\n"
                            .encode("utf-8")), "people.csv")}, follow_redirects=True).get_data(as_text=True)
    assert "2 invitations queued" in imported and 'data-status="queued">2<' in imported
    bad = client.post(f"/admin/waves/{wave_id}/mail/import", content_type="multipart/form-data", data={
        "csrf_token": csrf_of(imported), "file": (io.BytesIO(b"name\nx\n"), "no-email.csv")}, follow_redirects=True)
    assert "no-email.csv:1: the header has no &#39;email&#39; column" in bad.get_data(as_text=True)
    saved = client.post(f"/admin/waves/{wave_id}/mail/reminders", data={
        "csrf_token": csrf_of(imported), "automatic": "yes", "max": "3", "after_days": "4"}, follow_redirects=True)
    assert "up to 3, each 4 days" in saved.get_data(as_text=True)
    with Session(state_of(mail_app).engine) as session:
        assert (session.get(Wave, wave_id).reminder_max, session.get(Wave, wave_id).reminder_after_days) == (3, 4.0)
    status = client.get(f"/admin/waves/{wave_id}/mail?format=csv").get_data(as_text=True)
    assert status.startswith("\ufeff") and "'=1+1" in status  # an uploaded formula comes back as text


def test_console_webhooks_page(mail_app):
    from models.storage.accounts import create_admin

    from .test_admin import csrf_of, login

    with Session(state_of(mail_app).engine) as session:
        create_admin(session, "lead", "correct horse battery staple", "admin")
        session.commit()
    client = https_client(mail_app)
    login(client, "lead", "correct horse battery staple")
    page = client.get("/admin/webhooks").get_data(as_text=True)
    added = client.post("/admin/webhooks", data={"csrf_token": csrf_of(page), "survey": "acsi-retail",
                                                 "url": "https://crm.example/hook", "events": ["response.completed"]})
    text = added.get_data(as_text=True)
    assert 'id="new-secret"' in text and "https://crm.example/hook" in text
    refused = client.post("/admin/webhooks", data={"csrf_token": csrf_of(text), "survey": "acsi-retail",
                                                   "url": "javascript:alert(1)", "events": ["response.completed"]})
    assert "must be http:// or https://" in refused.get_data(as_text=True)
