"""Sending invitations and reminders over SMTP.

Python's own ``smtplib`` and ``email`` packages build and send the messages (multipart
plain text + HTML, ``List-Unsubscribe`` with one-click ``List-Unsubscribe-Post`` per
RFC 8058); this module only decides what goes to whom and records what the server said.
No Flask here: the CLI and background jobs call :func:`send_round` with a settings object.

``CSI_SMTP_URL`` forms: ``smtp://host:25`` (plain), ``smtp://user:pass@host:587?starttls=1``,
``smtps://user:pass@host:465`` (TLS from the start). Passwords may be percent-encoded.
"""
from __future__ import annotations

import html
import re
import smtplib
import ssl
import time
from dataclasses import dataclass
from datetime import timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Callable
from urllib.parse import parse_qs, unquote, urlparse

from sqlalchemy.orm import Session

from models.email_templates import fill
from models.questionnaire import Questionnaire
from models.storage.invitations import (claim_for_sending, derive_token, due_invitations, record_refusal,
                                        record_sent, release_claim, reminder_candidates)
from models.storage.repository import StorageError, hash_token
from models.storage.tables import Invitation, Wave, utcnow


class MailError(StorageError):
    """Mail cannot be sent at all (settings, server unreachable): one sentence for the user."""


@dataclass(frozen=True)
class MailSettings:
    """Where and how to send. ``rate`` is messages per second at most (0: no limit)."""

    host: str
    port: int
    sender: str
    base_url: str
    secret: str
    username: str | None = None
    password: str | None = None
    tls: str = "none"  # "none", "starttls" or "ssl"
    reply_to: str | None = None
    rate: float = 5.0
    timeout: float = 30.0

    @classmethod
    def from_config(cls, config) -> "MailSettings":
        """From a Flask config (or any mapping with the ``CSI_*`` names less the prefix)."""
        url = config.get("SMTP_URL")
        if not url:
            raise MailError("no SMTP server is configured: set CSI_SMTP_URL, e.g. smtp://user:pass@mail.example.com:587?starttls=1")
        sender = config.get("MAIL_SENDER")
        if not sender:
            raise MailError("no sender address is configured: set CSI_MAIL_SENDER, e.g. survey@example.com")
        parsed = urlparse(url)
        if parsed.scheme not in ("smtp", "smtps") or not parsed.hostname:
            raise MailError(f"CSI_SMTP_URL {url.split('@')[-1]!r} is not smtp://host[:port] or smtps://host[:port]")
        options = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        tls = "ssl" if parsed.scheme == "smtps" else ("starttls" if options.get("starttls") in ("1", "true", "yes")
                                                      else "none")
        try:
            port = parsed.port or (465 if tls == "ssl" else 587 if tls == "starttls" else 25)
        except ValueError as exc:
            raise MailError(f"CSI_SMTP_URL has a bad port: {exc}") from exc
        return cls(host=parsed.hostname, port=port, sender=sender,
                   base_url=(config.get("BASE_URL") or "http://localhost:8000").rstrip("/"),
                   secret=config["SECRET_KEY"], username=unquote(parsed.username) if parsed.username else None,
                   password=unquote(parsed.password) if parsed.password else None, tls=tls,
                   reply_to=config.get("MAIL_REPLY_TO") or None, rate=float(config.get("MAIL_RATE", 5.0)))

    def connect(self) -> smtplib.SMTP:
        try:
            if self.tls == "ssl":
                client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                          context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
                if self.tls == "starttls":
                    client.starttls(context=ssl.create_default_context())
            if self.username:
                client.login(self.username, self.password or "")
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(f"cannot reach the SMTP server {self.host}:{self.port}: {exc}") from exc
        return client


def compose(questionnaire: Questionnaire, invitation: Invitation, kind: str, settings: MailSettings) -> EmailMessage:
    """The message of ``kind`` ("invitation" or "reminder") for one invitee, in its language."""
    language = invitation.language or questionnaire.default_language
    token = derive_token(settings.secret, invitation.token_nonce)
    if hash_token(token) != invitation.token_hash:
        raise MailError("the server's secret key changed since these invitations were created, so their links "
                        "cannot be rebuilt; restore the former CSI_SECRET_KEY (or instance/secret_key)")
    link = f"{settings.base_url}/i/{token}"
    opt_out_link = f"{settings.base_url}/o/{token}"
    templates = questionnaire.email
    values = {"link": link, "opt_out_link": opt_out_link, "title": questionnaire.title.get(language),
              "privacy": templates.privacy_line(language, questionnaire.default_language),
              "name": str((invitation.attributes or {}).get("name") or "")}
    subject = " ".join(fill(templates.text(kind, "subject", language, questionnaire.default_language), values).split())
    body = fill(templates.text(kind, "body", language, questionnaire.default_language), values)

    message = EmailMessage()
    message["Subject"] = subject
    display = templates.sender(language, questionnaire.default_language)
    message["From"] = Address(display_name=display, addr_spec=settings.sender) if display else settings.sender
    message["To"] = invitation.email
    if settings.reply_to:
        message["Reply-To"] = settings.reply_to
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(domain=settings.sender.rsplit("@", 1)[-1])
    message["List-Unsubscribe"] = f"<{opt_out_link}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message["Content-Language"] = language
    message.set_content(body)
    message.add_alternative(_html_body(body, language), subtype="html")
    return message


_URL = re.compile(r"https?://[^\s<>\"]+")


def _html_body(body: str, language: str) -> str:
    """The plain body as HTML: escaped paragraphs, links clickable."""
    def paragraph(text: str) -> str:
        escaped = html.escape(text)
        linked = _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)
        return "<p>" + linked.replace("\n", "<br>") + "</p>"
    paragraphs = "\n".join(paragraph(p) for p in re.split(r"\n\s*\n", body.strip()) if p.strip())
    return (f'<!doctype html><html lang="{html.escape(language)}"><head><meta charset="utf-8"></head>'
            f'<body style="font-family:sans-serif;line-height:1.5;max-width:40em">{paragraphs}</body></html>')


@dataclass
class RoundResult:
    """What one sending round did: counts by outcome."""

    kind: str
    sent: int = 0
    bounced: int = 0
    deferred: int = 0
    remaining: int = 0

    def line(self) -> str:
        return (f"{self.kind}s: {self.sent} sent, {self.bounced} bounced, {self.deferred} deferred "
                f"(temporary refusal, retried later), {self.remaining} left for a later round")


def send_round(session: Session, wave: Wave, questionnaire: Questionnaire, settings: MailSettings, kind: str, *,
               max_reminders: int = 2, reminder_interval: timedelta = timedelta(days=3), limit: int | None = None,
               scheduled_only: bool = False, progress: Callable[[int, int], None] | None = None) -> RoundResult:
    """Send the invitations that are due (``kind="invitation"``) or the reminders that are due
    (``kind="reminder"``), at most ``settings.rate`` per second and ``limit`` in all
    (``scheduled_only``: see ``due_invitations``).

    Each invitee is claimed (committed) before its message goes out, so two rounds at once
    mail nobody twice, and each outcome is committed as soon as the server answers, so a round
    that is stopped half-way (killed worker, lost connection) resumes where it stopped; the
    claim of the message in flight at a kill lapses after ``SENDING_LEASE`` and it is due
    again: a message the server accepted just before a kill may be sent twice, never lost.
    """
    if kind == "invitation":
        batch = due_invitations(session, wave, limit=limit, scheduled_only=scheduled_only)
    else:
        batch = reminder_candidates(session, wave, max_reminders=max_reminders, interval=reminder_interval,
                                    limit=limit)
    result = RoundResult(kind)
    if not batch:
        return result
    # As chosen (each commit below reloads them): to claim each, and to undo a claim.
    chosen = {i.id: (i.mail_status, i.send_after, i.reminders_sent or 0) for i in batch}
    client = settings.connect()
    spacing = 1.0 / settings.rate if settings.rate > 0 else 0.0
    last = 0.0
    try:
        for number, invitation in enumerate(batch, start=1):
            message = compose(questionnaire, invitation, kind, settings)
            wait = last + spacing - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            last = time.monotonic()
            if not claim_for_sending(session, invitation.id, kind, chosen[invitation.id][2]):
                session.rollback()  # another round took it, or sent it, since this one chose it
                if progress:
                    progress(number, len(batch))
                continue
            session.commit()
            try:
                client = _send(client, settings, message)
            except smtplib.SMTPSenderRefused as exc:  # the server refuses us (MAIL FROM), not this invitee
                _unclaim(session, invitation.id, chosen)
                raise MailError(f"the SMTP server refused the sender {settings.sender}: {exc.smtp_code} "
                                f"{_decode(exc.smtp_error)}; the round stopped after {result.sent} sent, and the "
                                "invitees not yet sent stay due (check CSI_MAIL_SENDER and the SMTP account)") from None
            except smtplib.SMTPRecipientsRefused as exc:
                code, text = next(iter(exc.recipients.values()))
                outcome = record_refusal(session, invitation, code, _decode(text), kind)
                result.bounced += outcome == "bounced"
                result.deferred += outcome != "bounced"
            except smtplib.SMTPResponseException as exc:  # refused after DATA, e.g. 552 or 451
                outcome = record_refusal(session, invitation, exc.smtp_code, _decode(exc.smtp_error), kind)
                result.bounced += outcome == "bounced"
                result.deferred += outcome != "bounced"
            except BaseException:  # the round stops (reconnecting failed, Ctrl-C) before the server answered
                _unclaim(session, invitation.id, chosen)
                raise
            else:
                record_sent(session, invitation, kind)
                result.sent += 1
            session.commit()
            if progress:
                progress(number, len(batch))
    finally:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            pass
    return result


def _unclaim(session: Session, invitation_id: int, chosen: dict) -> None:
    try:
        session.rollback()
        release_claim(session, invitation_id, *chosen[invitation_id][:2])
        session.commit()
    except Exception:  # the database is gone too: the claim lapses on its own
        pass


def _send(client: smtplib.SMTP, settings: MailSettings, message: EmailMessage) -> smtplib.SMTP:
    """Send one message, reconnecting once if the server closed an idle connection."""
    try:
        client.send_message(message)
        return client
    except smtplib.SMTPServerDisconnected:
        client = settings.connect()
        client.send_message(message)
        return client


def _decode(text: bytes | str) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
