"""Configuration: defaults here, then ``CSI_*`` environment variables, then the mapping
or object handed to ``create_app``."""
from __future__ import annotations


class Config:
    # A secret is generated into the instance folder on first start unless one is given.
    SECRET_KEY: str | None = None
    # SQLAlchemy URL; default: SQLite file in the instance folder (CSI_DATABASE_URL overrides).
    DATABASE_URL: str | None = None
    # Database connections kept open per process (SQLAlchemy's default is 5). `csi serve` sets it
    # to its thread count: with fewer, every request above the pool's size opened and closed a
    # connection of its own, and each new PostgreSQL connection is a process started and ended.
    DATABASE_POOL_SIZE: int | None = None
    # Create or upgrade the schema at start (the demo and tests); production runs `csi init`.
    AUTO_MIGRATE = False
    # Survey forms are small: 64 KiB is far above the largest page (a few 2,000-character texts).
    MAX_CONTENT_LENGTH = 64 * 1024
    MAX_FORM_PARTS = 200
    SESSION_COOKIE_NAME = "csi_session"
    SESSION_COOKIE_SECURE = True      # browsers treat http://localhost as secure, so the demo works too
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = 60 * 60 * 24 * 30  # resume within 30 days
    # Flask's signed-cookie session is re-sent only when it changes (start, language, login):
    # its 30-day lifetime counts from the last change, which is when the respondent was there.
    SESSION_REFRESH_EACH_REQUEST = False
    # Flask-WTF's CSRFProtect: every form post must carry the session's token. No time limit:
    # a respondent may leave a page open for hours (the token is bound to the session, whose
    # cookie expires). Off only in tests that probe other checks.
    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None
    # Its HTTPS Referer check would refuse every post: our pages send no Referer at all
    # (Referrer-Policy: no-referrer, since invitation links carry their token in the path).
    # SameSite=Lax cookies and the token already stop cross-site posts.
    WTF_CSRF_SSL_STRICT = False
    PREFERRED_URL_SCHEME = "https"
    # Number of reverse proxies in front whose X-Forwarded-For/Proto/Host to trust (0 = none).
    PROXY_HOPS = 0
    # Redis (redis://host:port/db) for counters shared by every process and machine: the login
    # rate limit per address. Without it each process counts on its own.
    REDIS_URL: str | None = None
    # Login throttling (docs/security.md): per client address over all usernames (Flask-Limiter;
    # empty = off), and the database's growing delays per account: the first delay, doubling up to the cap.
    LOGIN_RATE_LIMIT = "10 per minute; 100 per hour"
    LOGIN_BACKOFF_SECONDS = 5
    LOGIN_BACKOFF_MAX_SECONDS = 900
    # Request bodies per route (survey_app/body_limits.py): respondents keep MAX_CONTENT_LENGTH.
    QUESTIONNAIRE_UPLOAD_LIMIT = 2 * 1024 * 1024
    INVITATION_UPLOAD_LIMIT = 16 * 1024 * 1024
    # Responses collected elsewhere (models.importing reads at most CSI_IMPORT_MAX_BYTES, 200 MB).
    IMPORT_UPLOAD_LIMIT = 200 * 1024 * 1024
    # Admin console: sessions end after this much inactivity, or this long after login at most.
    ADMIN_IDLE_MINUTES = 30
    ADMIN_ABSOLUTE_HOURS = 12
    # Open follow-ups older than this are counted at the top of every admin page.
    FOLLOW_UP_OVERDUE_HOURS = 48
    # Resamples and permutations behind a report downloaded from the console.
    REPORT_BOOTSTRAP = 1000
    REPORT_PERMUTATIONS = 1000
