"""``csi wave limit`` and ``csi wave status``: a wave's limits and its quotas' counts (the
console's wave page, scriptable).

    csi wave limit  --survey S --wave W [--max-completes N | --no-max-completes] [--close-at ISO | --no-close-at]
    csi wave status --survey S --wave W [--json]
"""
from __future__ import annotations

import json
from datetime import datetime

import click

from models.storage.tables import _aware

from .cli_dataimport import _fail, _open_database, _survey_options


def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        _fail(f"--close-at {value!r} is not an ISO 8601 time (e.g. 2026-12-31T18:00:00+08:00)")
    if moment.tzinfo is None:
        _fail(f"--close-at {value!r} needs a time zone (e.g. 2026-12-31T18:00:00+08:00, or Z for UTC)")
    return moment


def _describe(wave, statuses) -> list[str]:
    state = "open" if wave.is_open() else "closed"
    lines = [f"wave {wave.name} of {wave.questionnaire_id}: {state}"
             + (f", closes at {_aware(wave.closes_at).isoformat()}" if wave.closes_at else "")]
    for status in statuses:
        name = "completions (wave cap)" if status.id == "*" else f"quota {status.id}"
        full = " FULL" if status.full else ""
        lines.append(f"  {name}: {status.count} / {status.limit}{full}, {status.screened_out} screened out")
    if not statuses:
        lines.append("  no quotas and no cap on completions")
    return lines


def _with_wave(survey: str, wave_name: str, database_url: str | None, action):
    from sqlalchemy.orm import Session

    from models.storage import StorageError, find_wave

    engine, _ = _open_database(database_url)
    try:
        with Session(engine) as session:
            return action(session, find_wave(session, survey, wave_name))
    except (StorageError, ValueError) as exc:
        _fail(str(exc))
    finally:
        engine.dispose()


def register(wave: click.Group) -> None:
    @wave.command("limit")
    @_survey_options
    @click.option("--max-completes", type=click.IntRange(min=1), help="At most this many completed responses; "
                  "the completion that reaches it closes the wave.")
    @click.option("--no-max-completes", is_flag=True, help="Remove the cap on completions.")
    @click.option("--close-at", help="Close the wave at this time (ISO 8601 with a time zone).")
    @click.option("--no-close-at", is_flag=True, help="Remove the closing time.")
    def wave_limit(survey, wave, max_completes, no_max_completes, close_at, no_close_at, database_url) -> None:
        """Cap a wave's completions and/or set the time it closes itself."""
        from models.storage.quotas import _UNSET, quota_status, set_wave_limits

        if max_completes is not None and no_max_completes:
            _fail("give --max-completes or --no-max-completes, not both")
        if close_at is not None and no_close_at:
            _fail("give --close-at or --no-close-at, not both")
        if max_completes is None and not no_max_completes and close_at is None and not no_close_at:
            _fail("nothing to change: give --max-completes N and/or --close-at TIME (or --no-max-completes, --no-close-at)")
        cap = None if no_max_completes else (max_completes if max_completes is not None else _UNSET)
        closes = None if no_close_at else (_when(close_at) if close_at is not None else _UNSET)

        def change(session, found):
            set_wave_limits(session, found, max_completes=cap, closes_at=closes)
            session.commit()
            return _describe(found, quota_status(session, found))

        for line in _with_wave(survey, wave, database_url, change):
            click.echo(line)

    @wave.command("status")
    @_survey_options
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    def wave_status(survey, wave, as_json, database_url) -> None:
        """A wave's state, cap and quotas: each quota's count / limit."""
        from models.storage.quotas import quota_status

        def read(session, found):
            statuses = quota_status(session, found)
            if as_json:
                return [json.dumps({"survey": found.questionnaire_id, "wave": found.name, "open": found.is_open(),
                                    "closes_at": found.closes_at.isoformat() if found.closes_at else None,
                                    "max_completes": found.max_completes,
                                    "quotas": [status.to_dict() for status in statuses]}, ensure_ascii=False)]
            return _describe(found, statuses)

        for line in _with_wave(survey, wave, database_url, read):
            click.echo(line)
