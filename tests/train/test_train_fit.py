"""Training one model on simulated episodes: rows, validation, selection, intervals, explanations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from train_simulation import OXFORD_SPEC, TRUE_OXFORD

from vbhc.core.errors import InputError
from vbhc.train import ConformalRegressor, RecalibratedClassifier, load_spec, model_card, train_model
from vbhc.train._spec import ModelSpec

OXFORD = OXFORD_SPEC
COMPLICATION = {
    **OXFORD,
    "description": "complication (test)",
    "outcome": "complication_90d",
    "kind": "binary",
    "bounds": None,
    "ascertainment": {},
    "nonresponse": None,
    "glm": {"family": "binomial"},
    "hgb": {"loss": "log_loss", "max_iter": 60},
    "validation": {"metric": "auc", "cv_folds": 3},
}


def _spec(base: dict, **changes) -> ModelSpec:
    data = {**base, **changes}
    return ModelSpec.model_validate({k: v for k, v in data.items() if v is not None})


@pytest.fixture(scope="module")
def oxford(episodes):
    return train_model(episodes, _spec(OXFORD))


def test_rows_years_and_attrition(oxford, episodes):
    m = oxford.metrics
    assert m["test_year"] == 2017 and m["train_years"] == [2014, 2015, 2016]
    hip = episodes[episodes.joint == "hip"]
    responded = hip["oxford_12m"].notna()
    assert m["n_train"] == int((responded & (hip.operation_year < 2017)).sum())
    assert m["n_test"] == int((responded & (hip.operation_year == 2017)).sum())
    steps = oxford.attrition.set_index("step")["n"]
    assert steps.iloc[0] == len(hip)
    assert oxford.model.training_period == (2014, 2016)


def test_model_beats_the_pre_op_score_only_comparator_and_recovers_the_truth(oxford):
    test = oxford.metrics["test"]
    assert test[oxford.metrics["selected"]]["r2"] > test["comparator"]["r2"]
    assert 0.85 <= test["glm"]["calibration_slope"] <= 1.15
    coef = oxford.coefficients.set_index("term")
    for term, truth in (("oxford_pre__oxford_pre", TRUE_OXFORD["oxford_pre"]),
                        ("anxiety_depression__anxiety_depression", TRUE_OXFORD["anxiety_depression"]),
                        ("bmi__bmi", TRUE_OXFORD["bmi_c"])):
        assert coef.loc[term, "ci_lower"] <= truth <= coef.loc[term, "ci_upper"], term


def test_prediction_intervals_cover_about_90_percent(oxford):
    for cand in ("glm", "hgb", "comparator"):
        assert 0.84 <= oxford.metrics["test"][cand]["coverage"] <= 0.96
    assert isinstance(oxford.model.estimator[-1], ConformalRegressor)


def test_preprocessing_is_fitted_on_training_rows_only(oxford, episodes):
    """Extreme or new values in the test year leave every fitted state unchanged.

    The GLM's BMI imputation value is exactly the median of the training rows; test-year
    rows with BMI 95, a new smoking level and a shifted pre-op score change neither the
    imputer, the encoder, nor a single coefficient.
    """
    imputer = oxford.model.explainer.named_steps["prep"].named_transformers_["bmi"]
    hip = episodes[(episodes.joint == "hip") & episodes.oxford_12m.notna()]
    assert imputer.statistics_[0] == np.nanmedian(hip.loc[hip.operation_year < 2017, "bmi"].to_numpy(float))
    test_year = (episodes.operation_year == 2017).to_numpy()
    shifted = episodes.copy()
    shifted.loc[test_year, "bmi"] = 95.0
    shifted.loc[test_year, "smoking"] = "chewing"
    shifted.loc[test_year, "oxford_pre"] = 48.0
    again = train_model(shifted, _spec(OXFORD))
    prep = again.model.explainer.named_steps["prep"]
    assert prep.named_transformers_["bmi"].statistics_[0] == imputer.statistics_[0]
    smoking = prep.named_transformers_["smoking"].named_steps["onehot"].categories_[0]
    assert "chewing" not in smoking
    pd.testing.assert_frame_equal(again.coefficients, oxford.coefficients)
    assert again.metrics["cv"] == oxford.metrics["cv"]
    assert again.metrics["test"]["glm"]["r2"] != oxford.metrics["test"]["glm"]["r2"]  # the test year did change


def test_outcome_model_predicts_explains_and_cautions(oxford, episodes):
    model = oxford.model
    rows = episodes[episodes.joint == "hip"].head(5).copy()
    frame = model.predict_frame(rows)
    assert list(frame.columns) == ["pred_oxford_12m", "pred_oxford_12m_lower", "pred_oxford_12m_upper"]
    assert (frame["pred_oxford_12m_lower"] <= frame["pred_oxford_12m"]).all()
    assert (frame["pred_oxford_12m"] <= frame["pred_oxford_12m_upper"]).all()
    assert frame.to_numpy().min() >= 0 and frame.to_numpy().max() <= 48
    contrib = model.contributions(rows)
    assert list(contrib.columns) == model.feature_names
    glm_pred = model.explainer.predict(rows)
    np.testing.assert_allclose(contrib.sum(axis=1) + model.explainer_baseline, glm_pred)
    assert model.explanation_scale.startswith("points")
    # Worse pre-op score, anxiety: lower prediction, negative contributions.
    rows.loc[rows.index[0], ["oxford_pre", "anxiety_depression"]] = [2.0, True]
    assert model.contributions(rows.iloc[:1])["anxiety_depression"].iloc[0] < 0
    rows.loc[rows.index[1], "bmi"] = 75.0
    rows.loc[rows.index[2], "smoking"] = "chewing"
    notes = model.outside_training(rows)
    assert any("bmi 75" in n for n in notes[1])
    assert any("smoking 'chewing'" in n for n in notes[2])
    assert notes[3] == []
    typical = model.typical_patient()
    assert typical["joint"].iloc[0] == "hip"
    assert 10 < model.predict(typical)[0] < 45


def test_binary_model_metrics_recalibration_and_subgroups(episodes):
    result = train_model(episodes, _spec(COMPLICATION, validation={"metric": "auc", "cv_folds": 3, "recalibrate": "always"}))
    m = result.metrics
    test = m["test"][m["selected"]]
    assert m["events_test"] > 0
    for key in ("auc", "auc_lower", "auc_upper", "brier", "scaled_brier", "calibration_intercept", "calibration_slope", "ici", "e90"):
        assert test[key] is not None, key
    assert test["auc_lower"] < test["auc"] < test["auc_upper"]
    assert isinstance(result.model.estimator[-1], RecalibratedClassifier)
    assert result.model.predict_frame(episodes.head(3)).columns.tolist() == ["pred_complication_90d"]
    subgroups = result.subgroups
    assert set(subgroups["variable"]) == {"sex", "age_band", "hospital_id"}
    small = subgroups[subgroups["n"] < 5]
    assert small["suppressed"].all() and small["auc"].isna().all()
    assert result.model.explanation_scale == "log-odds"


def test_penalised_glm_reports_its_penalty_and_no_confidence_intervals(episodes):
    """glm.penalty: λ chosen once by CV on the training rows and fixed for every later fit; no CIs claimed."""
    from vbhc.train._registry import flat_params

    auto = train_model(episodes, _spec(COMPLICATION, glm={"family": "binomial", "penalty": {"l2": "auto"}}))
    pen = auto.metrics["glm_penalty"]
    assert pen["chosen_by"].startswith("3-fold cross-validation") and len(pen["grid"]) == len(pen["cv_deviance"])
    deviance = np.array([np.nan if d is None else d for d in pen["cv_deviance"]])
    assert pen["l2"] == pen["grid"][int(np.nanargmin(deviance))]
    glm = auto.model.explainer[-1]
    assert glm.l2 == pen["l2"] and glm.l2_path_ is None  # the final fit uses the chosen λ: no second search
    assert auto.metrics["timings_s"]["glm_penalty"] > 0

    fixed = train_model(episodes, _spec(COMPLICATION, glm={"family": "binomial", "penalty": {"l2": 40}}))
    pen = fixed.metrics["glm_penalty"]
    assert pen["l2"] == 40 and pen["chosen_by"] == "specification" and pen["confidence_intervals"] is False
    assert 1 < pen["edf"] < pen["n_terms"]
    table = fixed.coefficients
    assert table[["std_error", "ci_lower", "ci_upper", "p_value"]].isna().all().all()
    assert table["estimate"].notna().all()
    unpenalised = train_model(episodes, _spec(COMPLICATION))
    assert unpenalised.metrics["glm_penalty"] is None
    shrunk = table.set_index("term")["estimate"].drop("const").abs().sum()
    assert shrunk < unpenalised.coefficients.set_index("term")["estimate"].drop("const").abs().sum()
    card = model_card(fixed)["model_card.md"]
    section = card.split("## Transparent model coefficients")[1].split("## ")[0]
    assert "ridge (L2) penalty λ = 40 on standardised predictors, specification" in section
    assert "no standard errors, confidence intervals or p-values" in section and "ci_lower" not in section
    assert "ci_lower" in model_card(unpenalised)["model_card.md"].split("## Transparent model coefficients")[1]
    params = flat_params(fixed.spec, fixed.metrics)
    assert params["glm_penalty_l2"] == "40.0" and params["glm_l2"] == "40.0"


@pytest.fixture(scope="module")
def interaction(episodes):
    """Complications driven by an interaction (older and heavier) that boosting finds and the GLM cannot."""
    rng = np.random.default_rng(4)
    both = (episodes.age > 68) & (episodes.bmi.fillna(29) > 29)
    return episodes.assign(complication_90d=pd.array(rng.random(len(episodes)) < 1 / (1 + np.exp(2.2 - 2.5 * both)),
                                                     dtype="boolean"))


def test_boosting_is_selected_only_when_it_beats_the_glm_by_more_than_prefer_glm_within(interaction):
    hgb = {"loss": "log_loss", "max_iter": 30, "min_samples_leaf": 80}
    result = train_model(interaction, _spec(COMPLICATION, hgb=hgb))
    cv = result.metrics["cv"]
    gain = cv["hgb"]["auc"] - cv["glm"]["auc"]
    assert gain > 0.02 and result.metrics["selected"] == "hgb"
    kept = train_model(interaction, _spec(COMPLICATION, hgb=hgb, validation={**COMPLICATION["validation"],
                                                                            "prefer_glm_within": round(gain + 0.01, 3)}))
    assert kept.metrics["cv"] == cv and kept.metrics["selected"] == "glm"
    assert kept.model.candidate == "glm" and kept.model.estimator is kept.model.explainer


def test_recalibrate_auto_recalibrates_only_boosting_whose_out_of_fold_calibration_is_off(interaction):
    from vbhc.train._fit import _needs_recalibration

    # Well-calibrated boosting (out-of-fold slope CI holds 1, intercept CI holds 0): left as fitted.
    fine = train_model(interaction, _spec(COMPLICATION, hgb={"loss": "log_loss", "max_iter": 30, "min_samples_leaf": 80}))
    oof = fine.metrics["cv"]["hgb"]
    assert fine.metrics["selected"] == "hgb" and oof["calibration_slope_lower"] <= 1 <= oof["calibration_slope_upper"]
    assert fine.metrics["recalibrated"] is False and not isinstance(fine.model.estimator[-1], RecalibratedClassifier)
    # Under-fitted boosting (few small steps: predictions shrunk to the mean, slope far above 1): recalibrated.
    under = {"loss": "log_loss", "max_iter": 15, "learning_rate": 0.03, "early_stopping": False}
    shrunk = train_model(interaction, _spec(COMPLICATION, hgb=under))
    oof = shrunk.metrics["cv"]["hgb"]
    assert shrunk.metrics["selected"] == "hgb" and oof["calibration_slope_lower"] > 1
    assert shrunk.metrics["recalibrated"] is True and isinstance(shrunk.model.estimator[-1], RecalibratedClassifier)
    assert abs(shrunk.metrics["test"]["hgb"]["calibration_slope"] - 1) < oof["calibration_slope"] - 1
    # The rule itself: the GLM is never recalibrated by auto; always/never override; the intercept counts too.
    spec = _spec(COMPLICATION)
    off = {"calibration_slope_lower": 0.5, "calibration_slope_upper": 0.8,
           "calibration_intercept_lower": -0.1, "calibration_intercept_upper": 0.1}
    biased = {"calibration_slope_lower": 0.9, "calibration_slope_upper": 1.1,
              "calibration_intercept_lower": 0.2, "calibration_intercept_upper": 0.4}
    ok = {**biased, "calibration_intercept_lower": -0.1}
    assert _needs_recalibration(spec, "hgb", off) and _needs_recalibration(spec, "hgb", biased)
    assert not _needs_recalibration(spec, "hgb", ok) and not _needs_recalibration(spec, "glm", off)
    mode = lambda m: _spec(COMPLICATION, validation={**COMPLICATION["validation"], "recalibrate": m})  # noqa: E731
    assert _needs_recalibration(mode("always"), "glm", ok) and not _needs_recalibration(mode("never"), "hgb", off)
    assert not _needs_recalibration(_spec(OXFORD), "hgb", off)  # continuous models get intervals instead


def test_latest_ascertained_year_is_the_test_year(episodes):
    """2-year reoperation is unknown for 2017 operations: test on 2016, drop 2017."""
    spec = _spec(COMPLICATION, outcome="reoperation_2y", ascertainment={"followup_complete_2y": True})
    result = train_model(episodes, spec)
    assert result.metrics["test_year"] == 2016
    assert result.metrics["train_years"] == [2014, 2015]


def test_population_filter_and_nonresponse_table(episodes):
    spec = _spec(COMPLICATION, outcome="return_to_work_6m", population={"employed": True})
    result = train_model(episodes, spec)
    employed_hip = int(((episodes.joint == "hip") & episodes.employed).sum())
    assert result.attrition["n"].iloc[1] == employed_hip
    assert result.model.in_population(episodes).sum() == employed_hip
    table = train_model(episodes, _spec(OXFORD)).nonresponse.set_index(["feature", "level"])
    # The simulation makes older patients respond more often and anxious patients less.
    assert table.loc[("age", "mean"), "smd"] > 0.1
    assert table.loc[("anxiety_depression", "yes"), "responders"] < table.loc[("anxiety_depression", "yes"), "nonresponders"]


def test_response_weights_are_the_stabilised_inverse_response_probability(episodes):
    """Weight = response rate / P(respond | features), capped, then mean 1 over the responders."""
    from vbhc.train import build_pipeline
    from vbhc.train._glm import GLMClassifier
    from vbhc.train._nonresponse import response_weights

    spec = _spec(OXFORD)
    frame = episodes[episodes.joint == "hip"].reset_index(drop=True)
    responded = frame["oxford_12m"].notna().to_numpy()
    model = build_pipeline(spec, "glm").set_params(model=GLMClassifier())
    weights = response_weights(model, frame, responded, max_weight=20.0)
    p = build_pipeline(spec, "glm").set_params(model=GLMClassifier()).fit(frame, responded.astype(int))
    p = p.predict_proba(frame[responded])[:, 1]
    raw = responded.mean() / p
    assert raw.max() < 20  # no cap reached: the weights are exactly the rescaled inverse probabilities
    np.testing.assert_allclose(weights, raw / raw.mean())
    assert len(weights) == responded.sum() and weights.mean() == pytest.approx(1.0)
    # Older patients respond more often (simulation): they get smaller weights.
    age = frame.loc[responded, "age"].to_numpy()
    assert np.corrcoef(age, weights)[0, 1] < -0.3
    capped = response_weights(model, frame, responded, max_weight=1.05)  # the cap binds for many
    assert (raw > 1.05).mean() > 0.1
    np.testing.assert_allclose(capped, np.minimum(raw, 1.05) / np.minimum(raw, 1.05).mean())


def test_inverse_probability_weighting_reduces_non_response_bias(episodes):
    """Response falls steeply with age and the outcome bends with age, which the GLM (linear in age) cannot follow.

    Unweighted, the GLM fits the responders (mostly young) and misjudges the mean outcome of
    all patients; weighted by the inverse response probability it targets everybody.
    """
    rng = np.random.default_rng(11)
    frame = episodes.copy()
    age_c = (frame["age"].to_numpy() - 68) / 10
    truth = 30 + 3 * age_c - 4 * age_c**2
    responded = rng.random(len(frame)) < 1 / (1 + np.exp(-(0.5 - 1.5 * age_c)))
    frame["oxford_12m"] = np.where(responded, np.clip(truth + rng.normal(0, 4, len(frame)), 0, 48), np.nan)
    spec = dict(OXFORD, features={"numeric": ["age", "oxford_pre"]}, hgb={"loss": "squared_error", "max_iter": 30})
    plain = train_model(frame, _spec(spec))
    weighted = train_model(frame, _spec(spec, nonresponse={"weighting": "ipw", "max_weight": 50}))
    assert plain.metrics["ipw"] is False and weighted.metrics["ipw"] is True
    assert weighted.model._glm().cov_type == "HC0"
    coef = lambda r: r.coefficients.set_index("term").loc["age__age", "estimate"]  # noqa: E731
    assert abs(coef(weighted) - coef(plain)) > 0.05
    everybody = frame[(frame.joint == "hip") & (frame.operation_year < 2017)]
    target = truth[everybody.index].mean()
    bias = lambda r: abs(r.model.explainer.predict(everybody).mean() - target)  # noqa: E731
    assert bias(weighted) < 0.6 * bias(plain)
    assert bias(plain) > 1.0  # points: the bias IPW reduces is real


def test_bad_input_is_a_clear_error(episodes):
    with pytest.raises(InputError, match="missing: \\['bmi'\\]"):
        train_model(episodes.drop(columns="bmi"), _spec(OXFORD))
    with pytest.raises(InputError, match="test year 2030 has no patients"):
        train_model(episodes, _spec(OXFORD, validation={"metric": "r2", "test_year": 2030}))
    zero_cost = episodes.assign(cost_1y_dkk=0.0)
    cost = _spec(OXFORD, outcome="cost_1y_dkk", nonresponse=None, ascertainment={}, bounds=[0, None],
                 glm={"family": "gamma", "link": "log"}, hgb={"loss": "gamma"})
    with pytest.raises(InputError, match="gamma family needs positive values"):
        train_model(zero_cost, cost)
    # Tweedie allows zero outcomes (its domain check says y >= 0), and so does its boosting loss.
    some_zero = episodes.assign(cost_1y_dkk=episodes["cost_1y_dkk"].where(episodes.index % 4 != 0, 0.0))
    tweedie = _spec(OXFORD, outcome="cost_1y_dkk", nonresponse=None, ascertainment={}, bounds=[0, None],
                    glm={"family": "tweedie", "var_power": 1.5}, hgb={"loss": "poisson", "max_iter": 30})
    fitted = train_model(some_zero, tweedie)
    assert np.isfinite(fitted.metrics["cv"]["hgb"]["r2"]) and np.isfinite(fitted.metrics["test"]["hgb"]["r2"])
    with pytest.raises(InputError, match="tweedie family needs non-negative values"):
        train_model(some_zero.assign(cost_1y_dkk=-1.0), tweedie)
    tiny = episodes[episodes.operation_year == 2017].head(20)
    with pytest.raises(InputError):
        train_model(tiny, _spec(OXFORD))


def test_shipped_specifications_train_on_episode_columns(episodes):
    """Every shipped spec reads only episode columns the simulated frame has, and trains."""
    for name in ("hip-los_days", "knee-cost_1y_dkk", "all-death_90d"):
        spec = load_spec(f"models/{name}.yaml")
        fast = spec.model_copy(update={"hgb": spec.hgb.model_copy(update={"max_iter": 30})})
        result = train_model(episodes, fast)
        assert result.metrics["n_test"] > 0, name
        assert np.isfinite(result.metrics["test"]["glm"][spec.validation.metric]), name


def test_model_card_has_the_tripod_items_and_suppresses_small_cells(oxford):
    files = model_card(oxford, {"version": "3", "alias": "champion"})
    md = files["model_card.md"]
    for heading in ("Model details", "Intended use and limits", "Source of data and participants", "Outcome",
                    "Predictors and missing data", "PROM non-response", "Model development",
                    "Performance on the test year", "Subgroups", "Transparent model coefficients", "Limitations"):
        assert f"## {heading}" in md, heading
    assert "3 / champion" in md
    small = oxford.subgroups[oxford.subgroups["n"] < 5]
    if len(small):
        assert "<5" in md
    html = files["model_card.html"]
    assert "<svg" in html and "Model card: vbhc-hip-oxford_12m" in html
    assert files["calibration.svg"].lstrip().startswith("<?xml")
    coefs = pd.read_csv(pd.io.common.StringIO(files["coefficients.csv"]))
    assert {"term", "feature", "estimate", "ci_lower", "ci_upper"} <= set(coefs.columns)
    assert "person_id" not in md and "E000000000000000" not in md


def test_values_missing_only_at_prediction_are_imputed(episodes):
    """A clinician may not know every predictor: values never missing in training are imputed, not refused."""
    spec = _spec(OXFORD, glm={"family": "gaussian", "splines": {"age": 4}})
    model = train_model(episodes, spec).model
    rows = episodes[episodes.joint == "hip"].head(3).copy()
    rows["age"] = np.nan
    rows["sex"] = None
    rows["anxiety_depression"] = pd.array([pd.NA] * 3, dtype="boolean")
    for estimator in (model.estimator, model.explainer):
        assert np.isfinite(estimator.predict(rows)).all()
    # The registry stores models with skops: no pandas objects inside a fitted pipeline.
    import skops.io as sio

    blob = sio.dumps(model)
    again = sio.loads(blob, trusted=sio.get_untrusted_types(data=blob))
    np.testing.assert_allclose(again.predict(rows), model.predict(rows))
    assert np.isfinite(model.contributions(rows).to_numpy()).all()
    assert np.isfinite(model.predict_frame(rows).to_numpy()).all()


def test_secular_trend_is_extrapolated_to_the_test_year_and_not_cautioned(episodes):
    """Stays shorten by 15 % a year: with a trend the test year is calibrated, without it not."""
    rng = np.random.default_rng(3)
    years = episodes["operation_year"].to_numpy(dtype=float)
    frame = episodes.assign(los_days=rng.poisson(np.exp(1.2 - 0.15 * (years - 2014))).astype(float))
    base = dict(outcome="los_days", kind="continuous", bounds=[0, None], ascertainment={}, nonresponse=None,
                glm={"family": "poisson"}, hgb={"loss": "poisson", "max_iter": 60})
    features = {**OXFORD["features"], "trend": "operation_year"}
    with_trend = train_model(frame, _spec(OXFORD, **base, features=features))
    without = train_model(frame, _spec(OXFORD, **base))
    coef = with_trend.coefficients.set_index("term").loc["operation_year__operation_year"]
    assert coef["ci_lower"] <= -0.15 <= coef["ci_upper"]
    bias_with = abs(with_trend.metrics["test"]["glm"]["calibration_intercept"])
    bias_without = abs(without.metrics["test"]["glm"]["calibration_intercept"])
    assert bias_with < 0.1 < bias_without
    model = with_trend.model
    assert model.feature_summary["operation_year"]["typical"] == 2017
    rows = frame.head(2).assign(operation_year=2030)
    assert model.outside_training(rows) == [[], []]
    assert "operation_year" in model.feature_names



def test_model_with_too_little_data_is_skipped_not_fatal(episodes, tmp_path):
    """A scheduled run trains what it can: thin data skip one model, named with its reason."""
    from vbhc.train._fit import InsufficientDataError
    from vbhc.train._run import train_all

    ok = _spec(OXFORD)
    thin = _spec(OXFORD, name="thin-oxford", validation={"metric": "r2", "test_year": 2030})
    summary = train_all(episodes, [ok, thin], tmp_path / "out", register=False)
    assert summary.loc[summary["model"] == thin.model_name, "skipped"].str.contains("test year 2030").all()
    assert summary.loc[summary["model"] == ok.model_name, "skipped"].isna().all()
    assert (tmp_path / "out" / ok.model_name / "metrics.json").is_file()
    assert not (tmp_path / "out" / thin.model_name).exists()
    with pytest.raises(InsufficientDataError, match="no model could be trained"):
        train_all(episodes, [thin], tmp_path / "none", register=False)
    assert not (tmp_path / "none").exists()
