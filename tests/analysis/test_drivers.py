"""IPMA, the satisfaction-loyalty curve, NPS and customer delivered value, each checked
against an independent computation on data whose answer is known."""
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import questionnaires
from analysis import fit
from analysis.drivers import QUADRANTS, ipma, priorities
from analysis.loyalty import loyal_threshold, net_promoter, satisfaction_loyalty, wilson
from analysis.simulate import population, simulate, simulate_responses
from analysis.value import delivered_value
from analysis.waves import period_of, year_ago
from models import load_questionnaire, parse_model


@pytest.fixture(scope="module")
def retail():
    return load_questionnaire(questionnaires.path("acsi_retail"))


def test_ipma_importance_is_the_unstandardized_effect_on_0_100_scores():
    """With one predecessor the total effect is the path, and importance must equal the
    OLS slope of the target's 0-100 scores on the driver's 0-100 scores."""
    model = parse_model("quality =~ q1 + q2 + q3\nsatisfaction =~ s1 + s2 + s3\nsatisfaction ~ quality")
    data = simulate(population(model, {("quality", "satisfaction"): 0.6}, 0.8), 400, seed=3)
    results = fit(model, data, scales={i: (1, 10) for i in model.items})
    table = ipma(results).set_index("construct")
    scores = results.respondent_index
    slope = sm.OLS(scores["satisfaction"], sm.add_constant(scores["quality"])).fit().params["quality"]
    assert table.loc["quality", "importance"] == pytest.approx(slope, rel=1e-9)
    assert table.loc["quality", "performance"] == pytest.approx(results.index["quality"], rel=1e-12)
    assert table.loc["quality", "total_effect"] == pytest.approx(results.path_coefficients["estimate"].iloc[0])


def test_ipma_names_the_quadrant_to_act_on(retail):
    data = simulate_responses(retail, 400, seed=5)
    # Push perceived value's items down: it stays important but under-performs.
    for item in retail.constructs()["perceived_value"]:
        data[item] = np.clip(data[item] - 2, 1, 10)
    results = fit(retail.csi_model(), data, questionnaire=retail)
    table = ipma(results, "satisfaction")
    assert set(table["construct"]) == {"expectations", "perceived_quality", "perceived_value"}
    value = table.set_index("construct").loc["perceived_value"]
    assert value["performance"] == table["performance"].min()
    assert value["action"] in QUADRANTS.values()
    if value["importance"] >= table["importance"].mean():
        assert "perceived_value" in priorities(table)
    with pytest.raises(KeyError, match="no construct 'delight'"):
        ipma(results, "delight")


@pytest.mark.parametrize("minimum, maximum, expected", [(1, 10, 9), (1, 5, 5), (0, 10, 9), (1, 7, 6)])
def test_loyal_means_the_top_fifth_of_the_scale(minimum, maximum, expected):
    assert loyal_threshold(minimum, maximum) == expected


def test_satisfaction_loyalty_curve_on_hand_made_answers(retail):
    # 5-point satisfaction level x 1-10 repurchase: top box 20 people, 15 loyal; level 4: 40 people, 10 loyal.
    rows = [(5, 10)] * 15 + [(5, 6)] * 5 + [(4, 9)] * 10 + [(4, 5)] * 30 + [(2, 2)] * 10
    data = pd.DataFrame(rows, columns=["sat_level", "loy_repurchase"])
    data["nps"] = [10] * 30 + [8] * 20 + [3] * 20
    result = satisfaction_loyalty(data, retail, language="en")
    assert (result.satisfaction_item, result.loyalty_item, result.loyal_from) == ("sat_level", "loy_repurchase", 9)
    curve = result.curve.set_index("level")
    assert curve.loc[5, "loyal_share"] == 0.75 and curve.loc[4, "loyal_share"] == 0.25
    assert curve.loc[5, "label"] == "Very satisfied" and curve.loc[3, "n"] == 0
    assert np.isnan(curve.loc[3, "loyal_share"])
    assert result.top_box_share == pytest.approx(20 / 70)
    assert result.top_box_ratio == pytest.approx(3.0)
    assert "3.0 times as likely" in result.sentence()
    assert result.nps["score"] == pytest.approx(100 * (30 - 20) / 70)
    assert result.nps["item"] == "nps"
    assert satisfaction_loyalty(data, retail, language="zh-CN").curve.set_index("level").loc[5, "label"] == "非常满意"


def test_wilson_interval_matches_the_published_example():
    # Newcombe (1998), Stat Med 17:857, table I: 81/263 -> 0.2553 to 0.3662.
    low, high = wilson(np.array([81]), np.array([263]))
    assert (round(float(low[0]), 4), round(float(high[0]), 4)) == (0.2553, 0.3662)


@pytest.mark.parametrize("answers, score", [([10, 9, 8, 7, 6, 0], 0.0), ([10] * 3 + [5], 50.0), ([7, 8], 0.0),
                                            ([0, 1, 2], -100.0)])
def test_net_promoter_score(answers, score):
    result = net_promoter(pd.Series(answers))
    assert result["score"] == pytest.approx(score)
    assert result["promoters"] + result["passives"] + result["detractors"] == pytest.approx(100)


def test_delivered_value_on_known_answers(retail):
    # Value items all 10 (100 points), cost items all 1 (0 points): delivered value +100.
    constructs = retail.constructs()
    rng = np.random.default_rng(1)
    n = 50
    data = pd.DataFrame({item: rng.integers(6, 11, n) for item in constructs["total_customer_value"]})
    for item in constructs["total_customer_cost"]:
        data[item] = rng.integers(1, 6, n)
    satisfaction = pd.Series(rng.uniform(0, 100, n))
    result = delivered_value(data, retail, satisfaction)
    value = (data[list(constructs["total_customer_value"])] - 1).mean(axis=1) / 9 * 100
    cost = (data[list(constructs["total_customer_cost"])] - 1).mean(axis=1) / 9 * 100
    table = result.table.set_index("measure")
    assert table.loc["delivered value", "mean"] == pytest.approx((value - cost).mean())
    assert result.correlation == pytest.approx(np.corrcoef(value - cost, satisfaction)[0, 1])


@pytest.mark.parametrize("name, period", [("2026Q4", (2026, "Q", 4)), ("2026-q1", (2026, "Q", 1)),
                                          ("2025H2", (2025, "H", 2)), ("2026-11", (2026, "M", 11)),
                                          ("spring", None), ("2026Q5", None)])
def test_wave_periods(name, period):
    assert period_of(name) == period


def test_year_ago_finds_the_same_quarter():
    assert year_ago("2026Q4", ["2025Q3", "2025Q4", "2026Q3"]) == "2025Q4"
    assert year_ago("2026Q4", ["2026Q3"]) is None
    assert year_ago("launch", ["2025Q4"]) is None


def test_value_regression_matches_statsmodels():
    """The OLS behind the delivered-value sentence, against statsmodels as the peer."""
    from analysis.value import _ols
    rng = np.random.default_rng(4)
    X = rng.uniform(0, 100, size=(60, 2))
    y = 20 + 0.5 * X[:, 0] - 0.3 * X[:, 1] + rng.normal(0, 10, 60)
    ours, r_squared = _ols(y, X, ["const", "value", "cost"])
    peer = sm.OLS(y, sm.add_constant(X)).fit()
    np.testing.assert_allclose(ours["estimate"], peer.params, rtol=1e-10)
    np.testing.assert_allclose(ours["se"], peer.bse, rtol=1e-10)
    np.testing.assert_allclose(ours["p_value"], peer.pvalues, rtol=1e-8)
    assert r_squared == pytest.approx(peer.rsquared, rel=1e-12)
