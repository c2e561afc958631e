"""MLflow logging, model registration and the champion/challenger promotion rule.

Each fit is one MLflow run in the experiment ``vbhc-train`` with parameters (the
specification's settings, never identifiers), metrics (test year and CV), the model
card, plots and the model (scikit-learn flavour, skops format, with signature and a
synthetic "typical patient" input example, so no patient's row is stored).  The model
is registered as ``vbhc-<joint>-<outcome>``; alias ``champion`` moves to the new
version only when :func:`promotion_decision` allows, else the new version is
``challenger``.
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vbhc import __version__
from vbhc.core.errors import VbhcError
from vbhc.core.log import get_logger
from vbhc.core.tracking import experiment_id
from vbhc.train._fit import TrainingResult
from vbhc.train._metrics import binary_metrics, continuous_metrics, direction
from vbhc.train._spec import ModelSpec

log = get_logger("vbhc.train.registry")

EXPERIMENT = "vbhc-train"
CHAMPION = "champion"
CHALLENGER = "challenger"
TAG_PREFIX = "vbhc."


class RegistryError(VbhcError):
    """The MLflow tracking store or model registry cannot be used."""


@dataclass(frozen=True)
class Registration:
    """Where a trained model went: registered name, version, alias and why."""

    name: str
    version: str
    alias: str
    run_id: str
    reason: str
    previous_champion: str | None


INTERCEPT_TOLERANCE_SHARE_OF_RMSE = 0.05
"""Default ``promotion.intercept_tolerance``: this share of the champion's test RMSE (outcome units)."""


def promotion_decision(spec: ModelSpec, new: dict[str, float], champion: dict[str, float] | None) -> tuple[bool, str]:
    """Should the new version become champion?  Returns (promote, reason).

    Both metric sets are computed on the same temporal test patients.  The new version
    must beat the champion's validation metric by more than ``min_improvement``
    without worse calibration (:class:`vbhc.train._spec.PromotionSpec`): calibration
    slope at most ``calibration_tolerance`` further from 1, and ICI (binary) or the
    absolute calibration intercept (continuous) at most its tolerance worse.  A
    calibration figure the champion lacks (older versions) is not compared.
    """
    metric = spec.validation.metric
    if champion is None:
        return True, "no current champion"
    a, b = new.get(metric), champion.get(metric)
    if a is None or b is None or not np.isfinite(a) or not np.isfinite(b):
        return False, f"{metric} not available for both versions"
    gain = direction(metric) * (a - b)
    rule = spec.promotion
    if gain <= rule.min_improvement:
        return False, f"{metric} {a:.4f} does not beat the champion's {b:.4f} by more than {rule.min_improvement:g}"
    better = f"{metric} better ({a:.4f} vs {b:.4f}) but"
    checks = [("calibration slope further from 1", "calibration_slope", lambda v: abs(v - 1), rule.calibration_tolerance)]
    if spec.kind == "binary":
        checks.append(("ICI (mean calibration error) larger", "ici", abs, rule.ici_tolerance))
    else:
        tol = rule.intercept_tolerance
        if tol is None:
            tol = INTERCEPT_TOLERANCE_SHARE_OF_RMSE * _finite(champion.get("rmse"), np.inf)
        checks.append(("calibration intercept (mean observed - predicted) further from 0", "calibration_intercept", abs, tol))
    for label, key, deviation, tolerance in checks:
        old_value, new_value = _finite(champion.get(key)), _finite(new.get(key))
        if not np.isfinite(old_value):
            continue
        if not deviation(new_value) <= deviation(old_value) + tolerance:  # NaN for the new version refuses
            return False, f"{better} {label} ({new_value:.4g} vs {old_value:.4g}, tolerance {tolerance:.4g})"
    return True, f"{metric} {a:.4f} beats the champion's {b:.4f} without worse calibration"


def _finite(value: Any, default: float = np.nan) -> float:
    """A metric value as float (None or missing → ``default``)."""
    if value is None:
        return default
    value = float(value)
    return value if np.isfinite(value) else default


def flat_params(spec: ModelSpec, metrics: dict[str, Any]) -> dict[str, str]:
    """MLflow parameters: specification settings and data sizes (no identifiers, no row values)."""
    params: dict[str, Any] = {
        "outcome": spec.outcome,
        "joint": spec.joint,
        "kind": spec.kind,
        "table": spec.table,
        "population": json.dumps(spec.population, sort_keys=True),
        "ascertainment": json.dumps(spec.ascertainment, sort_keys=True),
        "features_numeric": ",".join(spec.features.numeric),
        "features_categorical": ",".join(spec.features.categorical),
        "features_boolean": ",".join(spec.features.boolean),
        "features_trend": spec.features.trend or "none",
        "comparator": ",".join(spec.comparator),
        "glm_family": spec.glm.family,
        "glm_link": spec.glm.link or "default",
        "glm_splines": json.dumps(spec.glm.splines, sort_keys=True),
        "glm_penalty_l2": spec.glm.penalty.l2 if spec.glm.penalty else "none",
        "glm_l2": (metrics.get("glm_penalty") or {}).get("l2", 0.0),
        "nonresponse_weighting": spec.nonresponse.weighting if spec.nonresponse else "not a PROM",
        "selected": metrics["selected"],
        "recalibrated": metrics["recalibrated"],
        "train_years": f"{metrics['train_years'][0]}-{metrics['train_years'][-1]}",
        "test_year": metrics["test_year"],
        "n_train": metrics["n_train"],
        "n_test": metrics["n_test"],
        "spec_hash": metrics["spec_hash"],
        "vbhc_version": __version__,
        "seed": spec.seed,
    }
    for key, value in spec.hgb.model_dump().items():
        params[f"hgb_{key}"] = value
    for key, value in spec.validation.model_dump(exclude={"reference", "subgroups"}).items():
        params[f"validation_{key}"] = value
    for key, value in spec.promotion.model_dump().items():
        params[f"promotion_{key}"] = value
    return {k: str(v)[:500] for k, v in params.items()}


def flat_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """MLflow metrics: ``test_<metric>`` for the selected model, ``test_<candidate>_<metric>``, ``cv_<candidate>_<metric>``."""
    out: dict[str, float] = {}
    selected = metrics["selected"]
    for part in ("test", "cv"):
        for cand, values in metrics[part].items():
            for k, v in values.items():
                if isinstance(v, (int, float)) and v is not None and np.isfinite(v):
                    out[f"{part}_{cand}_{k}"] = float(v)
                    if part == "test" and cand == selected:
                        out[f"test_{k}"] = float(v)
    return out


def _evaluate(model, result: TrainingResult) -> dict[str, float]:
    pred = model.predict(result.test_frame)
    if result.spec.kind == "binary":
        return binary_metrics(result.test_y, pred)
    return continuous_metrics(result.test_y, pred)


def _trusted_types(model) -> list[str]:
    import skops.io as sio

    return sio.get_untrusted_types(data=sio.dumps(model))


def _pip_requirements() -> list[str]:
    from importlib.metadata import version

    pkgs = ["scikit-learn", "statsmodels", "skops", "pandas", "numpy", "scipy"]
    return [f"vbhc=={__version__}", *[f"{p}=={version(p)}" for p in pkgs]]


def prom_scoring_tags(table: str) -> dict[str, str]:
    """How the PROMs of the training table were scored, recorded with each version (tags
    ``vbhc.eq5d_value_set`` and ``vbhc.mic_points``) so that a user of the model (``vbhc
    serve``) values new answers as the training data were: the EQ-5D value set and the
    minimal important change of the Oxford score per joint (points, JSON), from the PROM
    scoring settings (``pipelines/proms.yaml``).  Only the episodes table has them."""
    if table != "episodes":
        return {}
    from vbhc.proms import load_prom_settings

    scoring = load_prom_settings()
    mic = scoring.minimal_important_change
    points = {
        joint: float(v[joint] if isinstance(v, dict) else v)  # type: ignore[index]
        for joint, v in (("hip", mic["OHS"]), ("knee", mic["OKS"]))
    }
    return {"eq5d_value_set": scoring.eq5d_value_set, "mic_points": json.dumps(points, sort_keys=True)}


def log_and_register(result: TrainingResult) -> Registration:
    """Log one training result as an MLflow run, register the model and set its alias.

    The tracking store must already be configured
    (:func:`vbhc.core.tracking.configure_mlflow`); :func:`log_report` adds the model
    card and plots to the run afterwards (they show the version and alias).
    """
    import mlflow
    import mlflow.sklearn
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException
    from mlflow.models import infer_signature

    spec, model = result.spec, result.model
    name = spec.registered_name
    client = MlflowClient()
    try:
        mlflow.set_experiment(experiment_id=experiment_id(EXPERIMENT))
        example = model.typical_patient()[model.feature_names]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            signature = infer_signature(example, model.predict(example))
            with mlflow.start_run(run_name=spec.model_name) as run, contextlib.redirect_stderr(io.StringIO()):
                mlflow.set_tags({
                    f"{TAG_PREFIX}model": spec.model_name,
                    f"{TAG_PREFIX}outcome": spec.outcome,
                    f"{TAG_PREFIX}joint": spec.joint,
                    f"{TAG_PREFIX}table": spec.table,
                    f"{TAG_PREFIX}selected": model.candidate,
                })
                mlflow.log_params(flat_params(spec, result.metrics))
                mlflow.log_metrics(flat_metrics(result.metrics))
                info = mlflow.sklearn.log_model(
                    model,
                    name="model",
                    signature=signature,
                    input_example=example,
                    registered_model_name=name,
                    serialization_format="skops",
                    skops_trusted_types=_trusted_types(model),
                    pip_requirements=_pip_requirements(),
                    await_registration_for=0,
                )
        version = str(info.registered_model_version)
        for key, value in {"table": spec.table, "outcome": spec.outcome, "joint": spec.joint, "kind": spec.kind}.items():
            client.set_registered_model_tag(name, f"{TAG_PREFIX}{key}", value)
        selected = result.metrics["test"][result.metrics["selected"]]
        version_tags = {
            "test_year": result.metrics["test_year"],
            "train_years": f"{result.metrics['train_years'][0]}-{result.metrics['train_years'][-1]}",
            "metric": spec.validation.metric,
            "test_metrics": json.dumps({k: v for k, v in selected.items() if v is not None}, sort_keys=True),
            "spec_hash": result.metrics["spec_hash"],
            "candidate": model.candidate,
            **prom_scoring_tags(spec.table),
        }
        for key, value in version_tags.items():
            client.set_model_version_tag(name, version, f"{TAG_PREFIX}{key}", str(value))
        promote, reason, previous = _promotion(client, spec, result, version)
        alias = CHAMPION if promote else CHALLENGER
        client.set_registered_model_alias(name, alias, version)
        client.set_model_version_tag(name, version, f"{TAG_PREFIX}promotion", reason)
    except MlflowException as exc:
        raise RegistryError(f"MLflow registry: {name}: {exc.message}") from None
    log.info("%s version %s -> %s (%s)", name, version, alias, reason)
    return Registration(name, version, alias, run.info.run_id, reason, previous)


def _promotion(client, spec: ModelSpec, result: TrainingResult, version: str) -> tuple[bool, str, str | None]:
    """Compare with the current champion on the new test patients (recorded metrics as a fallback)."""
    import mlflow.sklearn
    from mlflow.exceptions import MlflowException

    name = spec.registered_name
    try:
        current = client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return (*promotion_decision(spec, {}, None), None)
    new_metrics = result.metrics["test"][result.metrics["selected"]]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            champion_model = mlflow.sklearn.load_model(f"models:/{name}@{CHAMPION}")
            champion_metrics = _evaluate(champion_model, result)
        basis = f"on test year {result.metrics['test_year']}"
    except (MlflowException, ValueError, KeyError, TypeError) as exc:
        recorded = current.tags.get(f"{TAG_PREFIX}test_metrics")
        if not recorded:
            return True, f"current champion v{current.version} cannot be evaluated ({exc}); replaced", current.version
        champion_metrics = json.loads(recorded)
        basis = "on the champion's recorded test metrics (it cannot score the new test set)"
    promote, reason = promotion_decision(spec, new_metrics, champion_metrics)
    return promote, f"{reason} (v{current.version}, {basis})", current.version


def log_report(run_id: str, folder: Path) -> None:
    """Attach the model card, plots and metrics.json in ``folder`` to the run (artifact path ``report``)."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        MlflowClient().log_artifacts(run_id, str(folder), artifact_path="report")
    except MlflowException as exc:
        raise RegistryError(f"MLflow: cannot log the report of run {run_id}: {exc.message}") from None
