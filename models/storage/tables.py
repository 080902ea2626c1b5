"""The database schema (SQLAlchemy 2 ORM). Alembic migrations in ``migrations/`` build it."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class QuestionnaireVersion(Base):
    """One exact questionnaire version (its content hash identifies it)."""

    __tablename__ = "surveys"
    __table_args__ = (UniqueConstraint("questionnaire_id", "content_hash", name="uq_survey_content"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    questionnaire_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[str] = mapped_column(String(32))
    content_hash: Mapped[str] = mapped_column(String(64))
    content: Mapped[dict] = mapped_column(JSON)
    title: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Wave(Base):
    """A fielding period of a questionnaire, e.g. ``2026Q4``."""

    __tablename__ = "waves"
    __table_args__ = (UniqueConstraint("questionnaire_id", "name", name="uq_wave_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    questionnaire_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(32))
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"))
    opens_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closes_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    # Added in revision 0006: automatic reminders (at most ``reminder_max`` per invitee, each
    # at least ``reminder_after_days`` after the last message); None: reminders only on request.
    reminder_max: Mapped[int | None] = mapped_column(Integer)
    reminder_after_days: Mapped[float | None] = mapped_column(Float)
    # Added in revision 0013_quotas: at most this many completed responses (None: no cap);
    # the completion that reaches it closes the wave (``closed``), in the same transaction.
    max_completes: Mapped[int | None] = mapped_column(Integer)

    questionnaire_version: Mapped[QuestionnaireVersion] = relationship()

    def is_open(self, now: datetime | None = None) -> bool:
        now = now or utcnow()
        if self.closed:
            return False
        if self.opens_at and _aware(self.opens_at) > now:
            return False
        if self.closes_at and _aware(self.closes_at) <= now:
            return False
        return True


def _aware(moment: datetime) -> datetime:
    # SQLite returns naive datetimes; everything is stored in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class Invitation(Base):
    """A one-time personal link. Only the SHA-256 of the token is stored.

    An e-mail invitation (revision 0006) also keeps its address, language and the nonce its
    token is derived from with the server's secret (``models.storage.invitations``), so a
    reminder can carry the same link without the token being stored.
    """

    __tablename__ = "invitations"
    __table_args__ = (UniqueConstraint("wave_id", "email", name="uq_invitation_email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    attributes: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Added in revision 0006 (e-mail invitations and reminders).
    email: Mapped[str | None] = mapped_column(String(320))
    language: Mapped[str | None] = mapped_column(String(16))
    token_nonce: Mapped[str | None] = mapped_column(String(64))
    # None (a link handed out by other means), "queued", "sent", "deferred" (a temporary SMTP
    # refusal, retried) or "bounced" (a permanent refusal).
    mail_status: Mapped[str | None] = mapped_column(String(16), index=True)
    send_after: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    send_attempts: Mapped[int] = mapped_column(Integer, default=0)
    bounce_message: Mapped[str | None] = mapped_column(Text)
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    opted_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Response(Base):
    __tablename__ = "responses"
    __table_args__ = (Index("ix_responses_wave_status", "wave_id", "status"),
                      UniqueConstraint("wave_id", "import_key", name="uq_responses_import_key"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"))
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id"))
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitations.id"), unique=True)
    respondent_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="partial")
    language: Mapped[str] = mapped_column(String(16))
    current_page: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Added in revision 0002.
    follow_up: Mapped[bool] = mapped_column(Boolean, default=False)
    follow_up_status: Mapped[str | None] = mapped_column(String(16))
    contact: Mapped[dict | None] = mapped_column(JSON)
    # Added in revision 0003.
    follow_up_note: Mapped[str | None] = mapped_column(Text)
    follow_up_updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Added in revision 0008 (the follow-up workflow; every change is a FollowUpEvent too).
    follow_up_assignee_id: Mapped[int | None] = mapped_column(ForeignKey("admin_users.id", ondelete="SET NULL"))
    follow_up_outcome: Mapped[str | None] = mapped_column(String(32))
    follow_up_closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Added in revision 0011_dataimport: "web" or "imported" (``csi import``), and for an
    # imported response the SHA-256 of its respondent id or row, unique within the wave,
    # so importing the same file twice stores its rows once.
    origin: Mapped[str] = mapped_column(String(16), default="web", server_default="web")
    import_key: Mapped[str | None] = mapped_column(String(64))
    # Added in revision 0012_hidden: the hidden values that came with the link, {id: text}
    # (models.hidden), or NULL.
    hidden: Mapped[dict | None] = mapped_column(JSON)
    # Added in revision 0013_quotas: the quota that ended this response (status
    # "quota_full"); "*" for the wave's own cap (models.quotas.WAVE_QUOTA_ID).
    quota_id: Mapped[str | None] = mapped_column(String(64))
    # Added in revision 0014_matrix: the order this response was shown randomized options,
    # matrix rows and page questions in ({key: [ids]}, models/randomization.py); None when
    # nothing it saw was randomized.
    display_order: Mapped[dict | None] = mapped_column(JSON)

    answers: Mapped[list["Answer"]] = relationship(cascade="all, delete-orphan")


class Answer(Base):
    """One answer. Numbers (ratings, numeric answers, don't-know codes) go to
    ``value_num``; choices and text to ``value_text`` (multiple choice as JSON)."""

    __tablename__ = "answers"

    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True)
    question_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    value_num: Mapped[float | None] = mapped_column(Float)
    value_text: Mapped[str | None] = mapped_column(Text)


class PageSubmission(Base):
    """Added in revision 0002: the submission id of every accepted page post, so a
    repeated post (double click, retry) is recognised and stored once."""

    __tablename__ = "page_submissions"

    submission_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"), index=True)
    page_index: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AdminUser(Base):
    """Added in revision 0003. ``role``: "admin" (everything) or "viewer" (read only)."""

    __tablename__ = "admin_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="admin")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Added in revision 0004_accounts: a disabled user cannot log in; its sessions and tokens are ended.
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AdminSession(Base):
    """A logged-in administrator: the cookie holds a random id, the database its SHA-256,
    so logging out or expiring really ends the session."""

    __tablename__ = "admin_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("admin_users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LoginThrottle(Base):
    """Added in revision 0004_accounts (replacing ``login_failures``): failed-login counters
    per username, one for the account as a whole (``scope`` "account") and one per client
    address (``scope`` "addr:" + a keyed hash of the address; the address itself is not
    stored). ``not_before`` is when the next attempt may be evaluated; ``succeeded_at``
    marks an address this user logged in from. See ``accounts.authenticate``."""

    __tablename__ = "login_throttle"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    succeeded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[int] = mapped_column(ForeignKey("admin_users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Added in revision 0004_accounts.
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class FollowUpEvent(Base):
    """Added in revision 0008: one change to a follow-up case (``kind``: status, note,
    assignee or outcome, with its new ``value``), by whom and when. Never updated."""

    __tablename__ = "follow_up_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("admin_users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str | None] = mapped_column(Text)


class Webhook(Base):
    """Added in revision 0007_webhooks: a receiver told about a questionnaire's events.

    ``events``: a list of event names (``models.storage.webhooks.EVENTS``); ``secret`` signs
    every delivery (HMAC-SHA256), so it is kept as given, like the app's own secret key.
    """

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    questionnaire_id: Mapped[str] = mapped_column(String(64), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))
    events: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebhookDelivery(Base):
    """One event for one webhook, and how its delivery went: ``status`` is pending,
    delivered or failed (no attempts left); each attempt updates the counters."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_status", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Job(Base):
    """Added in revision 0005_jobs: one background job (a report, a wave analysis, ...).

    ``status``: queued, running, done or failed. A running job's worker renews
    ``heartbeat_at`` every few seconds; a job whose heartbeat is older than the lease
    (its worker was killed) is queued again (``models.storage.jobs.requeue_abandoned``).
    ``progress`` is 0-1 with a ``message``; ``output`` says where the result is.
    """

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status", "status", "heartbeat_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str | None] = mapped_column(String(500))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    worker: Mapped[str | None] = mapped_column(String(100))
    error: Mapped[str | None] = mapped_column(Text)
    output: Mapped[dict | None] = mapped_column(JSON)
    created_by: Mapped[str | None] = mapped_column(String(64))


class QuestionnaireSetting(Base):
    """Added in revision 0010_dashboard: settings of a questionnaire, across its versions.
    ``follow_up_sla_hours``: a flagged customer should be called back within this many
    hours of completing (None: the server's default, FOLLOW_UP_OVERDUE_HOURS)."""

    __tablename__ = "survey_settings"

    questionnaire_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    follow_up_sla_hours: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(64))


class WaveAnalysis(Base):
    """Added in revision 0005_jobs: the stored analysis of one wave (``analysis.stored``).

    Valid while ``data_version`` matches the wave's completed responses and
    ``code_version`` the installed analysis code. ``summary`` holds the JSON the console
    and API show; ``payload`` the fitted results for the report (pickled, zlib).
    """

    __tablename__ = "wave_analyses"

    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"), primary_key=True)
    data_version: Mapped[str] = mapped_column(String(64))
    seed: Mapped[int] = mapped_column(BigInteger)
    n_boot: Mapped[int] = mapped_column(Integer)
    n_perm: Mapped[int] = mapped_column(Integer)
    n_used: Mapped[int] = mapped_column(Integer)
    code_version: Mapped[str] = mapped_column(String(64))
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    seconds: Mapped[float] = mapped_column(Float)
    summary: Mapped[dict] = mapped_column(JSON)
    payload: Mapped[bytes] = mapped_column(LargeBinary)


class ReportFigures(Base):
    """Added in revision 0009_speed: the quarterly report's figures (inline SVG) of one
    wave in one language, drawn from stored analyses (``analysis.report``).

    ``key`` names everything the figures were drawn from (each stored analysis's wave,
    data version and computation time, the questionnaire version, the language, the
    figure code); a report whose key differs draws them afresh and replaces the row.
    ``figures``: zlib-compressed JSON {figure name: SVG markup}.
    """

    __tablename__ = "report_figures"

    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"), primary_key=True)
    language: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    figures: Mapped[bytes] = mapped_column(LargeBinary)


class QuotaCount(Base):
    """Added in revision 0013_quotas: completed responses a quota of a wave has taken.
    Raised only by ``UPDATE ... SET count = count + 1 WHERE count < limit`` in the
    completion's transaction (``survey_app.responses.quota_claims``), so the database
    decides between the last respondents of a quota. ``quota_id`` "*": the wave's own cap."""

    __tablename__ = "quota_counts"

    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"), primary_key=True)
    quota_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
