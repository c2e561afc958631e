"""PROM non-response: how responders differ from non-responders, and inverse-probability weights.

A PROM outcome is missing for patients who did not return the questionnaire.  If
non-response depends on case-mix, a model fitted on responders describes responders.
:func:`response_table` shows the difference (means or shares and standardised mean
differences); :func:`response_weights` gives stabilised inverse-probability-of-response
weights from a logistic model of responding on the model's features.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vbhc.core.privacy import suppress_small_cells
from vbhc.train._features import categorical_values, numeric_values


def response_table(
    frame: pd.DataFrame, responded: np.ndarray, *, numeric: list[str], categorical: list[str], boolean: list[str] = ()
) -> pd.DataFrame:
    """Responders against non-responders, one row per numeric feature, categorical level or yes/no feature.

    Columns: ``feature``, ``level``, ``responders`` and ``nonresponders`` (mean, or share
    of the level / of "yes" in %), ``smd`` (standardised mean difference; |smd| > 0.1 is a notable
    imbalance), ``n_responders``, ``n_nonresponders`` (non-missing values).  Rows
    where either group has fewer than 5 patients are withheld.
    """
    responded = np.asarray(responded, dtype=bool)
    rows = []
    for col in numeric:
        x = numeric_values(frame[col])
        a, b = x[responded], x[~responded]
        a, b = a[~np.isnan(a)], b[~np.isnan(b)]
        rows.append(_row(col, "mean", a, b))
    for col in boolean:
        x = numeric_values(frame[col])
        a, b = x[responded], x[~responded]
        rows.append(_row(col, "yes", a[~np.isnan(a)], b[~np.isnan(b)], share=True))
    for col in categorical:
        values = pd.Series(categorical_values(frame[col])).fillna("missing").to_numpy()
        for level in sorted(set(values)):
            x = (values == level).astype(float)
            rows.append(_row(col, str(level), x[responded], x[~responded], share=True))
    out = pd.DataFrame(rows)
    out["n_smaller"] = out[["n_responders", "n_nonresponders"]].min(axis=1)
    out = suppress_small_cells(out, count_column="n_smaller", value_columns=["responders", "nonresponders", "smd"])
    return out.drop(columns="n_smaller")


def _row(feature: str, level: str, a: np.ndarray, b: np.ndarray, share: bool = False) -> dict[str, object]:
    ma = float(a.mean()) if len(a) else float("nan")
    mb = float(b.mean()) if len(b) else float("nan")
    va = float(a.var(ddof=1)) if len(a) > 1 else float("nan")
    vb = float(b.var(ddof=1)) if len(b) > 1 else float("nan")
    pooled = np.sqrt((va + vb) / 2) if np.isfinite(va) and np.isfinite(vb) else float("nan")
    smd = (ma - mb) / pooled if pooled and np.isfinite(pooled) and pooled > 0 else float("nan")
    scale = 100.0 if share else 1.0
    count_a = int(a.sum()) if share else len(a)
    count_b = int(b.sum()) if share else len(b)
    return {"feature": feature, "level": level, "responders": ma * scale, "nonresponders": mb * scale,
            "smd": float(smd), "n_responders": count_a, "n_nonresponders": count_b}


def response_weights(response_model, frame: pd.DataFrame, responded: np.ndarray, *, max_weight: float = 20.0) -> np.ndarray:
    """Stabilised inverse-probability-of-response weights for the responders.

    ``response_model`` is an unfitted classifier pipeline over ``frame`` (e.g. a
    logistic GLM on the model's features).  Weight = overall response rate ÷
    P(respond | features), capped at ``max_weight`` and rescaled to mean 1 over the
    responders.  Returns one weight per responder, in row order.
    """
    responded = np.asarray(responded, dtype=bool)
    fitted = response_model.fit(frame, responded.astype(int))
    p = fitted.predict_proba(frame[responded])[:, 1]
    w = responded.mean() / np.clip(p, 1e-3, 1)
    w = np.minimum(w, max_weight)
    return w / w.mean()
