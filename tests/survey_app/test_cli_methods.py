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
