"""`csi cvpat`, run as a user would: the JSON contract, the same numbers as the Python API,
and clean refusals."""
import json

import pandas as pd
import pytest

from tests.analysis.test_predict import MOBI_MODEL
from tests.conftest import shared_file
from tests.survey_app.test_cli import csi

NO_QUALITY = MOBI_MODEL.replace("Satisfaction ~ Image + Expectation + Quality", "Satisfaction ~ Image + Expectation")


@pytest.fixture()
def model_files(tmp_path):
    full, reduced = tmp_path / "full.model", tmp_path / "no_quality.model"
    full.write_text(MOBI_MODEL)
    reduced.write_text(NO_QUALITY)
    return full, reduced


def test_cvpat_json_matches_api(model_files):
    full, reduced = model_files
    result = csi("cvpat", "--model", str(full), "--model2", str(reduced), "--data", str(shared_file("mobi.csv")),
                 "--folds", "5", "--repeats", "2", "--seed", "7", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["method"] == "cvpat" and payload["folds"] == 5 and payload["repeats"] == 2
    assert [(row["model"], row["against"]) for row in payload["tests"]] == [
        ("full", "no_quality"), ("full", "indicator average"), ("full", "linear model"),
        ("no_quality", "indicator average"), ("no_quality", "linear model")]
    from analysis.cvpat import cvpat
    from models import parse_model
    api = cvpat(parse_model(MOBI_MODEL, name="full"), parse_model(NO_QUALITY, name="no_quality"),
                pd.read_csv(shared_file("mobi.csv")), folds=5, repeats=2, seed=7)
    assert [row["t"] for row in payload["tests"]] == pytest.approx(list(api.tests["t"]), abs=1e-12)
    assert [row["p"] for row in payload["tests"]] == pytest.approx(list(api.tests["p"]), abs=1e-12)


def test_cvpat_text(model_files):
    full, reduced = model_files
    result = csi("cvpat", "--model", str(full), "--model2", str(reduced), "--data", str(shared_file("mobi.csv")),
                 "--folds", "5", "--repeats", "1")
    assert result.returncode == 0, result.stderr
    assert "CVPAT (5-fold, 1 repeat, earliest antecedents, seed 1, n = 250)" in result.stdout


@pytest.mark.parametrize("extra, message", [
    (["--folds", "1"], "error: folds must be at least 2, got 1"),
    (["--repeats", "0"], "error: repeats must be at least 1, got 0"),
    (["--folds", "400"], "error: 400 folds need at least 400 respondents; there are 250"),
])
def test_cvpat_refusals(model_files, extra, message):
    full, reduced = model_files
    result = csi("cvpat", "--model", str(full), "--model2", str(reduced), "--data", str(shared_file("mobi.csv")),
                 *extra)
    assert result.returncode == 1
    assert result.stderr.strip() == message


def test_cvpat_different_endogenous_items(model_files, tmp_path):
    full, _ = model_files
    short = tmp_path / "short.model"
    short.write_text(MOBI_MODEL.replace("CUSL1 + CUSL2 + CUSL3", "CUSL1 + CUSL2"))
    result = csi("cvpat", "--model", str(full), "--model2", str(short), "--data", str(shared_file("mobi.csv")))
    assert result.returncode == 1
    assert result.stderr.strip() == ("error: CVPAT compares models that predict the same endogenous indicators; "
                                     "only full has CUSL3")
