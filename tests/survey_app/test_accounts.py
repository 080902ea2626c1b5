"""Account security through the app: login throttling against a live server, the per-address
rate limit, `csi admin` unlock/tokens/revoke/disable, the console's users and tokens page,
the API's answers for dead tokens, and request-body limits per route. Both backends."""
import csv
import io
import re
import time
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench.loadgen import Client, Stats
from models.storage import find_wave
from models.storage.accounts import create_admin, create_api_token
from models.storage.tables import AdminUser, ApiToken, Invitation
from survey_app.cli import main as csi
from survey_app.state import state_of

from .conftest import Respondent, https_client
from .test_admin import PASSWORD, csrf_of, login


@pytest.fixture
def users(app, engine):
    with Session(engine) as session:
        create_admin(session, "alice", PASSWORD, "admin")
        create_admin(session, "victor", PASSWORD, "viewer")
        session.commit()


def run_cli(app, *args):
    result = CliRunner().invoke(csi, [*args, "--database", state_of(app).url])
    return result


def live_login(base: str, username: str, password: str) -> int:
    """One browser: fetch the login form (cookie and CSRF token), post it once; the status."""
    client = Client(base, Stats())
    try:
        status, _, page = client.request("GET", "/admin/login")
        assert status == 200
        token = csrf_of(page)
        status, _, _ = client.request("POST", "/admin/login", {"csrf_token": token, "username": username,
                                                                "password": password}, attempts=1)
        return status
    finally:
        client.close()


@pytest.mark.production_password_cost
def test_thirty_parallel_guesses_on_a_live_server_evaluate_at_most_the_limit(app, users, live_server):
    # Before: 6 (SQLite) and 12 (PostgreSQL) of 30 parallel guesses were evaluated, limit 5.
    app.config.update(LOGIN_RATE_LIMIT="", LOGIN_BACKOFF_SECONDS=60)  # the database layer alone
    barrier = Barrier(30)

    def guess(n):
        client = Client(live_server, Stats())
        status, _, page = client.request("GET", "/admin/login")
        data = {"csrf_token": csrf_of(page), "username": "alice", "password": f"guess number {n}"}
        barrier.wait()
        status, _, _ = client.request("POST", "/admin/login", data, attempts=1)
        client.close()
        return status

    with ThreadPoolExecutor(30) as pool:
        statuses = list(pool.map(guess, range(30)))
    assert sorted(statuses) == [401] * 5 + [429] * 25
    assert live_login(live_server, "alice", PASSWORD) == 429  # the owner, from the same address, waits ...
    result = run_cli(app, "admin", "unlock", "alice")  # ... unless an administrator unlocks the account
    assert result.exit_code == 0 and "'alice' unlocked (2 failed-login counters cleared)" in result.output
    assert live_login(live_server, "alice", PASSWORD) == 302


def test_owner_gets_in_after_the_backoff_window(app, users):
    # Before: 5 anonymous wrong passwords kept the owner out for 15 minutes.
    app.config.update(LOGIN_BACKOFF_SECONDS=1)
    guesser = https_client(app)
    for _ in range(5):
        assert login(guesser, password="wrong password!").status_code == 401
    owner = https_client(app)
    blocked = login(owner)
    assert blocked.status_code == 429 and blocked.headers["Retry-After"] == "1"
    assert "try again in 1 seconds" in blocked.get_data(as_text=True)
    time.sleep(1.05)
    assert login(owner).status_code == 302


def test_guesses_elsewhere_do_not_lock_the_owner_out_of_a_known_address(app, users):
    owner = https_client(app)
    owner.environ_base["REMOTE_ADDR"] = "192.0.2.10"
    assert login(owner).status_code == 302
    for n in range(25):  # 25 addresses, a guess each: the account as a whole slows down ...
        bot = https_client(app)
        bot.environ_base["REMOTE_ADDR"] = f"198.51.100.{n}"
        assert login(bot, password="wrong password!").status_code == (401 if n < 20 else 429)
    stranger = https_client(app)
    stranger.environ_base["REMOTE_ADDR"] = "203.0.113.5"
    assert login(stranger).status_code == 429
    again = https_client(app)
    again.environ_base["REMOTE_ADDR"] = "192.0.2.10"
    assert login(again).status_code == 302  # ... but the owner's address is not held up


def test_per_address_rate_limit_over_all_usernames(app, users):
    app.config.update(LOGIN_RATE_LIMIT="3 per minute")
    sprayer = https_client(app)
    for name in ("ann", "bob", "cid"):
        assert login(sprayer, name, "wrong password!").status_code == 401
    refused = login(sprayer, "dan", "wrong password!")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Too many login attempts from your address" in refused.get_data(as_text=True)
    other = https_client(app)
    other.environ_base["REMOTE_ADDR"] = "192.0.2.99"
    assert login(other).status_code == 302


def test_cli_password_reset_clears_failures_and_cli_errors_are_one_line(app, users):
    client = https_client(app)
    for _ in range(6):
        login(client, password="wrong password!")
    assert login(client).status_code == 429
    reset = CliRunner().invoke(csi, ["admin", "password", "alice", "--password-stdin", "--database",
                                     state_of(app).url], input="a brand new password\n")
    assert reset.exit_code == 0 and "failed logins cleared" in reset.output
    assert login(client, password="a brand new password").status_code == 302
    for args in (("unlock", "nobody"), ("disable", "nobody"), ("tokens", "nobody"), ("revoke", "999"),
                 ("token", "x", "--user", "alice", "--days", "0")):
        result = run_cli(app, "admin", *args)
        assert result.exit_code == 1, args
        assert result.output.startswith("error: ") and result.output.count("\n") == 1, result.output


def test_cli_tokens_list_revoke_and_disable(app, users, engine):
    result = run_cli(app, "admin", "token", "dashboards", "--user", "alice", "--days", "30")
    assert result.exit_code == 0
    token = result.output.strip()
    api = https_client(app)
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/surveys", headers=headers).status_code == 200
    listing = run_cli(app, "admin", "tokens", "alice").output
    lines = listing.splitlines()
    assert lines[0].split() == ["id", "name", "created", "expires", "last", "used", "state"]
    token_id = int(lines[1].split()[0])
    with Session(engine) as session:
        row = session.get(ApiToken, token_id)
        assert (row.expires_at - row.created_at).days == 30
        assert f"{row.expires_at:%Y-%m-%d %H:%M}" in lines[1] and f"{row.last_used_at:%Y-%m-%d %H:%M}" in lines[1]
    assert lines[1].endswith("active")
    revoked = run_cli(app, "admin", "revoke", str(token_id))
    assert revoked.exit_code == 0 and f"API token {token_id} (dashboards) revoked" in revoked.output
    refused = api.get("/api/v1/surveys", headers=headers)
    assert refused.status_code == 401 and refused.is_json
    assert f"API token {token_id} (dashboards) was revoked" in refused.json["error"]
    assert "revoked 20" in run_cli(app, "admin", "tokens", "alice").output
    second = run_cli(app, "admin", "token", "reports", "--user", "victor").output.strip()
    assert api.get("/api/v1/surveys", headers={"Authorization": f"Bearer {second}"}).status_code == 200
    disabled = run_cli(app, "admin", "disable", "victor")
    assert disabled.exit_code == 0 and "1 API token revoked" in disabled.output
    gone = api.get("/api/v1/surveys", headers={"Authorization": f"Bearer {second}"})
    assert gone.status_code == 401 and "revoked" in gone.json["error"]
    assert login(https_client(app), "victor").status_code == 401


def test_expired_token_gets_401_with_a_message(app, users, engine):
    from datetime import timedelta
    from models.storage.tables import utcnow
    with Session(engine) as session:
        token = create_api_token(session, "alice", "old", days=1, now=utcnow() - timedelta(days=2))
        session.commit()
    response = https_client(app).get("/api/v1/surveys", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
    assert re.search(r"API token \d+ \(old\) expired on 20\d\d-", response.json["error"])


def test_console_manages_users_and_tokens(app, users, engine):
    admin = https_client(app)
    assert login(admin).status_code == 302
    viewer = https_client(app)
    assert login(viewer, "victor").status_code == 302
    assert viewer.get("/admin/users").status_code == 403
    assert "/admin/users" not in viewer.get("/admin/").get_data(as_text=True)
    page = admin.get("/admin/users").get_data(as_text=True)
    token = csrf_of(page)
    assert "victor" in page and "No API tokens yet." in page
    created = admin.post("/admin/users", data={"csrf_token": token, "username": "carol", "role": "viewer",
                                               "password": "carol's long password"}, follow_redirects=True)
    assert "User carol (viewer) created." in created.get_data(as_text=True)
    short = admin.post("/admin/users", data={"csrf_token": token, "username": "dave", "role": "admin",
                                             "password": "short"}, follow_redirects=True)
    assert "password too short" in short.get_data(as_text=True)
    with Session(engine) as session:
        carol = session.scalar(select(AdminUser).where(AdminUser.username == "carol"))
        assert carol.role == "viewer"
        assert session.scalar(select(AdminUser).where(AdminUser.username == "dave")) is None
    issued = admin.post("/admin/tokens", data={"csrf_token": token, "username": "carol", "name": "bi", "days": "7"})
    body = issued.get_data(as_text=True)
    secret = re.search(r'<pre id="new-token" class="secret">(csi_[A-Za-z0-9_-]+)</pre>', body).group(1)
    assert "csi_" not in admin.get("/admin/users").get_data(as_text=True)  # shown once only
    headers = {"Authorization": f"Bearer {secret}"}
    assert https_client(app).get("/api/v1/surveys", headers=headers).status_code == 200
    with Session(engine) as session:
        token_id = session.scalar(select(ApiToken.id).where(ApiToken.name == "bi"))
    page = admin.get("/admin/users").get_data(as_text=True)
    assert re.search(rf'<tr id="token-{token_id}">.*?<td[^>]*>carol</td>.*?<td[^>]*>active</td>', page, re.S)
    reset = admin.post(f"/admin/users/{carol.id}/password", data={"csrf_token": token, "password": "carol's new password"},
                       follow_redirects=True)
    assert "Password of carol changed" in reset.get_data(as_text=True)
    assert login(https_client(app), "carol", "carol's new password").status_code == 302
    disabled = admin.post(f"/admin/users/{carol.id}/disable", data={"csrf_token": token}, follow_redirects=True)
    assert "carol disabled" in disabled.get_data(as_text=True)
    assert https_client(app).get("/api/v1/surveys", headers=headers).status_code == 401  # at once
    assert login(https_client(app), "carol", "carol's new password").status_code == 401
    with Session(engine) as session:
        alice_id = session.scalar(select(AdminUser.id).where(AdminUser.username == "alice"))
    selfish = admin.post(f"/admin/users/{alice_id}/disable", data={"csrf_token": token}, follow_redirects=True)
    assert "cannot disable your own account" in selfish.get_data(as_text=True)
    second = admin.post("/admin/tokens", data={"csrf_token": token, "username": "alice", "name": "etl", "days": "x"},
                        follow_redirects=True)
    assert "a whole number from 1 to 3650" in second.get_data(as_text=True)
    issued = admin.post("/admin/tokens", data={"csrf_token": token, "username": "alice", "name": "etl"})
    etl = re.search(r'<pre id="new-token" class="secret">(csi_[A-Za-z0-9_-]+)</pre>', issued.get_data(as_text=True)).group(1)
    with Session(engine) as session:
        etl_id = session.scalar(select(ApiToken.id).where(ApiToken.name == "etl"))
    revoked = admin.post(f"/admin/tokens/{etl_id}/revoke", data={"csrf_token": token}, follow_redirects=True)
    assert f"API token {etl_id} revoked." in revoked.get_data(as_text=True)
    answer = https_client(app).get("/api/v1/surveys", headers={"Authorization": f"Bearer {etl}"})
    assert answer.status_code == 401 and "was revoked" in answer.json["error"]
    unlocked = admin.post(f"/admin/users/{alice_id}/unlock", data={"csrf_token": token}, follow_redirects=True)
    assert "Failed logins of alice cleared." in unlocked.get_data(as_text=True)


def _wave_id(engine):
    with Session(engine) as session:
        return find_wave(session, "acsi-retail", "2026Q4").id


def test_hundred_thousand_invitations_in_one_upload(app, users, engine):
    # Before: any invitation CSV over 64 KiB (about 3,000 rows) got 413 from the CSRF check.
    admin = https_client(app)
    assert login(admin).status_code == 302
    wave_id = _wave_id(engine)
    token = csrf_of(admin.get(f"/admin/waves/{wave_id}").get_data(as_text=True))
    lines = ["email,region,tier,channel"] + [f"customer{n}@example.com,{('north', 'south')[n % 2]},"
                                             f"{('gold', 'basic', 'silver')[n % 3]},online" for n in range(100_000)]
    people = ("\n".join(lines) + "\n").encode()
    assert len(people) > 4 * 1024 * 1024
    response = admin.post(f"/admin/waves/{wave_id}/invitations", content_type="multipart/form-data",
                          data={"csrf_token": token, "file": (io.BytesIO(people), "people.csv")})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 100_000 and rows[-1]["email"] == "customer99999@example.com"
    assert len({r["link"] for r in rows}) == 100_000
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Invitation).where(Invitation.wave_id == wave_id)) == 100_000
        tiers = session.execute(select(Invitation.attributes).where(Invitation.wave_id == wave_id).limit(3)).scalars().all()
        assert [t["tier"] for t in tiers] == ["gold", "basic", "silver"]


def test_invitation_errors_late_in_a_file_store_nothing(app, users, engine):
    admin = https_client(app)
    assert login(admin).status_code == 302
    wave_id = _wave_id(engine)
    token = csrf_of(admin.get(f"/admin/waves/{wave_id}").get_data(as_text=True))
    people = "region,tier\n" + "north,gold\n" * 12_000 + "south,basic,extra\n"
    bad = admin.post(f"/admin/waves/{wave_id}/invitations", content_type="multipart/form-data",
                     data={"csrf_token": token, "file": (io.BytesIO(people.encode()), "people.csv")},
                     follow_redirects=True)
    assert "people.csv:12002: more cells than header columns" in bad.get_data(as_text=True)
    latin = admin.post(f"/admin/waves/{wave_id}/invitations", content_type="multipart/form-data",
                       data={"csrf_token": token, "file": (io.BytesIO(b"region\nnorth\nM\xfcnchen\n"), "latin.csv")},
                       follow_redirects=True)
    assert "latin.csv:3: not UTF-8 text (byte 2 of the line)" in latin.get_data(as_text=True)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Invitation)) == 0


def test_too_large_uploads_and_posts_say_which_limit(app, users, engine, client, acsi):
    app.config.update(INVITATION_UPLOAD_LIMIT=1024 * 1024)
    admin = https_client(app)
    assert login(admin).status_code == 302
    wave_id = _wave_id(engine)
    token = csrf_of(admin.get(f"/admin/waves/{wave_id}").get_data(as_text=True))
    huge = b"region\n" + b"north\n" * 200_000
    response = admin.post(f"/admin/waves/{wave_id}/invitations", content_type="multipart/form-data",
                          data={"csrf_token": token, "file": (io.BytesIO(huge), "huge.csv")})
    text = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "larger than the 1 MiB accepted for an invitation list (CSV)" in text and "Split the file" in text
    questionnaire = admin.post("/admin/questionnaires", content_type="multipart/form-data",
                               data={"csrf_token": token, "file": (io.BytesIO(b"#" * (3 * 1024 * 1024)), "q.yaml")})
    assert questionnaire.status_code == 413
    assert "2 MiB accepted for a questionnaire file" in questionnaire.get_data(as_text=True)
    person = Respondent(client, acsi)
    page = person.start()
    data = person.page_data(page)
    data["padding"] = "x" * 70_000
    refused = person.post(page.url, data, follow=False)
    assert refused.status == 413 and "Too much text" in refused.text and "at most 64 KiB" in refused.text


def test_per_address_limit_is_shared_through_redis(database_url):
    """Two apps (as two server processes) on one Redis count one address's logins together."""
    import secrets

    import redis

    from survey_app import create_app
    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis server at 127.0.0.1:6379 (.ci/run starts one)")
    config = {"DATABASE_URL": database_url, "AUTO_MIGRATE": True, "TESTING": True, "REDIS_URL": url,
              "LOGIN_RATE_LIMIT": "4 per minute", "SECRET_KEY": "shared secret"}
    apps = [create_app(config), create_app(config)]
    address = f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(256)}"  # fresh keys
    statuses = []
    for n in range(6):
        client = https_client(apps[n % 2])
        client.environ_base["REMOTE_ADDR"] = address
        statuses.append(login(client, f"user{n}", "wrong password!").status_code)
    assert statuses == [401] * 4 + [429] * 2
    for app in apps:
        state_of(app).engine.dispose()


def test_nul_bytes_in_a_login_are_refused_not_an_error(app, users):
    """A NUL in any form field is refused app-wide (survey_app/input_guard.py) with a 400 that
    says so, on both backends, before the login is checked or counted."""
    client = https_client(app)
    for name in ("al\x00ice", "\x00"):
        response = login(client, name, "pass\x00word!")
        assert response.status_code == 400 and "NUL character" in response.get_data(as_text=True)
    assert login(client).status_code == 302  # the refused posts were not counted as failures
    token = csrf_of(client.get("/admin/users").get_data(as_text=True))
    for data in ({"username": "alice", "name": "b\x00i"}, {"username": "al\x00ice", "name": "bi"}):
        answer = client.post("/admin/tokens", data={"csrf_token": token, **data}, follow_redirects=True)
        assert answer.status_code == 400 and "NUL character" in answer.get_data(as_text=True)
