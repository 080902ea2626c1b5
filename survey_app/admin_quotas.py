"""The console's quotas and wave limits (routes on the admin blueprint): each quota's count
/ limit on the wave page, and the form that caps a wave's completions and sets the time it
closes itself (``csi wave limit`` does the same)."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import flash, redirect, request, url_for

from models.storage.quotas import set_wave_limits

from .admin import _db, _wave, bp, login_required
from .console_i18n import ct


@bp.route("/waves/<int:wave_id>/limits", methods=["POST"])
@login_required("admin")
def wave_limits(wave_id: int):
    wave = _wave(wave_id)
    cap_text = request.form.get("max_completes", "").strip()
    close_text = request.form.get("close_at", "").strip()
    cap = None
    if cap_text:
        if not cap_text.isdigit() or not 1 <= int(cap_text) <= 10_000_000:
            flash(ct("limit_bad_cap", value=cap_text[:20]), "error")
            return redirect(url_for("admin.wave", wave_id=wave_id))
        cap = int(cap_text)
    closes = None
    if close_text:
        try:  # the form's datetime-local field: a time in UTC (the page says so)
            closes = datetime.fromisoformat(close_text[:32]).replace(tzinfo=timezone.utc)
        except ValueError:
            flash(ct("limit_bad_time", value=close_text[:32]), "error")
            return redirect(url_for("admin.wave", wave_id=wave_id))
    set_wave_limits(_db(), wave, max_completes=cap, closes_at=closes)
    _db().commit()
    flash(ct("limits_saved", name=wave.name), "ok")
    return redirect(url_for("admin.wave", wave_id=wave_id))
