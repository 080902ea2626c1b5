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


MODERATION_MODEL = SEMINR_MODEL.replace("Satisfaction ~ Image + Expectation + Value",
                                        "Satisfaction ~ Image + Expectation + Value + Image:Expectation + Image:Value")


@pytest.mark.parametrize("method", ["orthogonal", "product"])
def test_fit_interaction_json_matches_seminr(tmp_path, method):
    """`csi fit --interaction` reproduces seminr's fixtures (tests/data/seminr_interaction_mobi.json)."""
    reference = json.loads(shared_file("seminr_interaction_mobi.json").read_text())[method]
    model = tmp_path / "moderation.model"
    model.write_text(MODERATION_MODEL)
    result = csi("fit", "--model", str(model), "--data", str(shared_file("mobi.csv")), "--scheme", "factorial",
                 "--interaction", method, "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["interaction"]["method"] == method
    assert payload["interaction"]["terms"] == ["Image:Expectation", "Image:Value"]
    paths = {p["from"]: p["estimate"] for p in payload["paths"]}
    for source, value in reference["paths_to_Satisfaction"].items():
        assert paths[source.replace("*", ":")] == pytest.approx(value, abs=1e-5)
    slopes = [s for s in payload["interaction"]["simple_slopes"] if s["term"] == "Image:Expectation"]
    assert [s["moderator_sd"] for s in slopes] == [-1, 0, 1]
    assert slopes[2]["slope"] == pytest.approx(paths["Image"] + paths["Image:Expectation"])


def test_fit_interaction_text_plot_and_refusals(tmp_path):
    model = tmp_path / "moderation.model"
    model.write_text(MODERATION_MODEL)
    data = str(shared_file("mobi.csv"))
    result = csi("fit", "--model", str(model), "--data", data, "--boot", "50", "--plot", str(tmp_path / "fig"))
    assert result.returncode == 0, result.stderr
    assert "interaction terms (Image:Expectation, Image:Value) by the two-stage method" in result.stdout
    assert "Simple slopes (moderator at -1 SD, mean, +1 SD)" in result.stdout
    assert (tmp_path / "fig-slopes-1.png").stat().st_size > 10_000 and (tmp_path / "fig-slopes-2.png").is_file()
    result = csi("fit", "--model", str(model), "--data", data, "--method", "cbsem")
    assert result.returncode == 1
    assert "interaction terms (Image:Expectation, Image:Value) are estimated by PLS only" in result.stderr
    plain = tmp_path / "plain.model"
    plain.write_text(SEMINR_MODEL)
    result = csi("fit", "--model", str(plain), "--data", data, "--interaction", "product")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: --interaction applies to a model with interaction terms (write Y ~ A + B + A:B)"
    formative = tmp_path / "formative.model"
    formative.write_text(MODERATION_MODEL.replace("Value =~", "Value <~"))
    result = csi("fit", "--model", str(formative), "--data", data, "--interaction", "product")
    assert result.returncode == 1
    assert "'Value' is formative (<~), and the product method builds products of reflective indicators" in result.stderr
    bad = tmp_path / "bad.model"
    bad.write_text(SEMINR_MODEL + "Satisfaction ~ Image:Loyalty\n")
    result = csi("fit", "--model", str(bad), "--data", data)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "'Loyalty' in a structural path is not a construct" in result.stderr


def test_fit_model_fit_json_matches_adanco_and_fit_test(tmp_path):
    """SRMR, d_ULS, d_G in `csi fit --json` (ADANCO 2.2.1 values, tests/data/adanco_fit_satisfaction.json)
    and the test of exact fit with --fit-test."""
    reference = json.loads(shared_file("adanco_fit_satisfaction.json").read_text())["composite"]
    blocks = {"IMAG": 5, "EXPE": 5, "QUAL": 5, "VAL": 4, "SAT": 4, "LOY": 4}
    text = "\n".join(f"{c} <~ {' + '.join(f'{c.lower()}{k}' for k in range(1, n + 1))}" for c, n in blocks.items())
    text += "\nEXPE ~ IMAG\nQUAL ~ EXPE\nVAL ~ EXPE + QUAL\nSAT ~ IMAG + EXPE + QUAL + VAL\nLOY ~ IMAG + SAT\n"
    model = tmp_path / "composite.model"
    model.write_text(text)
    data = str(shared_file("satisfaction_bank.csv"))
    result = csi("fit", "--model", str(model), "--data", data, "--scheme", "centroid", "--fit-test", "199",
                 "--seed", "2", "--json")
    assert result.returncode == 0, result.stderr
    fit = json.loads(result.stdout)["fit"]
    for name in ("saturated", "estimated"):
        for measure, value in reference[name]["value"].items():
            assert fit[name][measure] == pytest.approx(value, abs=1e-6)
        assert fit["exact_fit_test"][name]["d_ULS"]["exact_fit"] == "rejected at 5%"
        assert fit["exact_fit_test"][name]["SRMR"]["hi95"] == pytest.approx(reference[name]["hi95"]["SRMR"], rel=0.15)
    assert fit["exact_fit_test"]["resamples"] == 199 and fit["exact_fit_test"]["seed"] == 2
    text_result = csi("fit", "--model", str(model), "--data", data, "--scheme", "centroid")
    assert "Model fit (SRMR, d_ULS, d_G; Dijkstra & Henseler 2015)" in text_result.stdout
    refused = csi("fit", "--model", str(model), "--data", data, "--fit-test", "10", "--unscaled")
    assert refused.returncode == 1
    assert "the test of exact fit compares correlation matrices" in refused.stderr


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


def test_fit_hoc_with_an_interaction_term(hoc_model):
    """A two-stage HOC and a product-indicator interaction in one `csi fit` (the analysis
    test checks seminr's hoc_2si fixture and the bootstrap; here the options and the output)."""
    hoc_model.write_text(hoc_model.read_text().replace(
        "Satisfaction ~ Expectation + Quality", "Satisfaction ~ Expectation + Quality + Expectation:Quality"))
    result = csi("fit", "--model", str(hoc_model), "--data", str(shared_file("mobi.csv")), "--interaction", "product",
                 "--boot", "20", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["interaction"]["method"] == "product"
    assert any("disjoint two-stage" in note for note in payload["notes"])
    paths = {(p["from"], p["to"]): p for p in payload["paths"]}
    term = paths[("Expectation:Quality", "Satisfaction")]
    assert term["ci_low"] < term["estimate"] < term["ci_high"]
    assert ("Satisfaction", "Loyalty") in paths and not payload["fit"]


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
    (["--weights", "wt", "--fit-test", "10"], "error: the test of exact fit with respondent weights ('wt') is not "
                                            "supported: its Bollen-Stine resamples are unweighted; drop fit_test "
                                            "(--fit-test) or the weights"),
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
    (("Satisfaction ~ Expectation + Quality", "Satisfaction ~ Expectation + Quality + Expectation:Quality"),
     ["--hoc", "repeated"], "interaction term Expectation:Quality with higher-order construct 'Satisfaction' by "
     "repeated indicators: not supported; use the two-stage approach"),
    (("Loyalty ~ Satisfaction", "Loyalty ~ Satisfaction + Expectation + Satisfaction:Expectation"), [],
     "interaction term Satisfaction:Expectation involves 'Satisfaction', part of a higher-order construct"),
    (("", ""), ["--fit-test", "10"], "the test of exact fit with higher-order construct 'Satisfaction' is not supported"),
])
def test_fit_hoc_refusals_are_one_line(tmp_path, hoc_model, edit, extra, message):
    hoc_model.write_text(hoc_model.read_text().replace(*edit) if edit[0] else hoc_model.read_text())
    result = csi("fit", "--model", str(hoc_model), "--data", str(shared_file("mobi.csv")), *extra)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr
