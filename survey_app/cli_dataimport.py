"""``csi import`` and ``csi wave``: responses collected elsewhere, and the console's wave
actions, scriptable.

    csi import --survey S --wave W FILE.csv|.xlsx|.sav [--map MAPPING.yaml] [--skip-bad-rows]
    csi wave create --survey S --wave W [--questionnaire FILE] [--open]
    csi wave open  --survey S --wave W
    csi wave close --survey S --wave W
"""
from __future__ import annotations

import sys

import click

from models.errors import CSIError

MAX_PROBLEMS_SHOWN = 1000  # all are found; a file with 100,000 bad rows need not print them all


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _open_database(database_url: str | None):
    # Imported here: ``survey_app.cli`` imports this module while it is being set up.
    from .cli import _open_database as open_database
    return open_database(database_url)


def _survey_options(function):
    function = click.option("--database", "database_url", envvar="CSI_DATABASE_URL", default=None,
                            help="SQLAlchemy URL (default: SQLite file in ./instance, or $CSI_DATABASE_URL).")(function)
    function = click.option("--wave", required=True, help="Wave name, e.g. 2026Q4.")(function)
    return click.option("--survey", required=True, help="Questionnaire id, e.g. acsi-retail.")(function)


def print_problems(problems, shown: int = MAX_PROBLEMS_SHOWN, err: bool = False) -> None:
    for problem in list(problems)[:shown]:
        click.echo(str(problem), err=err)
    if len(problems) > shown:
        click.echo(f"... and {len(problems) - shown} more problems ({len(problems)} in all)", err=err)


@click.command("import")
@_survey_options
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--map", "mapping", type=click.Path(dir_okay=False),
              help="YAML file: columns -> question ids, respondent_id, dont_know codes, labels, ignore "
                   "(docs/data-import.md).")
@click.option("--skip-bad-rows", is_flag=True, help="Import the rows that pass and report the rows skipped "
              "(default: nothing is stored unless every row passes).")
def import_command(survey, wave, file, mapping, skip_bad_rows, database_url) -> None:
    """Import responses collected by another tool (CSV, Excel .xlsx, SPSS .sav) into a wave.

    Every problem is printed as FILE:ROW: column: message; a re-imported file adds nothing twice."""
    from models.importing import DataImportError, import_file

    engine, _ = _open_database(database_url)
    try:
        result = import_file(engine, survey, wave, file, mapping, skip_bad_rows=skip_bad_rows)
    except DataImportError as exc:
        print_problems(exc.problems)
        _fail(f"nothing was imported: {len(exc.problems)} problem{'s' if len(exc.problems) != 1 else ''} in {file}"
              + ("" if skip_bad_rows else " (fix them, or import the good rows with --skip-bad-rows)"))
    except CSIError as exc:
        _fail(str(exc))
    finally:
        engine.dispose()
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if result.skipped:
        click.echo(f"skipped {result.skipped_rows} row{'s' if result.skipped_rows != 1 else ''}:")
        print_problems(result.skipped)
    click.echo(result.summary())


@click.group()
def wave() -> None:
    """Waves: create, open and close them (the console's wave actions)."""


def _warn_if_incomparable(session, questionnaire, questionnaire_file: str) -> None:
    """Say on stderr when ``questionnaire`` is a new version that breaks comparison with the
    stored latest one (models/questionnaire_diff.py); the wave is created all the same."""
    from sqlalchemy import select

    from models.questionnaire_diff import diff_questionnaires
    from models.storage.repository import stored_questionnaire
    from models.storage.tables import QuestionnaireVersion

    latest = session.scalar(select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == questionnaire.id)
                            .order_by(QuestionnaireVersion.id.desc()).limit(1))
    if latest is None or latest.content_hash == questionnaire.content_hash:
        return
    diff = diff_questionnaires(stored_questionnaire(latest), questionnaire)
    if diff.breaks_comparison:
        click.echo(f"warning: version {questionnaire.version} breaks comparison with earlier waves (v{latest.version}) "
                   f"for: {', '.join(diff.broken_constructs)}; every change: csi questionnaire diff --survey "
                   f"{questionnaire.id} {questionnaire_file}", err=True)


@wave.command("create")
@_survey_options
@click.option("--questionnaire", "questionnaire_file", type=click.Path(dir_okay=False),
              help="Store this questionnaire version first and field the wave with it "
                   "(default: the latest stored version of --survey).")
@click.option("--open", "open_now", is_flag=True, help="Open the wave for answers at once (default: created closed).")
def wave_create(survey, wave, questionnaire_file, open_now, database_url) -> None:
    """Create a wave, as the console's "new wave" form does."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from models.questionnaire import load_questionnaire
    from models.storage import StorageError, create_wave, register_questionnaire
    from models.storage.tables import QuestionnaireVersion

    if not wave or len(wave) > 32 or not all(c.isalnum() or c in "-_" for c in wave):
        _fail("wave names are 1-32 letters, digits, - or _ (for example 2026Q4)")
    engine, _ = _open_database(database_url)
    try:
        with Session(engine) as session:
            if questionnaire_file:
                questionnaire = load_questionnaire(questionnaire_file)
                if questionnaire.id != survey:
                    _fail(f"{questionnaire_file} is questionnaire {questionnaire.id!r}, not {survey!r}")
                _warn_if_incomparable(session, questionnaire, questionnaire_file)
                stored = register_questionnaire(session, questionnaire)
            else:
                stored = session.scalar(select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == survey)
                                        .order_by(QuestionnaireVersion.id.desc()).limit(1))
                if stored is None:
                    _fail(f"no questionnaire {survey!r} is stored; give it with --questionnaire FILE")
            created = create_wave(session, stored, wave)
            created.closed = not open_now
            session.commit()
            version = stored.version
    except CSIError as exc:
        if hasattr(exc, "problems"):
            print_problems(exc.problems)
        _fail(str(exc).splitlines()[0] if not hasattr(exc, "problems") else f"{questionnaire_file} is not valid")
    finally:
        engine.dispose()
    click.echo(f"wave {wave} of {survey} created ({'open' if open_now else 'closed'}), questionnaire version {version}")


def _set_closed(survey: str, wave_name: str, closed: bool, database_url: str | None) -> None:
    from sqlalchemy.orm import Session

    from models.storage import StorageError, find_wave

    engine, _ = _open_database(database_url)
    try:
        with Session(engine) as session:
            found = find_wave(session, survey, wave_name)
            found.closed = closed
            session.commit()
            state = "open for answers" if found.is_open() else (
                "closed" if closed else "open, but outside its opening times")
    except StorageError as exc:
        _fail(str(exc))
    finally:
        engine.dispose()
    click.echo(f"wave {wave_name} of {survey} is now {state}")


@wave.command("open")
@_survey_options
def wave_open(survey, wave, database_url) -> None:
    """Open a wave for answers (the console's "open" button)."""
    _set_closed(survey, wave, False, database_url)


@wave.command("close")
@_survey_options
def wave_close(survey, wave, database_url) -> None:
    """Close a wave: links stop accepting answers (the console's "close" button)."""
    _set_closed(survey, wave, True, database_url)
