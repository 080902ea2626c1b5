"""Administrator accounts, server-side admin sessions, login throttling and API tokens.

Passwords are hashed with scrypt (RFC 7914; N=2^15, r=8, p=1: ~32 MiB and tens of
milliseconds per guess) from the standard library. Session ids and API tokens carry
256 random bits; only their SHA-256 is stored, so a copy of the database opens nothing.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from .repository import StorageError, hash_token
from .tables import AdminSession, AdminUser, ApiToken, LoginFailure, _aware, utcnow

ROLES = ("admin", "viewer")
SCRYPT = {"n": 2 ** 15, "r": 8, "p": 1}
MAX_FAILURES = 5                     # per username ...
FAILURE_WINDOW = timedelta(minutes=15)  # ... within this window, then locked until they age out
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
MIN_PASSWORD = 10


class LoginThrottled(StorageError):
    """Too many failed logins for this username; ``retry_after`` seconds until the next try."""

    def __init__(self, username: str, retry_after: int):
        super().__init__(f"too many failed logins for {username!r}; try again in {retry_after // 60 + 1} minutes")
        self.retry_after = retry_after


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, maxmem=64 * 1024 * 1024, dklen=32, **SCRYPT)
    encode = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${encode(salt)}${encode(digest)}"


def verify_password(stored: str, password: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                                maxmem=64 * 1024 * 1024, dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


_DUMMY_HASH = None


def create_admin(session: Session, username: str, password: str, role: str = "admin") -> AdminUser:
    if not USERNAME.match(username or ""):
        raise StorageError(f"username {username!r}: use 2-64 letters, digits or _.@-")
    if role not in ROLES:
        raise StorageError(f"role {role!r}: choose one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise StorageError(f"password too short: at least {MIN_PASSWORD} characters")
    if session.scalar(select(AdminUser).where(AdminUser.username == username)) is not None:
        raise StorageError(f"an administrator named {username!r} already exists")
    user = AdminUser(username=username, password_hash=hash_password(password), role=role, created_at=utcnow())
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, username: str, password: str) -> None:
    user = session.scalar(select(AdminUser).where(AdminUser.username == username))
    if user is None:
        raise StorageError(f"no administrator named {username!r}")
    if len(password) < MIN_PASSWORD:
        raise StorageError(f"password too short: at least {MIN_PASSWORD} characters")
    user.password_hash = hash_password(password)
    session.execute(delete(AdminSession).where(AdminSession.user_id == user.id))  # log out everywhere


def authenticate(session: Session, username: str, password: str, now: datetime | None = None) -> AdminUser | None:
    """The user when the password is right; None when wrong. Raises LoginThrottled after
    MAX_FAILURES wrong tries for the username within FAILURE_WINDOW (right or wrong password)."""
    global _DUMMY_HASH
    now = now or utcnow()
    username = (username or "")[:64]
    since = now - FAILURE_WINDOW
    failures = session.scalars(select(LoginFailure.at).where(LoginFailure.username == username, LoginFailure.at > since)
                               .order_by(LoginFailure.at)).all()
    if len(failures) >= MAX_FAILURES:
        oldest = _aware(failures[-MAX_FAILURES])
        raise LoginThrottled(username, max(1, int((oldest + FAILURE_WINDOW - now).total_seconds())))
    user = session.scalar(select(AdminUser).where(AdminUser.username == username))
    if user is None:
        # Spend the same time as a real check, so response times do not reveal which names exist.
        _DUMMY_HASH = _DUMMY_HASH or hash_password(secrets.token_hex(8))
        verify_password(_DUMMY_HASH, password)
        ok = False
    else:
        ok = verify_password(user.password_hash, password)
    if not ok:
        session.add(LoginFailure(username=username, at=now))
        session.flush()
        return None
    session.execute(delete(LoginFailure).where(LoginFailure.username == username))
    user.last_login_at = now
    return user


def start_session(session: Session, user: AdminUser, now: datetime | None = None) -> str:
    """A new session id for the cookie (the database keeps only its hash)."""
    sid = secrets.token_urlsafe(32)
    now = now or utcnow()
    session.add(AdminSession(id_hash=hash_token(sid), user_id=user.id, created_at=now, last_seen_at=now))
    session.flush()
    return sid


def session_user(session: Session, sid: str | None, idle: timedelta, absolute: timedelta,
                 now: datetime | None = None) -> AdminUser | None:
    """The user of a live session, touching it; None (and the session deleted) when unknown or expired."""
    if not sid:
        return None
    now = now or utcnow()
    row = session.get(AdminSession, hash_token(sid))
    if row is None:
        return None
    if _aware(row.last_seen_at) + idle < now or _aware(row.created_at) + absolute < now:
        session.delete(row)
        return None
    if (now - _aware(row.last_seen_at)).total_seconds() > 30:  # fewer writes: touch at most every 30 s
        row.last_seen_at = now
    return session.get(AdminUser, row.user_id)


def end_session(session: Session, sid: str | None) -> None:
    if sid:
        session.execute(delete(AdminSession).where(AdminSession.id_hash == hash_token(sid)))


def create_api_token(session: Session, username: str, name: str) -> str:
    user = session.scalar(select(AdminUser).where(AdminUser.username == username))
    if user is None:
        raise StorageError(f"no administrator named {username!r}")
    token = "csi_" + secrets.token_urlsafe(32)
    session.add(ApiToken(token_hash=hash_token(token), name=name[:100], user_id=user.id, created_at=utcnow()))
    session.flush()
    return token


def token_user(session: Session, token: str | None) -> AdminUser | None:
    if not token:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None:
        return None
    row.last_used_at = utcnow()
    return session.get(AdminUser, row.user_id)


def count_admins(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(AdminUser)))
