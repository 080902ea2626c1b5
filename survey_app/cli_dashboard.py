"""``csi dashboard``: a survey's dashboard in the terminal (the console's dashboard page;
``--json`` prints what the API's ``/api/v1/surveys/<id>/dashboard`` answers).

    csi dashboard --survey S [--wave W] [--json]
"""
from __future__ import annotations

import json
import os

import click

from models.errors import CSIError


def default_sla_hours() -> float:
    """The follow-up SLA of surveys without their own (the server's FOLLOW_UP_OVERDUE_HOURS)."""
    try:
        return float(os.environ.get("CSI_FOLLOW_UP_OVERDUE_HOURS", 48))
    except ValueError:
        return 48.0


def _interval(row: dict | None) -> str:
    from .dashboard_charts import interval_text
    if not row or row.get("estimate") is None:
        return "–"
    return interval_text(row.get("estimate"), row.get("ci_low"), row.get("ci_high"))


@click.command("dashboard")
@click.option("--survey", required=True, help="Questionnaire id.")
@click.option("--wave", help="The wave whose segments, funnel and completions are shown (default: the latest).")
@click.option("--json", "as_json", is_flag=True, help="Print the dashboard as one JSON object (as the API does).")
@click.option("--database", "database_url", envvar="CSI_DATABASE_URL", default=None,
              help="SQLAlchemy URL (default: SQLite file in ./instance, or $CSI_DATABASE_URL).")
def dashboard(survey, wave, as_json, database_url):
    """A survey's dashboard: index trend, this wave's indices by segment, completions, funnel, follow-up SLA."""
    from analysis.stored import CODE_VERSION
    from models.storage.dashboard import survey_dashboard

    from .cli import _admin_session, _fail
    with _admin_session(database_url) as session:
        try:
            data = survey_dashboard(session, survey, wave, code_version=CODE_VERSION,
                                    default_sla_hours=default_sla_hours())
        except CSIError as exc:
            _fail(str(exc))
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    echo = click.echo
    echo(f"{data['survey']}: {data['title']}" + (f" · wave {data['wave']}" if data["wave"] else " · no waves yet"))
    headline = data["headline"]
    echo(f"\n{headline} index by wave (stored analyses, 95% intervals):")
    for entry in data["waves"]:
        analysis = entry["analysis"]
        if analysis["status"] != "stored":
            state = f"not computed yet (csi analyse --survey {survey} --wave {entry['name']})"
        else:
            row = next((r for r in analysis["index"] if r["construct"] == headline), None)
            state = f"{_interval(row)}  n = {analysis['n']}" + ("" if analysis["current"] else "  (out of date)")
        echo(f"  {entry['name']:<10} {state}")
    this = next((w for w in data["waves"] if w["name"] == data["wave"]), None)
    if this is not None and this["analysis"].get("index"):
        echo(f"\nindices of {data['wave']}:")
        for row in this["analysis"]["index"]:
            echo(f"  {row['construct']:<22} {_interval(row)}")
    if data["segments"]["status"] == "stored":
        for block in data["segments"]["variables"]:
            echo(f"\n{headline} by {block['variable']}:")
            for row in block["rows"]:
                if row["construct"] in (headline, None):
                    echo(f"  {row['segment']:<16} n = {row['n']:<6} "
                         + (_interval(row) if row["estimate"] is not None else "too few to estimate"))
    elif this is not None:
        echo(f"\nsegments of {data['wave']}: not computed yet")
    days = data["completions_per_day"]
    if days:
        shown = days[-14:]
        echo(f"\ncompletions per day (UTC), {sum(d['completed'] for d in days):,} in {len(days)} days"
             + (f"; the last {len(shown)}:" if len(shown) < len(days) else ":"))
        for day in shown:
            echo(f"  {day['date']}  {day['completed']:>6,}")
    funnel = data["funnel"]
    if funnel is not None:
        invited = funnel["invited"]

        def share(value: int) -> str:
            return f" ({100 * value / invited:.0f}%)" if invited else ""
        echo(f"\nfunnel: invited {invited:,}, opened {funnel['opened']:,}{share(funnel['opened'])}, "
             f"started {funnel['started']:,}{share(funnel['started'])}, "
             f"completed {funnel['completed']:,}{share(funnel['completed'])}")
        other = funnel["without_invitation"]
        if other["started"]:
            echo(f"without an invitation: started {other['started']:,}, completed {other['completed']:,}")
    follow = data["follow_up"]
    echo(f"\nfollow-up: {follow['open']} open, {follow['overdue']} past the SLA of {follow['sla_hours']:g} hours"
         + ("" if follow["sla_own"] else " (the default)") + f", {follow['no_contact']} without contact consent")
