"""Ground truth: on a generated 20,000-person registry the shipped models come close to the oracle.

The registry comes from ``vbhc.synth`` (no dirt) and the episodes from ``vbhc prepare``
(so predictors have the registry's missing values and PROMs their non-response); the
generator's ``truth/episodes.parquet`` adds every episode's expected outcome
(``expected_<outcome>``, the oracle) and ``truth/parameters.json`` the true GLM
coefficients.  Every shipped specification in ``models/`` is trained exactly as shipped
(5-fold CV, full boosting settings).

Hospital effects are switched off (``hospital_effect_scale=0``).  The models have no
hospital term by design (an average hospital's expectation is what provider
comparison and decision support need; provider effects are what ``vbhc value``
estimates), so their target is E[outcome | case-mix].  With hospital effects on, the
generator's oracle is E[outcome | case-mix, hospital]: it knows the hospital, which the
models must not, and the gap would measure hospital variation rather than the models.
The generator writes an oracle without hospital effects only per hospital for the
derived outcomes (MIC, EQ-5D gain, cost), not per episode, so the fair comparison
is the registry without hospital effects.

Criteria (issue 5), on the temporal test year (about 1,100 episodes per joint):

1. Observed outcomes: continuous R² within 0.05 of the oracle's (literal); binary AUC
   within 0.03 of the oracle's (model minus oracle on the same patients); calibration
   slope within 0.85-1.15.  The literal AUC and slope thresholds are asserted where the
   test year can support them: where the margin is at least ``Z`` = 3 standard errors
   (paired DeLong SE of the AUC difference <= 0.01; SE of the slope <= 0.05), so a
   correct model fails by chance with probability < 0.3 %.  Elsewhere the test-year
   sampling error is larger than the margin and the bound allows ``Z`` SE of it (AUC
   difference >= -Z SE; slope ± Z SE reaching 0.85-1.15).  With this registry
   (seed 20240611) the literal AUC threshold applies to hip and knee MIC (paired SE
   0.007 and 0.005) and hip readmission (0.009), the literal slope threshold to hip and
   knee EQ-5D gain (SE 0.011, 0.017); every other binary outcome has 9-225 test-year
   events (90-day death: 9 events in 2,330 pooled episodes, paired SE of the AUC
   difference 0.05, slope SE 0.28) and the other continuous outcomes slope SEs of
   0.054-0.080.
2. Against the truth (no outcome sampling error): on the same test-year patients, the
   expected R² shortfall (sum of (oracle - prediction)² / total sum of squares), the
   expected AUC with outcomes drawn from the oracle's probabilities, and the slope of
   the oracle on the prediction (logistic on the logit for binary outcomes) are what the
   observed metrics estimate, without the noise of the outcome draws; here every
   outcome gets the literal thresholds.  Outcomes the shipped GLMs genuinely miss are
   ``xfail(strict=True)`` with their figures (:data:`SHORTFALLS`): the test fails when
   they start to pass, so the list stays true.
3. The shipped GLMs' 95 % coefficient CIs cover the true coefficients at about the
   nominal rate (terms that map one-to-one onto the generator's), and the exact true
   design fitted through vbhc's GLM pipeline covers them too.  Ridge-penalised GLMs
   (``glm.penalty``) claim no CIs; their designs are checked refitted without the
   penalty (maximum likelihood, as the unpenalised specifications).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import logit

from vbhc.core.io import read_parquet
from vbhc.train import build_pipeline, continuous_metrics, load_specs, train_model
from vbhc.train._fit import select_rows
from vbhc.train._metrics import _logistic_calibration, auc_delong, auc_difference, binary_metrics
from vbhc.train._spec import ModelSpec

pytestmark = pytest.mark.slow

PERSONS = 20_000
SEED = 20240611
Z = 3.0  # standard errors of test-year sampling error a criterion must cover to be asserted literally
AUC_MARGIN, R2_MARGIN, SLOPE_RANGE = 0.03, 0.05, (0.85, 1.15)
SPEC_NAMES = [s.model_name for s in load_specs()]

# Where the shipped models genuinely miss a literal criterion against the truth (measured on this
# registry, seed 20240611; docs/models.md has the table).  Not sampling error: these figures have
# no outcome noise.  The rare binary outcomes have weak signals (oracle AUC about 0.6) and 100-450
# training events against 10-27 GLM parameters; their GLMs are ridge-penalised with λ chosen by
# 5-fold CV of the deviance (glm.penalty.l2: auto), which lifts the slope of the truth on the
# prediction from 0.05-0.81 unpenalised, but CV's λ is noisy at these sizes (the CV deviance is
# flat around its minimum while the slope moves by about 0.1 per quarter decade of λ), so some
# land on either side of 0.85-1.15.  Strict: a model that starts to pass fails the test until it
# leaves this list.
SHORTFALLS = {
    "hip-complication_90d": "slope of the truth on the prediction 1.25 (over-shrunk: CV chose λ = 0.56 x the null "
                            "information, 17 effective of 28 parameters; unpenalised 0.81)",
    "hip-revision_2y": "slope 0.68 (96 training events, 10 parameters, λ = 0.32 x the null information; "
                       "unpenalised 0.51)",
    "knee-reoperation_2y": "slope 0.79 (187 training events, 28 parameters, λ = 0.56 x the null information; "
                           "unpenalised 0.48)",
    "knee-revision_2y": "slope 0.65: no revision among the 83 training patients with ASA class missing, nor among "
                        "those with BMI missing (separated levels: log-odds -1.4 each with the penalty, -19 without; "
                        "unpenalised 0.05)",
    "knee-mic_12m": "slope 0.83, penalty or not (CV chooses none) and with an oxford_pre spline: PROM non-response "
                    "depends on the 12-month score, so responders (the training and test rows) reach MIC more often "
                    "than the oracle (all patients) says, by about 0.25 log-odds mid-range",
}


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """Generated registry → prepared episodes with the oracle's expected outcomes; the true parameters."""
    from threadpoolctl import threadpool_limits

    from vbhc.prepare import run_prepare
    from vbhc.synth import GeneratorConfig, write_registry

    root = tmp_path_factory.mktemp("truth")
    with threadpool_limits(limits=1):
        write_registry(root / "raw", GeneratorConfig(persons=PERSONS, seed=SEED, dirty_rate=0.0, hospital_effect_scale=0.0))
        run_prepare(root / "raw", root / "prepared")
    episodes = read_parquet(root / "prepared" / "episodes.parquet")
    truth = read_parquet(root / "raw" / "truth" / "episodes.parquet")
    expected = ["episode_id", *[c for c in truth.columns if c.startswith("expected_")]]
    merged = episodes.merge(truth[expected], on="episode_id", how="left", validate="one_to_one")
    assert merged["expected_oxford_12m"].notna().mean() > 0.99, "prepared episodes should match the truth"
    params = json.loads((root / "raw" / "truth" / "parameters.json").read_text())
    # A reoperation is a revision with a fixed probability (pathway.reoperation.revision_share).
    share = params["pathway"]["reoperation"]["revision_share"]
    merged["expected_revision_2y"] = share * merged["expected_reoperation_2y"]
    return merged, params


@pytest.fixture(scope="module")
def trained(registry):
    """Every shipped specification trained once (two at a time: the fits are single-threaded)."""
    episodes, _ = registry
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda spec: train_model(episodes, spec), load_specs()))
    return {r.spec.model_name: r for r in results}


def _truth(result) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observed outcome, the selected model's prediction and the oracle on the test-year patients."""
    expected = result.test_frame[f"expected_{result.spec.outcome}"].to_numpy(float)
    return result.test_y, result.model.predict(result.test_frame), expected


def _se(m: dict[str, float]) -> float:
    return (m["calibration_slope_upper"] - m["calibration_slope_lower"]) / (2 * 1.96)


def observed_criteria(result) -> list[str]:
    """Failures of the issue's criteria on the observed test-year outcomes (literal where fair)."""
    y, pred, expected = _truth(result)
    model = result.metrics["test"][result.metrics["selected"]]  # the selected model's test-year metrics
    failures = []
    lo, hi = SLOPE_RANGE
    if result.spec.kind == "continuous":
        oracle = continuous_metrics(y, expected)["r2"]
        if model["r2"] < oracle - R2_MARGIN:
            failures.append(f"R² {model['r2']:.3f} vs oracle {oracle:.3f}")
    else:
        diff, se = auc_difference(y, pred, expected)
        margin = AUC_MARGIN if Z * se <= AUC_MARGIN else Z * se
        if diff < -margin:
            failures.append(f"AUC {diff:+.3f} vs oracle (margin {margin:.3f}, paired SE {se:.3f})")
    slope, se = model["calibration_slope"], _se(model)
    allowance = 0.0 if Z * se <= (hi - lo) / 2 else Z * se
    if slope + allowance < lo or slope - allowance > hi:
        failures.append(f"calibration slope {slope:.3f} (SE {se:.3f}, allowance {allowance:.3f})")
    return failures


def expected_auc(p: np.ndarray, score: np.ndarray) -> float:
    """AUC of ``score`` expected when each outcome is drawn Bernoulli(``p``) (ratio of expectations).

    Sum over pairs i != j of p_i (1 - p_j) [score_i > score_j] (ties one half), divided by
    the sum of p_i (1 - p_j): the AUC on these patients without the noise of the outcome draws.
    """
    p, score = np.asarray(p, float), np.asarray(score, float)
    q = 1 - p
    levels, inverse = np.unique(score, return_inverse=True)
    q_at = np.bincount(inverse, weights=q, minlength=len(levels))
    q_below = np.concatenate([[0.0], np.cumsum(q_at)[:-1]])
    concordant = np.sum(p * (q_below[inverse] + 0.5 * (q_at[inverse] - q)))
    return float(concordant / (p.sum() * q.sum() - np.sum(p * q)))


def truth_criteria(result) -> tuple[list[str], dict[str, float]]:
    """Failures of the literal criteria against the truth (no outcome sampling error), and the figures."""
    y, pred, expected = _truth(result)
    lo, hi = SLOPE_RANGE
    failures = []
    if result.spec.kind == "continuous":
        shortfall = float(np.sum((expected - pred) ** 2) / np.sum((y - y.mean()) ** 2))
        slope = float(stats.linregress(pred, expected).slope)
        figures = {"r2_shortfall": shortfall, "slope": slope}
        if shortfall > R2_MARGIN:
            failures.append(f"expected R² {shortfall:.3f} below the oracle's")
    else:
        diff = expected_auc(expected, pred) - expected_auc(expected, expected)
        slope = _logistic_calibration(expected, logit(np.clip(pred, 1e-6, 1 - 1e-6)))["calibration_slope"]
        figures = {"auc_difference": diff, "slope": slope}
        if diff < -AUC_MARGIN:
            failures.append(f"expected AUC {diff:+.3f} vs the oracle's")
    if not lo <= slope <= hi:
        failures.append(f"slope of the truth on the prediction {slope:.3f}")
    return failures, figures


def test_observed_test_year_performance_is_close_to_the_oracle(trained):
    failures, comparator_fails = [], 0
    for name, result in trained.items():
        failures += [f"{name}: {f}" for f in observed_criteria(result)]
        # Power: the literal margins reject the pre-op-score-only comparator for most outcomes.
        y, _, expected = _truth(result)
        comparator = result.metrics["test"]["comparator"]
        if result.spec.kind == "binary":
            comparator_fails += comparator["auc"] < auc_delong(y, expected)[0] - AUC_MARGIN
        else:
            comparator_fails += comparator["r2"] < continuous_metrics(y, expected)["r2"] - R2_MARGIN
    assert not failures, "; ".join(failures)
    assert comparator_fails >= 15, f"the margins reject the pre-op-only comparator for only {comparator_fails} of {len(trained)}"


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=SHORTFALLS[n])) if n in SHORTFALLS else n
     for n in SPEC_NAMES],
)
def test_predictions_are_close_to_the_truth(trained, name):
    failures, figures = truth_criteria(trained[name])
    assert not failures, f"{name}: {'; '.join(failures)} ({figures})"


def test_criteria_have_power():
    """A prediction with a flattened signal fails the truth criteria; sampling noise alone does not."""
    rng = np.random.default_rng(5)
    p = 1 / (1 + np.exp(-rng.normal(-2, 0.8, 5000)))
    assert expected_auc(p, p) > expected_auc(p, p + rng.normal(0, 0.2, len(p))) + AUC_MARGIN
    assert abs(expected_auc(p, p) - binary_metrics(rng.random(len(p)) < p, p)["auc"]) < 0.03
    flat = 1 / (1 + np.exp(-(-2 + 0.5 * (logit(p) + 2))))
    assert _logistic_calibration(p, logit(flat))["calibration_slope"] > SLOPE_RANGE[1]


# -- coefficients ----------------------------------------------------------------------
# Outcomes whose truth is an exact GLM on the linear-predictor scale and whose shipped
# specification contains every true term (the Oxford score is censored at 0-48, costs
# are a sum of parts, 90-day death's specification leaves out smoking and indication,
# and revision is a share of reoperations, so their coefficients are not a GLM's).
EXACT_GLMS = {
    "complication_90d": ("binomial", {}),
    "readmission_90d": ("binomial", {}),
    "reoperation_2y": ("binomial", {"followup_complete_2y": True}),
    "los_days": ("poisson", {}),
    "return_to_work_6m": ("binomial", {"employed": True}),
}
# Shipped GLM term -> (generator term, factor): model coefficient = factor x true coefficient.
# Age (a spline against the truth's quadratic) and alcohol (linear against > 14 units) do not map.
SHIPPED_TERMS = {
    "sex__sex_M": ("female", -1.0),
    "asa_class__asa_class_2": ("asa2", 1.0),
    "asa_class__asa_class_3": ("asa3", 1.0),
    "asa_class__asa_class_4": ("asa4", 1.0),
    "smoking__smoking_current": ("smoking_current", 1.0),
    "smoking__smoking_former": ("smoking_former", 1.0),
    "indication__indication_dysplasia": ("ind_dysplasia", 1.0),
    "indication__indication_fracture_sequelae": ("ind_fracture_sequelae", 1.0),
    "indication__indication_osteonecrosis": ("ind_osteonecrosis", 1.0),
    "indication__indication_other": ("ind_other", 1.0),
    "indication__indication_rheumatoid_arthritis": ("ind_rheumatoid_arthritis", 1.0),
    "arthroplasty_type__arthroplasty_type_partial": ("partial", 1.0),
    "bmi__bmi": ("bmi_c", 1 / 5),  # bmi_c = (bmi - 30) / 5
    "charlson_index__charlson_index": ("charlson", 1.0),
    "prior_inpatient_2y__prior_inpatient_2y": (None, 0.0),  # not in the truth: 0
    "operation_year__operation_year": ("year_c", 1.0),
    "anxiety_depression__anxiety_depression": ("anxiety_depression", 1.0),
    "bilateral_same_day__bilateral_same_day": ("bilateral", 1.0),
    "employment_status__employment_status_sick_listed": ("sick_listed", 1.0),
    "sickness_benefit_weeks_1y__sickness_benefit_weeks_1y": ("sickness_weeks_c", 1 / 10),
    "oxford_pre__oxford_pre": ("oxford_pre_c", 1 / 10),
}


def test_shipped_glm_confidence_intervals_cover_the_true_coefficients(trained, registry):
    """The shipped GLMs (median imputation, missing indicators, splines) as trained above.

    A ridge-penalised GLM reports no CIs (its estimates are shrunk, a Wald interval would
    not have its nominal coverage); its design is refitted by maximum likelihood instead.
    """
    episodes, params = registry
    hits, missed, refitted = [], [], 0
    for name, result in trained.items():
        outcome = result.spec.outcome
        if outcome not in EXACT_GLMS:
            continue
        table = result.coefficients.set_index("term")
        if result.model._glm().results_.penalised:
            assert table[["std_error", "ci_lower", "ci_upper", "p_value"]].isna().all().all(), name
            rows = select_rows(episodes, result.spec)
            glm = build_pipeline(result.spec, "glm", l2=0.0).fit(rows.X_train, rows.y_train)[-1]
            table = glm.results().summary_frame().set_index("term")
            refitted += 1
        truth = params["outcomes"][outcome]["coefficients"]
        for term, (true_term, factor) in SHIPPED_TERMS.items():
            if term not in table.index:
                continue
            true = factor * float(truth.get(true_term, 0.0)) if true_term else 0.0
            lo, hi = table.loc[term, ["ci_lower", "ci_upper"]]
            hits.append(lo <= true <= hi)
            if not hits[-1]:
                missed.append(f"{name}:{term} true {true:+.3f} CI [{lo:+.3f}, {hi:+.3f}]")
    rate = float(np.mean(hits))
    assert refitted >= 5 and len(hits) > 150
    assert 0.90 <= rate <= 0.99, f"coverage {rate:.3f} over {len(hits)} coefficients; missed: {missed}"


BASE_TERMS = ["knee", "partial", "age_c", "age_c2", "female", "bmi_c", "asa2", "asa3", "asa4", "smoking_current",
              "smoking_former", "alcohol_high", "charlson", "anxiety_depression", "ind_rheumatoid_arthritis",
              "ind_osteonecrosis", "ind_dysplasia", "ind_fracture_sequelae", "ind_other", "oxford_pre_c", "year_c",
              "bilateral"]


def _true_design(frame: pd.DataFrame, terms: list[str]) -> pd.DataFrame:
    """The generator's GLM features (vbhc.synth.design_matrix) as columns ``tx_<term>``."""
    from vbhc.synth import design_matrix

    cols = {c: frame[c].to_numpy() for c in ("joint", "arthroplasty_type", "age", "sex", "bmi", "asa_class", "smoking",
                                              "alcohol_units_week", "charlson_index", "anxiety_depression", "indication",
                                              "oxford_pre", "operation_year", "bilateral_same_day", "employment_status",
                                              "sickness_benefit_weeks_1y")}
    cols = {k: (v.astype(float) if v.dtype.kind in "iuf" or str(v.dtype) in ("Int8", "Int16") else v) for k, v in cols.items()}
    x = design_matrix(cols)
    return pd.DataFrame({f"tx_{t}": x[t] for t in terms}, index=frame.index)


def test_true_design_confidence_intervals_cover_the_true_coefficients(registry):
    """The exact true design (pooled joints, complete cases) through vbhc's GLM pipeline: nominal coverage."""
    episodes, params = registry
    needed = ["bmi", "asa_class", "smoking", "alcohol_units_week", "oxford_pre"]
    complete = episodes.dropna(subset=needed)
    hits, details = [], []
    for outcome, (family, filters) in EXACT_GLMS.items():
        truth = params["outcomes"][outcome]
        terms = BASE_TERMS + (["sick_listed", "sickness_weeks_c"] if outcome == "return_to_work_6m" else [])
        rows = complete
        for col, value in filters.items():
            rows = rows[rows[col].fillna(False) == value]
        rows = rows[rows[outcome].notna()]
        frame = _true_design(rows, terms)
        spec = ModelSpec.model_validate({
            "description": f"true design of {outcome}", "joint": "all", "outcome": outcome,
            "kind": "binary" if family == "binomial" else "continuous",
            "features": {"numeric": [f"tx_{t}" for t in terms]},
            "comparator": ["tx_age_c"], "glm": {"family": family},
            "hgb": {"loss": "log_loss" if family == "binomial" else "poisson"},
            "validation": {"metric": "auc" if family == "binomial" else "r2"},
        })
        pipe = build_pipeline(spec, "glm")
        pipe.fit(frame, rows[outcome].astype(float).to_numpy())
        table = pipe[-1].results().summary_frame().set_index("term")
        for t in terms:
            true = float(truth["coefficients"].get(t, 0.0))
            lo, hi = table.loc[f"tx_{t}__tx_{t}", ["ci_lower", "ci_upper"]]
            hits.append(lo <= true <= hi)
            details.append(f"{outcome}:{t} true {true:+.2f} CI [{lo:+.2f}, {hi:+.2f}]")
    rate = float(np.mean(hits))
    missed = [d for d, h in zip(details, hits, strict=True) if not h]
    assert 0.88 <= rate <= 0.99, f"coverage {rate:.3f} over {len(hits)} coefficients; missed: {missed}"
