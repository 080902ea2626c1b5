"""E-mail invitations: importing an invitation list, choosing whom to send to or remind, the
state of each invitee, and opting out.

The link in an e-mail is derived, not stored: ``token = HMAC-SHA256(secret, nonce)`` with a
random nonce kept per invitation, and only the token's SHA-256 stored (as for every
invitation). A reminder therefore carries the same link as the invitation, while neither a
copy of the database nor of the secret alone can reproduce a link.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping

from sqlalchemy import and_, case, exists, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .repository import StorageError, hash_token
from .tables import Answer, Invitation, Response, Wave, _aware, utcnow

# The HTML5 rule for <input type=email> (WHATWG, "valid e-mail address").
EMAIL_PATTERN = re.compile(r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
                           r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$")
MAX_EMAIL_LENGTH = 254
# A temporary refusal (SMTP 4xx) is retried this many times before the address counts as bounced.
MAX_SEND_ATTEMPTS = 5
RETRY_STEP = timedelta(minutes=15)
# A claim (mail_status "sending", until send_after) not followed by the server's answer (the
# round was killed) lapses after this, and the invitee is due again.
SENDING_LEASE = timedelta(minutes=10)
STATUSES = ("queued", "deferred", "sent", "bounced", "opened", "started", "completed", "opted out")


MAX_LIST_BYTES = 64 * 1024 * 1024


def read_invitation_csv(data: bytes, source: str) -> list[dict[str, str]]:
    """The rows of an invitation list (UTF-8 CSV, with or without a BOM, an ``email``
    column), header names lower-cased; problems as ``SOURCE:LINE: message``."""
    import csv
    import io

    if len(data) > MAX_LIST_BYTES:
        raise StorageError(f"{source}: larger than 64 MiB; split the list")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise StorageError(f"{source}: not UTF-8 text (byte {exc.start}); save the list as CSV UTF-8") from None
    if "\x00" in text:
        raise StorageError(f"{source}: contains NUL bytes; is it really a CSV file?")
    # newline="": any of \r\n, \n and a bare \r ends a record (Excel's "CSV (Macintosh)"),
    # and a line break inside a quoted cell is kept as written.
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    if "email" not in header:
        raise StorageError(f"{source}:1: the header has no 'email' column (found: {', '.join(header) or 'nothing'})")
    rows = []
    try:
        for row in reader:
            if None in row:
                raise StorageError(f"{source}:{reader.line_num}: more cells than header columns")
            rows.append({(k or "").strip().lower(): (v or "").strip() for k, v in row.items()})
    except csv.Error as exc:
        raise StorageError(f"{source}:{reader.line_num}: {exc}") from None
    return rows


def derive_token(secret: str, nonce: str) -> str:
    """The invitation link's token: 256 bits, URL-safe, recomputable only with ``secret``."""
    digest = hmac.new(secret.encode("utf-8"), b"csi-invitation:" + nonce.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def valid_email(address: str) -> bool:
    return len(address) <= MAX_EMAIL_LENGTH and EMAIL_PATTERN.match(address) is not None


@dataclass(frozen=True)
class ImportResult:
    created: int
    already_invited: int
    # (row, token) for each invitation created, in list order: the links the console hands out.
    issued: tuple = ()


# What can be wrong with a row of an invitation list, by code: the English text (the CLI's
# words; the console shows each code in its own language).
ROW_PROBLEMS = {
    "email_empty": "empty; every row needs an e-mail address",
    "email_invalid": "{value} is not a valid e-mail address",
    "email_repeated": "{value} is also on row {other}",
    "language_unknown": "{value} is not one of the questionnaire's languages ({choices})",
}
MAX_PROBLEMS_SHOWN = 50


@dataclass(frozen=True)
class RowProblem:
    line: int
    field: str
    code: str
    values: dict

    def text(self, source: str) -> str:
        return f"{source}:{self.line}: {self.field}: " + ROW_PROBLEMS[self.code].format(**self.values)


class InvitationListError(StorageError):
    """Every bad row of an invitation list at once (``problems``); its message is the CLI's."""

    def __init__(self, source: str, problems: list[RowProblem]):
        self.source = source
        self.problems = problems
        shown = [problem.text(source) for problem in problems[:MAX_PROBLEMS_SHOWN]]
        more = (f"\n... and {len(problems) - MAX_PROBLEMS_SHOWN} more"
                if len(problems) > MAX_PROBLEMS_SHOWN else "")
        super().__init__("\n".join(shown) + more)


def import_invitations(session: Session, wave: Wave, rows: Iterable[Mapping[str, Any]], secret: str, *,
                       languages: tuple[str, ...], default_language: str, send_after: datetime | None = None,
                       source: str = "<list>", mail: bool = True, lines: list[int] | None = None) -> ImportResult:
    """Create one invitation per row (``email``, optional ``language``, the rest kept as segment
    attributes): the one import behind ``csi invitations import``, the console's e-mail list
    and the console's "issue invitations and download links".

    Every bad row is reported at once (``InvitationListError``, each problem with its line:
    ``lines[i]`` for row ``i`` when given, else rows counted from 2, below the header) and
    nothing is stored; an address already invited to this wave is skipped, so importing the
    same list twice invites nobody twice. ``mail=True`` queues each for e-mail; ``mail=False``
    only issues the links (handed out by other means, never mailed), and then a list without an
    ``email`` column is allowed (each row one anonymous link)."""
    problems: list[RowProblem] = []
    seen: dict[str, int] = {}
    prepared = []
    rows = list(rows)
    needs_email = mail or any("email" in row for row in rows)
    for index, row in enumerate(rows):
        number = lines[index] if lines is not None else index + 2
        address = str(row.get("email") or "").strip()
        key = None
        if needs_email:
            if not address:
                problems.append(RowProblem(number, "email", "email_empty", {}))
                continue
            if not valid_email(address):
                problems.append(RowProblem(number, "email", "email_invalid", {"value": repr(address[:80])}))
                continue
            key = address.lower()
            if key in seen:
                problems.append(RowProblem(number, "email", "email_repeated", {"value": address, "other": seen[key]}))
                continue
            seen[key] = number
        language = str(row.get("language") or "").strip() or default_language
        if language not in languages:
            problems.append(RowProblem(number, "language", "language_unknown",
                                       {"value": repr(language), "choices": ", ".join(languages)}))
            continue
        # A link's e-mail cell stays an attribute too (attr_email in the exports, as it always was).
        dropped = ("language",) if not mail else ("email", "language")
        attributes = {k: v for k, v in row.items() if k not in dropped and v not in (None, "")}
        prepared.append((key, language, attributes, row))
    if problems:
        raise InvitationListError(source, problems)
    if not prepared:
        raise StorageError(f"{source}: no invitees below the header")
    existing = set(session.scalars(select(Invitation.email).where(Invitation.wave_id == wave.id,
                                                                   Invitation.email.is_not(None))))
    # Whoever opted out of this questionnaire's e-mails in any wave stays out of the new list.
    opted_out = opted_out_addresses(session, wave.questionnaire_id) if seen else set()
    now = utcnow()
    values, issued = [], []
    for address, language, attributes, row in prepared:
        if address is not None and address in existing:
            continue
        nonce = secrets.token_hex(16)
        token = derive_token(secret, nonce)
        issued.append((row, token))
        values.append({"wave_id": wave.id, "token_hash": hash_token(token), "attributes": attributes,
                       "created_at": now, "email": address, "language": language, "token_nonce": nonce,
                       "mail_status": "queued" if mail else None, "send_after": send_after if mail else None,
                       "reminders_sent": 0, "send_attempts": 0,
                       "opted_out_at": now if address is not None and address in opted_out else None})
    try:
        for start in range(0, len(values), 5_000):
            session.execute(insert(Invitation), values[start:start + 5_000])
        session.flush()
    except IntegrityError as exc:  # a second import of the same list ran at the same moment
        session.rollback()
        raise StorageError(f"{source}: another import into wave {wave.name!r} ran at the same time; "
                           "run this one again (addresses already invited are skipped)") from exc
    return ImportResult(created=len(values), already_invited=len(prepared) - len(values), issued=tuple(issued))


def import_email_invitations(session: Session, wave: Wave, rows: Iterable[Mapping[str, Any]], secret: str,
                             **options) -> ImportResult:
    """``import_invitations`` queueing each invitee for e-mail (the CLI's and bench's name)."""
    return import_invitations(session, wave, rows, secret, mail=True, **options)


def _reachable():
    return and_(Invitation.email.is_not(None), Invitation.opted_out_at.is_(None),
                Invitation.mail_status != "bounced")


def _completed_invitations(wave_id: int):
    # Finished either way: completed, or ended by a full quota (reminding them would be asking
    # for answers the survey no longer takes).
    return select(Response.invitation_id).where(Response.wave_id == wave_id,
                                                Response.status.in_(("complete", "quota_full")),
                                                Response.invitation_id.is_not(None))


def due_invitations(session: Session, wave: Wave, now: datetime | None = None, limit: int | None = None,
                    scheduled_only: bool = False) -> list[Invitation]:
    """First messages that are due, never to an opted-out, bounced or already completed invitee.

    On request (``scheduled_only`` False: an operator's "send"): every queued invitation not
    scheduled for later, and every deferred one (retried now). For the worker's periodic
    round (``scheduled_only`` True): invitations imported with a time that has come, and
    deferred ones whose retry time has come.
    """
    now = now or utcnow()
    queued, deferred = Invitation.mail_status == "queued", Invitation.mail_status == "deferred"
    come = and_(Invitation.send_after.is_not(None), Invitation.send_after <= now)
    lapsed = and_(Invitation.mail_status == "sending", Invitation.sent_at.is_(None), come)
    if scheduled_only:
        due = or_(and_(queued, come), and_(deferred, come), lapsed)
    else:
        due = or_(and_(queued, or_(Invitation.send_after.is_(None), Invitation.send_after <= now)), deferred, lapsed)
    query = (select(Invitation)
             .where(Invitation.wave_id == wave.id, _reachable(), due,
                    Invitation.id.not_in(_completed_invitations(wave.id)))
             .order_by(Invitation.id))
    return list(session.scalars(query.limit(limit) if limit else query))


def reminder_candidates(session: Session, wave: Wave, *, max_reminders: int, interval: timedelta,
                        now: datetime | None = None, limit: int | None = None) -> list[Invitation]:
    """Invitees to remind: sent at least ``interval`` ago, fewer than ``max_reminders``
    reminders so far, not completed, not opted out, not bounced."""
    now = now or utcnow()
    query = (select(Invitation)
             .where(Invitation.wave_id == wave.id, _reachable(), _sent_or_lapsed(now),
                    Invitation.reminders_sent < max_reminders, Invitation.last_sent_at <= now - interval,
                    Invitation.id.not_in(_completed_invitations(wave.id)))
             .order_by(Invitation.id))
    return list(session.scalars(query.limit(limit) if limit else query))


def _sent_or_lapsed(now: datetime):
    lapsed = and_(Invitation.mail_status == "sending", Invitation.sent_at.is_not(None), Invitation.send_after <= now)
    return or_(Invitation.mail_status == "sent", lapsed)


def claim_for_sending(session: Session, invitation_id: int, kind: str, reminders_seen: int,
                      now: datetime | None = None) -> bool:
    """Take one invitee for one message of ``kind`` (the caller commits before sending): False
    when another round took it or sent it meanwhile, so two rounds at once (``csi invitations
    send`` beside the worker's) never mail anyone twice. ``reminders_seen``: its reminder count
    when the round chose it."""
    now = now or utcnow()
    lapsed = and_(Invitation.mail_status == "sending", Invitation.send_after <= now)
    if kind == "invitation":
        free = or_(Invitation.mail_status.in_(("queued", "deferred")), and_(lapsed, Invitation.sent_at.is_(None)))
    else:
        free = and_(or_(Invitation.mail_status == "sent", and_(lapsed, Invitation.sent_at.is_not(None))),
                    Invitation.reminders_sent == reminders_seen)
    return session.execute(update(Invitation).where(Invitation.id == invitation_id, free)
                           .values(mail_status="sending", send_after=now + SENDING_LEASE)
                           .execution_options(synchronize_session=False)).rowcount == 1


def release_claim(session: Session, invitation_id: int, mail_status: str, send_after: datetime | None) -> None:
    """Undo :func:`claim_for_sending` when no message went out (the round stopped first)."""
    session.execute(update(Invitation).where(Invitation.id == invitation_id, Invitation.mail_status == "sending")
                    .values(mail_status=mail_status, send_after=send_after)
                    .execution_options(synchronize_session=False))


def record_sent(session: Session, invitation: Invitation, kind: str, now: datetime | None = None) -> None:
    now = now or utcnow()
    invitation.mail_status = "sent"
    invitation.last_sent_at = now
    invitation.bounce_message = None
    if kind == "reminder":
        invitation.reminders_sent = (invitation.reminders_sent or 0) + 1
    else:
        invitation.sent_at = now


def record_refusal(session: Session, invitation: Invitation, code: int, message: str, kind: str) -> str:
    """Record an SMTP refusal; return the new mail status. A 5xx code is a permanent bounce;
    a 4xx code defers an invitation (retried up to MAX_SEND_ATTEMPTS times) and leaves a
    reminder to the next round."""
    invitation.send_attempts = (invitation.send_attempts or 0) + 1
    invitation.bounce_message = f"{code} {message}"[:1000]
    if code >= 500 or invitation.send_attempts >= MAX_SEND_ATTEMPTS:
        invitation.mail_status = "bounced"
    elif kind == "invitation":
        invitation.mail_status = "deferred"
        # The worker retries it after 15 minutes, 30, 45, ... (greylisting asks for minutes).
        invitation.send_after = utcnow() + RETRY_STEP * invitation.send_attempts
    else:
        invitation.mail_status = "sent"  # a reminder refused for now: left to the next round
    return invitation.mail_status


def find_by_token(session: Session, token: str) -> Invitation | None:
    return session.scalar(select(Invitation).where(Invitation.token_hash == hash_token(token)))


def opt_out(session: Session, token: str, now: datetime | None = None) -> Invitation | None:
    """Stop every further e-mail to this invitation's address for the wave's questionnaire (all
    its waves). Returns the invitation, or None for an unknown token."""
    invitation = find_by_token(session, token)
    if invitation is None:
        return None
    now = now or utcnow()
    if invitation.email:
        questionnaire_id = session.scalar(select(Wave.questionnaire_id).where(Wave.id == invitation.wave_id))
        waves = select(Wave.id).where(Wave.questionnaire_id == questionnaire_id)
        session.execute(update(Invitation)
                        .where(Invitation.email == invitation.email, Invitation.wave_id.in_(waves),
                               Invitation.opted_out_at.is_(None))
                        .values(opted_out_at=now))
    elif invitation.opted_out_at is None:
        invitation.opted_out_at = now
    return invitation


def opted_out_addresses(session: Session, questionnaire_id: str) -> set[str]:
    waves = select(Wave.id).where(Wave.questionnaire_id == questionnaire_id)
    return set(session.scalars(select(Invitation.email).where(Invitation.wave_id.in_(waves),
                                                              Invitation.opted_out_at.is_not(None),
                                                              Invitation.email.is_not(None))))


def invitee_status(invitation: Invitation, response_status: str | None) -> str:
    """One word per invitee, the furthest it got: opted out, completed, bounced, started,
    opened, sent, deferred or queued ("link" for links handed out without e-mail).
    ``response_status``: "complete", "started" (answers saved) or None."""
    if invitation.opted_out_at is not None:
        return "opted out"
    if response_status == "complete":
        return "completed"
    if invitation.mail_status == "bounced":
        return "bounced"
    if response_status is not None:
        return "started"
    if invitation.opened_at is not None:
        return "opened"
    if invitation.mail_status == "sending":
        return "sent" if invitation.sent_at is not None else "queued"
    return invitation.mail_status or "link"


def status_rows(session: Session, wave: Wave) -> list[dict[str, Any]]:
    """One row per e-mail invitation of the wave (links handed out by other means are not
    invitees of the mailing): address, language, status, dates, reminders, the last
    refusal, and the segment attributes."""
    # Opening a link creates the response; "started" means at least one answer was saved.
    answered = exists().where(Answer.response_id == Response.id)
    progress = case((Response.status == "complete", "complete"), (answered, "started"), else_=None)
    query = (select(Invitation, progress)
             .outerjoin(Response, Response.invitation_id == Invitation.id)
             .where(Invitation.wave_id == wave.id, Invitation.email.is_not(None)).order_by(Invitation.id))
    rows = []
    for invitation, response_status in session.execute(query):
        rows.append({
            "invitation_id": invitation.id, "email": invitation.email or "", "language": invitation.language or "",
            "status": invitee_status(invitation, response_status),
            "sent_at": _iso(invitation.sent_at), "last_sent_at": _iso(invitation.last_sent_at),
            "reminders_sent": invitation.reminders_sent or 0, "opened_at": _iso(invitation.opened_at),
            "opted_out_at": _iso(invitation.opted_out_at), "refusal": invitation.bounce_message or "",
            **{f"attr_{k}": v for k, v in (invitation.attributes or {}).items()},
        })
    return rows


def status_counts(session: Session, wave: Wave) -> dict[str, int]:
    counts = {status: 0 for status in STATUSES}
    for row in status_rows(session, wave):
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    counts.pop("link", None)
    return counts


def status_csv_text(rows: list[dict[str, Any]]) -> str:
    """The invitee rows as CSV text (the caller adds a BOM for a download), every text cell
    neutralized like the exports (a "=..." attribute stays text in a spreadsheet)."""
    import csv
    import io

    from ..exports import neutralize_row

    columns = list(dict.fromkeys(key for row in rows for key in row)) or ["invitation_id", "email", "status"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(neutralize_row(columns))
    for row in rows:
        writer.writerow(neutralize_row(row.get(c, "") for c in columns))
    return out.getvalue()


def _iso(moment: datetime | None) -> str:
    return _aware(moment).isoformat(timespec="seconds") if moment else ""


def mark_opened(session: Session, invitation_id: int, now: datetime | None = None) -> None:
    session.execute(update(Invitation).where(Invitation.id == invitation_id, Invitation.opened_at.is_(None))
                    .values(opened_at=now or utcnow()))
