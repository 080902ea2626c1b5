"""The ``csi`` command line.

Exit codes: 0 success, 1 invalid input (reported as ``FILE:LINE: path: message`` or
one clear sentence), 2 usage errors (click). A user error never prints a traceback.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from models.errors import CSIError, QuestionnaireError


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _first_line(exc: BaseException | str) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else exc.__class__.__name__


def _shown(url: str) -> str:
    """The URL as printed: never with its password."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return url
    return url if parsed.password is None else parsed.render_as_string(hide_password=True)


def _database_url(database_url: str | None) -> str:
    """The URL to use (given, $CSI_DATABASE_URL or the instance SQLite file), or a one-line error."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from models.storage import default_url

    url = database_url or default_url()
    try:
        make_url(url)
    except ArgumentError:
        _fail(f"{url!r} is not a database URL (e.g. sqlite:///path/csi.sqlite3 or postgresql://user@host/db)")
    return url


def _open_database(database_url: str | None):
    """(engine, url) of an existing database at the code's schema, or a one-line error: a
    malformed URL, an unreachable server, a missing SQLite file (never created here), a
    schema older or newer than the code."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from models.storage import current_revision, head_revision, make_engine
    from models.storage.backup import known_revisions

    url = _database_url(database_url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") \
            and not parsed.database.startswith("file:") and not Path(parsed.database).is_file():
        _fail(f"there is no database at {parsed.database}; create it with: csi init --database {_shown(url)}")
    try:
        engine = make_engine(url)
        revision = current_revision(engine)
    except SQLAlchemyError as exc:
        _fail(f"cannot open the database {_shown(url)}: {_first_line(getattr(exc, 'orig', None) or exc)}")
    if revision != head_revision():
        if revision is not None and revision not in known_revisions():
            _fail(f"the database {_shown(url)} has schema {revision}, newer than this version of csi-toolkit "
                  f"knows ({head_revision()}); upgrade csi-toolkit")
        _fail(f"the database {_shown(url)} is not at the current schema "
              f"({revision or 'empty'}, expected {head_revision()}); run: csi init")
    return engine, url


def _writable_file(path: str, option: str) -> None:
    """Refuse an output path whose folder is missing or unwritable, before any work is done."""
    target = Path(path)
    if target.is_dir():
        _fail(f"{option} {path} is a folder; give a file name")
    folder = target.parent
    if not folder.is_dir():
        _fail(f"{option} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK) or (target.exists() and not os.access(target, os.W_OK)):
        _fail(f"{option} {path}: cannot write there (permission denied)")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="csi-toolkit", prog_name="csi")
def main() -> None:
    """Customer satisfaction indices end to end: questionnaires, storage, PLS/SEM analysis."""


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
def validate(files: tuple[str, ...]) -> None:
    """Check questionnaire files; print every problem as FILE:LINE: path: message."""
    from models.questionnaire import load_questionnaire

    failed = False
    for name in files:
        try:
            questionnaire = load_questionnaire(name)
        except QuestionnaireError as exc:
            failed = True
            for problem in exc.problems:
                click.echo(str(problem))
            continue
        click.echo(f"{name}: ok: {questionnaire.summary_line()}")
        for warning in questionnaire.warnings:  # valid, so exit 0, but worth a second look
            click.echo(str(warning))
    sys.exit(1 if failed else 0)


def _database_option(function):
    return click.option("--database", "database_url", envvar="CSI_DATABASE_URL", default=None,
                        help="SQLAlchemy URL (default: SQLite file in ./instance, or $CSI_DATABASE_URL).")(function)


@main.command()
@_database_option
def init(database_url: str | None) -> None:
    """Create the database, or upgrade it to the current schema."""
    from models.storage import make_engine, upgrade

    url = _database_url(database_url)
    try:
        before, after = upgrade(make_engine(url))
    except Exception as exc:  # a broken URL or unreachable server is a user error here
        _fail(f"cannot initialize {_shown(url)}: {_first_line(getattr(exc, 'orig', None) or exc)}")
    if before == after:
        click.echo(f"database {_shown(url)} is up to date (schema {after})")
    else:
        click.echo(f"database {_shown(url)}: schema {before or 'empty'} -> {after}")


@main.command()
@click.argument("file", type=click.Path())
@_database_option
def backup(file: str, database_url: str | None) -> None:
    """Write a consistent backup of the database (SQLite online backup, or pg_dump)."""
    from models.storage.backup import BackupError, backup as run_backup

    url = _database_url(database_url)
    try:
        facts = run_backup(url, file)
    except BackupError as exc:
        _fail(str(exc))
    extra = f", {facts['responses']} responses" if "responses" in facts else ""
    click.echo(f"backed up {_shown(url)} to {file} ({facts['kind']}, {facts['bytes']:,} bytes{extra})")


@main.command()
@click.argument("file", type=click.Path())
@_database_option
@click.option("--yes", is_flag=True, help="Do not ask before replacing the database's contents.")
def restore(file: str, database_url: str | None, yes: bool) -> None:
    """Replace the database's contents with a backup made by `csi backup`.

    The backup is restored into a scratch copy and verified (an Alembic schema this code
    knows, the expected tables, SQLite's integrity check) before the database is replaced;
    on any failure the database is left as it was."""
    from models.storage.backup import BackupError, restore as run_restore

    url = _database_url(database_url)
    if not Path(file).exists():
        _fail(f"no backup file {file}")
    if not yes and not click.confirm(f"Replace everything in {_shown(url)} with {file}?", default=False):
        _fail("restore cancelled")
    try:
        facts = run_restore(file, url)
    except BackupError as exc:
        _fail(str(exc))
    upgraded = f", upgraded from schema {facts['revision']} to {facts['schema']}" \
        if facts["revision"] != facts["schema"] else f", schema {facts['schema']}"
    click.echo(f"restored {file} into {_shown(url)} ({facts['surveys']} surveys, {facts['waves']} waves, "
               f"{facts['responses']} responses{upgraded})")


def read_data_csv(data_file: str):
    """A respondents x items CSV file as a frame, or a one-line error naming the file."""
    import pandas as pd

    if not Path(data_file).is_file():
        _fail(f"{data_file} is a folder, not a CSV file" if Path(data_file).is_dir() else f"no data file {data_file}")
    try:
        data = pd.read_csv(data_file)
    except pd.errors.EmptyDataError:
        _fail(f"{data_file} is empty: a CSV file needs a header row of item names and one row per respondent")
    except UnicodeDecodeError as exc:
        _fail(f"{data_file} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})")
    except (OSError, pd.errors.ParserError) as exc:
        _fail(f"cannot read {data_file}: {_first_line(exc)}")
    if data.empty:
        _fail(f"{data_file} has a header but no rows of data")
    return data


def _load_model(spec: str, questionnaire):
    from models.csi_model import TEMPLATES, get_template, parse_model

    if spec.lower() in TEMPLATES:
        if questionnaire is None:
            _fail(f"template {spec!r} needs --questionnaire to know which items measure which construct "
                  "(or write a model file: docs/model-syntax.md)")
        return get_template(spec).bind(questionnaire.constructs())
    path = Path(spec)
    if not path.is_file():
        _fail(f"--model {spec!r} is neither a built-in template ({', '.join(TEMPLATES)}) nor a model file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        _fail(f"model file {spec} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})")
    except OSError as exc:
        _fail(f"cannot read model file {spec}: {exc.strerror}")
    questionnaire_id = _questionnaire_id(text)
    if questionnaire_id is not None:
        _fail(f"--model {spec} is a questionnaire file ({questionnaire_id}), not a model; give it with "
              f"--questionnaire and choose --model {', '.join(TEMPLATES)} or a model file (docs/model-syntax.md)")
    return parse_model(text, source=str(path), name=path.stem)


def _questionnaire_id(text: str) -> str | None:
    """The id of ``text`` when it is a questionnaire (YAML or JSON with ``id`` and ``pages``), else None."""
    if "pages" not in text:  # cheap: a model file is not parsed as YAML
        return None
    import yaml

    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    if isinstance(document, dict) and "pages" in document and isinstance(document.get("id"), str):
        return document["id"]
    return None


@main.command()
@click.option("--model", "model_spec", help="Template name (acsi, ecsi, ecsi_hoc, ccsi, scsb) or a model text file. "
              "Default: the questionnaire's own model.")
@click.option("--data", "data_file", type=click.Path(), help="CSV file, one row per respondent.")
@click.option("--questionnaire", "questionnaire_file", type=click.Path(dir_okay=False),
              help="Questionnaire file (scales, don't-know codes, reverse items, construct tags).")
@click.option("--survey", help="Questionnaire id of a stored survey (with --wave): read responses from the database.")
@click.option("--wave", help="Wave name, e.g. 2026Q4 (with --survey).")
@_database_option
@click.option("--method", type=click.Choice(["pls", "plsc", "cbsem"]), default="pls", show_default=True,
              help="pls, plsc (consistent PLS: reflective constructs corrected by rho_A), or cbsem.")
@click.option("--scheme", type=click.Choice(["path", "centroid", "factorial"]), default="path", show_default=True)
@click.option("--interaction", type=click.Choice(["two-stage", "product", "orthogonal"]),
              help="How interaction terms (Y ~ A + B + A:B) are estimated (default two-stage; PLS only).")
@click.option("--unscaled", is_flag=True, help="Centre but do not standardize indicators (R plspm scaled=FALSE).")
@click.option("--missing", type=click.Choice(["listwise", "mean", "chained", "fiml"]), default="listwise", show_default=True,
              help="listwise deletion, item means, chained-equation imputation (PLS), or full-information ML (CB-SEM).")
@click.option("--max-missing", type=click.FloatRange(0, 1, max_open=True), default=None, metavar="SHARE",
              help="PLS: drop respondents with more than this share of the model's items missing first (EPSI: 0.3).")
@click.option("--estimator", type=click.Choice(["ml", "mlr"], case_sensitive=False), default="ml", show_default=True,
              help="CB-SEM: ml, or mlr (robust: Huber-White SEs and the Yuan-Bentler scaled chi-square, as lavaan).")
@click.option("--allow-improper", is_flag=True,
              help="CB-SEM: report a solution with a negative variance (Heywood case) with a note instead of failing.")
@click.option("--boot", "n_boot", type=click.IntRange(min=0),
              help="Bootstrap resamples (default 0; with --survey, the wave's stored analysis and its resamples).")
@click.option("--seed", type=int, help="Seed (default 1; with --survey, the stored analysis' seed derived from survey and wave).")
@click.option("--fit-test", "fit_test", type=click.IntRange(min=0), default=0,
              help="PLS: bootstrap test of exact fit with N Bollen-Stine resamples (HI95/HI99 of SRMR, d_ULS, d_G).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the text summary.")
@click.option("--plot", "plot_prefix", type=click.Path(), help="Write PNG figures PREFIX-paths.png, -loadings.png, -index.png (and -slopes-N.png per interaction term).")
@click.option("--scales", "scales_spec", metavar="FILE|SPEC",
              help="Answer scales of items the questionnaire does not declare: IMAG1-IMAG5=1-10,CUSCO=1-5, "
              "or a YAML file mapping items (or ranges) to MIN-MAX.")
@click.option("--dont-know", "dont_know_spec", metavar="CODES",
              help="Codes that mean don't know / no answer in every item, e.g. 99,98 (treated as missing).")
@click.option("--hoc", "hoc_method", type=click.Choice(["two-stage", "repeated"]),
              help="Higher-order constructs (a construct measured by constructs): two-stage (default; seminr's "
              "disjoint two-stage approach) or repeated indicators.")
@click.option("--weights", "weights_column", metavar="COLUMN",
              help="Data column of respondent weights (weighted PLS: estimates, index and bootstrap).")
def fit(model_spec, data_file, questionnaire_file, survey, wave, database_url, method, scheme, interaction, unscaled,
        missing, max_missing, estimator, allow_improper, n_boot, seed, fit_test, as_json, plot_prefix, scales_spec,
        dont_know_spec, hoc_method=None, weights_column=None) -> None:
    """Fit a CSI model (PLS path modeling or CB-SEM) on a CSV file or a stored wave."""
    from analysis import fit as fit_model
    from models.questionnaire import load_questionnaire, parse_questionnaire

    if bool(data_file) == bool(survey):
        _fail("give either --data FILE.csv or --survey ID --wave NAME")
    if survey and not wave:
        _fail("--survey needs --wave")
    if plot_prefix:
        if method not in ("pls", "plsc"):
            _fail("--plot draws PLS results; it applies to --method pls or plsc")
        # Checked before fitting: a bootstrap can take minutes, and its figures must not be lost.
        _writable_file(f"{plot_prefix}-paths.png", "--plot")
    if data_file and not Path(data_file).is_file():
        _fail(f"{data_file} is a folder, not a CSV file" if Path(data_file).is_dir() else f"no data file {data_file}")
    if (survey and wave and method == "pls" and n_boot is None and seed is None and not model_spec
            and not questionnaire_file and scheme == "path" and not unscaled and missing == "listwise" and not interaction
            and not fit_test and max_missing is None
            and not scales_spec and not dont_know_spec and not hoc_method and not weights_column):
        _fit_stored(survey, wave, database_url, as_json, plot_prefix)
        return
    n_boot = 0 if n_boot is None else n_boot
    seed = 1 if seed is None else seed
    try:
        questionnaire = load_questionnaire(questionnaire_file) if questionnaire_file else None
        if survey:
            from sqlalchemy.orm import Session

            from models.storage import find_wave, load_wave_frame
            engine, _ = _open_database(database_url)
            with Session(engine) as session:
                stored = find_wave(session, survey, wave)
                content = stored.questionnaire_version.content
            if questionnaire is None:
                questionnaire = parse_questionnaire(json.dumps(content, ensure_ascii=False), f"{survey} (stored)")
            data = load_wave_frame(engine, survey, wave)
            if data.empty:
                _fail(f"wave {wave!r} of {survey!r} has no complete responses yet")
            source = f"{survey}/{wave}"
        else:
            data = read_data_csv(data_file)
            source = data_file
        if model_spec:
            model = _load_model(model_spec, questionnaire)
        elif questionnaire is not None:
            model = questionnaire.csi_model()
        else:
            _fail("give --model (a template with --questionnaire, or a model file)")
        scales, dont_know = _fit_scales(scales_spec, dont_know_spec, model)
        if interaction and not model.interactions:
            _fail("--interaction applies to a model with interaction terms (write Y ~ A + B + A:B)")
        if method in ("pls", "plsc"):
            if missing == "fiml":
                _fail("--missing fiml is available for --method cbsem only")
            if method == "plsc" and unscaled:
                _fail("--method plsc corrects correlations and needs standardized indicators; drop --unscaled")
            if estimator.lower() != "ml" or allow_improper:
                _fail("--estimator and --allow-improper apply to --method cbsem")
            results = fit_model(model, data, method, questionnaire=questionnaire, scheme=scheme, scaled=not unscaled,
                                missing=missing, max_missing=max_missing, n_boot=n_boot, seed=seed, scales=scales,
                                dont_know=dont_know, interaction=interaction or "two-stage", fit_test=fit_test,
                                **_hoc_and_weights(hoc_method, weights_column))
        else:
            if n_boot:
                _fail("--boot applies to --method pls (CB-SEM reports ML standard errors)")
            if fit_test:
                _fail("--fit-test applies to --method pls or plsc (CB-SEM reports the chi-square test)")
            if missing == "chained" or max_missing is not None:
                _fail("--missing chained and --max-missing apply to --method pls or plsc; CB-SEM models holes "
                      "with --missing fiml")
            if scales:
                _fail("--scales applies to --method pls (CB-SEM has no 0-100 index)")
            if hoc_method or weights_column:
                _fail(f"{'--hoc' if hoc_method else '--weights'} applies to --method pls")
            results = fit_model(model, data, "cbsem", questionnaire=questionnaire, missing=missing,
                                dont_know=dont_know, estimator=estimator.lower(), allow_negative_variance=allow_improper,
                                on_progress=_cbsem_progress())
    except CSIError as exc:
        _fail(str(exc))
    if plot_prefix:
        _write_plots(results, plot_prefix)
    if as_json:
        from analysis.json_safe import json_ready

        payload = json_ready(results.to_dict())
        payload["source"] = source
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2, allow_nan=False))
    else:
        click.echo(f"data: {source}")
        click.echo(results.summary())


@main.command()
@click.option("--model", "model_spec", required=True, help="Template name (with --questionnaire) or a model text file.")
@click.option("--data", "data_file", required=True, type=click.Path(), help="CSV file, one row per respondent.")
@click.option("--questionnaire", "questionnaire_file", type=click.Path(dir_okay=False),
              help="Questionnaire file (don't-know codes, reverse items, construct tags).")
@click.option("--folds", type=int, help="k of k-fold cross-validation (default 10).")
@click.option("--loocv", is_flag=True, help="Leave-one-out cross-validation instead of k folds.")
@click.option("--repeats", type=int, default=1, show_default=True, help="Repeat k-fold with new folds; predictions are averaged.")
@click.option("--technique", type=click.Choice(["earliest", "direct"]), default="earliest", show_default=True,
              help="Predict endogenous scores from the earliest (exogenous) or the direct antecedents.")
@click.option("--scheme", type=click.Choice(["path", "centroid", "factorial"]), default="path", show_default=True)
@click.option("--missing", type=click.Choice(["listwise", "mean"]), default="listwise", show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the text summary.")
@click.option("--dont-know", "dont_know_spec", metavar="CODES",
              help="Codes that mean don't know / no answer in every item, e.g. 99,98 (treated as missing).")
def predict(model_spec, data_file, questionnaire_file, folds, loocv, repeats, technique, scheme, missing, seed, as_json,
            dont_know_spec) -> None:
    """Out-of-sample prediction of the endogenous items (PLSpredict): RMSE, MAE, Q²predict, LM benchmark."""
    from analysis.predict import PLSPredict
    from models.questionnaire import load_questionnaire

    if loocv and folds is not None:
        _fail("give either --folds K or --loocv, not both")
    try:
        questionnaire = load_questionnaire(questionnaire_file) if questionnaire_file else None
        data = read_data_csv(data_file)
        model = _load_model(model_spec, questionnaire)
        _, dont_know = _fit_scales(None, dont_know_spec, model)
        results = PLSPredict(model, folds=10 if folds is None else folds, repeats=repeats, loocv=loocv, seed=seed, technique=technique,
                             scheme=scheme, missing=missing).fit(data, questionnaire=questionnaire, dont_know=dont_know)
    except CSIError as exc:
        _fail(str(exc))
    if as_json:
        from analysis.json_safe import json_ready

        payload = json_ready(results.to_dict())
        payload["source"] = data_file
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2, allow_nan=False))
    else:
        click.echo(f"data: {data_file}")
        click.echo(results.summary())


def _hoc_and_weights(hoc_method: str | None, weights_column: str | None) -> dict:
    """``csi fit --hoc/--weights`` as PLSPM options (only those given)."""
    options = {}
    if hoc_method:
        options["hoc"] = hoc_method
    if weights_column:
        options["weights"] = weights_column
    return options


def _fit_scales(scales_spec: str | None, dont_know_spec: str | None, model):
    """--scales (a YAML file or an ITEM=MIN-MAX list) and --dont-know (codes) for ``csi fit``."""
    from analysis.data import parse_codes, parse_scales

    scales = None
    if scales_spec:
        path = Path(scales_spec)
        if path.is_file():
            if path.stat().st_size > 1_000_000:
                _fail(f"scales file {scales_spec} is over 1 MB; it should list item scales only")
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                _fail(f"cannot read scales file {scales_spec}: {exc}")
            try:
                scales = parse_scales(text if text.strip() else " ", model.items)
            except CSIError as exc:
                _fail(f"{scales_spec}: {exc}")
        else:
            scales = parse_scales(scales_spec, model.items)
    dont_know = parse_codes(dont_know_spec) if dont_know_spec else ()
    return scales, dont_know


def _cbsem_progress():
    """Progress of a CB-SEM fit on stderr (stdout stays the result), at most one line a
    second, so a fit that takes under a second prints nothing."""
    import time

    last = [time.monotonic()]

    def report(stage: str, fraction: float) -> None:
        now = time.monotonic()
        if now - last[0] >= 1.0:
            click.echo(f"cbsem: {100 * fraction:3.0f}% {stage}", err=True)
            last[0] = now

    return report


def _fit_stored(survey: str, wave: str, database_url: str | None, as_json: bool, plot_prefix: str | None) -> None:
    """The wave's stored analysis (computed and stored first when missing or out of date):
    the numbers the console, the API and the report show."""
    from analysis.report import ReportError
    from analysis.stored import ensure_analysis
    from models.storage import StorageError

    engine, _ = _open_database(database_url)
    try:
        stored = ensure_analysis(engine, survey, wave)
    except (ReportError, StorageError, CSIError) as exc:
        _fail(str(exc))
    results = stored.fit
    if plot_prefix:
        _write_plots(results, plot_prefix)
    stamp = stored.computed_at.strftime("%Y-%m-%d %H:%M UTC") if stored.computed_at else "now"
    if as_json:
        from analysis.json_safe import json_ready

        payload = json_ready(results.to_dict())
        payload["source"] = f"{survey}/{wave}"
        payload["stored_analysis"] = json_ready({k: v for k, v in stored.summary().items() if k not in ("index",)})
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2, allow_nan=False))
        return
    click.echo(f"data: {survey}/{wave} (stored analysis computed {stamp}, n = {stored.n_used}; "
               f"{stored.n_boot} resamples, seed {stored.seed})")
    click.echo(results.summary())
    if not stored.changes.empty:
        click.echo("Changes (permutation tests, "
                   f"{stored.n_perm} permutations)")
        from analysis.groups import with_reading
        for row in with_reading(stored.changes).to_dict("records"):
            click.echo(f"  {row['construct']:<22} vs {row['reference']:<8} {row['change']:+6.2f} "
                       f"[{row['ci_low']:+.2f}, {row['ci_high']:+.2f}]  p = {row['p_value']:.3f}"
                       + (f", Holm p = {row['p_adjusted']:.3f}" if row.get("p_adjusted") is not None else "")
                       + f", {row['reading']}")


def _write_plots(results, prefix: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = [("paths", results.plot_paths), ("loadings", results.plot_loadings), ("index", results.plot_index)]
    slopes = results.interaction_slopes() if getattr(results, "interaction", None) else None
    if slopes is not None and not slopes.empty:
        for n, (term, target) in enumerate(dict.fromkeys(zip(slopes["term"], slopes["target"])), start=1):
            figures.append((f"slopes-{n}", lambda term=term, target=target: results.plot_simple_slopes(term, target)))
    for name, method in figures:
        figure = method()
        path = f"{prefix}-{name}.png"
        try:
            figure.savefig(path, dpi=130, bbox_inches="tight")
        except OSError as exc:
            _fail(f"cannot write {path}: {exc.strerror}")
        finally:
            plt.close(figure)
        click.echo(f"wrote {path}", err=True)


def _worker_option(function):
    return click.option("--no-worker", is_flag=True,
                        help="Do not start a background-job worker beside the server (run `csi worker` instead).")(function)


def _serve_options(function):
    function = click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")(function)
    function = click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)(function)
    function = click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
                            help="Worker processes (granian; waitress, with CSI_SERVER=waitress, runs one).")(function)
    # 2: with a database on the same machine a page post waits for it twice, briefly. 2 and 4
    # threads per process reached the same capacity, but at a steady 140 posts/s 4 threads
    # doubled the p50 and p99 (GIL contention; docs/benchmarks.md). With the database on another
    # host, more threads overlap its longer round trips.
    return click.option("--threads", type=click.IntRange(1, 256), default=2, show_default=True,
                        help="Threads per process.")(function)


def _run_server(database_url: str | None, host: str, port: int, threads: int, workers: int = 1,
                with_worker: bool = True) -> None:
    from .server import SERVERS, port_problem, read_only_problem, run

    server = os.environ.get("CSI_SERVER", SERVERS[0])
    if server not in SERVERS:
        _fail(f"CSI_SERVER={server}: choose one of {', '.join(SERVERS)}")
    busy = port_problem(host, port)
    if busy:
        _fail(busy)
    engine, url = _open_database(database_url)
    problem = read_only_problem(engine)
    engine.dispose()
    if problem:
        click.echo(f"warning: the database {_shown(url)} is read-only ({problem}): "
                   "respondents' answers cannot be stored", err=True)
    click.echo(f"serving on http://{'localhost' if host in ('127.0.0.1', '::1') else host}:{port}/ "
               f"({workers} process{'es' if workers > 1 else ''} x {threads} threads; Ctrl+C to stop)")
    worker = None
    if with_worker:
        from .jobs import start_worker_process
        worker = start_worker_process(url)
        click.echo("background jobs: one worker process beside the server (--no-worker: run `csi worker` yourself)")
    try:
        run(url, host, port, workers, threads, server)
    finally:
        if worker is not None:
            from .jobs import stop_worker_process
            stop_worker_process(worker)


@main.command()
@_database_option
@_serve_options
@_worker_option
def serve(database_url, host, port, workers, threads, no_worker) -> None:
    """Run the survey web server (granian; waitress with CSI_SERVER=waitress) and a job worker."""
    _run_server(database_url, host, port, threads, workers, with_worker=not no_worker)


@main.command()
@_database_option
@click.option("--respondents", type=click.IntRange(min=50), default=400, show_default=True,
              help="Example responses per wave.")
@click.option("--seed", type=int, default=2026, show_default=True)
@click.option("--no-serve", is_flag=True, help="Set up and analyse, but do not start the web server.")
@click.option("--reports", "reports", default="instance/reports", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the quarterly HTML reports.")
@click.option("--no-reports", is_flag=True, help="Do not write the reports.")
@click.option("--boot", "n_boot", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Bootstrap resamples of each wave's stored analysis.")
@click.option("--perm", "n_perm", type=click.IntRange(min=19), default=1000, show_default=True,
              help="Permutations of each comparison.")
@_serve_options
@_worker_option
def demo(database_url, respondents, seed, no_serve, reports, no_reports, n_boot, n_perm, host, port, workers, threads,
         no_worker) -> None:
    """The demo: shipped questionnaires, waves with example responses, the survey server at once, and
    the waves' analyses and reports computed in the background."""
    from sqlalchemy.exc import SQLAlchemyError

    from models.storage import default_url

    from .demo import print_results_when_ready, run_demo, run_demo_jobs
    from .server import port_problem

    busy = None if no_serve else port_problem(host, port)
    if busy:  # known before setting up
        _fail(busy)
    url = database_url or default_url()
    try:
        job_ids, surveys = run_demo(url, respondents, seed, echo=click.echo, base_url=f"http://localhost:{port}",
                           reports=None if no_reports else reports, n_boot=n_boot, n_perm=n_perm)
    except CSIError as exc:
        _fail(str(exc))
    except SQLAlchemyError as exc:
        _fail(f"cannot set up the demo database: {_first_line(getattr(exc, 'orig', None) or exc)}")
    if no_serve:
        # Nothing serves: run the queued jobs here, in order, and print their results.
        run_demo_jobs(url, job_ids, surveys, echo=click.echo)
        return
    if no_worker:
        click.echo("the analyses and reports are queued; start `csi worker` to compute them")
    print_results_when_ready(url, job_ids, surveys, echo=click.echo)
    _run_server(url, host, port, threads, workers, with_worker=not no_worker)


@main.group()
def admin() -> None:
    """Administrator accounts and API tokens."""


def _admin_session(database_url):
    from sqlalchemy.orm import Session

    engine, _ = _open_database(database_url)
    return Session(engine)


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@admin.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(["admin", "viewer"]), default="admin", show_default=True,
              help="admin: everything; viewer: read only.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@_database_option
def admin_create(username, role, password_stdin, database_url) -> None:
    """Create an administrator (the password is asked twice, or read with --password-stdin)."""
    from models.storage import StorageError
    from models.storage.accounts import create_admin

    password = _read_password(password_stdin)
    with _admin_session(database_url) as session:
        try:
            create_admin(session, username, password, role)
        except StorageError as exc:
            _fail(str(exc))
        session.commit()
    click.echo(f"administrator {username!r} ({role}) created; log in at /admin/")


@admin.command("password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@_database_option
def admin_password(username, password_stdin, database_url) -> None:
    """Set a new password (and log the user out everywhere)."""
    from models.storage import StorageError
    from models.storage.accounts import set_password

    password = _read_password(password_stdin)
    with _admin_session(database_url) as session:
        try:
            set_password(session, username, password)
        except StorageError as exc:
            _fail(str(exc))
        session.commit()
    click.echo(f"password of {username!r} changed; its sessions were ended and its failed logins cleared")


@admin.command("token")
@click.argument("name")
@click.option("--user", "username", required=True, help="The administrator the token acts for.")
@click.option("--days", type=int, default=90, show_default=True, help="Days until the token expires (1-3650).")
@_database_option
def admin_token(name, username, days, database_url) -> None:
    """Create an API token (printed once; only its hash is stored)."""
    from models.storage import StorageError
    from models.storage.accounts import create_api_token

    with _admin_session(database_url) as session:
        try:
            token = create_api_token(session, username, name, days)
        except StorageError as exc:
            _fail(str(exc))
        session.commit()
    click.echo(token)


def _moment(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"


@admin.command("tokens")
@click.argument("username")
@_database_option
def admin_tokens(username, database_url) -> None:
    """List a user's API tokens: id, name, created, expires, last used, state (UTC)."""
    from models.storage import StorageError
    from models.storage.accounts import list_api_tokens, token_state

    with _admin_session(database_url) as session:
        try:
            rows = list_api_tokens(session, username)
        except StorageError as exc:
            _fail(str(exc))
    click.echo(f"{'id':>5}  {'name':<24} {'created':<16}  {'expires':<16}  {'last used':<16}  state")
    for token, _user in rows:
        state = token_state(token)
        if state == "revoked":
            state = f"revoked {_moment(token.revoked_at)}"
        click.echo(f"{token.id:>5}  {token.name[:24]:<24} {_moment(token.created_at):<16}  "
                   f"{_moment(token.expires_at):<16}  {_moment(token.last_used_at):<16}  {state}")
    if not rows:
        click.echo(f"({username!r} has no API tokens)")


@admin.command("revoke")
@click.argument("token_id", type=int)
@_database_option
def admin_revoke(token_id, database_url) -> None:
    """Revoke an API token by its id (from `csi admin tokens`); it stops working at once."""
    from models.storage import StorageError
    from models.storage.accounts import revoke_api_token

    with _admin_session(database_url) as session:
        try:
            row = revoke_api_token(session, token_id)
        except StorageError as exc:
            _fail(str(exc))
        session.commit()
        click.echo(f"API token {token_id} ({row.name}) revoked")


@admin.command("unlock")
@click.argument("username")
@_database_option
def admin_unlock(username, database_url) -> None:
    """Clear a user's failed logins, so its next login is not delayed."""
    from models.storage.accounts import find_user, unlock
    from models.storage import StorageError

    with _admin_session(database_url) as session:
        try:
            find_user(session, username)
        except StorageError as exc:
            _fail(str(exc))
        reset = unlock(session, username)
        session.commit()
    click.echo(f"{username!r} unlocked ({reset} failed-login counter{'s' if reset != 1 else ''} cleared)")


@admin.command("disable")
@click.argument("username")
@_database_option
def admin_disable(username, database_url) -> None:
    """Disable a user: no more logins; its sessions end and its API tokens are revoked at once."""
    from models.storage import StorageError
    from models.storage.accounts import disable_user

    with _admin_session(database_url) as session:
        try:
            revoked = disable_user(session, username)
        except StorageError as exc:
            _fail(str(exc))
        session.commit()
    click.echo(f"{username!r} disabled; its sessions were ended and {revoked} API token{'s' if revoked != 1 else ''} revoked")


@main.command()
@_database_option
@click.option("--threads", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Jobs run at once in this process (one per core is the rule; analyses use numpy's threads too).")
@click.option("--nice", type=click.IntRange(0, 19), default=0, show_default=True,
              help="Lower this worker's CPU priority (the worker `csi serve` starts uses 10: respondents first).")
@click.option("--parent-pid", type=int, hidden=True)
def worker(database_url, threads, nice, parent_pid) -> None:
    """Run background jobs (reports, analyses, exports): huey on Redis with CSI_REDIS_URL, else on SQLite."""
    from models.storage import current_revision, default_url, head_revision, make_engine

    from .jobs import run_worker

    url = database_url or default_url()
    try:
        current = current_revision(make_engine(url))
    except Exception as exc:
        _fail(f"cannot open the database {url}: {exc.__class__.__name__}")
    if current != head_revision():
        _fail(f"the database {url} is not at the current schema; run: csi init")
    run_worker(url, threads=threads, nice=nice, parent_pid=parent_pid)


@main.group()
def jobs() -> None:
    """Background jobs: list them, retry a failed one."""


def _job_line(job) -> str:
    when = (job.finished_at or job.started_at or job.created_at).strftime("%Y-%m-%d %H:%M:%S")
    params = " ".join(f"{k}={v}" for k, v in (job.params or {}).items() if k not in ("folder",) and v is not None)
    state = f"{job.status} {100 * (job.progress or 0):3.0f}%" if job.status == "running" else job.status
    detail = job.error.splitlines()[0] if job.status == "failed" and job.error else (job.message or "")
    return f"{job.id:>6}  {job.kind:<9} {state:<12} {when}  {params}  {detail}"


@jobs.command("list")
@click.option("--status", type=click.Choice(["queued", "running", "done", "failed"]))
@click.option("--limit", type=click.IntRange(1, 10000), default=30, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@_database_option
def jobs_list(status, limit, as_json, database_url) -> None:
    """The latest jobs, newest first: id, kind, status and progress, time, parameters, message or error."""
    from models.storage.jobs import list_jobs

    engine, _ = _open_database(database_url)
    found = list_jobs(engine, limit=limit, status=status)
    if as_json:
        rows = [{"id": j.id, "kind": j.kind, "params": j.params, "status": j.status, "progress": j.progress,
                 "message": j.message, "attempts": j.attempts, "error": j.error, "output": j.output,
                 "created_at": j.created_at.isoformat(), "started_at": j.started_at and j.started_at.isoformat(),
                 "finished_at": j.finished_at and j.finished_at.isoformat()} for j in found]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not found:
        click.echo("no jobs")
    for job in found:
        click.echo(_job_line(job))


@jobs.command("retry")
@click.argument("job_id", type=int)
@_database_option
def jobs_retry(job_id, database_url) -> None:
    """Queue a failed job again."""
    from models.storage import StorageError

    from .jobs import queue_from_environment, retry

    engine, url = _open_database(database_url)
    try:
        retry(engine, queue_from_environment(url), job_id)
    except StorageError as exc:
        _fail(str(exc))
    click.echo(f"job {job_id} queued again")


@main.command()
@click.option("--survey", required=True, help="Questionnaire id, e.g. acsi-retail.")
@click.option("--wave", required=True, help="The wave to analyse, e.g. 2026Q4.")
@click.option("--boot", "n_boot", type=click.IntRange(min=0), default=1000, show_default=True)
@click.option("--perm", "n_perm", type=click.IntRange(min=19), default=1000, show_default=True)
@click.option("--queue", "queued", is_flag=True, help="Queue it for a worker instead of computing it here.")
@_database_option
def analyse(survey, wave, n_boot, n_perm, queued, database_url) -> None:
    """(Re)compute and store a wave's analysis, which the console, API, fit and report read (the console's
    recompute button)."""
    from analysis.report import ReportError
    from models.storage import StorageError

    engine, url = _open_database(database_url)
    if queued:
        from .jobs import enqueue, queue_from_environment
        try:
            job_id, created = enqueue(engine, queue_from_environment(url), "analysis",
                                      {"survey": survey, "wave": wave, "n_boot": n_boot, "n_perm": n_perm},
                                      dedupe_key=f"analysis:{survey}/{wave}", created_by="cli")
        except CSIError as exc:
            _fail(str(exc))
        click.echo(f"job {job_id} {'queued' if created else 'was already queued'}: csi jobs list")
        return
    from analysis.stored import compute_analysis
    try:
        result = compute_analysis(engine, survey, wave, n_boot=n_boot, n_perm=n_perm)
    except (ReportError, StorageError, CSIError) as exc:
        _fail(str(exc))
    click.echo(f"stored the analysis of {survey}/{wave}: n = {result.n_used}, {result.n_boot} resamples, "
               f"{result.n_perm} permutations, seed {result.seed}, {result.seconds:.1f} s")


@main.command()
@click.option("--survey", required=True, help="Questionnaire id, e.g. acsi-retail.")
@click.option("--wave", required=True, help="The wave to report, e.g. 2026Q4 (earlier waves give the trend).")
@click.option("--compare", help="Also compare with this wave (default: the previous wave and the same period a year earlier).")
@click.option("-o", "--output", default="report.html", show_default=True, type=click.Path(),
              help="The HTML file to write.")
@click.option("--pdf", "pdf_path", type=click.Path(), help="Also print the report to this PDF (needs Chromium).")
@click.option("--lang", "language", help="Report language (default: the questionnaire's).")
@click.option("--boot", "n_boot", type=click.IntRange(min=0),
              help="Bootstrap resamples (default: the stored analyses', else 1000).")
@click.option("--perm", "n_perm", type=click.IntRange(min=19),
              help="Permutations (default: the stored analyses', else 1000).")
@click.option("--seed", type=int, help="Compute everything afresh with this seed and store nothing "
              "(default: the waves' stored analyses, each with its seed derived from survey and wave).")
@_database_option
def report(survey, wave, compare, output, pdf_path, language, n_boot, n_perm, seed, database_url) -> None:
    """Write the quarterly report of a wave as one self-contained HTML file (and a PDF)."""
    import time

    from analysis.report import ReportError, build_report

    _writable_file(output, "-o")
    if pdf_path:
        _writable_file(pdf_path, "--pdf")
    engine, _ = _open_database(database_url)
    started = time.perf_counter()
    say = lambda message: click.echo(f"[{time.perf_counter() - started:5.1f}s] {message}", err=True)  # noqa: E731
    try:
        built = build_report(engine, survey, wave, compare=compare, language=language, n_boot=n_boot, n_perm=n_perm,
                             seed=seed, on_progress=say)
        path = built.write_html(output)
        click.echo(f"wrote {path}")
        if pdf_path:
            say("printing the PDF")
            click.echo(f"wrote {built.write_pdf(pdf_path)}")
    except (ReportError, CSIError) as exc:
        _fail(str(exc))


# The formats and layouts of models.exports.EXPORT_FORMATS and the console's export route,
# spelled out so that `csi --help` does not load pandas (a test keeps them equal).
EXPORT_CHOICES = ("csv", "xlsx", "sav")


@main.command("export")
@click.option("--survey", required=True, help="Questionnaire id, e.g. acsi-retail.")
@click.option("--wave", required=True, help="Wave name, e.g. 2026Q4.")
@click.option("--format", "fmt", type=click.Choice(EXPORT_CHOICES),
              help="File format (default: from the output file's extension, else csv).")
@click.option("--layout", type=click.Choice(["wide", "long"]), default="wide", show_default=True,
              help="wide: one row per response; long: one row per answer.")
@click.option("--include-partial", is_flag=True,
              help="Add the responses not submitted (yet); the status column tells them apart.")
@click.option("--lang", "language", help="Language of the labels (.sav variable and value labels, Excel "
                                        "variables sheet); default: the questionnaire's.")
@click.option("-o", "--output", required=True, type=click.Path(), help="The file to write.")
@_database_option
def export(survey, wave, fmt, layout, include_partial, language, output, database_url) -> None:
    """Export a wave's responses, as the console's export button does (docs/exports.md lists the columns)."""
    import json as json_module
    import tempfile

    from sqlalchemy.orm import Session

    from models.exports import export_wave
    from models.questionnaire import parse_questionnaire
    from models.storage import find_wave

    if fmt is None:
        suffix = Path(output).suffix.lower().lstrip(".")
        fmt = suffix if suffix in EXPORT_CHOICES else "csv"
    _writable_file(output, "-o")
    engine, _ = _open_database(database_url)
    try:
        with Session(engine) as session:
            stored = find_wave(session, survey, wave)
            survey_id, content = stored.survey_id, stored.questionnaire_version.content
        # Parsed as the console's service parses a stored version (survey_app/services.py).
        questionnaire = parse_questionnaire(json_module.dumps(content, ensure_ascii=False), f"survey {survey_id}")
        data, _ = export_wave(engine, questionnaire, wave, fmt, layout, language=language,
                              include_partial=include_partial)
    except CSIError as exc:
        _fail(str(exc))
    finally:
        engine.dispose()
    target = Path(output)
    # Written beside the target and renamed: an interrupted export never leaves half a file.
    handle, partial = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as f:
            f.write(data)
        os.replace(partial, target)
    except OSError as exc:
        Path(partial).unlink(missing_ok=True)
        _fail(f"cannot write {output}: {exc.strerror}")
    click.echo(f"wrote {output} ({fmt}, {layout}, {len(data):,} bytes)")


def _register_groups() -> None:
    from .cli_convert import convert
    from .cli_cvpat import cvpat_command
    from .cli_dashboard import dashboard
    from .cli_dataimport import import_command, wave
    from .cli_followup import followup
    from .cli_quotas import register as register_wave_limits
    from .cli_invitations import invitations
    from .cli_league import league
    from .cli_links import links
    from .cli_questionnaire import questionnaire
    from .cli_text import text
    from .cli_webhooks import webhooks
    register_wave_limits(wave)  # csi wave limit, csi wave status
    for group in (convert, cvpat_command, dashboard, followup, invitations, league, links, questionnaire, text, webhooks,
                  import_command, wave):
        main.add_command(group)


_register_groups()

if __name__ == "__main__":
    main()
