"""A small simulated episodes frame with known GLM truths, for fast model tests.

Columns follow ``data_schemas/episodes.yaml`` (those the model specs read); outcomes
are drawn from GLMs in the case-mix plus a hospital effect, so tests can check that
the models recover what generated the data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

# A small Oxford-score specification for tests (fast settings); tests vary it with {**OXFORD_SPEC, ...}.
OXFORD_SPEC = {
    "description": "Oxford score at 12 months (test)",
    "joint": "hip",
    "outcome": "oxford_12m",
    "kind": "continuous",
    "unit": "points",
    "bounds": [0, 48],
    "ascertainment": {"followup_complete_1y": True, "death_1y": False},
    "nonresponse": {"weighting": "none"},
    "features": {
        "categorical": ["sex", "asa_class", "smoking"],
        "numeric": ["age", "bmi", "oxford_pre", "eq5d_pre"],
        "boolean": ["anxiety_depression"],
        "reference_levels": {"smoking": "never"},
    },
    "comparator": ["oxford_pre"],
    "glm": {"family": "gaussian"},
    "hgb": {"loss": "squared_error", "max_iter": 60},
    "validation": {"metric": "r2", "cv_folds": 3},
}

AGE_BANDS = [(18, 50, "18-49"), (50, 60, "50-59"), (60, 70, "60-69"), (70, 80, "70-79"), (80, 200, "80+")]

TRUE_OXFORD = {"const": 22.0, "oxford_pre": 0.45, "age_c": -0.05, "bmi_c": -0.25, "anxiety_depression": -3.0,
               "asa_3": -1.5, "smoking_current": -1.0, "sd": 7.0}
TRUE_COMPLICATION = {"const": -2.4, "age_c": 0.03, "bmi_c": 0.05, "asa_3": 0.6, "smoking_current": 0.5}


def simulate_episodes(n: int = 3000, seed: int = 1, years=(2014, 2015, 2016, 2017)) -> pd.DataFrame:
    """Episodes with case-mix, 12-month outcomes and expected values (``expected_<outcome>``)."""
    rng = np.random.default_rng(seed)
    joint = rng.choice(["hip", "knee"], n, p=[0.55, 0.45])
    age = np.clip(rng.normal(68, 10, n), 18, 100)
    sex = rng.choice(["F", "M"], n, p=[0.58, 0.42])
    bmi = np.clip(rng.normal(29, 5, n), 15, 60)
    bmi_obs = bmi.copy()
    bmi_obs[rng.random(n) < 0.05] = np.nan
    asa = rng.choice([1, 2, 3, 4], n, p=[0.2, 0.55, 0.22, 0.03])
    smoking = rng.choice(["never", "former", "current"], n, p=[0.5, 0.35, 0.15])
    anxiety = rng.random(n) < 0.12
    hospital = rng.choice([f"H{i:02d}" for i in range(12)], n)
    hosp_effect = dict(zip(sorted(set(hospital)), rng.normal(0, 1.0, 12), strict=True))
    oxford_pre = np.clip(rng.normal(19, 8, n), 0, 48).round()
    year = rng.choice(list(years), n)
    employed = (age < 65) & (rng.random(n) < 0.7)
    t = TRUE_OXFORD
    mu = (t["const"] + t["oxford_pre"] * oxford_pre + t["age_c"] * (age - 70) + t["bmi_c"] * (bmi - 28)
          + t["anxiety_depression"] * anxiety + t["asa_3"] * (asa >= 3) + t["smoking_current"] * (smoking == "current")
          + np.vectorize(hosp_effect.get)(hospital))
    oxford_12m = np.clip(mu + rng.normal(0, t["sd"], n), 0, 48).round()
    responded = rng.random(n) < expit(1.2 + 0.03 * (age - 70) - 0.5 * anxiety)
    c = TRUE_COMPLICATION
    lp = (c["const"] + c["age_c"] * (age - 70) + c["bmi_c"] * (bmi - 28) + c["asa_3"] * (asa >= 3)
          + c["smoking_current"] * (smoking == "current"))
    p_comp = expit(lp)
    complication = rng.random(n) < p_comp
    los_mu = np.exp(0.2 + 0.02 * (age - 70) + 0.3 * (asa >= 3) + 0.4 * complication)
    cost_mu = np.exp(11.0 + 0.01 * (age - 70) + 0.2 * (asa >= 3) + 0.5 * complication)
    cost = rng.gamma(4.0, cost_mu / 4.0)
    band = np.select([(age >= lo) & (age < hi) for lo, hi, _ in AGE_BANDS], [b for *_, b in AGE_BANDS], default="80+")
    frame = pd.DataFrame({
        "episode_id": [f"E{i:015x}" for i in range(n)],
        "person_id": [f"P{i // 1:07d}" for i in rng.integers(0, int(n * 0.9), n)],
        "joint": joint,
        "operation_year": pd.array(year, dtype="Int16"),
        "hospital_id": hospital,
        "age": age,
        "age_band": band,
        "sex": sex,
        "bmi": bmi_obs,
        "asa_class": pd.array(asa, dtype="Int8"),
        "smoking": smoking,
        "alcohol_units_week": np.clip(rng.gamma(1.5, 4, n), 0, 150),
        "indication": rng.choice(["primary_osteoarthritis", "rheumatoid_arthritis", "dysplasia", "other"], n, p=[0.85, 0.05, 0.05, 0.05]),
        "charlson_index": pd.array(rng.poisson(0.4, n), dtype="Int8"),
        "anxiety_depression": pd.array(anxiety, dtype="boolean"),
        "prior_contralateral": pd.array(rng.random(n) < 0.1, dtype="boolean"),
        "employed": pd.array(employed, dtype="boolean"),
        "oxford_pre": oxford_pre,
        "eq5d_pre": np.clip(0.3 + 0.012 * oxford_pre + rng.normal(0, 0.1, n), -0.5, 1),
        "eqvas_pre": np.clip(rng.normal(60, 18, n), 0, 100).round(),
        "oxford_12m": np.where(responded, oxford_12m, np.nan),
        "expected_oxford_12m": np.clip(mu, 0, 48),
        "complication_90d": pd.array(complication, dtype="boolean"),
        "expected_complication_90d": p_comp,
        "los_days": rng.poisson(los_mu).astype(float),
        "cost_1y_dkk": cost,
        "return_to_work_6m": pd.array(np.where(employed, rng.random(n) < expit(1.0 - 0.05 * (age - 55)), pd.NA), dtype="boolean"),
        "followup_complete_1y": pd.array(np.ones(n, dtype=bool), dtype="boolean"),
        "death_1y": pd.array(np.zeros(n, dtype=bool), dtype="boolean"),
    })
    frame["hospital_effect"] = np.vectorize(hosp_effect.get)(hospital)
    # Remaining columns the model specifications read (simple, plausible values).
    frame["arthroplasty_type"] = rng.choice(["total", "partial"], n, p=[0.9, 0.1])
    frame["prior_inpatient_2y"] = pd.array(rng.poisson(0.5, n), dtype="Int16")
    frame["prior_outpatient_2y"] = pd.array(rng.poisson(4, n), dtype="Int16")
    frame["prior_cost_2y_dkk"] = rng.gamma(2.0, 15000, n)
    frame["pain_pre"] = np.clip(rng.normal(7, 1.5, n), 0, 10).round()
    frame["bilateral_same_day"] = pd.array(rng.random(n) < 0.02, dtype="boolean")
    frame["sickness_benefit_weeks_1y"] = pd.array(np.where(employed, rng.poisson(3, n), 0), dtype="Int16")
    frame["employment_status"] = np.where(employed, rng.choice(["employed", "sick_listed"], n, p=[0.8, 0.2]), "retired")
    frame["eq5d_gain_12m"] = np.where(responded, 0.35 - 0.4 * (frame["eq5d_pre"] - 0.5) - 0.05 * anxiety + rng.normal(0, 0.15, n), np.nan)
    change = frame["oxford_12m"] - frame["oxford_pre"]
    frame["mic_12m"] = pd.array(np.where(responded, change >= np.where(joint == "hip", 8, 7), pd.NA), dtype="boolean")
    frame["readmission_90d"] = pd.array(rng.random(n) < expit(-2.5 + 0.03 * (age - 70) + 0.4 * complication), dtype="boolean")
    followed_2y = year < max(years)
    frame["followup_complete_2y"] = pd.array(followed_2y, dtype="boolean")
    reop = rng.random(n) < expit(-3.0 + 0.8 * complication)
    frame["reoperation_2y"] = pd.array(np.where(followed_2y, reop, pd.NA), dtype="boolean")
    frame["death_90d"] = pd.array(rng.random(n) < expit(-4.5 + 0.08 * (age - 70) + 0.7 * (asa >= 3)), dtype="boolean")
    return frame

