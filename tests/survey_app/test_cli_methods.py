"""`csi fit --method plsc`, mediation in `csi fit`, and `csi predict`, run as a user would."""
import json

import pytest

from tests.conftest import shared_file
from tests.survey_app.test_cli import csi

SEMINR_MODEL = """\
Image =~ IMAG1 + IMAG2 + IMAG3 + IMAG4 + IMAG5
Expectation =~ CUEX1 + CUEX2 + CUEX3
Value =~ PERV1 + PERV2
Satisfaction =~ CUSA1 + CUSA2 + CUSA3
Satisfaction ~ Image + Expectation + Value
"""


@pytest.fixture()
def seminr_model(tmp_path):
    path = tmp_path / "seminr.model"
    path.write_text(SEMINR_MODEL)
    return path


def test_fit_plsc_json_matches_seminr(seminr_model):
    reference = json.loads(shared_file("seminr_plsc_mobi.json").read_text())
    result = csi("fit", "--model", str(seminr_model), "--data", str(shared_file("mobi.csv")), "--method", "plsc",
                 "--scheme", "factorial", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["method"] == "plsc" and payload["admissible"] is True
    paths = {f"{p['from']} -> {p['to']}": p["estimate"] for p in payload["paths"]}
    for key, value in reference["path_coefficients"].items():
        assert paths[key] == pytest.approx(value, abs=1e-6)
    assert payload["r_squared"]["Satisfaction"] == pytest.approx(0.885707115746682, abs=1e-6)


def test_fit_plsc_text_and_refusals(seminr_model):
    result = csi("fit", "--model", str(seminr_model), "--data", str(shared_file("mobi.csv")), "--method", "plsc")
    assert result.returncode == 0, result.stderr
    assert "Consistent PLS (PLSc) path model" in result.stdout
    result = csi("fit", "--model", str(seminr_model), "--data", str(shared_file("mobi.csv")), "--method", "plsc",
                 "--unscaled")
    assert result.returncode == 1
    assert result.stderr.strip() == ("error: --method plsc corrects correlations and needs standardized indicators; "
                                     "drop --unscaled")


@pytest.fixture()
def ecsi_model_file(tmp_path, mobi_reference):
    spec = mobi_reference["model_ECSImobi"]
    text = "\n".join(f"{b} =~ {' + '.join(items)}" for b, items in spec["blocks"].items())
    text += "\n" + "\n".join(f"{t} ~ {s}" for s, t in spec["paths"])
    path = tmp_path / "ecsi.model"
    path.write_text(text + "\n")
    return path


def test_fit_reports_mediation(ecsi_model_file):
    result = csi("fit", "--model", str(ecsi_model_file), "--data", str(shared_file("mobi.csv")), "--boot", "200",
                 "--seed", "2", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)["mediation"]
    route = {r["route"]: r for r in rows}["Image -> Expectation -> Satisfaction"]
    assert route["ci_low"] <= route["estimate"] <= route["ci_high"]
    assert {r["type"] for r in rows} <= {"complementary", "competitive", "indirect-only", "direct-only", "no effect"}
    text = csi("fit", "--model", str(ecsi_model_file), "--data", str(shared_file("mobi.csv")), "--boot", "100")
    assert text.returncode == 0, text.stderr
    assert "Specific indirect effects (mediation; type after Zhao, Lynch & Chen 2010)" in text.stdout
    assert "Expectation -> Quality -> Value" in text.stdout  # a three-mediator route's "through"


def test_predict_json_contract(seminr_model):
    result = csi("predict", "--model", str(seminr_model), "--data", str(shared_file("mobi.csv")), "--folds", "5",
                 "--repeats", "2", "--seed", "7", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert [row["item"] for row in payload["items"]] == ["CUSA1", "CUSA2", "CUSA3"]
    for row in payload["items"]:
        assert {"item", "pls_rmse", "pls_mae", "lm_rmse", "lm_mae", "q2_predict"} <= set(row)
        assert 0 < row["q2_predict"] < 1 and row["pls_mae"] < row["pls_rmse"]
    assert [row["item"] for row in payload["in_sample"]] == ["CUSA1", "CUSA2", "CUSA3"]
    assert payload["folds"] == 5 and payload["repeats"] == 2 and payload["seed"] == 7
    # Same seed, same folds, same numbers (the API's, as the user would get them in Python).
    from analysis.predict import PLSPredict
    from models import parse_model
    import pandas as pd
    api = PLSPredict(parse_model(SEMINR_MODEL), folds=5, repeats=2, seed=7).fit(pd.read_csv(shared_file("mobi.csv")))
    assert [row["q2_predict"] for row in payload["items"]] == pytest.approx(list(api.items["q2_predict"]), abs=1e-12)


def test_predict_loocv_text(seminr_model):
    result = csi("predict", "--model", str(seminr_model), "--data", str(shared_file("mobi.csv")), "--loocv")
    assert result.returncode == 0, result.stderr
    assert "PLSpredict (leave-one-out, earliest antecedents, seed 1, n = 250)" in result.stdout


@pytest.mark.parametrize("extra, message", [
    (["--loocv", "--folds", "5"], "error: give either --folds K or --loocv, not both"),
    (["--loocv", "--repeats", "2"], "error: leave-one-out cross-validation has one way to split the data: drop --repeats"),
    (["--folds", "1"], "error: folds must be at least 2, got 1"),
    (["--folds", "400"], "error: 400 folds need at least 400 respondents; there are 250"),
])
def test_predict_refusals(seminr_model, extra, message):
    result = csi("predict", "--model", str(seminr_model), "--data", str(shared_file("mobi.csv")), *extra)
    assert result.returncode == 1
    assert result.stderr.strip() == message


def test_fit_plsc_bootstrap_reports_dropped_resamples(seminr_model):
    """On this model about a third of mobi's resamples are inadmissible under PLSc: the JSON
    counts them by name and the notes say the intervals rest on the others."""
    result = csi("fit", "--model", str(seminr_model), "--data", str(shared_file("mobi.csv")), "--method", "plsc",
                 "--scheme", "factorial", "--boot", "200", "--seed", "1", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    boot = payload["bootstrap"]
    dropped = boot["failures"]["inadmissible PLSc solution"]
    assert 0 < dropped < 200 and boot["ok"] == 200 - dropped
    assert any(f"{dropped} inadmissible PLSc solution" in note for note in payload["notes"])
    for path in payload["paths"]:
        assert path["ci_low"] < path["estimate"] < path["ci_high"]


@pytest.fixture()
def hoc_model(tmp_path):
    path = tmp_path / "hoc.model"
    path.write_text(json.loads(shared_file("seminr_hoc_mobi.json").read_text())["model_text"])
    return path


def test_fit_hoc_two_stage_json_matches_seminr(hoc_model):
    reference = json.loads(shared_file("seminr_hoc_mobi.json").read_text())
    result = csi("fit", "--model", str(hoc_model), "--data", str(shared_file("mobi.csv")), "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    paths = {f"{p['from']} -> {p['to']}": p["estimate"] for p in payload["paths"]}
    assert paths == pytest.approx(reference["paths"], abs=1e-6)
    loadings = {(r["construct"], r["item"]): r["estimate"] for r in payload["loadings"]}
    assert loadings[("Satisfaction", "Image")] == pytest.approx(reference["loadings"]["Satisfaction"]["Image"], abs=1e-6)
    assert loadings[("Image", "IMAG1")] == pytest.approx(reference["loadings"]["Image"]["IMAG1"], abs=1e-6)
    assert set(payload["index"]) >= {"Satisfaction", "Image", "Value"}
    assert any("disjoint two-stage" in note for note in payload["notes"])


def test_fit_hoc_repeated_text(hoc_model):
    result = csi("fit", "--model", str(hoc_model), "--data", str(shared_file("mobi.csv")), "--hoc", "repeated")
    assert result.returncode == 0, result.stderr
    assert "Satisfaction.IMAG1" in result.stdout


def test_fit_weights_equal_repeated_rows(tmp_path, seminr_model):
    import numpy as np
    import pandas as pd

    data = pd.read_csv(shared_file("mobi.csv"))
    w = np.random.default_rng(0).integers(1, 4, size=len(data))
    data.assign(w=w).to_csv(tmp_path / "weighted.csv", index=False)
    data.loc[data.index.repeat(w)].to_csv(tmp_path / "repeated.csv", index=False)
    weighted = csi("fit", "--model", str(seminr_model), "--data", str(tmp_path / "weighted.csv"), "--weights", "w",
                   "--json")
    repeated = csi("fit", "--model", str(seminr_model), "--data", str(tmp_path / "repeated.csv"), "--json")
    assert weighted.returncode == 0, weighted.stderr
    a, b = json.loads(weighted.stdout), json.loads(repeated.stdout)
    assert a["respondent_weights"] == "w" and b["respondent_weights"] is None
    assert a["index"] == pytest.approx(b["index"], abs=1e-10)
    assert [p["estimate"] for p in a["paths"]] == pytest.approx([p["estimate"] for p in b["paths"]], abs=1e-10)


@pytest.mark.parametrize("extra, message", [
    (["--weights", "wt"], "error: weight column 'wt', row 2 (data row 3): -1 is negative; weights must be finite "
                          "numbers >= 0"),
    (["--weights", "nope"], "error: weight column 'nope' is not in the data"),
    (["--weights", "wt", "--method", "cbsem"], "error: --weights applies to --method pls"),
    (["--hoc", "repeated", "--method", "cbsem"], "error: --hoc applies to --method pls"),
])
def test_fit_weight_refusals(tmp_path, seminr_model, extra, message):
    import pandas as pd

    data = pd.read_csv(shared_file("mobi.csv"))
    data["wt"] = 1.0
    data.loc[2, "wt"] = -1.0
    data.to_csv(tmp_path / "w.csv", index=False)
    result = csi("fit", "--model", str(seminr_model), "--data", str(tmp_path / "w.csv"), *extra)
    assert result.returncode == 1
    assert result.stderr.strip() == message


@pytest.mark.parametrize("edit, extra, message", [
    (("Satisfaction =~ Image + Value", "Satisfaction =~ Image"), [],
     "higher-order construct 'Satisfaction' has a single lower-order construct ('Image')"),
    (("Loyalty ~ Satisfaction", "Loyalty ~ Satisfaction + Image"), [],
     "'Image' is a dimension of higher-order construct 'Satisfaction' and also in the structural path Image -> Loyalty"),
    (("", ""), ["--method", "plsc"], "consistent PLS (PLSc) with higher-order constructs is not supported"),
])
def test_fit_hoc_refusals_are_one_line(tmp_path, hoc_model, edit, extra, message):
    hoc_model.write_text(hoc_model.read_text().replace(*edit) if edit[0] else hoc_model.read_text())
    result = csi("fit", "--model", str(hoc_model), "--data", str(shared_file("mobi.csv")), *extra)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr
