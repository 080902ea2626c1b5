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


def test_ipma_interval_is_the_interval_of_the_importance_itself():
    """Independent peer: the bootstrap's resamples redrawn from its seed, the model refitted on
    each, and importance recomputed as the OLS slope of the target's 0-100 scores on the
    driver's (statsmodels). The stored resampled importances match to 1e-8 and ci_low/ci_high
    are their 2.5/97.5% quantiles, not the standardized effect's interval."""
    model = parse_model("quality =~ q1 + q2 + q3\nsatisfaction =~ s1 + s2 + s3\nsatisfaction ~ quality")
    data = simulate(population(model, {("quality", "satisfaction"): 0.6}, 0.8), 300, seed=8)
    scales = {i: (1, 10) for i in model.items}
    results = fit(model, data, scales=scales, n_boot=60, seed=11, workers=1)
    rng = np.random.default_rng(np.random.SeedSequence(11).spawn(1)[0])
    draws = rng.integers(0, len(data), size=(60, len(data)))
    by_hand = []
    for rows in draws:
        refit = fit(model, data.iloc[rows].reset_index(drop=True), scales=scales)
        scores = refit.respondent_index
        by_hand.append(sm.OLS(scores["satisfaction"], sm.add_constant(scores["quality"])).fit().params["quality"])
    k = results.layout.labels.index(("importance", "quality", "satisfaction"))
    np.testing.assert_allclose(results.bootstrap.samples[:, k], by_hand, rtol=1e-8)
    row = ipma(results).set_index("construct").loc["quality"]
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(tuple(np.quantile(by_hand, [0.025, 0.975])), rel=1e-8)
    assert row["ci_low"] < row["importance"] < row["ci_high"]
    effect = results.effects.set_index(["from", "to"]).loc[("quality", "satisfaction")]
    # Not the standardized effect's interval (close here only because both scores have similar spreads).
    assert row["ci_low"] != pytest.approx(effect["ci_low"], abs=1e-3)


@pytest.fixture(scope="module")
def retail_fit(retail):
    """Retail answers where perceived value is pushed down; the other drivers share one population mean."""
    data = simulate_responses(retail, 400, seed=5)
    for item in retail.constructs()["perceived_value"]:
        data[item] = np.clip(data[item] - 2, 1, 10)
    return fit(retail.csi_model(), data, questionnaire=retail, n_boot=200, seed=3, workers=1)


def test_quadrants_need_intervals_clear_of_the_lines(retail_fit):
    for target in ("satisfaction", "loyalty"):
        table = ipma(retail_fit, target)
        line_i, line_p = table.attrs["importance_line"], table.attrs["performance_line"]
        for row in table.dropna(subset=["importance"]).to_dict("records"):
            covers_i = row["ci_low"] <= line_i <= row["ci_high"]
            covers_p = row["performance_low"] <= line_p <= row["performance_high"]
            assert (row["importance_level"] == "about average") == covers_i
            assert (row["performance_level"] == "about average") == covers_p
            if covers_i or covers_p:
                assert row["quadrant"] == "About average" and row["construct"] not in priorities(table)
                assert "cover" in row["action"]
            else:
                assert row["action"] == QUADRANTS[(row["importance"] > line_i, row["performance"] > line_p)]
    # Perceived value was pushed two points down: its whole performance interval is below the line.
    table = ipma(retail_fit, "satisfaction")
    value = table.set_index("construct").loc["perceived_value"]
    assert value["performance_level"] == "low" and value["performance_high"] < table.attrs["performance_line"]


def test_one_performance_verdict_per_construct_across_targets(retail_fit):
    satisfaction, loyalty = ipma(retail_fit, "satisfaction"), ipma(retail_fit, "loyalty")
    assert satisfaction.attrs["performance_line"] == loyalty.attrs["performance_line"]
    both = satisfaction.merge(loyalty, on="construct", suffixes=("_s", "_l"))
    assert len(both) >= 2
    assert (both["performance_level_s"] == both["performance_level_l"]).all()
    assert (both["performance_low_s"] == both["performance_low_l"]).all()


def test_ipma_chart_draws_both_intervals(retail_fit):
    from matplotlib.container import ErrorbarContainer
    from analysis.report_plots import ipma_chart

    table = ipma(retail_fit, "satisfaction")
    figure = ipma_chart(table, "satisfaction")
    bars = [c for c in figure.axes[0].containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == len(table) and all(c.has_xerr and c.has_yerr for c in bars)
    x_low, x_high = figure.axes[0].get_xlim()
    assert x_low < table["ci_low"].min() and table["ci_high"].max() < x_high


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


def test_the_reports_loyalty_section_is_left_out_only_when_its_items_have_no_answers(retail):
    from analysis.report import _loyalty

    data = pd.DataFrame({"sat_level": [5, 4, 4, 2], "loy_repurchase": [10, 9, 5, 2]})
    assert _loyalty(data, retail, "en").curve.set_index("level").loc[4, "loyal_share"] == 0.5
    assert _loyalty(data.drop(columns="loy_repurchase"), retail, "en") is None


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


def test_delivered_value_states_its_direction(retail):
    constructs = retail.constructs()
    rng = np.random.default_rng(2)
    data = pd.DataFrame({item: rng.integers(6, 11, 60) for item in constructs["total_customer_value"]})
    for item in constructs["total_customer_cost"]:
        data[item] = rng.integers(1, 6, 60)
    result = delivered_value(data, retail, pd.Series(rng.uniform(0, 100, 60)))
    assert result.notes == ()
    assert "higher cost = more money, time, effort and stress given up" in result.sentence("en")
    assert "positive means customers get more than they give" in result.sentence("en")
    assert "成本越高表示付出" in result.sentence("zh-CN")


def test_delivered_value_warns_when_cost_items_rate_quality(retail, tmp_path):
    text = questionnaires.path("acsi_retail").read_text(encoding="utf-8").replace("scale: ten_point_cost", "scale: ten_point")
    from models.questionnaire import parse_questionnaire
    old_style = parse_questionnaire(text, "old.yaml")
    assert len(old_style.warnings) == 4
    constructs = old_style.constructs()
    rng = np.random.default_rng(3)
    data = pd.DataFrame({item: rng.integers(1, 11, 20)
                         for item in constructs["total_customer_value"] + constructs["total_customer_cost"]})
    result = delivered_value(data, old_style, pd.Series(np.linspace(0, 100, 20)))
    assert len(result.notes) == 1 and "cdv_money_cost, cdv_time_cost" in result.notes[0]
    assert "no reliable direction" in result.sentence("en")


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
