"""Accounts in storage: login throttling (growing delays per address and per account,
counted atomically so parallel guesses cannot overrun the limit), unlock and password reset,
purging, and API tokens that expire, are revoked, and die with a disabled user. Both backends."""
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from threading import Barrier

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.storage import make_engine, upgrade
from models.storage.accounts import (ACCOUNT, Backoff, LoginThrottled, ThrottlePolicy, TokenRejected, authenticate,
                                     create_admin, create_api_token, disable_user, list_api_tokens,
                                     purge_login_throttle, revoke_api_token, set_password, token_user, unlock)
from models.storage.tables import AdminSession, LoginThrottle, utcnow

PASSWORD = "correct horse battery"
SLOW = ThrottlePolicy(per_address=Backoff(5, 60.0, 900.0), per_account=Backoff(20, 60.0, 900.0))


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    with Session(engine) as session:
        create_admin(session, "alice", PASSWORD)
        session.commit()
    yield engine
    engine.dispose()


def attempt(engine, password, address="addr:a", policy=ThrottlePolicy(), now=None, username="alice"):
    """"ok", "wrong" or ("throttled", retry_after)."""
    with Session(engine) as session:
        try:
            user = authenticate(session, username, password, address, policy, now)
        except LoginThrottled as exc:
            return ("throttled", exc.retry_after)
        return "ok" if user is not None else "wrong"


def test_backoff_delays_grow_from_the_free_failures_and_are_capped():
    backoff = Backoff(free=5, base=5.0, cap=900.0)
    assert [backoff.delay(k).total_seconds() for k in range(1, 12)] == [0, 0, 0, 0, 5, 10, 20, 40, 80, 160, 320]
    assert backoff.delay(10_000) == timedelta(seconds=900)


@pytest.mark.production_password_cost
@pytest.mark.parametrize("address", ["addr:a", None])
def test_parallel_guesses_never_evaluate_more_than_the_limit(engine, address):
    # Before: the count was read before the attempt was recorded, without a lock, so 30 parallel
    # guesses had 6 (SQLite) or 12 (PostgreSQL) evaluated where the limit was 5.
    barrier = Barrier(30)

    def guess(n):
        barrier.wait()
        return attempt(engine, f"wrong guess {n}", address, SLOW)

    with ThreadPoolExecutor(30) as pool:
        outcomes = list(pool.map(guess, range(30)))
    evaluated = [o for o in outcomes if o == "wrong"]
    assert len(evaluated) == (5 if address else 20)  # per address 5; the account alone allows 20
    assert all(o == "wrong" or (o[0] == "throttled" and 0 < o[1] <= 60) for o in outcomes), [o for o in outcomes if o != "wrong"]
    with Session(engine) as session:
        counted = session.scalar(select(LoginThrottle.failures).where(LoginThrottle.scope == (address or ACCOUNT)))
    assert counted == len(evaluated)


def test_owner_gets_in_after_the_backoff_window_not_after_minutes(engine):
    t0 = utcnow()
    for k in range(5):
        assert attempt(engine, "wrong password!", now=t0 + timedelta(milliseconds=k)) == "wrong"
    blocked = attempt(engine, PASSWORD, now=t0 + timedelta(seconds=1))
    assert blocked == ("throttled", 5)  # the 5th failure (at t0 + 4 ms) costs 5 s: 4.004 s left
    assert attempt(engine, PASSWORD, now=t0 + timedelta(seconds=5.01)) == "ok"
    # ... and a success starts the count over.
    for k in range(4):
        assert attempt(engine, "wrong password!", now=t0 + timedelta(seconds=6 + k)) == "wrong"


def test_each_further_failure_doubles_the_wait(engine):
    t = utcnow()
    waits = []
    for _ in range(8):
        outcome = attempt(engine, "wrong password!", now=t)
        assert outcome == "wrong"
        with Session(engine) as session:
            row = session.get(LoginThrottle, ("alice", "addr:a"))
            wait = (row.not_before.replace(tzinfo=t.tzinfo) - t).total_seconds()
        waits.append(round(wait))
        t += timedelta(seconds=wait)
    assert waits == [0, 0, 0, 0, 5, 10, 20, 40]


def test_guesses_from_many_addresses_slow_the_account_but_not_the_owners_known_address(engine):
    t0 = utcnow()
    assert attempt(engine, PASSWORD, "addr:owner", now=t0) == "ok"
    for n in range(25):  # a distributed guesser: one try from each of 25 addresses
        outcome = attempt(engine, "wrong password!", f"addr:bot{n}", now=t0 + timedelta(seconds=1))
        assert outcome == ("wrong" if n < 20 else ("throttled", 5)), n
    assert attempt(engine, PASSWORD, "addr:new", now=t0 + timedelta(seconds=2))[0] == "throttled"
    assert attempt(engine, PASSWORD, "addr:owner", now=t0 + timedelta(seconds=2)) == "ok"


def test_password_reset_and_unlock_clear_the_failures(engine):
    t0 = utcnow()
    for _ in range(7):
        attempt(engine, "wrong password!", now=t0)
    assert attempt(engine, PASSWORD, now=t0)[0] == "throttled"
    with Session(engine) as session:
        assert unlock(session, "alice") == 2  # the address's and the account's counters
        session.commit()
    assert attempt(engine, PASSWORD, now=t0) == "ok"
    for _ in range(7):
        attempt(engine, "wrong password!", now=t0)
    with Session(engine) as session:
        set_password(session, "alice", "a new long password")
        session.commit()
    assert attempt(engine, "a new long password", now=t0) == "ok"


def test_failures_are_forgotten_and_purged_after_a_day(engine):
    t0 = utcnow() - timedelta(days=2)
    for n in range(7):
        attempt(engine, "wrong password!", f"addr:{n}", now=t0, username="nobody")
    attempt(engine, PASSWORD, "addr:home", now=t0)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(LoginThrottle)) == 10  # 8 + 1 per account
        assert purge_login_throttle(session) == 9  # alice's home address is still trusted
        session.commit()
        assert session.scalars(select(LoginThrottle.scope)).all() == ["addr:home"]


def test_tokens_expire_are_revoked_and_die_with_their_user(engine):
    now = utcnow()
    with Session(engine) as session:
        create_admin(session, "bob", PASSWORD, "viewer")
        default = create_api_token(session, "alice", "dashboards", now=now)
        short = create_api_token(session, "alice", "one day", days=1, now=now)
        bobs = create_api_token(session, "bob", "bob's", now=now)
        session.commit()
        tokens = {t.name: t for t, _ in list_api_tokens(session, "alice")}
        assert (tokens["dashboards"].expires_at.replace(tzinfo=now.tzinfo) - now) == timedelta(days=90)
        assert tokens["dashboards"].last_used_at is None
        assert token_user(session, default, now=now).username == "alice"
        session.commit()
        assert list_api_tokens(session, "alice")[-1][0].last_used_at is not None
        with pytest.raises(TokenRejected, match="expired on"):
            token_user(session, short, now=now + timedelta(days=1, seconds=1))
        revoke_api_token(session, tokens["dashboards"].id)
        session.commit()
        with pytest.raises(TokenRejected, match="revoked"):
            token_user(session, default)
        assert token_user(session, "csi_unknown") is None
        session.add(AdminSession(id_hash="x" * 64, user_id=tokens["one day"].user_id + 1, created_at=now,
                                 last_seen_at=now))
        assert disable_user(session, "bob") == 1
        session.commit()
        with pytest.raises(TokenRejected):
            token_user(session, bobs)
        assert session.scalar(select(func.count()).select_from(AdminSession)) == 0
        assert attempt(engine, PASSWORD, username="bob") == "wrong"
        for bad in (0, 3651):
            with pytest.raises(Exception, match="lifetime"):
                create_api_token(session, "alice", "x", days=bad)


def test_migration_gives_existing_tokens_the_default_lifetime_and_downgrades(empty_database_url):
    from sqlalchemy import inspect, text
    engine = make_engine(empty_database_url)
    upgrade(engine, "0003")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO admin_users (id, username, password_hash, role, created_at) "
                                "VALUES (1, 'alice', 'x', 'admin', CURRENT_TIMESTAMP)"))
        connection.execute(text("INSERT INTO api_tokens (id, token_hash, name, user_id, created_at) "
                                "VALUES (1, 'h', 'old', 1, CURRENT_TIMESTAMP)"))
        connection.execute(text("INSERT INTO login_failures (username, at) VALUES ('alice', CURRENT_TIMESTAMP)"))
    upgrade(engine, "0004_accounts")
    with Session(engine) as session:
        from models.storage.tables import ApiToken
        token = session.get(ApiToken, 1)
        left = token.expires_at.replace(tzinfo=utcnow().tzinfo) - utcnow()
        assert timedelta(days=89) < left <= timedelta(days=90) and token.revoked_at is None
    tables = set(inspect(engine).get_table_names())
    assert "login_throttle" in tables and "login_failures" not in tables
    from models.storage.db import downgrade
    downgrade(engine, "0003")
    assert "login_failures" in set(inspect(engine).get_table_names())
    with engine.connect() as connection:
        assert connection.execute(text("SELECT name FROM api_tokens")).scalars().all() == ["old"]
    engine.dispose()
