"""Performance of a prediction model: discrimination, accuracy and calibration, with intervals.

Continuous outcomes: R², RMSE, MAE, calibration intercept (mean observed − predicted,
outcome units) and slope (observed on predicted), interval coverage.  Binary
outcomes: AUC with a DeLong 95 % CI, Brier and scaled Brier score, calibration
intercept (logit offset, slope fixed at 1) and slope (logistic recalibration on the
logit), ICI / E50 / E90 / Emax from a lowess calibration curve.  (Van Calster et al.
2019, Austin & Steyerberg 2019.)
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import logit

from vbhc.core.privacy import MIN_CELL_SIZE
from vbhc.core.stats import mean_ci, wilson_ci

_EPS = 1e-6


def _finite(*arrays: np.ndarray) -> np.ndarray:
    mask = np.ones(len(arrays[0]), dtype=bool)
    for a in arrays:
        mask &= np.isfinite(a)
    return mask


def continuous_metrics(
    y: np.ndarray, pred: np.ndarray, lower: np.ndarray | None = None, upper: np.ndarray | None = None
) -> dict[str, float]:
    """R², RMSE, MAE, calibration intercept/slope and, with an interval, its coverage and width."""
    y = np.asarray(y, dtype=float)
    pred = np.asarray(pred, dtype=float)
    n = len(y)
    out: dict[str, float] = {"n": n}
    if n == 0:
        return out
    resid = y - pred
    sst = float(np.sum((y - y.mean()) ** 2))
    out["mean_observed"] = float(y.mean())
    out["mean_predicted"] = float(pred.mean())
    out["r2"] = float(1 - np.sum(resid**2) / sst) if sst > 0 else float("nan")
    out["rmse"] = float(np.sqrt(np.mean(resid**2)))
    out["mae"] = float(np.mean(np.abs(resid)))
    out["calibration_intercept"] = float(resid.mean())
    if n > 2 and np.ptp(pred) > 1e-9 * (1 + np.abs(pred).max()):
        fit = stats.linregress(pred, y)
        t = stats.t.ppf(0.975, n - 2)
        out["calibration_slope"] = float(fit.slope)
        out["calibration_slope_lower"] = float(fit.slope - t * fit.stderr)
        out["calibration_slope_upper"] = float(fit.slope + t * fit.stderr)
    else:
        out["calibration_slope"] = float("nan")
    if lower is not None and upper is not None:
        lower = np.asarray(lower, dtype=float)
        upper = np.asarray(upper, dtype=float)
        out["coverage"] = float(np.mean((y >= lower) & (y <= upper)))
        out["interval_width"] = float(np.mean(upper - lower))
    return out


def _placements(y: np.ndarray, score: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """AUC and DeLong placement values of events (V10) and non-events (V01); ties count one half."""
    pos, neg = score[y], score[~y]
    m, n = len(pos), len(neg)
    ranks_all = stats.rankdata(np.concatenate([pos, neg]))
    auc = (ranks_all[:m].sum() - m * (m + 1) / 2) / (m * n)
    v10 = (ranks_all[:m] - stats.rankdata(pos)) / n  # share of non-events below each event
    v01 = 1 - (ranks_all[m:] - stats.rankdata(neg)) / m  # share of events above each non-event
    return float(auc), v10, v01


def auc_delong(y: np.ndarray, score: np.ndarray) -> tuple[float, float]:
    """Area under the ROC curve and its DeLong standard error."""
    y = np.asarray(y).astype(bool)
    score = np.asarray(score, dtype=float)
    m, n = int(y.sum()), int((~y).sum())
    if m == 0 or n == 0:
        return float("nan"), float("nan")
    auc, v10, v01 = _placements(y, score)
    var = (np.var(v10, ddof=1) / m if m > 1 else 0.0) + (np.var(v01, ddof=1) / n if n > 1 else 0.0)
    return auc, float(np.sqrt(var))


def auc_difference(y: np.ndarray, score_a: np.ndarray, score_b: np.ndarray) -> tuple[float, float]:
    """AUC of ``score_a`` minus AUC of ``score_b`` on the same patients, with its paired DeLong SE."""
    y = np.asarray(y).astype(bool)
    m, n = int(y.sum()), int((~y).sum())
    if m < 2 or n < 2:
        return float("nan"), float("nan")
    auc_a, v10a, v01a = _placements(y, np.asarray(score_a, dtype=float))
    auc_b, v10b, v01b = _placements(y, np.asarray(score_b, dtype=float))
    var = np.var(v10a - v10b, ddof=1) / m + np.var(v01a - v01b, ddof=1) / n
    return auc_a - auc_b, float(np.sqrt(var))


def _logistic_calibration(y: np.ndarray, lp: np.ndarray) -> dict[str, float]:
    """Calibration intercept (offset lp, slope 1) and slope (y ~ a + b·lp), with 95 % CIs."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

    out: dict[str, float] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (PerfectSeparationWarning, RuntimeWarning))
        try:
            fam = sm.families.Binomial()
            citl = sm.GLM(y, np.ones((len(y), 1)), family=fam, offset=lp).fit()
            ci = np.asarray(citl.conf_int())[0]
            out.update(calibration_intercept=float(citl.params[0]),
                       calibration_intercept_lower=float(ci[0]), calibration_intercept_upper=float(ci[1]))
            slope = sm.GLM(y, np.column_stack([np.ones(len(y)), lp]), family=fam).fit()
            ci = np.asarray(slope.conf_int())[1]
            out.update(calibration_slope=float(slope.params[1]),
                       calibration_slope_lower=float(ci[0]), calibration_slope_upper=float(ci[1]))
        except (np.linalg.LinAlgError, ValueError):
            out.update(calibration_intercept=float("nan"), calibration_slope=float("nan"))
    return out


def smoothed_calibration(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Lowess-smoothed observed risk at each predicted risk (Austin & Steyerberg's ICI curve)."""
    from statsmodels.nonparametric.smoothers_lowess import lowess

    span = float(np.ptp(p)) if len(p) else 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        smooth = lowess(y.astype(float), p, frac=2 / 3, it=0, delta=0.005 * span, return_sorted=False)
    return np.clip(smooth, 0, 1)


def binary_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """AUC (DeLong CI), Brier, scaled Brier, calibration intercept/slope, ICI, E50, E90, Emax."""
    y = np.asarray(y).astype(bool)
    p = np.clip(np.asarray(p, dtype=float), 0, 1)
    n = len(y)
    events = int(y.sum())
    out: dict[str, float] = {"n": n, "events": events}
    if n == 0:
        return out
    rate = events / n
    out["event_rate"] = rate
    out["mean_predicted"] = float(p.mean())
    auc, se = auc_delong(y, p)
    out["auc"] = auc
    z = stats.norm.ppf(0.975)
    out["auc_lower"] = float(max(0.0, auc - z * se)) if np.isfinite(se) else float("nan")
    out["auc_upper"] = float(min(1.0, auc + z * se)) if np.isfinite(se) else float("nan")
    brier = float(np.mean((p - y) ** 2))
    out["brier"] = brier
    null = rate * (1 - rate)
    out["scaled_brier"] = float(1 - brier / null) if null > 0 else float("nan")
    if 0 < events < n:
        lp = logit(np.clip(p, _EPS, 1 - _EPS))
        out.update(_logistic_calibration(y.astype(float), lp))
        err = np.abs(smoothed_calibration(y, p) - p)
        out["ici"] = float(err.mean())
        out["e50"] = float(np.median(err))
        out["e90"] = float(np.quantile(err, 0.9))
        out["emax"] = float(err.max())
    return out


def calibration_table(y: np.ndarray, pred: np.ndarray, kind: str, *, bins: int = 10) -> pd.DataFrame:
    """Observed against predicted by groups (deciles) of the prediction, with 95 % CIs.

    Binary: observed proportion with Wilson CI; continuous: observed mean with t CI.
    """
    y = np.asarray(y, dtype=float)
    pred = np.asarray(pred, dtype=float)
    groups = pd.qcut(pd.Series(pred).rank(method="first"), q=min(bins, max(1, len(pred))), labels=False)
    rows = []
    for g in sorted(groups.unique()):
        m = (groups == g).to_numpy()
        n = int(m.sum())
        if kind == "binary":
            k = int(y[m].sum())
            lo, hi = wilson_ci(k, n)
            obs = k / n
            lo, hi = float(lo), float(hi)
        else:
            obs, lo, hi = mean_ci(y[m])
        rows.append({"group": int(g) + 1, "n": n, "predicted": float(pred[m].mean()), "observed": obs,
                     "observed_lower": lo, "observed_upper": hi})
    return pd.DataFrame(rows)


def subgroup_metrics(
    frame: pd.DataFrame, by: list[str], kind: str, *, y: str = "y", pred: str = "pred"
) -> pd.DataFrame:
    """Performance within each level of each subgroup variable (e.g. sex, age band, hospital).

    One row per (variable, level) with ``n`` and observed/predicted means; ``r2`` and
    ``rmse`` (continuous) or ``auc`` and ``oe_ratio`` (binary).  Rows describing
    fewer than :data:`MIN_CELL_SIZE` patients are flagged ``suppressed`` with their
    figures withheld.
    """
    from vbhc.core.privacy import suppress_small_cells

    rows = []
    for var in by:
        if var not in frame:
            continue
        for level, g in frame.groupby(frame[var].astype("string").fillna("missing"), sort=True):
            yy, pp = g[y].to_numpy(dtype=float), g[pred].to_numpy(dtype=float)
            row: dict[str, object] = {"variable": var, "level": str(level), "n": len(g),
                                      "observed": float(yy.mean()), "predicted": float(pp.mean())}
            if kind == "binary":
                row["events"] = int(yy.sum())
                row["oe_ratio"] = float(yy.sum() / pp.sum()) if pp.sum() > 0 else float("nan")
                row["auc"] = auc_delong(yy.astype(bool), pp)[0] if len(g) >= MIN_CELL_SIZE else float("nan")
            else:
                m = continuous_metrics(yy, pp)
                row["r2"] = m.get("r2", float("nan")) if len(g) > 1 else float("nan")
                row["rmse"] = m.get("rmse", float("nan"))
            rows.append(row)
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    return suppress_small_cells(out, count_column="n")


def direction(metric: str) -> int:
    """+1 when a larger value of ``metric`` is better, -1 when smaller is better."""
    from vbhc.train._spec import HIGHER_IS_BETTER

    return 1 if HIGHER_IS_BETTER[metric] else -1
