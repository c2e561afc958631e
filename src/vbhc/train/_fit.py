"""Train one outcome model from its specification: temporal split, CV, candidates, evaluation.

:func:`train_model` is a pure function of the episodes frame and the specification;
it returns a :class:`TrainingResult` holding the fitted :class:`OutcomeModel` and every
figure and table of its validation (TRIPOD).  Writing files and MLflow logging happen
in the CLI (:mod:`vbhc.train.cli`) and :mod:`vbhc.train._registry`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold, StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline

from vbhc.core.config import config_hash
from vbhc.core.errors import InputError
from vbhc.core.log import get_logger
from vbhc.train._features import EpisodeFeatures, glm_preprocessor, hgb_preprocessor, unknown_levels_allowed
from vbhc.train._glm import VARIANCE_POWER, GLMClassifier, GLMRegressor
from vbhc.train._metrics import (
    auc_delong,
    auc_difference,
    binary_metrics,
    calibration_table,
    continuous_metrics,
    direction,
    subgroup_metrics,
)
from vbhc.train._model import OutcomeModel, clip_to, filter_mask, summarise_features
from vbhc.train._nonresponse import response_table, response_weights
from vbhc.train._spec import FeatureSpec, ModelSpec
from vbhc.train._wrappers import ConformalRegressor, RecalibratedClassifier

log = get_logger("vbhc.train")

YEAR_COLUMN = "operation_year"
GROUP_COLUMN = "person_id"  # used only to keep a person's episodes in one CV fold; never reported
MIN_TRAIN_ROWS = 30
PARALLEL_MIN_ROWS = 20_000
"""Below this many training rows, fits run single-threaded: OpenMP/BLAS threads cost more
than they give on small data, and much more on a busy machine."""
CANDIDATES = ("glm", "hgb", "comparator")


@dataclass
class TrainingResult:
    """Everything :func:`train_model` produced for one specification.

    ``metrics`` is JSON-ready (written as ``metrics.json``); the DataFrames are the
    model card's tables; ``test_frame`` / ``test_y`` (kept in memory only) let the
    registry compare a new version with the current champion on the same patients.
    """

    spec: ModelSpec
    model: OutcomeModel
    metrics: dict[str, Any]
    coefficients: pd.DataFrame
    subgroups: pd.DataFrame
    calibration: pd.DataFrame
    attrition: pd.DataFrame
    predictors: pd.DataFrame
    nonresponse: pd.DataFrame | None
    test_frame: pd.DataFrame = field(repr=False)
    test_y: np.ndarray = field(repr=False)
    timings: dict[str, float] = field(default_factory=dict)


# -- estimators ------------------------------------------------------------------------

class InsufficientDataError(InputError):
    """The data hold too few patients, events or years to train and test one model.

    ``vbhc train`` skips such a model with a warning and trains the others; a
    service that needs the model then refuses to start, naming it.
    """


def _glm_estimator(spec: ModelSpec, *, robust: bool, l2: float | str):
    penalty = {"l2": l2, "cv": spec.validation.cv_folds, "random_state": spec.seed}
    cov = "HC0" if robust else "nonrobust"
    if spec.kind == "binary":
        return GLMClassifier(cov_type=cov, **penalty)
    g = spec.glm
    return GLMRegressor(family=g.family, link=g.link, var_power=g.var_power, nb_alpha=g.nb_alpha, cov_type=cov, **penalty)


def spec_l2(spec: ModelSpec) -> float | str:
    """The specification's ridge penalty of the GLM: a number, ``"auto"``, or 0 (none)."""
    return spec.glm.penalty.l2 if spec.glm.penalty is not None else 0.0


def build_pipeline(spec: ModelSpec, candidate: str, *, robust: bool = False, l2: float | None = None) -> Pipeline:
    """Unfitted pipeline of a candidate: ``glm``, ``hgb`` or ``comparator`` (GLM on the comparator features).

    The GLM gets the specification's ridge penalty (``glm.penalty``; ``auto`` chooses it
    by cross-validation when fitted) unless ``l2`` fixes it; the comparator, the
    simple baseline, is never penalised.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    f = spec.features
    if candidate == "comparator":
        f = _comparator_features(spec)
    numeric = f.numeric_with_trend
    select = EpisodeFeatures(numeric=numeric, categorical=f.categorical, boolean=f.boolean)
    if candidate in ("glm", "comparator"):
        splines = spec.glm.splines if candidate == "glm" else {}
        prep = glm_preprocessor(numeric, f.categorical, f.boolean, splines=splines, reference_levels=f.reference_levels)
        penalty = 0.0 if candidate == "comparator" else (spec_l2(spec) if l2 is None else l2)
        model = _glm_estimator(spec, robust=robust, l2=penalty)
        return Pipeline([("features", select), ("prep", prep), ("model", model)])
    if candidate != "hgb":
        raise ValueError(f"unknown candidate {candidate!r}")
    h = spec.hgb
    settings = {
        **h.model_dump(exclude={"loss"}),  # the spec's keys are HistGradientBoosting's parameter names
        "categorical_features": list(range(len(f.categorical))) or None,
        "random_state": spec.seed,
    }
    model = (
        HistGradientBoostingClassifier(**settings)
        if spec.kind == "binary"
        else HistGradientBoostingRegressor(loss=h.loss, **settings)
    )
    prep = hgb_preprocessor(numeric, f.categorical, f.boolean)
    return Pipeline([("features", select), ("prep", prep), ("model", model)])


def _comparator_features(spec: ModelSpec) -> FeatureSpec:
    f = spec.features
    return FeatureSpec(
        numeric=[c for c in spec.comparator if c not in f.categorical and c not in f.boolean],
        categorical=[c for c in spec.comparator if c in f.categorical],
        boolean=[c for c in spec.comparator if c in f.boolean],
        reference_levels={k: v for k, v in f.reference_levels.items() if k in spec.comparator},
    )


def variance_power(spec: ModelSpec) -> float:
    """How the conformal interval width scales with the mean (0 Gaussian, 1 Poisson, 2 Gamma)."""
    p = VARIANCE_POWER[spec.glm.family]
    return spec.glm.var_power if p is None else p


def _finalise(spec: ModelSpec, pipe: Pipeline, recalibrate: bool) -> Pipeline:
    """Wrap the last step: split-conformal intervals (continuous) or logistic recalibration (binary)."""
    model = pipe.steps[-1][1]
    if spec.kind == "continuous":
        wrapped = ConformalRegressor(
            model,
            coverage=spec.validation.interval_coverage,
            calibration_size=spec.validation.calibration_size,
            variance_power=variance_power(spec),
            random_state=spec.seed,
        )
    elif recalibrate:
        wrapped = RecalibratedClassifier(model, cv=spec.validation.cv_folds, random_state=spec.seed)
    else:
        return pipe
    return Pipeline([*pipe.steps[:-1], ("model", wrapped)])


# -- rows ------------------------------------------------------------------------------
def _outcome_values(frame: pd.DataFrame, spec: ModelSpec) -> np.ndarray:
    col = frame[spec.outcome]
    if spec.kind == "binary":
        return col.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    return pd.to_numeric(col, errors="coerce").astype("Float64").to_numpy(dtype=float, na_value=np.nan)


def _check_columns(episodes: pd.DataFrame, spec: ModelSpec) -> None:
    needed = {YEAR_COLUMN, *[c for cols in spec.columns_used.values() for c in cols]}
    needed -= set(spec.validation.subgroups)
    missing = sorted(c for c in needed if c not in episodes)
    if missing:
        raise InputError(
            f"columns needed by model {spec.model_name!r} are missing: {missing}", table=spec.table
        )


def _check_domain(spec: ModelSpec, y: np.ndarray) -> None:
    """The outcome must suit the GLM family: Gamma positive, Poisson/Tweedie non-negative."""
    family = spec.glm.family
    if family == "gamma" and np.any(y <= 0):
        bad, rule = int((y <= 0).sum()), "gamma family needs positive values"
    elif family in ("poisson", "negative_binomial", "tweedie") and np.any(y < 0):
        bad, rule = int((y < 0).sum()), f"{family} family needs non-negative values"
    else:
        return
    raise InputError(
        f"model {spec.model_name!r}: {bad} rows do not fit ({rule}); choose another family in the specification",
        table=spec.table, column=spec.outcome, rule=rule,
    )


def _choose_test_year(years: np.ndarray, pop: np.ndarray, asc_obs: np.ndarray, asc: np.ndarray, spec: ModelSpec) -> int:
    """The held-out year: as specified, or the latest year whose outcome is ascertained."""
    v = spec.validation
    candidates = sorted(set(years[pop].tolist()))
    if isinstance(v.test_year, int):
        if not np.any(asc_obs & (years == v.test_year)):
            raise InsufficientDataError(
                f"model {spec.model_name!r}: test year {v.test_year} has no patients with the outcome",
                table=spec.table, column=YEAR_COLUMN,
            )
        return v.test_year
    for year in reversed(candidates):
        in_year = pop & (years == year)
        share = asc[in_year].mean() if in_year.any() else 0.0
        if share >= v.min_ascertained_share and np.sum(asc_obs & (years == year)) >= v.min_test_rows:
            return int(year)
    raise InsufficientDataError(
        f"model {spec.model_name!r}: no operation year has the outcome ascertained for "
        f"{v.min_ascertained_share:.0%} of its patients and at least {v.min_test_rows} patients with it",
        table=spec.table, column=YEAR_COLUMN,
    )


def _cv_splits(spec: ModelSpec, frame: pd.DataFrame, y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    k = spec.validation.cv_folds
    if spec.kind == "binary":
        k = max(2, min(k, int(min(y.sum(), len(y) - y.sum()))))
    groups = pd.factorize(frame[GROUP_COLUMN])[0] if GROUP_COLUMN in frame else None
    dummy = np.zeros(len(y))
    if spec.kind == "binary":
        if groups is not None:
            return list(StratifiedGroupKFold(k, shuffle=True, random_state=spec.seed).split(dummy, y, groups))
        return list(StratifiedKFold(k, shuffle=True, random_state=spec.seed).split(dummy, y))
    if groups is not None:
        return list(GroupKFold(k, shuffle=True, random_state=spec.seed).split(dummy, y, groups))
    return list(KFold(k, shuffle=True, random_state=spec.seed).split(dummy))


def _predict(spec: ModelSpec, pipe, X: pd.DataFrame) -> np.ndarray:
    with unknown_levels_allowed():
        if spec.kind == "binary":
            return np.asarray(pipe.predict_proba(X), dtype=float)[:, 1]
        pred = np.asarray(pipe.predict(X), dtype=float)
    return clip_to(pred, spec.bounds)


def _metrics(spec: ModelSpec, y: np.ndarray, pred: np.ndarray, interval=None) -> dict[str, float]:
    if spec.kind == "binary":
        return binary_metrics(y, pred)
    lower, upper = interval if interval is not None else (None, None)
    return continuous_metrics(y, pred, lower, upper)


def _needs_recalibration(spec: ModelSpec, candidate: str, m: dict[str, float]) -> bool:
    """``always``; ``never``; ``auto``: boosting whose out-of-fold calibration is off.

    A maximum-likelihood logistic GLM is calibrated in the large by construction, and
    out-of-fold slopes pooled over folds understate its slope when the signal is weak,
    so ``auto`` leaves the GLM alone; boosting is recalibrated when the out-of-fold
    calibration intercept or slope CI excludes the ideal (0 and 1).
    """
    mode = spec.validation.recalibrate
    if spec.kind != "binary" or mode == "never":
        return False
    if mode == "always":
        return True
    if candidate != "hgb":
        return False
    slope_off = not (m.get("calibration_slope_lower", 1) <= 1 <= m.get("calibration_slope_upper", 1))
    citl_off = not (m.get("calibration_intercept_lower", 0) <= 0 <= m.get("calibration_intercept_upper", 0))
    return bool(slope_off or citl_off)


def _fit(pipe: Pipeline, X: pd.DataFrame, y: np.ndarray, weights: np.ndarray | None) -> Pipeline:
    with unknown_levels_allowed():
        if weights is None:
            return pipe.fit(X, y)
        return pipe.fit(X, y, model__sample_weight=weights)


def _round(d: dict[str, Any], digits: int = 6) -> dict[str, Any]:
    return {k: (round(v, digits) if isinstance(v, float) and np.isfinite(v) else (None if isinstance(v, float) else v))
            for k, v in d.items()}


# -- the procedure ------------------------------------------------------------------
@dataclass
class Rows:
    """The rows of one model: training and test frames, outcome values and their flow."""

    X_train: pd.DataFrame
    y_train: np.ndarray
    X_test: pd.DataFrame
    y_test: np.ndarray
    test_year: int
    train_years: list[int]
    attrition: pd.DataFrame
    nonresponse: pd.DataFrame | None
    weights: np.ndarray | None


def select_rows(episodes: pd.DataFrame, spec: ModelSpec) -> Rows:
    """The spec's joint and population; outcome ascertained; training years and the test year.

    The test year is the latest operation year whose outcome is ascertained for
    ``min_ascertained_share`` of its population (unless given); later years are left
    out.  PROM specs (``nonresponse``) keep non-responders for the response table and,
    with ``weighting: ipw``, the inverse-probability-of-response weights of the
    training responders.
    """
    _check_columns(episodes, spec)
    frame = episodes if spec.joint == "all" else episodes[episodes["joint"] == spec.joint]
    frame = frame.reset_index(drop=True)
    attrition = [{"step": f"episodes ({'both joints' if spec.joint == 'all' else spec.joint})", "n": len(frame)}]
    pop = filter_mask(frame, spec.population, key="population", table=spec.table)
    if spec.population:
        attrition.append({"step": f"in the population ({_describe(spec.population)})", "n": int(pop.sum())})
    asc = pop & filter_mask(frame, spec.ascertainment, key="ascertainment", table=spec.table)
    if spec.ascertainment:
        attrition.append({"step": f"outcome ascertained ({_describe(spec.ascertainment)})", "n": int(asc.sum())})
    y_all = _outcome_values(frame, spec)
    observed = ~np.isnan(y_all)
    years = pd.to_numeric(frame[YEAR_COLUMN], errors="coerce").to_numpy(dtype=float)
    test_year = _choose_test_year(years, pop, asc & observed, asc, spec)
    first = spec.validation.first_train_year
    in_train_years = (years < test_year) & (years >= (first if first is not None else -np.inf))
    train_all = asc & in_train_years
    test_all = asc & (years == test_year)
    attrition.append({"step": f"in the training years (< {test_year}) or the test year ({test_year})", "n": int((train_all | test_all).sum())})
    label = "responded (outcome reported)" if spec.nonresponse is not None else "outcome present"
    attrition.append({"step": f"{label}: training", "n": int((train_all & observed).sum())})
    attrition.append({"step": f"{label}: test", "n": int((test_all & observed).sum())})

    train_mask, test_mask = train_all & observed, test_all & observed
    y_train, y_test = y_all[train_mask], y_all[test_mask]
    if len(y_train) < MIN_TRAIN_ROWS:
        raise InsufficientDataError(
            f"model {spec.model_name!r}: only {len(y_train)} training rows with the outcome (need {MIN_TRAIN_ROWS})",
            table=spec.table, column=spec.outcome,
        )
    if spec.kind == "binary" and min(y_train.sum(), len(y_train) - y_train.sum()) < spec.validation.cv_folds:
        raise InsufficientDataError(
            f"model {spec.model_name!r}: {int(y_train.sum())} events in {len(y_train)} training rows is too few "
            f"for {spec.validation.cv_folds}-fold cross-validation",
            table=spec.table, column=spec.outcome,
        )
    _check_domain(spec, np.concatenate([y_train, y_test]))
    if spec.features.trend and len(set(years[train_mask].tolist())) < 2:
        raise InsufficientDataError(
            f"model {spec.model_name!r}: a trend needs at least 2 training years", table=spec.table, column=spec.features.trend
        )

    nonresponse_table = None
    weights = None
    if spec.nonresponse is not None:
        pool = train_all | test_all
        nonresponse_table = response_table(
            frame[pool], observed[pool], numeric=spec.features.numeric,
            categorical=spec.features.categorical, boolean=spec.features.boolean,
        )
        responders = observed[train_all]
        if spec.nonresponse.weighting == "ipw" and (~responders).sum() >= 5:
            response_model = build_pipeline(spec, "glm").set_params(model=GLMClassifier())
            weights = response_weights(
                response_model, frame[train_all].reset_index(drop=True), responders,
                max_weight=spec.nonresponse.max_weight,
            )
    return Rows(
        X_train=frame[train_mask].reset_index(drop=True),
        y_train=y_train,
        X_test=frame[test_mask].reset_index(drop=True),
        y_test=y_test,
        test_year=test_year,
        train_years=sorted(set(years[train_mask].astype(int).tolist())),
        attrition=pd.DataFrame(attrition),
        nonresponse=nonresponse_table,
        weights=weights,
    )


def _describe(filters: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in filters.items())


def train_model(episodes: pd.DataFrame, spec: ModelSpec) -> TrainingResult:
    """Fit and validate one outcome model.

    1. Rows (:func:`select_rows`): joint, population, ascertained outcome; earlier
       years train, the test year is held out.
    2. Candidates: transparent GLM, gradient boosting and the pre-op-score-only
       comparator, compared by K-fold CV inside the training years (a person's
       episodes stay in one fold).  Boosting is selected only if it beats the GLM by
       more than ``prefer_glm_within``.
    3. Final fits on the training years: continuous models get split-conformal
       intervals; a selected boosting model is recalibrated when its out-of-fold
       calibration is off (``recalibrate: auto``; ``always``/``never`` as configured).
    4. Temporal test: metrics of every candidate, calibration table, subgroups,
       external reference (if configured).

    Fits on fewer than :data:`PARALLEL_MIN_ROWS` training rows run single-threaded.
    """
    from threadpoolctl import threadpool_limits

    t0 = time.perf_counter()
    rows = select_rows(episodes, spec)
    timings = {"select_rows": round(time.perf_counter() - t0, 3)}
    with threadpool_limits(limits=1 if len(rows.y_train) < PARALLEL_MIN_ROWS else None):
        result = _fit_and_evaluate(spec, rows, timings)
    timings["total"] = round(time.perf_counter() - t0, 3)
    return result


def choose_penalty(spec: ModelSpec, X: pd.DataFrame, y: np.ndarray, weights: np.ndarray | None) -> dict[str, Any] | None:
    """The GLM's ridge penalty for this training set: as specified, or chosen by CV (``auto``).

    ``auto`` fits the GLM pipeline once on the training rows (preprocessing fitted on
    them) with ``validation.cv_folds``-fold cross-validation of the deviance over the
    penalty path (:func:`vbhc.train._glm.choose_l2`); every later GLM fit of this
    model (the candidates' CV, the final fit) uses the chosen λ, so the search runs
    once per model rather than once per fold.  Returns None without a penalty, else
    ``l2`` (λ), ``chosen_by`` and, for ``auto``, the path tried (``grid``,
    ``cv_deviance``) and ``relative`` (λ over the null information of one standardised
    column: a lone standardised coefficient shrinks by about 1/(1 + relative)).
    """
    l2 = spec_l2(spec)
    if l2 == 0:
        return None
    if l2 != "auto":
        return {"l2": float(l2), "chosen_by": "specification"}
    glm = _fit(build_pipeline(spec, "glm", robust=weights is not None), X, y, weights)[-1]
    path = glm.l2_path_
    return {
        "l2": float(glm.l2_),
        "chosen_by": f"{glm.cv}-fold cross-validation of the deviance (training years)",
        "relative": float(glm.l2_ / glm.l2_unit_),
        "grid": [float(v) for v in path[:, 0]],
        "cv_deviance": [float(v) if np.isfinite(v) else None for v in path[:, 1]],
    }


def _fit_and_evaluate(spec: ModelSpec, rows: Rows, timings: dict[str, float]) -> TrainingResult:
    X_train, y_train, X_test, y_test = rows.X_train, rows.y_train, rows.X_test, rows.y_test
    weights, test_year, train_years = rows.weights, rows.test_year, rows.train_years
    robust = weights is not None
    # The GLM's ridge penalty (chosen once, on the training rows).
    t1 = time.perf_counter()
    penalty = choose_penalty(spec, X_train, y_train, weights)
    l2 = penalty["l2"] if penalty else 0.0
    timings["glm_penalty"] = round(time.perf_counter() - t1, 3)
    # Cross-validation inside the training years.
    t1 = time.perf_counter()
    splits = _cv_splits(spec, X_train, y_train)
    cv_metrics: dict[str, dict[str, float]] = {}
    oof: dict[str, np.ndarray] = {}
    fit_params = {} if weights is None else {"model__sample_weight": weights}
    for cand in CANDIDATES:
        pipe = build_pipeline(spec, cand, robust=robust, l2=l2)
        method = "predict_proba" if spec.kind == "binary" else "predict"
        with unknown_levels_allowed():
            pred = cross_val_predict(pipe, X_train, y_train, cv=splits, method=method, params=fit_params)
        pred = pred[:, 1] if spec.kind == "binary" else clip_to(pred, spec.bounds)
        oof[cand] = pred
        cv_metrics[cand] = _metrics(spec, y_train, pred)
    timings["cross_validation"] = round(time.perf_counter() - t1, 3)

    metric = spec.validation.metric
    sign = direction(metric)
    gain = sign * (cv_metrics["hgb"][metric] - cv_metrics["glm"][metric])
    selected = "hgb" if gain > spec.validation.prefer_glm_within else "glm"

    # Final fits on all training rows.
    t2 = time.perf_counter()
    fitted: dict[str, Pipeline] = {}
    recalibrated: dict[str, bool] = {}
    for cand in CANDIDATES:
        # Only the selected model is recalibrated (the others are fitted for comparison).
        recal = cand == selected and _needs_recalibration(spec, cand, cv_metrics[cand])
        recalibrated[cand] = recal
        pipe = _finalise(spec, build_pipeline(spec, cand, robust=robust, l2=l2), recal)
        fitted[cand] = _fit(pipe, X_train, y_train, weights)
    timings["final_fit"] = round(time.perf_counter() - t2, 3)

    # Temporal test.
    t3 = time.perf_counter()
    test_metrics: dict[str, dict[str, float]] = {}
    test_pred: dict[str, np.ndarray] = {}
    for cand in CANDIDATES:
        pred = _predict(spec, fitted[cand], X_test)
        interval = None
        if spec.kind == "continuous":
            with unknown_levels_allowed():
                lower, upper = fitted[cand][-1].predict_interval(fitted[cand][:-1].transform(X_test))
            lower, upper = clip_to(lower, spec.bounds), clip_to(upper, spec.bounds)
            interval = (lower, upper)
        test_pred[cand] = pred
        test_metrics[cand] = _metrics(spec, y_test, pred, interval)
    chosen = test_pred[selected]
    sub_frame = X_test[[c for c in spec.validation.subgroups if c in X_test]].copy()
    sub_frame["y"], sub_frame["pred"] = y_test, chosen
    subgroups = subgroup_metrics(sub_frame, spec.validation.subgroups, spec.kind)
    calib = calibration_table(y_test, chosen, spec.kind)
    reference = _reference_comparison(spec, X_test, y_test, chosen)
    timings["test_evaluation"] = round(time.perf_counter() - t3, 3)

    f = spec.features
    features = {"numeric": f.numeric_with_trend, "categorical": f.categorical, "boolean": f.boolean}
    model = OutcomeModel(
        name=spec.model_name,
        table=spec.table,
        outcome=spec.outcome,
        joint=spec.joint,
        kind=spec.kind,
        unit=spec.unit,
        bounds=spec.bounds,
        features=features,
        population=dict(spec.population),
        estimator=fitted[selected],
        explainer=fitted["glm"],
        candidate=selected,
        recalibrated=recalibrated[selected],
        training_period=(train_years[0], train_years[-1]),
        test_year=test_year,
        n_train=len(y_train),
        test_metrics=_round(test_metrics[selected]),
        feature_summary=summarise_features(X_train, features, trend=(f.trend, test_year) if f.trend else None),
        interval_coverage=spec.validation.interval_coverage if spec.kind == "continuous" else None,
        spec_hash=config_hash(spec),
    )
    predictors = _predictor_table(spec, X_train, X_test)
    if penalty is not None:
        glm_results = model._glm().results_
        penalty = {**penalty, "edf": round(glm_results.edf, 3), "n_terms": int(np.sum(~glm_results.aliased)),
                   "confidence_intervals": not glm_results.penalised}
    metrics = {
        "model": spec.model_name,
        "registered_name": spec.registered_name,
        "description": spec.description,
        "outcome": spec.outcome,
        "joint": spec.joint,
        "kind": spec.kind,
        "unit": spec.unit,
        "metric": metric,
        "selected": selected,
        "recalibrated": recalibrated[selected],
        "train_years": train_years,
        "test_year": test_year,
        "n_train": int(len(y_train)),
        "n_test": int(len(y_test)),
        "events_train": int(y_train.sum()) if spec.kind == "binary" else None,
        "events_test": int(y_test.sum()) if spec.kind == "binary" else None,
        "cv_folds": len(splits),
        "cv": {k: _round(v) for k, v in cv_metrics.items()},
        "test": {k: _round(v) for k, v in test_metrics.items()},
        "reference": reference,
        "ipw": weights is not None,
        "glm_penalty": penalty,
        "spec_hash": model.spec_hash,
        "timings_s": timings,
    }
    log.info(
        "%s: %s selected; test %s %.3f (comparator %.3f), n_train=%d n_test=%d",
        spec.model_name, selected, metric, test_metrics[selected].get(metric, np.nan),
        test_metrics["comparator"].get(metric, np.nan), len(y_train), len(y_test),
    )
    return TrainingResult(
        spec=spec,
        model=model,
        metrics=metrics,
        coefficients=model.coefficients(),
        subgroups=subgroups,
        calibration=calib,
        attrition=rows.attrition,
        predictors=predictors,
        nonresponse=rows.nonresponse,
        test_frame=X_test,
        test_y=y_test,
        timings=timings,
    )


def _reference_comparison(spec: ModelSpec, X_test: pd.DataFrame, y_test: np.ndarray, pred: np.ndarray) -> dict[str, Any] | None:
    """The model against an external prediction (e.g. NHS's case-mix model) on the same test patients."""
    ref = spec.validation.reference
    if ref is None:
        return None
    score = pd.to_numeric(X_test[ref.column], errors="coerce").to_numpy(dtype=float)
    if ref.subtract:
        score = score - pd.to_numeric(X_test[ref.subtract], errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(score)
    if spec.kind == "binary":
        y = y_test[ok].astype(bool)
        out: dict[str, Any] = {"label": ref.label, "n": int(ok.sum())}
        for who, s in (("model", pred[ok]), ("reference", score[ok])):
            auc, se = auc_delong(y, s)
            out[who] = _round({"auc": auc, "auc_lower": auc - 1.96 * se, "auc_upper": auc + 1.96 * se})
        diff, se = auc_difference(y, pred[ok], score[ok])
        out["auc_difference"] = _round({"estimate": diff, "lower": diff - 1.96 * se, "upper": diff + 1.96 * se})
        return out
    return {
        "label": ref.label,
        "n": int(ok.sum()),
        "model": _round(continuous_metrics(y_test[ok], pred[ok])),
        "reference": _round(continuous_metrics(y_test[ok], score[ok])),
    }


_HANDLING = {
    "categorical": "missing is its own level",
    "numeric": "training median + missing indicator (GLM); native (boosting)",
    "boolean": "most common value + missing indicator (GLM); native (boosting)",
    "trend": "linear secular trend (GLM extrapolates it to the test year)",
}


def _predictor_table(spec: ModelSpec, X_train: pd.DataFrame, X_test: pd.DataFrame) -> pd.DataFrame:
    """Each predictor with its kind and share missing in the training and test rows (TRIPOD 7, 9)."""
    rows = []
    f = spec.features
    for kind, cols in (("categorical", f.categorical), ("numeric", f.numeric), ("boolean", f.boolean),
                       ("trend", [f.trend] if f.trend else [])):
        for c in cols:
            rows.append({
                "feature": c,
                "kind": kind,
                "missing_train_pct": float(X_train[c].isna().mean() * 100) if len(X_train) else float("nan"),
                "missing_test_pct": float(X_test[c].isna().mean() * 100) if len(X_test) else float("nan"),
                "handling": _HANDLING[kind],
                "in_comparator": c in spec.comparator,
            })
    return pd.DataFrame(rows)
