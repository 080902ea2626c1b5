"""Missing data as national indices handle it: respondents missing too many items dropped
(EPSI: 30 %), the rest imputed by chained equations (analysis/imputation.py)."""
import numpy as np
import pandas as pd
import pytest

from analysis import PLSPM
from analysis.data import DataError, prepare
from analysis.imputation import impute_chained, sparse_rows
from analysis.simulate import default_paths, population, simulate
from models import parse_model
from tests.analysis.test_predict import MOBI_MODEL


@pytest.fixture(scope="module")
def mobi_model():
    return parse_model(MOBI_MODEL, name="mobi_missing")


def paths(results) -> np.ndarray:
    return results.path_coefficients["estimate"].to_numpy()


def test_chained_imputation_on_mobi_mcar_stays_close_to_the_complete_data(mobi_model, mobi):
    """tests/data/mobi_mcar.csv is mobi with 589 cells (10 %) removed completely at random:
    listwise deletion keeps 29 of 250 respondents; chained equations keep all 250 and stay
    within 0.03 of every complete-data path (0.0245 measured), closer than item means (0.042)."""
    from tests.conftest import shared_file

    mcar = pd.read_csv(shared_file("mobi_mcar.csv"))
    complete = paths(PLSPM(mobi_model).fit(mobi))
    chained = PLSPM(mobi_model, missing="chained").fit(mcar)
    means = PLSPM(mobi_model, missing="mean").fit(mcar)
    assert chained.n_used == 250
    assert np.abs(paths(chained) - complete).max() < 0.03
    assert np.abs(paths(chained) - complete).max() < np.abs(paths(means) - complete).max()
    assert any("517 missing values in 221 rows imputed by chained equations" in note for note in chained.notes)


def test_simulated_truth_is_recovered_with_a_fifth_of_the_cells_missing(mobi_model):
    """Known truth: 600 respondents from the model's population, 20 % of cells removed at
    random. Chained imputation recovers the complete-data paths (0.05) where listwise
    deletion has almost nobody left."""
    pop = population(mobi_model, default_paths(mobi_model), 0.8)
    data = simulate(pop, 600, seed=21)
    rng = np.random.default_rng(5)
    holed = data.mask(rng.random(data.shape) < 0.2)
    complete = paths(PLSPM(mobi_model).fit(data))
    chained = PLSPM(mobi_model, missing="chained").fit(holed)
    assert np.abs(paths(chained) - complete).max() < 0.05
    with pytest.raises(DataError, match="usable respondents"):
        PLSPM(mobi_model).fit(holed)   # listwise: 0.8^24 of 600 is about 2 respondents


def test_imputed_values_stay_on_the_scale_and_observed_cells_do_not_move():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(200, 1))
    matrix = np.clip(np.rint(5.5 + 2.5 * (base + 0.5 * rng.normal(size=(200, 4)))), 1, 10)
    matrix[:, 3] = np.clip(matrix[:, 3] + 4, 1, 10)   # an item near the top of its scale
    holed = matrix.copy()
    holed[rng.random(matrix.shape) < 0.25] = np.nan
    filled = impute_chained(holed, np.full(4, 1.0), np.full(4, 10.0), seed=3)
    observed = ~np.isnan(holed)
    assert np.array_equal(filled[observed], holed[observed])
    assert not np.isnan(filled).any() and filled.min() >= 1 and filled.max() <= 10
    again = impute_chained(holed, np.full(4, 1.0), np.full(4, 10.0), seed=3)
    assert np.array_equal(filled, again), "a seed gives the same imputations"


def test_respondents_missing_more_than_the_threshold_are_dropped_and_counted(mobi_model, mobi):
    data = mobi.copy()
    items = list(mobi_model.items)            # 21 items: 30 % is 6.3 items
    data.loc[:9, items[:7]] = np.nan          # 10 respondents miss 7 items (33 %): dropped
    data.loc[10:19, items[:6]] = np.nan       # 10 miss 6 (29 %): kept and imputed
    prepared = prepare(data, mobi_model, missing="chained", max_missing=0.3)
    assert prepared.n_used == 240
    assert prepared.dropped == {"more than 30% of the model's items missing": 10}
    assert any("60 missing values in 10 rows imputed" in note for note in prepared.notes)
    assert list(prepared.index[:10]) == list(range(10, 20))


def test_sparse_rows_and_bad_thresholds():
    matrix = np.array([[1, np.nan, np.nan], [1, 2, np.nan], [1, 2, 3]], dtype=float)
    assert sparse_rows(matrix, 0.3).tolist() == [True, True, False]
    assert sparse_rows(matrix, 0.5).tolist() == [True, False, False]
    with pytest.raises(ValueError, match="below 1"):
        sparse_rows(matrix, 1.0)


def test_the_command_line_imputes_and_refuses_cbsem(tmp_path, mobi):
    import json
    import subprocess
    import sys

    from tests.conftest import shared_file

    model = tmp_path / "mobi.txt"
    model.write_text(MOBI_MODEL)
    run = [sys.executable, "-m", "survey_app.cli", "fit", "--model", str(model), "--data", str(shared_file("mobi_mcar.csv"))]
    done = subprocess.run(run + ["--missing", "chained", "--max-missing", "0.3", "--json"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["n_used"] == 250 and any("imputed by chained equations" in note for note in out["notes"])
    refused = subprocess.run(run + ["--method", "cbsem", "--missing", "chained"], capture_output=True, text=True,
                             timeout=120)
    assert refused.returncode == 1 and "CB-SEM models holes with --missing fiml" in refused.stderr
