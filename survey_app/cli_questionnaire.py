"""``csi questionnaire``: compare two versions of a questionnaire, and preview its pages as files.

    csi questionnaire diff OLD.yaml NEW.yaml [--json]
    csi questionnaire diff --survey acsi-retail NEW.yaml [--json]      # the stored latest version against a file
    csi questionnaire preview FILE [--lang zh-CN] --out DIR [--answer q=v ...] [--hidden store=S12 ...]

``diff`` exits 0 when every construct stays comparable with earlier waves (notices and
cautions only), 3 when a change breaks comparison for a construct, 1 for invalid input (a
file with problems, an unknown survey) and 2 for a usage error. ``preview`` writes every page
as the respondent's page in each language (the console's preview without its toolbar), one
self-contained HTML file per page and language, and an ``index.html``.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from werkzeug.datastructures import MultiDict

from models.errors import QuestionnaireError

EXIT_BREAKS = 3


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _load(path: str):
    from models.questionnaire import load_questionnaire

    try:
        return load_questionnaire(path)
    except QuestionnaireError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        sys.exit(1)


def _stored(survey: str, database_url: str | None):
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from models.storage.repository import stored_questionnaire
    from models.storage.tables import QuestionnaireVersion

    from .cli import _open_database

    engine, _ = _open_database(database_url)
    try:
        with Session(engine) as session:
            latest = session.scalar(select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == survey)
                                    .order_by(QuestionnaireVersion.id.desc()).limit(1))
            if latest is None:
                _fail(f"no stored questionnaire {survey!r}")
            return stored_questionnaire(latest)
    finally:
        engine.dispose()


@click.group()
def questionnaire() -> None:
    """Questionnaire versions: what changed between two, and every page previewed as HTML files."""


@questionnaire.command("diff")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False), metavar="[OLD] NEW")
@click.option("--survey", help="Compare the stored latest version of this questionnaire id with NEW.")
@click.option("--database", "database_url", envvar="CSI_DATABASE_URL", default=None,
              help="SQLAlchemy URL (with --survey; default: SQLite file in ./instance, or $CSI_DATABASE_URL).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the list.")
def diff_command(files, survey, database_url, as_json) -> None:
    """What changed from OLD (or the stored version of --survey) to NEW, and whether each construct
    stays comparable with earlier waves. Exit 3 when a change breaks comparison."""
    from models.questionnaire_diff import diff_questionnaires

    if len(files) != (1 if survey else 2):
        raise click.UsageError("give OLD and NEW files, or --survey ID and one NEW file")
    new = _load(files[-1])
    old = _stored(survey, database_url) if survey else _load(files[0])
    if old.id != new.id:
        _fail(f"these are two questionnaires ({old.id!r} and {new.id!r}), not two versions of one")
    diff = diff_questionnaires(old, new)
    if as_json:
        click.echo(json.dumps(diff.as_dict(), ensure_ascii=False, indent=2))
    else:
        for line in diff.lines():
            click.echo(line)
        if diff.breaks_comparison:
            click.echo(f"breaks comparison with earlier waves for: {', '.join(diff.broken_constructs)}")
    sys.exit(EXIT_BREAKS if diff.breaks_comparison else 0)


def _pairs(items: tuple[str, ...], option: str) -> list[tuple[str, str]]:
    out = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            _fail(f"{option} {item!r} is not NAME=VALUE")
        out.append((name, value))
    return out


@questionnaire.command("preview")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="The folder to write into.")
@click.option("--lang", "languages", multiple=True, help="A language of the questionnaire (repeatable; default: all).")
@click.option("--answer", "answers", multiple=True, metavar="QUESTION=VALUE",
              help="An answer that conditions and piping read (repeatable; a multiple choice once per option).")
@click.option("--hidden", "hidden", multiple=True, metavar="FIELD=VALUE", help="A hidden field's value (repeatable).")
def preview_command(file, out_dir, languages, answers, hidden) -> None:
    """Write every page of FILE as respondents see it: DIR/LANG/page-NN-ID.html and DIR/index.html.
    A page the answers hide is written with all its questions and listed as hidden."""
    from . import preview

    questionnaire = _load(file)
    unknown = [code for code in languages if code not in questionnaire.languages]
    if unknown:
        _fail(f"{', '.join(unknown)}: not a language of {questionnaire.id} ({', '.join(questionnaire.languages)})")
    known = {q.id for q in questionnaire.questions}
    params = MultiDict()
    for name, value in _pairs(answers, "--answer"):
        if name not in known:
            _fail(f"--answer {name}: {questionnaire.id} has no question {name!r}")
        params.add(preview.ANSWER_PARAM + name, value)
    declared = {field.id for field in questionnaire.hidden}
    for name, value in _pairs(hidden, "--hidden"):
        if name not in declared:
            _fail(f"--hidden {name}: not a hidden field of {questionnaire.id} (declared: {', '.join(declared) or 'none'})")
        params.add(preview.HIDDEN_PARAM + name, value)
    state = preview.read_state(questionnaire, params)
    if state.refused:
        _fail(f"not a value a page accepts: {', '.join(state.refused)}")
    out = Path(out_dir)
    try:
        written = write_preview(questionnaire, state, list(languages) or list(questionnaire.languages), out)
    except OSError as exc:
        _fail(f"cannot write into {out_dir}: {exc.strerror or exc}")
    for line in written:
        click.echo(line)


def write_preview(questionnaire, state, languages: list[str], out: Path) -> list[str]:
    """Write the pages and the index; return a line per page written."""
    from flask import Flask, render_template

    from . import preview
    from .i18n import translate

    app = Flask("survey_app")  # this package's templates and static folder, no database
    app.jinja_env.globals["csrf_token"] = lambda: ""
    style = (Path(app.static_folder) / "style.css").read_text(encoding="utf-8")
    lines, index = [], []
    with app.test_request_context("/"):
        for language in languages:
            folder = out / language
            folder.mkdir(parents=True, exist_ok=True)
            for number, page in enumerate(questionnaire.pages, start=1):
                parts = preview.page_parts(questionnaire, number - 1, language, state)
                html = render_template(
                    "page.html", q=questionnaire, lang=language, t=lambda key, _l=language, **v: translate(_l, key, **v),
                    switch=[], here="", form_action="#", form=parts.form, page=page, position=parts.position or "–",
                    total=parts.total, previous=parts.previous, is_last=parts.is_last, resumed=False,
                    submission_id="preview", questions_html=parts.html)
                # One self-contained file: the stylesheet inline, so the page opens anywhere.
                html = html.replace('<link rel="stylesheet" href="/static/style.css">', f"<style>\n{style}</style>", 1)
                name = f"page-{number:02d}-{page.id}.html"
                (folder / name).write_text(html, encoding="utf-8")
                shown = "shown" if parts.shown else "hidden by show_if"
                lines.append(f"wrote {folder / name} ({shown})")
                index.append((language, name, page.id, shown))
    from markupsafe import escape
    items = "\n".join(f'<li><a href="{escape(lang)}/{escape(name)}">{escape(lang)}: {escape(pid)}</a> ({shown})</li>'
                      for lang, name, pid, shown in index)
    title = escape(f"Preview of {questionnaire.id} v{questionnaire.version}")
    (out / "index.html").write_text(f'<!doctype html>\n<html lang="en"><meta charset="utf-8"><title>{title}</title>\n'
                                    f"<h1>{title}</h1>\n<ul>\n{items}\n</ul>\n</html>\n", encoding="utf-8")
    lines.append(f"wrote {out / 'index.html'}")
    return lines
