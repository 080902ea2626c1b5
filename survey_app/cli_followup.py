"""``csi followup``: the call-back queue from the command line (the console's follow-up
pages, scriptable).

    csi followup list [--survey S] [--wave W] [--status open|called|resolved|all] [--assignee NAME|none]
                      [--segment tier=gold] [--older-than-hours H] [--order priority|oldest|newest] [--csv FILE]
    csi followup show RESPONSE_ID
    csi followup update RESPONSE_ID --by USER [--assign NAME|''] [--status S] [--outcome O] [--note TEXT]
    csi followup sla --survey S [--hours H | --default]
"""
from __future__ import annotations

import click

from models.errors import CSIError


def _database(function):
    return click.option("--database", "database_url", envvar="CSI_DATABASE_URL", default=None,
                        help="SQLAlchemy URL (default: SQLite file in ./instance, or $CSI_DATABASE_URL).")(function)


def _session(database_url):
    from .cli import _admin_session
    return _admin_session(database_url)


def _fail(message: str) -> None:
    from .cli import _fail as fail
    fail(message)


@click.group()
def followup() -> None:
    """The follow-up queue: dissatisfied customers who agreed to be called back."""


@followup.command("list")
@click.option("--survey", help="Questionnaire id.")
@click.option("--wave", help="Wave name (with --survey).")
@click.option("--status", default="open", show_default=True, type=click.Choice(["open", "called", "resolved", "all"]))
@click.option("--assignee", help="A user name, or 'none' for unassigned cases.")
@click.option("--segment", help="key=value: the invitation's attribute (tier=gold), else the link's hidden value, "
              "else the answer to that question (channel=store).")
@click.option("--search", help="Text in the contact, notes or attributes.")
@click.option("--theme", help="Only customers whose open answer mentions a theme whose label contains this "
              "(themes of the wave's stored analysis).")
@click.option("--older-than-hours", type=click.FloatRange(min=0))
@click.option("--order", default="priority", show_default=True, type=click.Choice(["priority", "oldest", "newest"]))
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), help="Write the whole selection to this CSV.")
@_database
def list_command(survey, wave, status, assignee, segment, search, theme, older_than_hours, order, csv_path,
                 database_url):
    """The queue in call order (most valuable, least satisfied, oldest first)."""
    from models.exports import neutralize_row
    from models.storage import find_wave
    from models.storage.follow_up import QueueFilter, follow_up_queue, queue_csv

    from .cli_dashboard import default_sla_hours

    if wave and not survey:
        _fail("--wave needs --survey")
    sla = default_sla_hours()
    with _session(database_url) as session:
        try:
            wave_id = find_wave(session, survey, wave).id if wave else None
            wanted = QueueFilter(questionnaire_id=survey, wave_id=wave_id, status=None if status == "all" else status,
                                 assignee=assignee, segment=segment, search=search, older_than_hours=older_than_hours,
                                 order=order, per_page=1000 if csv_path else 50, theme=theme)
            queue = follow_up_queue(session, wanted, sla_hours=sla)
        except CSIError as exc:
            _fail(str(exc))
        if csv_path:
            try:
                with open(csv_path, "w", encoding="utf-8-sig", newline="") as handle:
                    handle.write(queue_csv(queue, neutralize_row))
            except OSError as exc:
                _fail(f"cannot write {csv_path}: {exc.strerror or exc}")
            click.echo(f"wrote {len(queue.rows)} cases to {csv_path}")
            return
        click.echo(f"{queue.total} to call ({queue.overdue} overdue), {queue.no_contact} flagged without contact consent")
        for row in queue.rows:
            satisfaction = "-" if row.satisfaction is None else f"{row.satisfaction:.0f}"
            click.echo(f"{row.response.id}\t{row.wave.questionnaire_id}/{row.wave.name}\t{row.response.follow_up_status}"
                       f"\tsatisfaction {satisfaction}\t{row.age_hours:.0f} h{' OVERDUE' if row.overdue else ''}"
                       f"\t{row.assignee or '-'}\t{(row.response.contact or {}).get('name') or ''}")
            for text in row.texts:
                found = (f"{text.sentiment} {text.score:+.2f}" if text.sentiment else "not analysed yet")
                themes = f" [{'; '.join(text.themes)}]" if text.themes else ""
                click.echo(f"\t{text.question_id}: {found}{themes}: {text.text[:120]}")


@followup.command("show")
@click.argument("response_id", type=int)
@_database
def show_command(response_id, database_url):
    """A case: status, assignee, outcome, contact and the history of changes."""
    from models.storage.follow_up import assignee_name, history
    from models.storage.tables import Response

    with _session(database_url) as session:
        response = session.get(Response, response_id)
        if response is None or not response.follow_up:
            _fail(f"response {response_id} is not in the follow-up queue")
        click.echo(f"case {response_id}: {response.follow_up_status}, assigned to {assignee_name(session, response) or 'nobody'}"
                   + (f", outcome: {response.follow_up_outcome}" if response.follow_up_outcome else ""))
        contact = response.contact or {}
        click.echo("contact: " + (", ".join(f"{k} {v}" for k, v in contact.items() if k != "consent" and v) or "none (not to be called)"))
        from models.storage.follow_up import open_texts
        from models.storage.tables import Wave
        for text in open_texts(session, [(response, session.get(Wave, response.wave_id))]).get(response_id, ()):
            found = f"{text.sentiment} {text.score:+.2f}" if text.sentiment else "not analysed yet"
            click.echo(f"{text.question_id} ({found}{'; themes: ' + ', '.join(text.themes) if text.themes else ''}): "
                       f"{text.text}")
        for event in history(session, response_id):
            click.echo(f"{event.at:%Y-%m-%d %H:%M}\t{event.user or 'system'}\t{event.kind}\t{event.value or ''}")


@followup.command("update")
@click.argument("response_id", type=int)
@click.option("--by", "username", required=True, help="The console user making the change (kept in the history).")
@click.option("--assign", "assignee", help="Assign to this user ('' to unassign).")
@click.option("--status", type=click.Choice(["open", "called", "resolved"]))
@click.option("--outcome", type=click.Choice(["reached", "problem_solved", "churn_risk", "would_not_talk"]))
@click.option("--note", help="A note appended to the history.")
@_database
def update_command(response_id, username, assignee, status, outcome, note, database_url):
    """Assign, change status (resolving needs --outcome) or add a note; every change is history."""
    from sqlalchemy import select

    from models.storage.follow_up import update_follow_up
    from models.storage.tables import AdminUser

    with _session(database_url) as session:
        user = session.scalar(select(AdminUser).where(AdminUser.username == username))
        if user is None:
            _fail(f"no console user {username!r} (csi admin create {username})")
        try:
            update_follow_up(session, response_id, user, status=status, note=note, assignee=assignee, outcome=outcome)
        except CSIError as exc:
            _fail(str(exc))
        session.commit()
    click.echo(f"follow-up {response_id} saved")


@followup.command("sla")
@click.option("--survey", required=True, help="Questionnaire id.")
@click.option("--hours", help="Call flagged customers back within this many hours (more than 0, at most a year).")
@click.option("--default", "use_default", is_flag=True, help="Drop the survey's own SLA: the server's default applies.")
@click.option("--by", "username", help="The console user making the change (recorded with it).")
@_database
def sla_command(survey, hours, use_default, username, database_url):
    """Show or set a survey's follow-up SLA; open cases older than it are overdue."""
    from sqlalchemy import select

    from models.storage.follow_up import overdue_by_survey, set_sla_hours, survey_sla_hours
    from models.storage.tables import QuestionnaireVersion

    from .cli_dashboard import default_sla_hours

    if hours is not None and use_default:
        _fail("give either --hours or --default")
    default = default_sla_hours()
    with _session(database_url) as session:
        if session.scalar(select(QuestionnaireVersion.id).where(QuestionnaireVersion.questionnaire_id == survey).limit(1)) is None:
            known = ", ".join(sorted(set(session.scalars(select(QuestionnaireVersion.questionnaire_id))))) or "none"
            _fail(f"no questionnaire {survey!r} (stored: {known})")
        if hours is not None or use_default:
            try:
                set_sla_hours(session, survey, None if use_default else hours, username)
            except CSIError as exc:
                _fail(str(exc))
            session.commit()
        current, own = survey_sla_hours(session, survey, default)
        overdue = overdue_by_survey(session, default, questionnaire_id=survey).get(survey, 0)
    click.echo(f"{survey}: follow-up SLA {current:g} hours" + ("" if own else " (the default)")
               + f"; {overdue} open case{'s' if overdue != 1 else ''} past it")
