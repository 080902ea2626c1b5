"""``csi invitations``: e-mail invitations and reminders from the command line (the console's
invitation actions, scriptable).

    csi invitations import --survey S --wave W people.csv [--send-at 2027-01-05T09:00]
    csi invitations send   --survey S --wave W [--limit N]
    csi invitations remind --survey S --wave W [--max 2] [--after-days 3]
    csi invitations status --survey S --wave W [--csv FILE]

Mail settings come from the same ``CSI_*`` variables as the server (``CSI_SMTP_URL``,
``CSI_MAIL_SENDER``, ``CSI_MAIL_REPLY_TO``, ``CSI_MAIL_RATE``, ``CSI_BASE_URL``), and the
links are derived with the server's secret key, so run these where the server's
configuration is.
"""
from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone

import click

from models.errors import CSIError

from .state import state_of


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _wave_options(function):
    function = click.option("--database", "database_url", envvar="CSI_DATABASE_URL", default=None,
                            help="SQLAlchemy URL (default: SQLite file in ./instance, or $CSI_DATABASE_URL).")(function)
    function = click.option("--wave", required=True, help="Wave name, e.g. 2026Q4.")(function)
    return click.option("--survey", required=True, help="Questionnaire id, e.g. acsi-retail.")(function)


def _app(database_url: str | None):
    from models.storage import current_revision, default_url, head_revision, make_engine

    from . import create_app

    url = database_url or default_url()
    try:
        revision = current_revision(make_engine(url))
    except Exception as exc:  # an unreachable server or a broken URL is a user error here
        _fail(f"cannot open the database {url}: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
    if revision != head_revision():
        _fail(f"the database {url} is not at the current schema; run: csi init")
    return create_app({"DATABASE_URL": url})


def _wave_and_questionnaire(session, survey: str, wave_name: str):
    from models.storage import find_wave
    from models.storage.repository import stored_questionnaire

    wave = find_wave(session, survey, wave_name)
    return wave, stored_questionnaire(wave.questionnaire_version)


@click.group()
def invitations() -> None:
    """E-mail invitations and reminders: import a list, send, remind, see each invitee's status."""


@invitations.command("import")
@_wave_options
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--send-at", help="Send at this time (ISO 8601, UTC unless it names a zone); default: at the next send.")
def import_command(survey, wave, database_url, file, send_at) -> None:
    """Queue invitations from a CSV with an 'email' column (optional 'language', 'name' and
    segment columns such as tier, region, channel). Addresses already invited are skipped."""
    from sqlalchemy.orm import Session

    from models.storage.invitations import import_email_invitations

    when = _parse_time(send_at) if send_at else None
    rows = _read_csv(file)
    app = _app(database_url)
    with Session(state_of(app).engine) as session:
        try:
            stored_wave, questionnaire = _wave_and_questionnaire(session, survey, wave)
            result = import_email_invitations(session, stored_wave, rows, app.config["SECRET_KEY"],
                                              languages=questionnaire.languages,
                                              default_language=questionnaire.default_language,
                                              send_after=when, source=file)
            session.commit()
        except CSIError as exc:
            _fail(str(exc))
    click.echo(f"{result.created} invitations queued for {survey}/{wave}"
               + (f", {result.already_invited} already invited (skipped)" if result.already_invited else "")
               + (f"; they go out at the first send after {when.isoformat()}" if when else "; send them with: "
                  f"csi invitations send --survey {survey} --wave {wave}"))


def _read_csv(file: str) -> list[dict[str, str]]:
    from models.storage.invitations import MAX_LIST_BYTES, read_invitation_csv

    try:
        with open(file, "rb") as handle:
            data = handle.read(MAX_LIST_BYTES + 1)
    except OSError as exc:
        _fail(f"cannot read {file}: {exc.strerror or exc}")
    try:
        return read_invitation_csv(data, file)
    except CSIError as exc:
        _fail(str(exc))


def _parse_time(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        _fail(f"--send-at {value!r} is not an ISO 8601 time such as 2027-01-05T09:00 or 2027-01-05T09:00+08:00")
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _send(survey, wave, database_url, kind, **options) -> None:
    from sqlalchemy.orm import Session

    from .mailer import MailSettings, send_round

    app = _app(database_url)
    with Session(state_of(app).engine) as session:
        try:
            settings = MailSettings.from_config(app.config)
            stored_wave, questionnaire = _wave_and_questionnaire(session, survey, wave)
            if not stored_wave.is_open():
                _fail(f"wave {wave!r} of {survey!r} is closed: its links would not open; open it first")
            result = send_round(session, stored_wave, questionnaire, settings, kind,
                                progress=lambda done, total: click.echo(f"{done}/{total}", err=True)
                                if done % 100 == 0 or done == total else None, **options)
        except CSIError as exc:
            _fail(str(exc))
    click.echo(result.line())


@invitations.command("send")
@_wave_options
@click.option("--limit", type=click.IntRange(min=1), help="Send at most this many now.")
def send_command(survey, wave, database_url, limit) -> None:
    """Send the invitations that are due (queued, their time come, or deferred by the server)."""
    _send(survey, wave, database_url, "invitation", limit=limit)


@invitations.command("remind")
@_wave_options
@click.option("--max", "max_reminders", type=click.IntRange(min=1, max=10), default=2, show_default=True,
              help="At most this many reminders per invitee.")
@click.option("--after-days", type=click.FloatRange(min=0), default=3, show_default=True,
              help="Remind only invitees whose last message is at least this old.")
@click.option("--limit", type=click.IntRange(min=1), help="Send at most this many now.")
def remind_command(survey, wave, database_url, max_reminders, after_days, limit) -> None:
    """Remind invitees who have not completed, never those who opted out or bounced."""
    _send(survey, wave, database_url, "reminder", max_reminders=max_reminders,
          reminder_interval=timedelta(days=after_days), limit=limit)


@invitations.command("status")
@_wave_options
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), help="Write one row per invitee to this CSV.")
def status_command(survey, wave, database_url, csv_path) -> None:
    """Counts per status (queued, sent, bounced, opened, started, completed, opted out), or one row per invitee."""
    from sqlalchemy.orm import Session

    from models.storage.invitations import status_counts, status_rows

    app = _app(database_url)
    with Session(state_of(app).engine) as session:
        try:
            stored_wave, _ = _wave_and_questionnaire(session, survey, wave)
        except CSIError as exc:
            _fail(str(exc))
        if csv_path:
            rows = status_rows(session, stored_wave)
            try:
                _write_status_csv(csv_path, rows)
            except OSError as exc:
                _fail(f"cannot write {csv_path}: {exc.strerror or exc}")
            click.echo(f"wrote {len(rows)} invitees to {csv_path}")
            return
        counts = status_counts(session, stored_wave)
    width = max(len(name) for name in counts)
    for name, count in counts.items():
        click.echo(f"{name:<{width}}  {count}")



def _write_status_csv(path: str, rows: list[dict]) -> None:
    """UTF-8 with a BOM (Excel reads Chinese then), every text cell neutralized."""
    from models.storage.invitations import status_csv_text

    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        handle.write(status_csv_text(rows))
