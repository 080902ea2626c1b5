"""JSON API (read only), authenticated by bearer tokens from ``csi admin token``.

    GET /api/v1/surveys
    GET /api/v1/surveys/<questionnaire_id>/waves/<wave>/responses?layout=wide|long
    GET /api/v1/surveys/<questionnaire_id>/waves/<wave>/indices[?boot=N&seed=S]
    GET /api/v1/surveys/<questionnaire_id>/dashboard[?wave=W]

``indices`` without ``boot``/``seed`` answers with the wave's stored analysis (the numbers
the console and the report show); with them, a fit made for this request.

Described in ``survey_app/static/openapi.json`` (served at /api/v1/openapi.json).
"""
from __future__ import annotations

import math
from functools import wraps

from flask import Blueprint, current_app, jsonify, request, send_from_directory
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.storage import StorageError
from models.storage import accounts
from models.storage.tables import Response, QuestionnaireVersion, Wave

from .state import current_state

bp = Blueprint("api", __name__, url_prefix="/api/v1")
MAX_BOOT = 5000
MAX_SEED = 2**32 - 1  # numpy's SeedSequence refuses negative seeds (a ValueError: was a 500)
# The query parameters each endpoint takes (as in openapi.json): a misspelt one ("boots=")
# is an error, not silently the default.
QUERY_PARAMETERS = {"responses": ("layout",), "indices": ("boot", "seed"), "dashboard": ("wave",)}


def _engine():
    return current_state().engine


def _error(status: int, message: str):
    response = jsonify({"error": message})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="csi"'
    return response


def token_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else None
        with Session(_engine()) as session:
            try:
                user = accounts.token_user(session, token)
            except accounts.TokenRejected as exc:
                return _error(401, f"{exc}; ask an administrator for a new token")
            session.commit()
        if user is None:
            return _error(401, "missing or unknown API token (send 'Authorization: Bearer <token>')")
        allowed = QUERY_PARAMETERS.get(view.__name__, ())
        unknown = sorted(set(request.args) - set(allowed))
        if unknown:
            return _error(400, f"unknown query parameter {unknown[0]!r}; this endpoint takes "
                               f"{', '.join(allowed) if allowed else 'none'}")
        return view(*args, **kwargs)
    return wrapped


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@bp.route("/openapi.json")
def openapi():
    return send_from_directory(current_app.static_folder, "openapi.json", mimetype="application/json")


@bp.route("/surveys")
@token_required
def surveys():
    with Session(_engine()) as session:
        waves = session.execute(select(Wave.questionnaire_id, Wave.name, Wave.closed, func.count(Response.id))
                                .outerjoin(Response, (Response.wave_id == Wave.id) & (Response.status == "complete"))
                                .group_by(Wave.id).order_by(Wave.questionnaire_id, Wave.name)).all()
        titles = dict(session.execute(select(QuestionnaireVersion.questionnaire_id, QuestionnaireVersion.title).order_by(QuestionnaireVersion.id)).all())
    out = {}
    for qid, name, closed, completed in waves:
        out.setdefault(qid, {"id": qid, "title": titles.get(qid), "waves": []})["waves"].append(
            {"name": name, "closed": bool(closed), "completed": int(completed)})
    return jsonify({"surveys": list(out.values())})


class _NotFound(Exception):
    pass


def _questionnaire(questionnaire_id: str, wave_name: str):
    """The wave's questionnaire version; a 404 JSON error (via ``_NotFound``) when there is no such wave."""
    from models.storage.repository import questionnaire_of_wave
    try:
        return questionnaire_of_wave(_engine(), questionnaire_id, wave_name)
    except StorageError as exc:
        raise _NotFound(str(exc)) from None


@bp.errorhandler(_NotFound)
def _not_found(error):
    return _error(404, str(error))


@bp.route("/surveys/<questionnaire_id>/waves/<wave_name>/responses")
@token_required
def responses(questionnaire_id: str, wave_name: str):
    from models.exports import long_frame, wide_frame
    layout = request.args.get("layout", "wide")
    if layout not in ("wide", "long"):
        return _error(400, f"layout must be 'wide' or 'long', not {layout!r}")
    questionnaire = _questionnaire(questionnaire_id, wave_name)
    wide = wide_frame(_engine(), questionnaire, wave_name)
    frame = wide.reset_index() if layout == "wide" else long_frame(wide)
    rows = [{k: _clean(v) for k, v in row.items()} for row in frame.astype(object).where(frame.notna(), None).to_dict("records")]
    return jsonify({"survey": questionnaire_id, "wave": wave_name, "layout": layout, "count": len(rows), "responses": rows})


@bp.route("/surveys/<questionnaire_id>/waves/<wave_name>/indices")
@token_required
def indices(questionnaire_id: str, wave_name: str):
    if "boot" not in request.args and "seed" not in request.args:
        return _stored_indices(questionnaire_id, wave_name)
    from analysis import fit
    from models.errors import CSIError
    from models.storage import load_wave_frame
    try:
        # (int() of more than 4,300 digits is a ValueError too)
        n_boot = int(request.args.get("boot", 1000))
        seed = int(request.args.get("seed", 1))
    except ValueError:
        return _error(400, "boot and seed must be integers")
    if not 0 <= n_boot <= MAX_BOOT:
        return _error(400, f"boot must be between 0 and {MAX_BOOT}")
    if not 0 <= seed <= MAX_SEED:
        return _error(400, f"seed must be between 0 and {MAX_SEED}")
    questionnaire = _questionnaire(questionnaire_id, wave_name)
    data = load_wave_frame(_engine(), questionnaire_id, wave_name)
    try:
        results = fit(questionnaire.csi_model(), data, questionnaire=questionnaire, n_boot=n_boot, seed=seed,
                      progress=False, workers=1)
    except CSIError as exc:  # DataError (too few, a constant item), ConvergenceError, ModelSpecError
        return _error(422, f"wave {wave_name!r} cannot be estimated yet: {exc}")
    table = results.index_table
    rows = [{k: _clean(float(v)) if isinstance(v, float) else v for k, v in row.items()} for row in table.to_dict("records")]
    return jsonify({"survey": questionnaire_id, "wave": wave_name, "n": results.n_used, "bootstrap": n_boot,
                    "seed": seed, "method": "PLS path modeling, ACSI 0-100 index, percentile bootstrap intervals",
                    "index": rows, "notes": list(results.notes)})


def _stored_indices(questionnaire_id: str, wave_name: str):
    """The stored analysis (indices, intervals, changes with p-values, seed, resamples). When
    there is none yet its computation is queued and the answer is 202 with the job's id;
    when the data moved on since, the stored one is returned marked ``current: false``
    and a recomputation is queued."""
    from analysis.stored import stored_status
    from survey_app.jobs import enqueue, queue_of_app

    questionnaire = _questionnaire(questionnaire_id, wave_name)
    status = stored_status(_engine(), questionnaire_id, wave_name)
    job_id = None
    if status is None:
        from analysis.report import minimum_sample
        from models.storage.analyses import data_version
        completed, needed = data_version(_engine(), questionnaire_id, wave_name).completed, minimum_sample(questionnaire.csi_model())
        if completed < needed:  # a job would only fail: say so instead of queueing one per request
            return _error(422, f"wave {wave_name!r} cannot be estimated yet: it has {completed} complete responses "
                               f"and the model needs at least {needed}")
    if status is None or not status["current"]:
        config = current_app.config
        try:
            job_id, _ = enqueue(_engine(), queue_of_app(current_app), "analysis",
                                {"survey": questionnaire_id, "wave": wave_name,
                                 "n_boot": int(config.get("REPORT_BOOTSTRAP", 1000)),
                                 "n_perm": int(config.get("REPORT_PERMUTATIONS", 1000))},
                                dedupe_key=f"analysis:{questionnaire_id}/{wave_name}", created_by="api")
        except Exception as exc:  # noqa: BLE001  the queue being down must not hide a stored analysis
            current_app.logger.warning("could not queue the analysis of %s/%s: %s", questionnaire_id, wave_name, exc)
    if status is None:
        response = jsonify({"survey": questionnaire_id, "wave": wave_name, "status": "queued", "job": job_id,
                            "message": "the wave's analysis is being computed; ask again in a minute"})
        response.status_code = 202
        response.headers["Retry-After"] = "30"
        return response
    payload = dict(status["summary"])
    payload.update({"status": "stored", "current": status["current"], "bootstrap": status["n_boot"],
                    "seed": status["seed"], "job": job_id})
    return jsonify(payload)


@bp.route("/surveys/<questionnaire_id>/dashboard")
@token_required
def dashboard(questionnaire_id: str):
    """The console's dashboard as JSON: the index trend and this wave's indices by segment
    from the stored analyses, completions per day, the invitation funnel, follow-up SLA."""
    from .admin_dashboard import dashboard_for, default_sla_hours
    with Session(_engine()) as session:
        try:
            data = dashboard_for(session, questionnaire_id, request.args.get("wave") or None, default_sla_hours())
        except StorageError as exc:
            return _error(404, str(exc))
    return jsonify(data)


@bp.route("/surveys/<questionnaire_id>/waves/<wave_name>/quotas")
@token_required
def quotas(questionnaire_id: str, wave_name: str):
    """A wave's state, cap and quotas: each quota's count / limit (as ``csi wave status --json``)."""
    from models.storage import find_wave
    from models.storage.quotas import quota_status
    from models.storage.tables import _aware
    with Session(_engine()) as session:
        try:
            wave = find_wave(session, questionnaire_id, wave_name)
        except StorageError as exc:
            raise _NotFound(str(exc)) from None
        statuses = quota_status(session, wave)
        return jsonify({"survey": questionnaire_id, "wave": wave_name, "open": wave.is_open(),
                        "closes_at": _aware(wave.closes_at).isoformat() if wave.closes_at else None,
                        "max_completes": wave.max_completes, "quotas": [status.to_dict() for status in statuses]})
