"""``csi links``: public survey links carrying hidden values (store, channel, agent id...).

    csi links sign --survey S --wave W store=S12 channel=app [--base-url https://survey.example]

prints the wave's public link with the values as URL parameters and, when the
questionnaire declares any of them ``signed: true``, the ``sig`` parameter that proves
they were not edited (HMAC-SHA256 with the app's secret key; models.hidden). The link is
signed with the secret key of the app the command opens, so run it with the server's
configuration (``CSI_SECRET_KEY`` or the instance folder's key).
"""
from __future__ import annotations

from urllib.parse import quote, urlencode

import click

from models.errors import CSIError
from models.hidden import SIGNATURE_PARAM, HiddenRefused, read_hidden, signature

from .cli_invitations import _app, _fail, _wave_and_questionnaire, _wave_options
from .state import state_of


@click.group()
def links() -> None:
    """Survey links with hidden values (store, channel, ...), signed where the questionnaire asks."""


@links.command("sign")
@_wave_options
@click.option("--base-url", envvar="CSI_BASE_URL", default="",
              help="The survey server's address, e.g. https://survey.example (default: $CSI_BASE_URL, "
                   "or print the path alone).")
@click.argument("values", nargs=-1, metavar="FIELD=VALUE...")
def sign_command(survey, wave, database_url, base_url, values) -> None:
    """Print the wave's public link carrying VALUES (each FIELD=VALUE, a declared hidden field)."""
    from sqlalchemy.orm import Session

    given: dict[str, str] = {}
    for item in values:
        field, sep, value = item.partition("=")
        if not sep or not field:
            _fail(f"{item!r} is not FIELD=VALUE")
        if field in given:
            _fail(f"{field!r} is given twice")
        given[field] = value
    app = _app(database_url)
    with Session(state_of(app).engine) as session:
        try:
            found, questionnaire = _wave_and_questionnaire(session, survey, wave)
        except CSIError as exc:
            _fail(str(exc))
        wave_name = found.name
    declared = {f.id: f for f in questionnaire.hidden}
    unknown = [name for name in given if name not in declared]
    if unknown:
        _fail(f"{', '.join(map(repr, unknown))} {'is' if len(unknown) == 1 else 'are'} not a hidden field of "
              f"{survey!r} (declared: {', '.join(declared) or 'none'})")
    try:
        checked = read_hidden(questionnaire.hidden, given, check_signature=False)
    except HiddenRefused as exc:
        rule = declared[exc.field]
        allowed = f"one of {', '.join(rule.values)}" if rule.values is not None else f"matching {rule.pattern.pattern}"
        _fail(f"{exc.field}={given[exc.field]!r} is not accepted: the questionnaire allows {allowed} "
              f"(at most 200 characters, no control characters)")
    query = dict(checked)
    if any(declared[name].signed for name in checked):
        query[SIGNATURE_PARAM] = signature(app.secret_key, questionnaire.id, wave_name, questionnaire.hidden, checked)
    path = f"/s/{quote(questionnaire.id)}/{quote(wave_name)}"
    click.echo(f"{base_url.rstrip('/')}{path}" + (f"?{urlencode(query)}" if query else ""))
