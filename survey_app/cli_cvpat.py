"""``csi cvpat``: CVPAT, two PLS models' out-of-sample predictive accuracy compared
(analysis/cvpat.py), and each against the indicator-average and linear-model benchmarks."""
from __future__ import annotations

import json

import click


@click.command("cvpat")
@click.option("--model", "model_spec", required=True, help="The established model: template name or model text file.")
@click.option("--model2", "model2_spec", required=True, help="The alternative model, with the same endogenous items.")
@click.option("--data", "data_file", required=True, type=click.Path(), help="CSV file, one row per respondent.")
@click.option("--questionnaire", "questionnaire_file", type=click.Path(dir_okay=False),
              help="Questionnaire file (don't-know codes, reverse items, construct tags).")
@click.option("--folds", type=int, default=10, show_default=True, help="k of k-fold cross-validation.")
@click.option("--repeats", type=int, default=10, show_default=True,
              help="Repeat k-fold with new folds; each respondent's loss is averaged.")
@click.option("--technique", type=click.Choice(["earliest", "direct"]), default="earliest", show_default=True,
              help="Predict endogenous scores from the earliest (exogenous) or the direct antecedents.")
@click.option("--scheme", type=click.Choice(["path", "centroid", "factorial"]), default="path", show_default=True)
@click.option("--missing", type=click.Choice(["listwise", "mean"]), default="listwise", show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the text summary.")
@click.option("--dont-know", "dont_know_spec", metavar="CODES",
              help="Codes that mean don't know / no answer in every item, e.g. 99,98 (treated as missing).")
def cvpat_command(model_spec, model2_spec, data_file, questionnaire_file, folds, repeats, technique, scheme, missing,
                  seed, as_json, dont_know_spec) -> None:
    """Compare two models' out-of-sample predictive accuracy (CVPAT, Liengaard et al. 2021) and each
    against the indicator-average and linear-model benchmarks."""
    from analysis.cvpat import cvpat
    from analysis.json_safe import json_ready
    from models.errors import CSIError
    from models.questionnaire import load_questionnaire
    from survey_app.cli import _fail, _fit_scales, _load_model, read_data_csv

    if folds < 2:
        _fail(f"folds must be at least 2, got {folds}")
    if repeats < 1:
        _fail(f"repeats must be at least 1, got {repeats}")
    try:
        questionnaire = load_questionnaire(questionnaire_file) if questionnaire_file else None
        data = read_data_csv(data_file)
        model, model2 = _load_model(model_spec, questionnaire), _load_model(model2_spec, questionnaire)
        _, dont_know = _fit_scales(None, dont_know_spec, model)
        results = cvpat(model, model2, data, folds=folds, repeats=repeats, seed=seed, technique=technique,
                        scheme=scheme, missing=missing, questionnaire=questionnaire, dont_know=dont_know)
    except CSIError as exc:
        _fail(str(exc))
    if as_json:
        payload = json_ready(results.as_dict())
        payload["source"] = data_file
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2, allow_nan=False))
    else:
        click.echo(f"data: {data_file}")
        click.echo(results.summary())
