"""``csi convert``: an XLSForm-style workbook to a questionnaire file (models/xlsform.py)."""
from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command()
@click.argument("workbook", type=click.Path())
@click.option("-o", "--output", type=click.Path(), help="Write the YAML here (default: print it).")
@click.option("--force", is_flag=True, help="Replace an existing output file.")
def convert(workbook: str, output: str | None, force: bool) -> None:
    """Turn an XLSForm-style workbook (sheets survey, choices, settings) into the YAML format.

    Every problem is printed as FILE: SHEET!ROW (COLUMN): message, all at once; nothing is
    written unless the whole workbook converts and the result validates."""
    from models.xlsform import ConversionError, convert_workbook
    from survey_app.cli import _fail, _writable_file

    if not Path(workbook).is_file():
        _fail(f"{workbook}: " + ("is a folder, not a workbook" if Path(workbook).is_dir() else "no such file"))
    if output:
        _writable_file(output, "-o")
        if Path(output).exists() and not force:
            _fail(f"-o {output} exists; add --force to replace it")
    try:
        result = convert_workbook(workbook)
    except ConversionError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        sys.exit(1)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    header = f"# Converted by csi convert from {Path(workbook).name}; check it with csi validate.\n"
    if output:
        Path(output).write_text(header + result.yaml_text, encoding="utf-8")
        # A matrix counts as its rows: each is an item of its own.
        asked = sum(len(q.get("rows", [q])) for p in result.document["pages"] for q in p["questions"])
        hidden = len(result.document.get("hidden", ()))
        click.echo(f"{output}: written ({asked} questions on {len(result.document['pages'])} pages"
                   + (f", {hidden} hidden field{'s' if hidden != 1 else ''}" if hidden else "") + ")", err=True)
    else:
        click.echo(header + result.yaml_text, nl=False)
