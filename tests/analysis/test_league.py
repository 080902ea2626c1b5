"""Brand league tables and the industry index (analysis/league.py)."""
import numpy as np
import pandas as pd
import pytest

from analysis.league import league_table
from analysis.simulate import default_paths, population, simulate
from models import parse_model
from models.errors import CSIError

MODEL = """\
Quality =~ q1 + q2 + q3
Satisfaction =~ s1 + s2 + s3
Satisfaction ~ Quality
"""
CENTERS = {"Alpha": 0.60, "Beta": 0.70, "Gamma": 0.70, "Delta": 0.80}   # where the items sit on 1-10


@pytest.fixture(scope="module")
def model():
    return parse_model(MODEL, name="league")


@pytest.fixture(scope="module")
def brands(model):
    pop = population(model, default_paths(model), 0.8)
    frames = []
    for k, (brand, center) in enumerate(CENTERS.items()):
        frame = simulate(pop, 150, seed=40 + k, center=center, spread=0.15)
        frame["brand"] = brand
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def equal(model, brands):
    return league_table(model, brands, "brand", construct="Satisfaction", n_boot=300, seed=3)


def test_the_industry_index_is_the_weighted_mean_of_the_entities(model, brands, equal):
    table = equal.table.set_index("entity")
    assert equal.industry == pytest.approx(table["index"].mean(), abs=1e-12)
    weighted = league_table(model, brands, "brand", construct="Satisfaction", n_boot=300, seed=3,
                            weights={"Alpha": 3, "Beta": 1, "Gamma": 1, "Delta": 0})
    t = weighted.table.set_index("entity")
    assert weighted.industry == pytest.approx((3 * t.loc["Alpha", "index"] + t.loc["Beta", "index"]
                                               + t.loc["Gamma", "index"]) / 5, abs=1e-12)
    # Entities' indices do not depend on the weights (same seed): only the industry does.
    assert np.allclose(t.loc[list(CENTERS), "index"], table.loc[list(CENTERS), "index"])
    # Averaging four independent samples narrows the interval below every entity's.
    width = equal.industry_ci[1] - equal.industry_ci[0]
    assert width < (table["ci_high"] - table["ci_low"]).min()
    assert equal.industry_ci[0] < equal.industry < equal.industry_ci[1]


def test_the_league_ranks_the_entities_and_tests_them_against_the_best_and_the_industry(equal):
    table = equal.table
    assert table["entity"].iloc[0] == "Delta" and table["entity"].iloc[-1] == "Alpha"
    rows = table.set_index("entity")
    # Their items sit 0.6 vs 0.8 of the scale: about 20 index points apart, far outside the noise.
    assert rows.loc["Alpha", "vs_best"] == pytest.approx(rows.loc["Alpha", "index"] - rows.loc["Delta", "index"])
    assert -25 < rows.loc["Alpha", "vs_best"] < -15 and rows.loc["Alpha", "p_best_adjusted"] < 0.05
    assert rows.loc["Alpha", "vs_best_high"] < 0
    assert np.isnan(rows.loc["Delta", "vs_best"])
    # Beta and Gamma come from the same population, at the industry's average.
    assert abs(rows.loc["Beta", "index"] - rows.loc["Gamma", "index"]) < 3
    assert rows.loc["Beta", "p_industry_adjusted"] > 0.05 and rows.loc["Gamma", "p_industry_adjusted"] > 0.05
    assert rows.loc["Delta", "p_industry_adjusted"] < 0.05 and rows.loc["Delta", "vs_industry_low"] > 0
    assert "industry:" in equal.summary() and "Delta" in equal.summary()


@pytest.mark.parametrize("change, kwargs, message", [
    (lambda d: d.drop(columns=["brand"]), {}, "no column 'brand'"),
    (lambda d: d.assign(brand="Alpha"), {}, "needs at least 2"),
    (lambda d: d.iloc[:460], {}, "too few respondents for a reliable index: Delta (10)"),
    (lambda d: d, {"weights": {"Alpha": 1}}, "no weight for entities"),
    (lambda d: d, {"weights": {"Alpha": -1, "Beta": 1, "Gamma": 1, "Delta": 1}}, "non-negative"),
    (lambda d: d, {"n_boot": 50}, "at least 100 bootstrap"),
    (lambda d: d, {"construct": "Loyalty"}, "no construct 'Loyalty'"),
])
def test_bad_input_names_the_problem(model, brands, change, kwargs, message):
    options = {"construct": "Satisfaction", "n_boot": 100, **kwargs}
    with pytest.raises(CSIError, match=message.replace("(", r"\(").replace(")", r"\)")):
        league_table(model, change(brands), "brand", **options)


def test_csi_league_prints_the_table_and_json(tmp_path, brands):
    import json
    import subprocess
    import sys

    data = tmp_path / "brands.csv"
    brands.to_csv(data, index=False)
    model = tmp_path / "model.txt"
    model.write_text(MODEL)
    run = [sys.executable, "-m", "survey_app.cli", "league", "--model", str(model), "--data", str(data),
           "--entity", "brand", "--construct", "Satisfaction", "--boot", "200"]
    shown = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[2].strip().startswith("Delta")
    out = json.loads(subprocess.run(run + ["--json", "--weights", "Alpha=1,Beta=1,Gamma=1,Delta=1"],
                                    capture_output=True, text=True, timeout=120).stdout)
    assert [e["entity"] for e in out["entities"]][0] == "Delta" and out["n_boot"] == 200
    bad = subprocess.run(run + ["--weights", "Alpha=lots"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "write ENTITY=NUMBER" in bad.stderr
