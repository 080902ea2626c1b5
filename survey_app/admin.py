"""Admin blueprint: login, surveys and waves, invitations, live wave view, follow-up
queue, reports and exports. Every route but login needs a live admin session.

Sessions are server-side (``models.storage.accounts``): the signed cookie carries a
random id whose hash is in the database, so logout and expiry end them for real, and
the id is replaced at every login (no session fixation). Roles: "viewer" reads,
"admin" also changes things.
"""
from __future__ import annotations

import csv
import re
import tempfile
from dataclasses import replace
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from functools import wraps
from urllib.parse import urlsplit

from flask import (Blueprint, Response as FlaskResponse, abort, current_app, flash, g, redirect, render_template,
                   request, session, url_for)
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.answers import answer_type
from models.errors import QuestionnaireError
from models.questionnaire import parse_questionnaire
from models.storage import StorageError, create_wave, register_questionnaire
from models.storage import accounts, console, follow_up
from models.storage.tables import QuestionnaireVersion, Wave, _aware
from survey_app.downloads import attachment

from .state import current_state
from . import console_strings  # noqa: F401  (registers the console's texts)
from .console_errors import console_error, translate_problem
from .console_i18n import CONSOLE_LANGUAGES, COOKIE, COOKIE_MAX_AGE, LANGUAGE_NAMES, console_language, ct, cv, lt
from .throttle import address_scope, policy

bp = Blueprint("admin", __name__, url_prefix="/admin")
# ct() and console_language() in every template (a console page of another blueprint too).
bp.add_app_template_global(ct, "ct")
bp.add_app_template_global(console_language, "console_language")
bp.add_app_template_global(cv, "cv")
bp.add_app_template_global(lt, "lt")


@bp.app_template_global("language_name")
def _language_name(code: str) -> str:
    """A language as its readers name it (English, 中文), not its code."""
    return LANGUAGE_NAMES.get(code, code)


@bp.app_template_global("next_wave_name")
def next_wave_name(names, today=None) -> str:
    """The quarter after the latest wave named "YYYYQn" (the new-wave field's example), else
    this quarter: a placeholder never names a wave that exists."""
    quarters = [(int(m[1]), int(m[2])) for name in names if (m := re.fullmatch(r"(\d{4})Q([1-4])", str(name)))]
    if not quarters:
        today = today or datetime.now(timezone.utc).date()
        return f"{today.year}Q{(today.month - 1) // 3 + 1}"
    year, quarter = max(quarters)
    return f"{year + quarter // 4}Q{quarter % 4 + 1}"


@bp.app_template_global("construct_name")
def _construct_name(construct: str, questionnaire=None) -> str:
    """A construct's name as the report writes it in the console's language (the
    questionnaire's own ``model.names`` first, when the page has the questionnaire)."""
    from analysis.report_text import construct_label
    return construct_label(construct, console_language(), questionnaire)

REPORT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; "
              "base-uri 'none'; form-action 'none'")


def _db() -> Session:
    if "db" not in g:
        g.db = Session(current_state().engine, expire_on_commit=False)
    return g.db


@bp.teardown_app_request
def _close_db(_error):
    db = g.pop("db", None)
    if db is not None:
        db.close()


def _limits() -> tuple[timedelta, timedelta]:
    config = current_app.config
    return (timedelta(minutes=float(config.get("ADMIN_IDLE_MINUTES", 30))),
            timedelta(hours=float(config.get("ADMIN_ABSOLUTE_HOURS", 12))))


def current_user():
    if "admin_user" not in g:
        idle, absolute = _limits()
        user = accounts.session_user(_db(), session.get("admin_sid"), idle, absolute)
        _db().commit()
        g.admin_user = user
    return g.admin_user


def login_required(role: str | None = None):
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            user = current_user()
            if user is None:
                session.pop("admin_sid", None)
                target = request.full_path.rstrip("?")
                # (a megabyte of path would be quoted into a megabyte-long Location for anyone)
                return redirect(url_for("admin.login", next=target) if len(target) <= 2000 else url_for("admin.login"))
            if role == "admin" and user.role != "admin":
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator


@bp.context_processor
def _context():
    user = g.get("admin_user")
    language = console_language()
    switch = [(code, LANGUAGE_NAMES[code]) for code in CONSOLE_LANGUAGES if code != language]
    # Back to this page after switching; a POST's address cannot be fetched again (405), so the console's start.
    here = request.full_path.rstrip("?") if request.method == "GET" else url_for("admin.index")
    shared = {"console_lang": language, "console_switch": switch, "switch_next": here}
    if user is not None:
        hours = float(current_app.config.get("FOLLOW_UP_OVERDUE_HOURS", 48))
        overdue = follow_up.overdue_callable(_db(), hours)
        return {"user": user, "overdue": overdue, "overdue_hours": hours, **shared}
    return {"user": None, "overdue": 0, "overdue_hours": 0, **shared}


def _safe_next(target: str | None) -> str:
    # Only local console paths: an open redirect after login would hand attackers a trusted
    # link, and a CR/LF (any control character) would split the Location header (a 500).
    if (target and (target == "/admin" or target.startswith(("/admin/", "/admin?"))) and target.isprintable()
            and "\\" not in target and not urlsplit(target).netloc):
        return target
    return url_for("admin.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    status = 200
    if request.method == "POST":
        username = request.form.get("username", "")[:64]
        password = request.form.get("password", "")[:1024]
        try:
            user = accounts.authenticate(_db(), username, password, address_scope(username), policy())
        except accounts.LoginThrottled as exc:
            response = FlaskResponse(render_template("admin/login.html", error=ct(
                "login_throttled", username=repr(username), seconds=exc.retry_after)), status=429)
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        if user is None:
            error, status = ct("wrong_login"), 401
        else:
            accounts.end_session(_db(), session.get("admin_sid"))
            session.clear()  # a new session for a new privilege level: nothing planted before login survives
            session["admin_sid"] = accounts.start_session(_db(), user)
            _db().commit()
            return redirect(_safe_next(request.args.get("next")))
    return render_template("admin/login.html", error=error), status


@bp.route("/language", methods=["POST"])
def set_language():
    """The header's language switch: remembered in a cookie of its own for a year (login clears the session)."""
    chosen = request.form.get("lang", "")
    if chosen not in CONSOLE_LANGUAGES:
        abort(400)
    response = redirect(_safe_next(request.form.get("next")))
    response.set_cookie(COOKIE, chosen, max_age=COOKIE_MAX_AGE, path="/admin", secure=request.is_secure,
                        httponly=True, samesite="Lax")
    return response


@bp.route("/logout", methods=["POST"])
def logout():
    accounts.end_session(_db(), session.get("admin_sid"))
    _db().commit()
    session.clear()
    return redirect(url_for("admin.login"))


def _latest_versions() -> list[QuestionnaireVersion]:
    latest = select(func.max(QuestionnaireVersion.id)).group_by(QuestionnaireVersion.questionnaire_id)
    return list(_db().scalars(select(QuestionnaireVersion).where(QuestionnaireVersion.id.in_(latest)).order_by(QuestionnaireVersion.questionnaire_id)))


def _render_index(problems: list[str] | None = None):
    db = _db()
    surveys = _latest_versions()
    waves = {}
    for survey in surveys:
        rows = db.scalars(select(Wave).where(Wave.questionnaire_id == survey.questionnaire_id).order_by(Wave.name)).all()
        waves[survey.questionnaire_id] = [(wave, console.wave_progress(db, wave)) for wave in rows]
    from models.storage.repository import stored_questionnaire
    # The title in the console's language when the questionnaire has it (the stored column holds one language).
    titles = {survey.questionnaire_id: lt(stored_questionnaire(survey).title) for survey in surveys}
    versions: dict[str, list[QuestionnaireVersion]] = {}
    for version in db.scalars(select(QuestionnaireVersion).order_by(QuestionnaireVersion.id)):
        versions.setdefault(version.questionnaire_id, []).append(version)
    return render_template("admin/index.html", surveys=surveys, waves=waves, problems=problems, titles=titles,
                           versions=versions)


@bp.route("/")
@login_required()
def index():
    return _render_index()


@bp.route("/questionnaires", methods=["POST"])
@login_required("admin")
def upload_questionnaire():
    """Validate an uploaded questionnaire and store it. A new version of a stored questionnaire
    that changes anything is first shown with its changes (``admin_preview``'s diff) and a
    button that posts the same text again with ``confirm`` set to its content hash."""
    upload = request.files.get("file")
    confirming = "content" in request.form
    if not confirming and (upload is None or not upload.filename):
        flash(ct("choose_questionnaire_file"), "error")
        return redirect(url_for("admin.index"))
    name = (request.form.get("filename", "")[:200] if confirming else upload.filename).rsplit("/", 1)[-1]
    try:
        text = request.form["content"] if confirming else upload.read().decode("utf-8")
        questionnaire = parse_questionnaire(text, filename=name)
    except UnicodeDecodeError as exc:
        problems = [ct("not_utf8_file", name=name, byte=exc.start)]
    except QuestionnaireError as exc:
        # FILE:LINE: path: message as `csi validate` prints it, the message in the console's language.
        language = console_language()
        problems = [str(replace(problem, message=translate_problem(problem.message, language)))
                    for problem in exc.problems]
    else:
        existing = _db().scalar(select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == questionnaire.id,
                                                     QuestionnaireVersion.content_hash == questionnaire.content_hash))
        diff = None
        latest = _db().scalar(select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == questionnaire.id)
                              .order_by(QuestionnaireVersion.id.desc()).limit(1))
        if existing is None and latest is not None:
            from models.questionnaire_diff import diff_questionnaires
            from models.storage.repository import stored_questionnaire
            diff = diff_questionnaires(stored_questionnaire(latest), questionnaire)
            if diff.changes and request.form.get("confirm") != questionnaire.content_hash:
                return render_template("admin/upload_confirm.html", q=questionnaire, diff=diff, content=text, name=name)
        register_questionnaire(_db(), questionnaire)
        _db().commit()
        q = questionnaire
        broken = ct("upload_stored_breaks", constructs=ct("comma").join(map(_construct_name, diff.broken_constructs))) \
            if diff is not None and diff.breaks_comparison else ""
        flash(ct("questionnaire_ok", name=name, id=q.id, version=q.version, questions=len(q.questions),
                 ratings=len(q.rating_items), constructs=len(q.constructs()), pages=len(q.pages),
                 languages=", ".join(q.languages)) + (ct("already_stored") if existing else ""), "ok")
        if broken:
            flash(broken, "error")
        return redirect(url_for("admin.index"))
    return _render_index(problems), 422


@bp.route("/waves", methods=["POST"])
@login_required("admin")
def new_wave():
    questionnaire_id = request.form.get("questionnaire_id", "")
    name = request.form.get("name", "").strip()
    survey = _db().scalar(select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == questionnaire_id).order_by(QuestionnaireVersion.id.desc()).limit(1))
    if survey is None:
        flash(ct("no_questionnaire", id=repr(questionnaire_id[:64])), "error")
    elif not name or len(name) > 32 or not all(c.isalnum() or c in "-_" for c in name):
        flash(ct("wave_name_rule"), "error")
    else:
        try:
            wave = create_wave(_db(), survey, name)
            wave.closed = request.form.get("open") != "1"
            _db().commit()
            flash(ct("wave_created", name=name, survey=questionnaire_id,
                     state=ct("state_closed" if wave.closed else "state_open"), version=survey.version), "ok")
        except StorageError as exc:
            _db().rollback()
            flash(console_error(exc), "error")
    return redirect(url_for("admin.index"))


def _wave(wave_id: int) -> Wave:
    wave = _db().get(Wave, wave_id)
    if wave is None:
        abort(404)
    return wave


@bp.app_template_filter("share")
def _share(part: int, whole: int) -> str:
    return console.share_text(part, whole)


@bp.route("/waves/<int:wave_id>")
@login_required()
def wave(wave_id: int):
    from survey_app.respondent import service
    wave = _wave(wave_id)
    questionnaire = service().questionnaire(wave.survey_id)
    progress = console.wave_progress(_db(), wave)
    counts = console.answer_counts(_db(), wave)
    asked = console.asked_counts(_db(), wave, questionnaire)
    items = []
    for q in questionnaire.questions:
        seen = counts.get(q.id, {})
        # Shares are over those who answered the item, never over everyone: a conditional
        # item ("complaint_resolved", asked of complainers only) is read among those asked.
        item = {"question": q, "rows": [], "answered": sum(seen.values()), "asked": asked.get(q.id, 0)}
        items.append(item)
        entry = answer_type(q)
        rows = entry.tally(q, seen, console_language(), unknown_label=ct("not_in_version"))
        if rows is not None:
            item["rows"] = rows
        elif entry.numeric:
            item["histogram"] = console.histogram(seen)
            item["median"] = console.weighted_median(seen)
        else:
            item["latest"] = console.latest_texts(_db(), wave, q.id)
    others = _db().scalars(select(Wave).where(Wave.questionnaire_id == wave.questionnaire_id, Wave.id != wave.id)
                           .order_by(Wave.name)).all()
    from analysis.stored import stored_status
    analysis = stored_status(current_state().engine, wave.questionnaire_id, wave.name)
    from models.storage.quotas import quota_status
    from .admin_jobs import wave_analysis_refusal
    return render_template("admin/wave.html", wave=wave, q=questionnaire, progress=progress, items=items, others=others,
                           analysis=analysis, quotas=quota_status(_db(), wave), refusal=wave_analysis_refusal(wave),
                           closes_at=_aware(wave.closes_at).astimezone(timezone.utc) if wave.closes_at else None)


@bp.route("/waves/<int:wave_id>/state", methods=["POST"])
@login_required("admin")
def wave_state(wave_id: int):
    wave = _wave(wave_id)
    wave.closed = request.form.get("action") != "open"
    _db().commit()
    flash(ct("wave_now_closed" if wave.closed else "wave_now_open", name=wave.name), "ok")
    return redirect(url_for("admin.wave", wave_id=wave_id))


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")  # a line with its ending, or the last without one
MAX_INVITATIONS_PER_FILE = 200_000  # with INVITATION_UPLOAD_LIMIT (16 MiB): about 80 bytes a row


def _attribute_rows(upload) -> Iterator:
    """Rows of the respondents CSV as (line, attribute dict), read from the uploaded stream line
    by line (a 100,000-row file is never held as one string); the first item is the list of
    column names (lower-cased, as ``csi invitations import`` reads them). Errors name the file
    and line."""
    name = upload.filename

    def lines():
        # Decoded one physical line at a time, so a bad byte is reported on its own line; a
        # bare carriage return ends a line too (CSV saved as "Macintosh" by Excel), as in
        # models.storage.invitations (newline="": the csv module's own rule).
        for number, raw in enumerate(upload.stream, start=1):
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise StorageError(ct("csv_not_utf8", name=name, line=number, byte=exc.start + 1)) from None
            yield from _LINE.findall(text)

    reader = csv.DictReader(lines())
    try:
        if not reader.fieldnames:
            raise StorageError(ct("csv_empty", name=name))
        names = [n.strip().lower() for n in reader.fieldnames]  # as csi invitations import reads them
        if len(set(names)) != len(names) or any(not n for n in names):
            raise StorageError(ct("csv_bad_header", name=name, names=", ".join(names)))
        yield names
        count = 0
        for record in reader:
            if None in record:
                raise StorageError(ct("csv_more_cells", name=name, line=reader.line_num))
            attributes = {k.strip().lower(): (v or "").strip()[:200] for k, v in record.items()}
            if any("\x00" in k or "\x00" in v for k, v in attributes.items()):  # PostgreSQL cannot store it
                raise StorageError(ct("csv_nul", name=name, line=reader.line_num))
            if any(attributes.values()):
                count += 1
                if count > MAX_INVITATIONS_PER_FILE:
                    raise StorageError(ct("csv_too_many", name=name, limit=f"{MAX_INVITATIONS_PER_FILE:,}"))
                yield reader.line_num, attributes
    except csv.Error as exc:
        raise StorageError(f"{name}:{reader.line_num}: {exc}") from None
    if count == 0:
        raise StorageError(ct("csv_no_rows", name=name))


@bp.route("/waves/<int:wave_id>/invitations", methods=["POST"])
@login_required("admin")
def invitations(wave_id: int):
    """Issue personal links from a respondents CSV and download them: the import of ``csi
    invitations import`` (models.storage.invitations.import_invitations: the same checks of
    every row, addresses already invited to this wave skipped), the links not e-mailed."""
    from models.storage.invitations import InvitationListError, import_invitations
    from models.storage.repository import stored_questionnaire

    from .admin_invitations import invitation_problems
    wave = _wave(wave_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(ct("choose_respondents_csv"), "error")
        return redirect(url_for("admin.wave", wave_id=wave_id))
    from models.exports import neutralize_row
    base = request.host_url.rstrip("/")
    try:
        rows = _attribute_rows(upload)
        columns = next(rows)
        lines, people = [], []
        for line, attributes in rows:
            lines.append(line)
            people.append(attributes)
        questionnaire = stored_questionnaire(wave.questionnaire_version)
        result = import_invitations(_db(), wave, people, current_app.config["SECRET_KEY"],
                                    languages=questionnaire.languages,
                                    default_language=questionnaire.default_language,
                                    source=upload.filename, mail=False, lines=lines)
    except InvitationListError as exc:
        _db().rollback()
        for message in invitation_problems(exc):
            flash(message, "error")
        return redirect(url_for("admin.wave", wave_id=wave_id))
    except StorageError as exc:
        _db().rollback()
        flash(console_error(exc), "error")
        return redirect(url_for("admin.wave", wave_id=wave_id))
    _db().commit()
    if not result.created:
        flash(ct("invlinks.none_new", already=result.already_invited), "ok")
        return redirect(url_for("admin.wave", wave_id=wave_id))
    if result.already_invited:  # shown on the next page: the answer to this post is the file
        flash(ct("invlinks.some_skipped", created=result.created, already=result.already_invited), "ok")
    # The links file: into memory up to 1 MiB and to a temporary file beyond.
    out = tempfile.SpooledTemporaryFile(max_size=1024 * 1024, mode="w+", encoding="utf-8", newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    out.write("\ufeff")  # the BOM by which Excel reads a CSV as UTF-8 (Chinese names, links)
    # The uploaded cells are echoed back: a "=..." cell must not become a formula here either.
    writer.writerow(neutralize_row(columns + ["link"]))
    for attributes, token in result.issued:
        writer.writerow(neutralize_row([attributes.get(c, "") for c in columns] + [f"{base}/i/{token}"]))
    out.seek(0)
    filename = f"invitations-{wave.questionnaire_id}-{wave.name}.csv"
    # The links are shown this once: only their hashes are stored.
    response = FlaskResponse(iter(lambda: out.read(64 * 1024), ""), mimetype="text/csv",
                             headers=attachment(filename))
    response.call_on_close(out.close)
    return response


@bp.route("/waves/<int:wave_id>/export")
@login_required()
def export(wave_id: int):
    from models.exports import EXPORT_FORMATS, ExportError, export_wave
    wave = _wave(wave_id)
    fmt = request.args.get("format", "csv")
    layout = request.args.get("layout", "wide")
    if fmt not in EXPORT_FORMATS or layout not in ("wide", "long"):
        abort(400)
    include_partial = request.args.get("partial") == "1"
    from survey_app.respondent import service
    questionnaire = service().questionnaire(wave.survey_id)
    language = request.args.get("lang") or None
    try:
        data, mimetype = export_wave(current_state().engine, questionnaire, wave.name, fmt, layout,
                                     language=language, include_partial=include_partial)
    except ExportError as exc:
        flash(console_error(exc), "error")
        return redirect(url_for("admin.wave", wave_id=wave_id))
    suffix = "-with-partial" if include_partial else ""
    filename = f"{wave.questionnaire_id}-{wave.name}-{layout}{suffix}.{fmt}"
    return FlaskResponse(data, mimetype=mimetype, headers=attachment(filename))


def _user_or_404(user_id: int):
    from models.storage.tables import AdminUser
    user = _db().get(AdminUser, user_id)
    if user is None:
        abort(404)
    return user


def _render_users(new_token: str | None = None, token_owner: str | None = None, status: int = 200):
    from models.storage.tables import AdminUser
    users = _db().scalars(select(AdminUser).order_by(AdminUser.username)).all()
    tokens = [(token, owner, accounts.token_state(token)) for token, owner in accounts.list_api_tokens(_db())]
    return render_template("admin/users.html", users=users, tokens=tokens, roles=accounts.ROLES,
                           new_token=new_token, token_owner=token_owner, min_password=accounts.MIN_PASSWORD,
                           token_days=accounts.TOKEN_DAYS, max_token_days=accounts.MAX_TOKEN_DAYS), status


@bp.route("/users")
@login_required("admin")
def users():
    return _render_users()


def _account_action(action, done: str):
    """Run ``action()`` (a change to accounts), commit and flash ``done``; or roll back and flash the error."""
    try:
        action()
        _db().commit()
        flash(done, "ok")
    except StorageError as exc:
        _db().rollback()
        flash(console_error(exc), "error")
    return redirect(url_for("admin.users"))


@bp.route("/users", methods=["POST"])
@login_required("admin")
def create_user():
    username = request.form.get("username", "").strip()
    role = request.form.get("role", "viewer")
    return _account_action(lambda: accounts.create_admin(_db(), username, request.form.get("password", ""), role),
                           ct("user_created", username=username, role=cv("role", role)))


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@login_required("admin")
def reset_password(user_id: int):
    user = _user_or_404(user_id)
    return _account_action(lambda: accounts.set_password(_db(), user.username, request.form.get("password", "")),
                           ct("password_changed", username=user.username))


@bp.route("/users/<int:user_id>/unlock", methods=["POST"])
@login_required("admin")
def unlock_user(user_id: int):
    user = _user_or_404(user_id)
    return _account_action(lambda: accounts.unlock(_db(), user.username), ct("logins_cleared", username=user.username))


@bp.route("/users/<int:user_id>/disable", methods=["POST"])
@login_required("admin")
def disable_user(user_id: int):
    user = _user_or_404(user_id)
    if user.id == current_user().id:
        flash(ct("cannot_disable_self"), "error")
        return redirect(url_for("admin.users"))
    return _account_action(lambda: accounts.disable_user(_db(), user.username),
                           ct("user_disabled_flash", username=user.username))


@bp.route("/tokens", methods=["POST"])
@login_required("admin")
def create_token():
    owner = request.form.get("username", "")
    try:
        days = int(request.form.get("days") or accounts.TOKEN_DAYS)
        token = accounts.create_api_token(_db(), owner, request.form.get("name", ""), days)
    except ValueError:
        flash(ct("token_days_rule", max=accounts.MAX_TOKEN_DAYS), "error")
        return redirect(url_for("admin.users"))
    except StorageError as exc:
        _db().rollback()
        flash(console_error(exc), "error")
        return redirect(url_for("admin.users"))
    _db().commit()
    # Shown in this answer only (not flashed: the session cookie is signed, not encrypted).
    return _render_users(new_token=token, token_owner=owner)


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required("admin")
def revoke_token(token_id: int):
    return _account_action(lambda: accounts.revoke_api_token(_db(), token_id), ct("token_revoked", id=token_id))


# Routes on ``bp`` kept in modules of their own (imported last: they use the helpers above).
from . import admin_dashboard, admin_fieldwork, admin_follow_up, admin_jobs, admin_preview, admin_quotas  # noqa: E402,F401
from . import preview_strings  # noqa: E402,F401  (registers the preview's and the version changes' texts)
from . import wave_change_strings  # noqa: E402,F401  (registers the wave page's change texts)
