"""``csi webhooks``: receivers of a questionnaire's events (the console's webhook page, scriptable).

    csi webhooks add --survey S --url https://crm.example/hooks/csi --events response.completed,followup.flagged
    csi webhooks list [--survey S]
    csi webhooks log [WEBHOOK_ID]
    csi webhooks disable WEBHOOK_ID / enable WEBHOOK_ID
    csi webhooks deliver            # attempt every due delivery now (the worker does this on its own)
"""
from __future__ import annotations

import click

from models.errors import CSIError

from .cli_invitations import _app, _fail
from .state import state_of


def _database(function):
    return click.option("--database", "database_url", envvar="CSI_DATABASE_URL", default=None,
                        help="SQLAlchemy URL (default: SQLite file in ./instance, or $CSI_DATABASE_URL).")(function)


@click.group()
def webhooks() -> None:
    """Webhooks: tell another system (a CRM, a ticket queue) when a response completes or a follow-up changes."""


@webhooks.command("add")
@click.option("--survey", required=True, help="Questionnaire id, e.g. acsi-retail.")
@click.option("--url", required=True, help="The receiver (http:// or https://).")
@click.option("--events", required=True, help="Comma-separated: response.completed, followup.flagged, "
              "followup.updated, analysis.ready.")
@_database
def add_command(survey, url, events, database_url) -> None:
    """Add a webhook; prints its id and its signing secret (shown this once)."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from models.storage.tables import Wave
    from models.storage.webhooks import add_webhook

    app = _app(database_url)
    with Session(state_of(app).engine) as session:
        if session.scalar(select(Wave.id).where(Wave.questionnaire_id == survey).limit(1)) is None:
            _fail(f"no questionnaire {survey!r} with waves in this database")
        try:
            webhook = add_webhook(session, survey, url, events.split(","))
        except CSIError as exc:
            _fail(str(exc))
        session.commit()
        click.echo(f"webhook {webhook.id} for {survey}: {webhook.url} ({', '.join(webhook.events)})")
        click.echo(f"signing secret (shown once; the receiver checks X-CSI-Signature with it): {webhook.secret}")


@webhooks.command("list")
@click.option("--survey", help="Only this questionnaire's webhooks.")
@_database
def list_command(survey, database_url) -> None:
    from sqlalchemy.orm import Session

    from models.storage.webhooks import list_webhooks

    app = _app(database_url)
    with Session(state_of(app).engine) as session:
        rows = list_webhooks(session, survey)
        if not rows:
            click.echo("no webhooks")
        for webhook in rows:
            state = "active" if webhook.active else "disabled"
            click.echo(f"{webhook.id}\t{webhook.questionnaire_id}\t{state}\t{webhook.url}\t{','.join(webhook.events)}")


def _set_active(webhook_id: int, database_url, active: bool) -> None:
    from sqlalchemy.orm import Session

    from models.storage.webhooks import get_webhook

    app = _app(database_url)
    with Session(state_of(app).engine) as session:
        try:
            webhook = get_webhook(session, webhook_id)
        except CSIError as exc:
            _fail(str(exc))
        webhook.active = active
        session.commit()
    click.echo(f"webhook {webhook_id} {'enabled' if active else 'disabled'}")


@webhooks.command("disable")
@click.argument("webhook_id", type=int)
@_database
def disable_command(webhook_id, database_url) -> None:
    """Stop deliveries to a webhook (pending ones are kept, and go out if it is enabled again)."""
    _set_active(webhook_id, database_url, False)


@webhooks.command("enable")
@click.argument("webhook_id", type=int)
@_database
def enable_command(webhook_id, database_url) -> None:
    _set_active(webhook_id, database_url, True)


@webhooks.command("log")
@click.argument("webhook_id", type=int, required=False)
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@_database
def log_command(webhook_id, limit, database_url) -> None:
    """The latest deliveries: id, webhook, event, status, attempts, last answer, next try."""
    from sqlalchemy.orm import Session

    from models.storage.webhooks import delivery_log

    app = _app(database_url)
    with Session(state_of(app).engine) as session:
        for d in delivery_log(session, webhook_id, limit):
            next_try = d.next_attempt_at.isoformat(timespec="seconds") if d.next_attempt_at else "-"
            click.echo(f"{d.id}\twebhook {d.webhook_id}\t{d.event}\t{d.status}\tattempts {d.attempts}\t"
                       f"{d.last_status_code or '-'}\t{(d.last_error or '').splitlines()[0] if d.last_error else ''}\t"
                       f"next {next_try}")


@webhooks.command("deliver")
@_database
def deliver_command(database_url) -> None:
    """Attempt every delivery that is due now, once each."""
    from sqlalchemy.orm import Session

    from models.storage.webhooks import due_deliveries

    from .webhooks import attempt

    app = _app(database_url)
    counts = {"delivered": 0, "pending": 0, "failed": 0}
    with Session(state_of(app).engine) as session:
        for delivery_id in [d.id for d in due_deliveries(session)]:
            delivery = attempt(session, delivery_id)
            if delivery is not None:
                counts[delivery.status] += 1
    click.echo(f"{counts['delivered']} delivered, {counts['pending']} to retry later, {counts['failed']} failed for good")
