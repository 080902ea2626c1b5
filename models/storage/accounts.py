"""Administrator accounts, server-side admin sessions, login throttling and API tokens.

Passwords are hashed with scrypt (RFC 7914; N=2^15, r=8, p=1: ~32 MiB and tens of
milliseconds per guess) from the standard library. Session ids and API tokens carry
256 random bits; only their SHA-256 is stored, so a copy of the database opens nothing.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from .repository import StorageError, hash_token
from .tables import AdminSession, AdminUser, ApiToken, LoginThrottle, _aware, utcnow

ROLES = ("admin", "viewer")
SCRYPT = {"n": 2 ** 15, "r": 8, "p": 1}
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
MIN_PASSWORD = 10
TOKEN_DAYS = 90                      # default API token lifetime
MAX_TOKEN_DAYS = 3650
ACCOUNT = "account"                  # LoginThrottle.scope of the account-wide counter
NO_WAIT = datetime(2000, 1, 1, tzinfo=timezone.utc)  # not_before of a counter that was cleared


@dataclass(frozen=True)
class Backoff:
    """Growing delays after failed logins: the first ``free - 1`` failures cost nothing; the
    ``free``-th and each later one make the next attempt wait ``base * 2**(k - free)`` seconds
    (k = failures so far), at most ``cap``. Attempts refused while waiting are not evaluated
    and do not count, so a guesser's rate is bounded while the owner waits at most ``cap``."""

    free: int
    base: float
    cap: float

    def delay(self, failures: int) -> timedelta:
        if failures < self.free:
            return timedelta(0)
        return timedelta(seconds=min(self.cap, self.base * 2.0 ** min(failures - self.free, 40)))


@dataclass(frozen=True)
class ThrottlePolicy:
    """Per account-and-address (strict: one guesser) and per account (lenient: many addresses).
    An address the user logged in from within ``trusted`` skips the account-wide counter, so
    guesses from elsewhere do not keep the owner out."""

    per_address: Backoff = Backoff(free=5, base=5.0, cap=15 * 60.0)
    per_account: Backoff = Backoff(free=20, base=5.0, cap=15 * 60.0)
    forget: timedelta = timedelta(hours=24)   # failures older than this no longer count (rows purged)
    trusted: timedelta = timedelta(days=30)   # an address with a successful login is trusted this long


DEFAULT_POLICY = ThrottlePolicy()
MAX_FAILURES = DEFAULT_POLICY.per_address.free  # guesses evaluated at once from one address


class LoginThrottled(StorageError):
    """Too many failed logins for this username; ``retry_after`` seconds until the next try."""

    def __init__(self, username: str, retry_after: int):
        super().__init__(f"too many failed logins for {username!r}; try again in {retry_after} seconds")
        self.retry_after = retry_after


class TokenRejected(StorageError):
    """A known API token that no longer works (expired, revoked, or its user disabled)."""


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


def find_user(session: Session, username: str) -> AdminUser:
    # No name holds a NUL (USERNAME), and PostgreSQL would refuse it in a query: look it up as absent.
    user = None if "\x00" in username else session.scalar(select(AdminUser).where(AdminUser.username == username))
    if user is None:
        raise StorageError(f"no administrator named {username!r}")
    return user


def set_password(session: Session, username: str, password: str) -> None:
    """A new password; logs the user out everywhere and clears its failed logins."""
    user = find_user(session, username)
    if len(password) < MIN_PASSWORD:
        raise StorageError(f"password too short: at least {MIN_PASSWORD} characters")
    user.password_hash = hash_password(password)
    session.execute(delete(AdminSession).where(AdminSession.user_id == user.id))  # log out everywhere
    unlock(session, username)


def unlock(session: Session, username: str) -> int:
    """Forget the failed logins of ``username`` (account-wide and from every address); returns
    how many counters were reset. Addresses it logged in from stay trusted."""
    result = session.execute(update(LoginThrottle).where(LoginThrottle.username == username[:64],
                                                         LoginThrottle.failures > 0)
                             .values(failures=0, not_before=NO_WAIT))
    return result.rowcount or 0


def disable_user(session: Session, username: str, now: datetime | None = None) -> int:
    """Disable a user: no more logins, its sessions ended, its API tokens revoked at once.
    Returns the number of tokens revoked."""
    now = now or utcnow()
    user = find_user(session, username)
    if user.disabled_at is not None:
        raise StorageError(f"{username!r} is already disabled")
    user.disabled_at = now
    session.execute(delete(AdminSession).where(AdminSession.user_id == user.id))
    result = session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                             .values(revoked_at=now))
    return result.rowcount or 0


def purge_login_throttle(session: Session, policy: ThrottlePolicy = DEFAULT_POLICY, now: datetime | None = None) -> int:
    """Delete counters untouched for ``policy.forget``, except addresses still trusted."""
    now = now or utcnow()
    stale = LoginThrottle.updated_at < now - policy.forget
    untrusted = or_(LoginThrottle.succeeded_at.is_(None), LoginThrottle.succeeded_at < now - policy.trusted)
    return session.execute(delete(LoginThrottle).where(and_(stale, untrusted))).rowcount or 0


def _insert_ignore(session: Session, rows: list[dict]) -> None:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(insert(LoginThrottle).values(rows).on_conflict_do_nothing())


def _claim_attempt(session: Session, username: str, address_scope: str | None, policy: ThrottlePolicy,
                   fixed_now: datetime | None) -> None:
    """Count this attempt as a failure before its password is checked (a success undoes it), or
    raise LoginThrottled without counting it. Committed before returning, so that parallel
    attempts (threads, processes, machines sharing the database) each see the others.

    Each counter is advanced by a compare-and-set UPDATE (``WHERE failures = <as read>``): of
    two attempts that read the same count, only one moves it; the other starts again and then
    sees the delay. On SQLite the first INSERT takes the database's write lock for the whole
    transaction; on PostgreSQL the second UPDATE waits for the first's row lock, then finds the
    count changed."""
    scopes = ([address_scope] if address_scope else []) + [ACCOUNT]
    backoffs = {ACCOUNT: policy.per_account, address_scope: policy.per_address}
    for _ in range(50):
        now = fixed_now or utcnow()
        _insert_ignore(session, [{"username": username, "scope": scope, "failures": 0, "not_before": now,
                                  "updated_at": now} for scope in scopes])
        now = fixed_now or utcnow()  # after waiting for the write lock (SQLite), not before
        rows = {row.scope: row for row in session.execute(
            select(LoginThrottle.scope, LoginThrottle.failures, LoginThrottle.not_before, LoginThrottle.updated_at,
                   LoginThrottle.succeeded_at)
            .where(LoginThrottle.username == username, LoginThrottle.scope.in_(scopes)))}
        pair = rows.get(address_scope)
        trusted = pair is not None and pair.succeeded_at is not None and _aware(pair.succeeded_at) > now - policy.trusted
        raced = False
        for scope in scopes:
            if scope == ACCOUNT and trusted:
                continue
            row = rows[scope]
            if _aware(row.not_before) > now:
                session.rollback()
                raise LoginThrottled(username, max(1, math.ceil((_aware(row.not_before) - now).total_seconds())))
            counted = row.failures if _aware(row.updated_at) > now - policy.forget else 0
            moved = session.execute(
                update(LoginThrottle)
                .where(LoginThrottle.username == username, LoginThrottle.scope == scope,
                       LoginThrottle.failures == row.failures)
                .values(failures=counted + 1, not_before=now + backoffs[scope].delay(counted + 1), updated_at=now)
                .execution_options(synchronize_session=False))
            if moved.rowcount != 1:
                raced = True
                break
        if raced:
            session.rollback()
            continue
        session.commit()
        return
    raise LoginThrottled(username, 1)  # contention this heavy is an attack; the caller may retry


def authenticate(session: Session, username: str, password: str, address_scope: str | None = None,
                 policy: ThrottlePolicy = DEFAULT_POLICY, now: datetime | None = None) -> AdminUser | None:
    """The user when the password is right; None when wrong (or the user is disabled).

    Raises LoginThrottled, without checking the password, while this username is waiting out
    a delay: per client address (``address_scope``, e.g. "addr:" + a keyed hash of the
    address) and per account, with growing delays (``policy``). Commits the session."""
    global _DUMMY_HASH
    # PostgreSQL refuses NUL in text: such a name cannot exist, but is still counted (as U+FFFD).
    username = (username or "").replace("\x00", "\ufffd")[:64]
    purge_login_throttle(session, policy, now)
    _claim_attempt(session, username, address_scope, policy, now)
    now = now or utcnow()
    user = session.scalar(select(AdminUser).where(AdminUser.username == username))
    if user is None or user.disabled_at is not None:
        # Spend the same time as a real check, so response times do not reveal which names exist.
        _DUMMY_HASH = _DUMMY_HASH or hash_password(secrets.token_hex(8))
        verify_password(_DUMMY_HASH, password)
        ok = False
    else:
        ok = verify_password(user.password_hash, password)
    if not ok:
        session.commit()
        return None
    # The owner proved the password: its counters start over and this address is trusted.
    session.execute(update(LoginThrottle).where(LoginThrottle.username == username, LoginThrottle.scope == ACCOUNT)
                    .values(failures=0, not_before=now, updated_at=now))
    if address_scope:
        session.execute(update(LoginThrottle).where(LoginThrottle.username == username,
                                                    LoginThrottle.scope == address_scope)
                        .values(failures=0, not_before=now, updated_at=now, succeeded_at=now))
    user.last_login_at = now
    session.commit()
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
    user = session.get(AdminUser, row.user_id)
    return None if user is None or user.disabled_at is not None else user


def end_session(session: Session, sid: str | None) -> None:
    if sid:
        session.execute(delete(AdminSession).where(AdminSession.id_hash == hash_token(sid)))


def create_api_token(session: Session, username: str, name: str, days: int = TOKEN_DAYS,
                     now: datetime | None = None) -> str:
    """A new token for ``username`` valid ``days`` days (printed once; only its hash is stored)."""
    user = find_user(session, username)
    if user.disabled_at is not None:
        raise StorageError(f"{username!r} is disabled; it cannot get API tokens")
    if not isinstance(days, int) or not 1 <= days <= MAX_TOKEN_DAYS:
        raise StorageError(f"token lifetime {days!r} days: choose 1 to {MAX_TOKEN_DAYS}")
    if not (name or "").strip():
        raise StorageError("give the token a name (what it is for)")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise StorageError("token name: no control characters (tabs, line breaks, NUL)")
    now = now or utcnow()
    token = "csi_" + secrets.token_urlsafe(32)
    session.add(ApiToken(token_hash=hash_token(token), name=name.strip()[:100], user_id=user.id, created_at=now,
                         expires_at=now + timedelta(days=days)))
    session.flush()
    return token


def list_api_tokens(session: Session, username: str | None = None) -> list[tuple[ApiToken, AdminUser]]:
    """Tokens (newest first) with their users; all users' when ``username`` is None."""
    query = select(ApiToken, AdminUser).join(AdminUser, AdminUser.id == ApiToken.user_id).order_by(ApiToken.id.desc())
    if username is not None:
        query = query.where(AdminUser.id == find_user(session, username).id)
    return [(token, user) for token, user in session.execute(query)]


def token_state(token: ApiToken, now: datetime | None = None) -> str:
    """"active", "expired" or "revoked"."""
    now = now or utcnow()
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and _aware(token.expires_at) <= now:
        return "expired"
    return "active"


def revoke_api_token(session: Session, token_id: int, now: datetime | None = None) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise StorageError(f"no API token with id {token_id}")
    if row.revoked_at is not None:
        raise StorageError(f"API token {token_id} was already revoked")
    row.revoked_at = now or utcnow()
    return row


def token_user(session: Session, token: str | None, now: datetime | None = None) -> AdminUser | None:
    """The user a bearer token acts for; None for no or an unknown token; TokenRejected (with
    the reason) for an expired or revoked token or a disabled user. Records the last use
    (at most once a minute, to spare writes)."""
    if not token:
        return None
    now = now or utcnow()
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None:
        return None
    user = session.get(AdminUser, row.user_id)
    state = token_state(row, now)
    if state == "revoked":
        raise TokenRejected(f"API token {row.id} ({row.name}) was revoked")
    if state == "expired":
        raise TokenRejected(f"API token {row.id} ({row.name}) expired on {_aware(row.expires_at):%Y-%m-%d %H:%M} UTC")
    if user is None or user.disabled_at is not None:
        raise TokenRejected(f"API token {row.id} belongs to a disabled user")
    if row.last_used_at is None or (now - _aware(row.last_used_at)).total_seconds() > 60:
        row.last_used_at = now
    return user


def count_admins(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(AdminUser)))
