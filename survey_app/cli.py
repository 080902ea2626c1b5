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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="csi-toolkit", prog_name="csi")
def main() -> None:
    """Customer satisfaction indices end to end: questionnaires, storage, PLS/SEM analysis."""


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
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
    sys.exit(1 if failed else 0)


def _database_option(function):
    return click.option("--database", "database_url", envvar="CSI_DATABASE_URL", default=None,
                        help="SQLAlchemy URL (default: SQLite file in ./instance, or $CSI_DATABASE_URL).")(function)


@main.command()
@_database_option
def init(database_url: str | None) -> None:
    """Create the database, or upgrade it to the current schema."""
    from models.storage import default_url, make_engine, upgrade

    url = database_url or default_url()
    try:
        before, after = upgrade(make_engine(url))
    except Exception as exc:  # a broken URL or unreachable server is a user error here
        _fail(f"cannot initialize {url}: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
    if before == after:
        click.echo(f"database {url} is up to date (schema {after})")
    else:
        click.echo(f"database {url}: schema {before or 'empty'} -> {after}")


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@_database_option
def backup(file: str, database_url: str | None) -> None:
    """Write a consistent backup of the database (SQLite online backup, or pg_dump)."""
    from models.storage import default_url
    from models.storage.backup import BackupError, backup as run_backup

    url = database_url or default_url()
    try:
        facts = run_backup(url, file)
    except BackupError as exc:
        _fail(str(exc))
    extra = f", {facts['responses']} responses" if "responses" in facts else ""
    click.echo(f"backed up {url} to {file} ({facts['kind']}, {facts['bytes']:,} bytes{extra})")


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@_database_option
@click.option("--yes", is_flag=True, help="Do not ask before replacing the database's contents.")
def restore(file: str, database_url: str | None, yes: bool) -> None:
    """Replace the database's contents with a backup made by `csi backup`."""
    from models.storage import default_url
    from models.storage.backup import BackupError, restore as run_restore

    url = database_url or default_url()
    if not yes and not click.confirm(f"Replace everything in {url} with {file}?", default=False):
        _fail("restore cancelled")
    try:
        facts = run_restore(file, url)
    except BackupError as exc:
        _fail(str(exc))
    click.echo(f"restored {file} into {url}" + (f" ({facts['responses']} responses)" if "responses" in facts else ""))


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
    return parse_model(path.read_text(encoding="utf-8"), source=str(path), name=path.stem)


@main.command()
@click.option("--model", "model_spec", help="Template name (acsi, ecsi, ccsi, scsb) or a model text file. "
              "Default: the questionnaire's own model.")
@click.option("--data", "data_file", type=click.Path(dir_okay=False), help="CSV file, one row per respondent.")
@click.option("--questionnaire", "questionnaire_file", type=click.Path(dir_okay=False),
              help="Questionnaire file (scales, don't-know codes, reverse items, construct tags).")
@click.option("--survey", help="Questionnaire id of a stored survey (with --wave): read responses from the database.")
@click.option("--wave", help="Wave name, e.g. 2026Q4 (with --survey).")
@_database_option
@click.option("--method", type=click.Choice(["pls", "cbsem"]), default="pls", show_default=True)
@click.option("--scheme", type=click.Choice(["path", "centroid", "factorial"]), default="path", show_default=True)
@click.option("--unscaled", is_flag=True, help="Centre but do not standardize indicators (R plspm scaled=FALSE).")
@click.option("--missing", type=click.Choice(["listwise", "mean", "fiml"]), default="listwise", show_default=True)
@click.option("--boot", "n_boot", type=click.IntRange(min=0),
              help="Bootstrap resamples (default 0; with --survey, the wave's stored analysis and its resamples).")
@click.option("--seed", type=int, help="Seed (default 1; with --survey, the stored analysis' seed derived from survey and wave).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the text summary.")
@click.option("--plot", "plot_prefix", type=click.Path(), help="Write PNG figures PREFIX-paths.png, -loadings.png, -index.png.")
def fit(model_spec, data_file, questionnaire_file, survey, wave, database_url, method, scheme, unscaled, missing,
        n_boot, seed, as_json, plot_prefix) -> None:
    """Fit a CSI model (PLS path modeling or CB-SEM) on a CSV file or a stored wave."""
    import pandas as pd

    from analysis import fit as fit_model
    from models.questionnaire import load_questionnaire, parse_questionnaire

    if bool(data_file) == bool(survey):
        _fail("give either --data FILE.csv or --survey ID --wave NAME")
    if (survey and wave and method == "pls" and n_boot is None and seed is None and not model_spec
            and not questionnaire_file and scheme == "path" and not unscaled and missing == "listwise"):
        _fit_stored(survey, wave, database_url, as_json, plot_prefix)
        return
    n_boot = 0 if n_boot is None else n_boot
    seed = 1 if seed is None else seed
    try:
        questionnaire = load_questionnaire(questionnaire_file) if questionnaire_file else None
        if survey:
            if not wave:
                _fail("--survey needs --wave")
            from sqlalchemy.orm import Session

            from models.storage import find_wave, load_wave_frame, make_engine
            engine = make_engine(database_url)
            with Session(engine) as session:
                stored = find_wave(session, survey, wave)
                content = stored.survey.content
            if questionnaire is None:
                questionnaire = parse_questionnaire(json.dumps(content, ensure_ascii=False), f"{survey} (stored)")
            data = load_wave_frame(engine, survey, wave)
            source = f"{survey}/{wave}"
        else:
            try:
                data = pd.read_csv(data_file)
            except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
                _fail(f"cannot read {data_file}: {exc}")
            source = data_file
        if model_spec:
            model = _load_model(model_spec, questionnaire)
        elif questionnaire is not None:
            model = questionnaire.csi_model()
        else:
            _fail("give --model (a template with --questionnaire, or a model file)")
        if method == "pls":
            if missing == "fiml":
                _fail("--missing fiml is available for --method cbsem only")
            results = fit_model(model, data, "pls", questionnaire=questionnaire, scheme=scheme, scaled=not unscaled,
                                missing=missing, n_boot=n_boot, seed=seed)
        else:
            if n_boot:
                _fail("--boot applies to --method pls (CB-SEM reports ML standard errors)")
            results = fit_model(model, data, "cbsem", questionnaire=questionnaire, missing=missing)
    except CSIError as exc:
        _fail(str(exc))
    if plot_prefix and method == "pls":
        _write_plots(results, plot_prefix)
    if as_json:
        payload = results.to_dict()
        payload["source"] = source
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2, allow_nan=False))
    else:
        click.echo(f"data: {source}")
        click.echo(results.summary())


def _fit_stored(survey: str, wave: str, database_url: str | None, as_json: bool, plot_prefix: str | None) -> None:
    """The wave's stored analysis (computed and stored first when missing or out of date):
    the numbers the console, the API and the report show."""
    from analysis.report import ReportError
    from analysis.stored import ensure_analysis
    from models.storage import StorageError

    _, engine = _jobs_engine(database_url)
    try:
        stored = ensure_analysis(engine, survey, wave)
    except (ReportError, StorageError, CSIError) as exc:
        _fail(str(exc))
    results = stored.fit
    if plot_prefix:
        _write_plots(results, plot_prefix)
    stamp = stored.computed_at.strftime("%Y-%m-%d %H:%M UTC") if stored.computed_at else "now"
    if as_json:
        payload = results.to_dict()
        payload["source"] = f"{survey}/{wave}"
        payload["stored_analysis"] = {k: v for k, v in stored.summary().items() if k not in ("index",)}
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2, allow_nan=False))
        return
    click.echo(f"data: {survey}/{wave} (stored analysis computed {stamp}, n = {stored.n_used}; "
               f"{stored.n_boot} resamples, seed {stored.seed})")
    click.echo(results.summary())
    if not stored.changes.empty:
        click.echo("Changes (permutation tests, "
                   f"{stored.n_perm} permutations)")
        for row in stored.changes.to_dict("records"):
            click.echo(f"  {row['construct']:<22} vs {row['reference']:<8} {row['change']:+6.2f} "
                       f"[{row['ci_low']:+.2f}, {row['ci_high']:+.2f}]  p = {row['p_value']:.3f}")


def _write_plots(results, prefix: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for name, method in (("paths", results.plot_paths), ("loadings", results.plot_loadings), ("index", results.plot_index)):
        figure = method()
        path = f"{prefix}-{name}.png"
        figure.savefig(path, dpi=130, bbox_inches="tight")
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
    from models.storage import current_revision, default_url, head_revision, make_engine

    from .server import SERVERS, run

    server = os.environ.get("CSI_SERVER", SERVERS[0])
    if server not in SERVERS:
        _fail(f"CSI_SERVER={server}: choose one of {', '.join(SERVERS)}")
    url = database_url or default_url()
    if current_revision(make_engine(url)) != head_revision():
        _fail(f"the database {url} is not at the current schema; run: csi init")
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
    from models.storage import default_url

    from .demo import print_results_when_ready, run_demo, run_demo_jobs

    url = database_url or default_url()
    try:
        job_ids, surveys = run_demo(url, respondents, seed, echo=click.echo, base_url=f"http://localhost:{port}",
                           reports=None if no_reports else reports, n_boot=n_boot, n_perm=n_perm)
    except CSIError as exc:
        _fail(str(exc))
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

    from models.storage import current_revision, default_url, head_revision, make_engine

    url = database_url or default_url()
    engine = make_engine(url)
    if current_revision(engine) != head_revision():
        _fail(f"the database {url} is not at the current schema; run: csi init")
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
    click.echo(f"password of {username!r} changed; its sessions were ended")


@admin.command("token")
@click.argument("name")
@click.option("--user", "username", required=True, help="The administrator the token acts for.")
@_database_option
def admin_token(name, username, database_url) -> None:
    """Create an API token (printed once; only its hash is stored)."""
    from models.storage import StorageError
    from models.storage.accounts import create_api_token

    with _admin_session(database_url) as session:
        try:
            token = create_api_token(session, username, name)
        except StorageError as exc:
            _fail(str(exc))
        session.commit()
    click.echo(token)


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


def _jobs_engine(database_url):
    from models.storage import current_revision, default_url, head_revision, make_engine

    url = database_url or default_url()
    engine = make_engine(url)
    try:
        current = current_revision(engine)
    except Exception as exc:
        _fail(f"cannot open the database {url}: {exc.__class__.__name__}")
    if current != head_revision():
        _fail(f"the database {url} is not at the current schema; run: csi init")
    return url, engine


@main.group()
def jobs() -> None:
    """Background jobs: list them, retry a failed one."""


def _job_line(job) -> str:
    when = (job.finished_at or job.started_at or job.created_at).strftime("%Y-%m-%d %H:%M:%S")
    params = " ".join(f"{k}={v}" for k, v in (job.params or {}).items() if k not in ("folder",))
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

    _, engine = _jobs_engine(database_url)
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

    url, engine = _jobs_engine(database_url)
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

    url, engine = _jobs_engine(database_url)
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
@click.option("-o", "--output", default="report.html", show_default=True, type=click.Path(dir_okay=False),
              help="The HTML file to write.")
@click.option("--pdf", "pdf_path", type=click.Path(dir_okay=False), help="Also print the report to this PDF (needs Chromium).")
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

    started = time.perf_counter()
    _, engine = _jobs_engine(database_url)
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


if __name__ == "__main__":
    main()
