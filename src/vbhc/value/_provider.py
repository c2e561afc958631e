"""Risk-adjusted outcomes per unit: indirect standardisation, funnel flags, shrinkage.

For one outcome and one set of patients (a joint, or both joints), every patient has
an observed value y and an expected value e (the case-mix model's prediction).
Expected values are first centred on the national observed value per joint, as NHS
England does for PROMs (continuous: e + mean(y) - mean(e); binary: a shift on the
logit scale so that sum(e) = sum(y)).  Then, per unit j with n_j patients:

- continuous: adjusted_j = ybar_nation + mean_j(y - e), interval by the unit's own SD;
- binary: O/E_j = sum_j y / sum_j e, adjusted_j = O/E_j * rate_nation, exact Poisson
  interval for O;
- funnel: ``_funnel`` (residual means, or exact binomial z-scores of O given the
  expected rate, with overdispersion);
- shrunken: the random-intercept BLUP of mean_j(y - e) (``_shrinkage``) put back on
  the adjusted scale (binary: 1 + n_j u_j / E_j as the shrunken O/E).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from vbhc.core.criteria import select_rows
from vbhc.core.errors import InputError
from vbhc.core.stats import wilson_ci
from vbhc.value._config import OutcomeSpec, ValueSettings
from vbhc.value._funnel import Funnel, Kind, fit_funnel, poisson_ratio_ci, z_scores
from vbhc.core.frames import numeric, require_columns
from vbhc.value._inputs import check_predictions, isin_values
from vbhc.value._shrinkage import fit_random_intercept

PROVIDER_COLUMNS = [
    "level",
    "unit_id",
    "joint",
    "outcome",
    "n",
    "observed",
    "expected",
    "adjusted",
    "oe_ratio",
    "ci_lower",
    "ci_upper",
    "funnel",
    "shrunken",
    "suppressed",
]
RESPONSE_COLUMNS = [
    "level",
    "unit_id",
    "joint",
    "outcome",
    "eligible",
    "responders",
    "response_rate",
    "ci_lower",
    "ci_upper",
    "low_response",
    "suppressed",
]
NATION = "nation"


@dataclass(frozen=True)
class FitSummary:
    """How one outcome x joint x level was compared (for reports and the parameters file)."""

    outcome: str
    joint: str
    level: str
    funnel: Funnel
    re_tau2: float
    re_sigma2: float


@dataclass
class PatientFrame:
    """Patients used for one outcome: unit keys, observed, centred expected, residual."""

    spec: OutcomeSpec
    frame: pd.DataFrame
    unmodelled: int = 0
    fits: list[FitSummary] = field(default_factory=list)


def unit_keys(episodes: pd.DataFrame, settings: ValueSettings) -> pd.DataFrame:
    """Joint, nation and one column per unit level as categoricals of strings (built once)."""
    keys = pd.DataFrame({"joint": pd.Categorical(episodes["joint"].astype(str))})
    for level, column in settings.levels.items():
        keys[level] = pd.Categorical(episodes[column].astype(str))
    keys[NATION] = pd.Categorical.from_codes(np.zeros(len(episodes), dtype=np.int8), [settings.nation_id])
    return keys


def outcome_needs(episodes: pd.DataFrame, settings: ValueSettings) -> dict[str, tuple[str, np.ndarray, bool]]:
    """Prediction columns the outcomes need, and for which episodes (see ``check_predictions``)."""
    base = select_rows(episodes, settings.population) & isin_values(episodes["joint"], settings.joints)
    needs: dict[str, tuple[str, np.ndarray, bool]] = {}
    for spec in settings.outcomes:
        rows = base & select_rows(episodes, spec.population) & np.isfinite(numeric(episodes, spec.observed_column))
        col = spec.prediction_column
        prev = needs.get(col)
        needs[col] = (spec.name, rows | (prev[1] if prev else False), spec.type == "binary")
    return needs


def centre_binary(expected: np.ndarray, observed_total: float) -> np.ndarray:
    """Shift probabilities on the logit scale so they sum to ``observed_total``."""
    p = np.clip(expected, 1e-9, 1 - 1e-9)
    if observed_total <= 0 or observed_total >= len(p):
        return p
    logit = special.logit(p)

    def gap(delta: float) -> float:
        return float(special.expit(logit + delta).sum() - observed_total)

    lo, hi = -1.0, 1.0
    while gap(lo) > 0:
        lo *= 2
    while gap(hi) < 0:
        hi *= 2
    delta = optimize.brentq(gap, lo, hi, xtol=1e-12)
    return special.expit(logit + delta)


def patient_frame(
    episodes: pd.DataFrame,
    predictions: pd.DataFrame,
    spec: OutcomeSpec,
    settings: ValueSettings,
    keys: pd.DataFrame,
) -> PatientFrame:
    """Patients with a known observed and expected value of ``spec``, expected centred per joint."""
    keep = (
        select_rows(episodes, settings.population)
        & select_rows(episodes, spec.population)
        & isin_values(episodes["joint"], settings.joints)
    )
    y = numeric(episodes, spec.observed_column)
    e = numeric(predictions, spec.prediction_column, table="predictions")
    if spec.prediction_minus:
        e = e - numeric(episodes, spec.prediction_minus)
    unmodelled = int((keep & np.isfinite(y) & ~np.isfinite(e)).sum())
    keep &= np.isfinite(y) & np.isfinite(e)
    if spec.type == "binary":
        bad = keep & ~np.isin(y, (0.0, 1.0))
        if bad.any():
            raise InputError("binary outcome holds values other than 0/1", table="episodes", column=spec.observed_column)
    frame = keys[keep].reset_index(drop=True)
    frame["episode_id"] = episodes["episode_id"].to_numpy()[keep]
    frame["observed"] = y[keep]
    expected = e[keep].copy()
    if settings.centre_expected:
        for joint in frame["joint"].unique():
            m = (frame["joint"] == joint).to_numpy()
            if spec.type == "binary":
                expected[m] = centre_binary(expected[m], frame["observed"].to_numpy()[m].sum())
            else:
                expected[m] = expected[m] + frame["observed"].to_numpy()[m].mean() - expected[m].mean()
    frame["expected"] = expected
    frame["residual"] = frame["observed"] - frame["expected"]
    return PatientFrame(spec=spec, frame=frame, unmodelled=unmodelled)


def group_sums(frame: pd.DataFrame, key: str | None, columns: list[str]) -> pd.DataFrame:
    """Per unit of the categorical column ``key`` (all rows when None): ``n`` and the sums of
    ``columns`` and of the squared residual (``residual2``), units without rows left out."""
    if key is None:
        codes, labels = np.zeros(len(frame), dtype=np.intp), pd.Index([None])
    else:
        codes, labels = frame[key].cat.codes.to_numpy(), frame[key].cat.categories
    k = len(labels)
    n = np.bincount(codes, minlength=k)
    present = n > 0
    out = {"n": n[present]}
    for col in columns:
        out[col] = np.bincount(codes, weights=frame[col].to_numpy(), minlength=k)[present]
    out["residual2"] = np.bincount(codes, weights=frame["residual"].to_numpy() ** 2, minlength=k)[present]
    return pd.DataFrame(out, index=labels[present])


def _unit_sums(frame: pd.DataFrame, key: str | None) -> pd.DataFrame:
    sums = group_sums(frame, key, ["observed", "expected", "residual"])
    n = sums["n"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_r = sums["residual"].to_numpy() / n
        ssw = np.clip(sums["residual2"].to_numpy() - n * mean_r**2, 0, None)
        sd = np.sqrt(ssw / (n - 1))
    sums["mean_r"] = mean_r
    sums["ssw"] = ssw
    sums["sd"] = np.where(n > 1, sd, np.nan)
    return sums


def _rows(
    sums: pd.DataFrame, spec: OutcomeSpec, national: pd.Series, level: float
) -> pd.DataFrame:
    n = sums["n"].to_numpy(dtype=float)
    nat_mean = float(national["observed"] / national["n"])
    out = pd.DataFrame(
        {
            "n": sums["n"].to_numpy(dtype="int64"),
            "observed": sums["observed"].to_numpy() / n,
            "expected": sums["expected"].to_numpy() / n,
        },
        index=sums.index,
    )
    if spec.type == "continuous":
        out["adjusted"] = nat_mean + sums["mean_r"].to_numpy()
        out["oe_ratio"] = np.nan
        t = stats.t.ppf(0.5 + level / 2, np.clip(n - 1, 1, None))
        half = np.where(n > 1, t * sums["sd"].to_numpy() / np.sqrt(n), np.nan)
        out["ci_lower"] = out["adjusted"] - half
        out["ci_upper"] = out["adjusted"] + half
    else:
        o = sums["observed"].to_numpy()
        e = sums["expected"].to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            out["oe_ratio"] = np.where(e > 0, o / e, np.nan)
        out["adjusted"] = out["oe_ratio"] * nat_mean
        lo, hi = poisson_ratio_ci(o, e, level)
        out["ci_lower"] = lo * nat_mean
        out["ci_upper"] = hi * nat_mean
    return out


def compare_units(pf: PatientFrame, settings: ValueSettings) -> pd.DataFrame:
    """All rows of provider_value for one outcome (unsuppressed), and record the fits."""
    spec = pf.spec
    parts = []
    for joint in settings.joint_groups:
        frame = pf.frame if joint == "all" else pf.frame[pf.frame["joint"] == joint]
        if frame.empty:
            continue
        national = _unit_sums(frame, None).iloc[0]
        nat_rows = _rows(_unit_sums(frame, None), spec, national, settings.interval_level)
        nat_rows.insert(0, "unit_id", settings.nation_id)
        nat_rows.insert(0, "level", NATION)
        nat_rows["funnel"] = None
        nat_rows["shrunken"] = np.nan
        nat_rows["joint"] = joint
        parts.append(nat_rows)
        nat_mean = float(national["observed"] / national["n"])
        nat_resid = float(national["residual"] / national["n"])
        sigma = float(np.sqrt(national["ssw"] / max(national["n"] - 1, 1)))
        for level in settings.levels:
            sums = _unit_sums(frame, level)
            rows = _rows(sums, spec, national, settings.interval_level)
            n = sums["n"].to_numpy(dtype=float)
            re = fit_random_intercept(n, sums["mean_r"].to_numpy(), sums["ssw"].to_numpy())
            if spec.type == "continuous":
                z, se = z_scores("mean", n, mean=sums["mean_r"].to_numpy() - nat_resid, sigma=sigma)
                funnel = _fit(settings, "mean", z, se, sigma)
                rows["shrunken"] = nat_mean + re.effect
            else:
                e = sums["expected"].to_numpy()
                oe_nat = float(national["observed"] / national["expected"])
                with np.errstate(divide="ignore", invalid="ignore"):
                    rows["shrunken"] = nat_mean * np.where(e > 0, 1 + n * re.effect / e, np.nan)
                    rate = np.clip(e / n * oe_nat, 0.0, 1.0)
                z, se = z_scores("proportion", n, observed=sums["observed"].to_numpy(), rate=rate)
                funnel = _fit(settings, "proportion", z, se, 1.0)
            rows["funnel"] = funnel.classify(z, se)
            pf.fits.append(FitSummary(spec.name, joint, level, funnel, re.tau2, re.sigma2))
            rows.insert(0, "unit_id", rows.index.astype(str))
            rows.insert(0, "level", level)
            rows["joint"] = joint
            parts.append(rows)
    if not parts:
        return pd.DataFrame(columns=PROVIDER_COLUMNS)
    out = pd.concat(parts, ignore_index=True)
    out["outcome"] = spec.name
    out["suppressed"] = False
    return out[PROVIDER_COLUMNS]


def _fit(settings: ValueSettings, kind: Kind, z: np.ndarray, se: np.ndarray, sigma: float) -> Funnel:
    f = settings.funnel
    return fit_funnel(
        kind,
        z,
        se,
        sigma=sigma,
        levels=f.limits,
        overdispersion=f.overdispersion,
        trim=f.winsorise,
        min_units=f.min_units_for_overdispersion,
    )


def response_rates(
    episodes: pd.DataFrame, spec: OutcomeSpec, settings: ValueSettings, keys: pd.DataFrame
) -> pd.DataFrame:
    """PROM response per unit: eligible patients, responders, rate with Wilson interval."""
    keep = (
        select_rows(episodes, settings.population)
        & select_rows(episodes, spec.population)
        & select_rows(episodes, spec.eligible)
        & isin_values(episodes["joint"], settings.joints)
    )
    frame = keys[keep].reset_index(drop=True)
    frame["responded"] = np.isfinite(numeric(episodes, spec.observed_column))[keep]
    parts = []
    for joint in settings.joint_groups:
        sub = frame if joint == "all" else frame[frame["joint"] == joint]
        if sub.empty:
            continue
        for level in [NATION, *settings.levels]:
            g = sub.groupby(level, sort=True, observed=True)["responded"].agg(["size", "sum"])
            parts.append(
                pd.DataFrame(
                    {
                        "level": level,
                        "unit_id": g.index.astype(str),
                        "joint": joint,
                        "eligible": g["size"].to_numpy(dtype="int64"),
                        "responders": g["sum"].to_numpy(dtype="int64"),
                    }
                )
            )
    if not parts:
        return pd.DataFrame(columns=RESPONSE_COLUMNS)
    out = pd.concat(parts, ignore_index=True)
    out["outcome"] = spec.name
    out["response_rate"] = out["responders"] / out["eligible"]
    lo, hi = wilson_ci(out["responders"].to_numpy(), out["eligible"].to_numpy(), settings.interval_level)
    out["ci_lower"], out["ci_upper"] = lo, hi
    out["low_response"] = out["response_rate"] < settings.response_threshold
    out["suppressed"] = False
    return out[RESPONSE_COLUMNS]


def prepare_inputs(
    episodes: pd.DataFrame, predictions: pd.DataFrame, settings: ValueSettings
) -> pd.DataFrame:
    """Check the episodes have what the settings name; return predictions aligned to them."""
    cols = ["episode_id", "joint", *settings.levels.values()]
    for spec in settings.outcomes:
        cols.append(spec.observed_column)
        if spec.prediction_minus:
            cols.append(spec.prediction_minus)
        cols += [c.column for c in (*spec.population, *spec.eligible)]
    cols += [c.column for c in settings.population]
    require_columns(episodes, cols)
    if episodes["episode_id"].duplicated().any():
        raise InputError("episode ids are repeated", table="episodes", column="episode_id", rule="unique")
    return check_predictions(
        episodes,
        predictions,
        outcome_needs(episodes, settings),
        require_metadata=settings.require_model_metadata,
        allow_missing=settings.missing_predictions == "exclude",
    )
