"""``csi league``: a brand league table and the industry index (analysis/league.py)."""
from __future__ import annotations

import json
import click


def _weights(spec: str | None) -> dict[str, float] | None:
    from survey_app.cli import _fail

    if not spec:
        return None
    out = {}
    for part in spec.split(","):
        name, _, value = part.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            _fail(f"--weights {part.strip()!r}: write ENTITY=NUMBER, e.g. Alpha=120.5,Beta=80")
    return out


@click.command("league")
@click.option("--model", "model_spec", required=True, help="Template name (with --questionnaire) or a model text file.")
@click.option("--data", "data_file", required=True, type=click.Path(), help="CSV file, one row per respondent.")
@click.option("--entity", required=True, help="The column naming each respondent's brand, store or company.")
@click.option("--construct", default="satisfaction", show_default=True, help="The construct whose index is ranked.")
@click.option("--questionnaire", "questionnaire_file", type=click.Path(dir_okay=False),
              help="Questionnaire file (scales, don't-know codes, reverse items, construct tags).")
@click.option("--weights", "weights_spec", metavar="E=W,...",
              help="Industry weights per entity (revenue, market share), e.g. Alpha=120,Beta=80; default equal.")
@click.option("--boot", "n_boot", type=click.IntRange(min=100), default=1000, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the table.")
def league(model_spec, data_file, entity, construct, questionnaire_file, weights_spec, n_boot, seed, as_json) -> None:
    """Index per entity with intervals, each against the best and the industry (Holm-adjusted),
    and the industry index as the weighted mean of the entities'."""
    from analysis.json_safe import json_ready
    from analysis.league import league_table
    from models.errors import CSIError
    from models.questionnaire import load_questionnaire
    from survey_app.cli import _fail, _load_model, read_data_csv

    data = read_data_csv(data_file)
    try:
        questionnaire = load_questionnaire(questionnaire_file) if questionnaire_file else None
        model = _load_model(model_spec, questionnaire)
        result = league_table(model, data, entity, construct=construct, weights=_weights(weights_spec),
                              questionnaire=questionnaire, n_boot=n_boot, seed=seed)
    except CSIError as exc:
        _fail(str(exc))
    if as_json:
        click.echo(json.dumps(json_ready({"construct": result.construct, "industry": result.industry,
                                          "industry_ci": list(result.industry_ci), "n_boot": result.n_boot,
                                          "weights_from": result.weights_from,
                                          "entities": result.table.to_dict("records")}), ensure_ascii=False, indent=2))
        return
    click.echo(result.summary())
