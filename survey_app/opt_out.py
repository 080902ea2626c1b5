"""Opting out of a survey's e-mails: the page an e-mail's opt-out link opens, and the
one-click POST that mail programs send for ``List-Unsubscribe-Post`` (RFC 8058).

The blueprint is exempt from CSRF protection on purpose: a mail program's one-click POST
carries no cookie and no form token, and the secret token in the address is what
authenticates the request (a forger would need the invitee's link).
"""
from __future__ import annotations

from flask import Blueprint, render_template, request
from sqlalchemy.orm import Session

from models.storage.invitations import find_by_token, opt_out
from models.storage.repository import stored_questionnaire
from models.storage.tables import Wave

from .i18n import translate
from .state import current_state

bp = Blueprint("opt_out", __name__)


def _masked(address: str) -> str:
    """j•••@example.com: enough for the invitee to recognise, little for anyone else."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}•••@{domain}" if domain else "•••"


@bp.route("/o/<token>", methods=["GET", "POST"])
def opt_out_page(token: str):
    from .respondent import FriendlyError

    if not 16 <= len(token) <= 128:
        raise FriendlyError(404, "invalid_link_title", "invalid_link_body")
    with Session(current_state().engine) as session:
        # Only a POST opts out: a GET or a HEAD (Flask answers HEAD with this view, and link
        # scanners and previews send it) only shows the page.
        invitation = opt_out(session, token) if request.method == "POST" else find_by_token(session, token)
        if invitation is None or not invitation.email:
            raise FriendlyError(404, "invalid_link_title", "invalid_link_body")
        wave = session.get(Wave, invitation.wave_id)
        questionnaire = stored_questionnaire(wave.questionnaire_version)
        language = invitation.language or questionnaire.default_language
        done = request.method == "POST" or invitation.opted_out_at is not None
        email = _masked(invitation.email)
        session.commit()
    prefix = "opted_out" if done else "opt_out"
    return render_template("opt_out.html", lang=language, q=questionnaire, switch=[], done=done,
                           title=translate(language, f"{prefix}_title"),
                           body=translate(language, f"{prefix}_body", email=email),
                           t=lambda key, **v: translate(language, key, **v))

