"""Small simulated registries with known hospital effects, for the value and pricing tests.

Each patient's expected outcome is known exactly (the case-mix part of the simulation),
so ``predictions`` play the role of a perfect case-mix model and the hospital effects
are the truth the comparisons should recover.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

BINARY_BASE = {
    "mic_12m": 1.8,
    "death_90d": -5.0,
    "complication_90d": -2.5,
    "readmission_90d": -2.7,
    "return_to_work_6m": 0.8,
    "reoperation_2y": -3.2,
}


def simulate_registry(
    n: int = 4000,
    hospitals: int = 20,
    *,
    effect_scale: float = 1.0,
    response_rate: float = 0.8,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Episodes, predictions (``pred_<outcome>``) and true hospital effects.

    Hospital effects: Oxford 12 m points (SD 2 x scale), log-odds for binary outcomes
    (SD 0.3 x scale), LOS days (SD 0.5 x scale) and cost (SD 4,000 DKK x scale).
    """
    rng = np.random.default_rng(seed)
    hosp = np.array([f"H{h:02d}" for h in range(hospitals)])
    size = rng.lognormal(0, 0.6, hospitals)
    h = rng.choice(hospitals, size=n, p=size / size.sum())
    region = 1081 + np.arange(hospitals) % 5
    truth = pd.DataFrame({"hospital_id": hosp, "hospital_region_code": region})
    truth["effect_oxford_12m"] = rng.normal(0, 2.0, hospitals) * effect_scale
    truth["effect_eq5d_gain_12m"] = rng.normal(0, 0.03, hospitals) * effect_scale
    for name in BINARY_BASE:
        truth[f"effect_{name}"] = rng.normal(0, 0.3, hospitals) * effect_scale
    truth["effect_los_days"] = rng.normal(0, 0.5, hospitals) * effect_scale
    truth["effect_cost_1y_dkk"] = rng.normal(0, 4000, hospitals) * effect_scale

    joint = np.where(rng.random(n) < 0.45, "hip", "knee")
    age = rng.normal(69, 9, n).clip(30, 95)
    asa = rng.choice([1, 2, 3, 4], size=n, p=[0.15, 0.55, 0.27, 0.03])
    bmi = rng.normal(28, 5, n).clip(16, 55)
    risk = 0.03 * (age - 69) + 0.4 * (asa - 2) + 0.05 * (bmi - 28)
    oxford_pre = rng.normal(np.where(joint == "hip", 18, 20), 7, n).clip(0, 48)
    eq5d_pre = rng.normal(0.45, 0.2, n).clip(-0.5, 1)
    employed = (age < 66) & (rng.random(n) < 0.6)

    ep = pd.DataFrame(
        {
            "episode_id": [f"E{i:08d}" for i in range(n)],
            "joint": joint,
            "hospital_id": hosp[h],
            "department_id": [f"{hosp[k]}-{d}" for k, d in zip(h, rng.integers(0, 2, n), strict=True)],
            "hospital_region_code": pd.array(region[h], dtype="Int16"),
            "age": age,
            "asa_class": pd.array(asa, dtype="Int8"),
            "bmi": bmi,
            "employed": pd.array(employed, dtype="boolean"),
            "oxford_pre": oxford_pre,
            "eq5d_pre": eq5d_pre,
        }
    )
    preds = pd.DataFrame({"episode_id": ep["episode_id"]})
    fx = truth.iloc[h].reset_index(drop=True)

    e_ox = 18 + 0.5 * oxford_pre - 1.5 * (asa - 2) - 0.05 * (age - 69)
    ep["oxford_12m"] = e_ox + fx["effect_oxford_12m"] + rng.normal(0, 7, n)
    preds["pred_oxford_12m"] = e_ox
    e_eq = 0.3 - 0.45 * (eq5d_pre - 0.45) - 0.03 * (asa - 2)
    ep["eq5d_gain_12m"] = e_eq + fx["effect_eq5d_gain_12m"] + rng.normal(0, 0.18, n)
    preds["pred_eq5d_gain_12m"] = e_eq
    ep["eq5d_12m"] = ep["eq5d_pre"] + ep["eq5d_gain_12m"]
    ep["eq5d_3m"] = ep["eq5d_pre"] + 0.8 * ep["eq5d_gain_12m"] + rng.normal(0, 0.05, n)
    for name, base in BINARY_BASE.items():
        lp = base + (0.5 if name not in ("mic_12m", "return_to_work_6m") else -0.3) * risk
        preds[f"pred_{name}"] = special.expit(lp)
        ep[name] = pd.array(rng.random(n) < special.expit(lp + fx[f"effect_{name}"]), dtype="boolean")
    e_los = np.exp(0.9 + 0.15 * risk)
    ep["los_days"] = rng.poisson(np.clip(e_los + fx["effect_los_days"], 0.1, None)).astype(float)
    preds["pred_los_days"] = e_los
    e_cost = 60000 * np.exp(0.12 * risk)
    ep["cost_1y_dkk"] = (e_cost + fx["effect_cost_1y_dkk"]) * rng.gamma(10, 0.1, n)
    preds["pred_cost_1y_dkk"] = e_cost
    ep["cost_index_dkk"] = 0.7 * ep["cost_1y_dkk"]
    ep["cost_90d_dkk"] = 0.15 * ep["cost_1y_dkk"]
    # Second year: routine follow-up, plus about 90,000 DKK for a reoperation.
    reop = ep["reoperation_2y"].to_numpy(dtype=bool)
    ep["cost_2y_dkk"] = ep["cost_1y_dkk"] + rng.gamma(4, 1500, n) + reop * rng.gamma(20, 4500, n)

    death_1y = ep["death_90d"].to_numpy(dtype=bool) | (rng.random(n) < 0.01)
    ep["death_1y"] = pd.array(death_1y, dtype="boolean")
    ep["followup_complete_1y"] = pd.array(np.ones(n, dtype=bool), dtype="boolean")
    ep.loc[~ep["employed"].to_numpy(dtype=bool), "return_to_work_6m"] = pd.NA
    ep["oxford_change_12m"] = ep["oxford_12m"] - ep["oxford_pre"]
    ep["mic_12m"] = pd.array(
        np.where(ep["joint"] == "hip", ep["oxford_change_12m"] >= 8, ep["oxford_change_12m"] >= 7), dtype="boolean"
    )
    # The simulated MIC no longer follows BINARY_BASE; predict it from the Oxford model.
    sd = 7.0
    thresh = np.where(joint == "hip", 8, 7)
    from scipy import stats

    preds["pred_mic_12m"] = stats.norm.sf((thresh - (e_ox - oxford_pre)) / sd)
    # PROM non-response (and nobody answers after death).
    silent = (rng.random(n) > response_rate) | death_1y
    for col in ("oxford_12m", "oxford_change_12m", "eq5d_gain_12m", "eq5d_12m", "eq5d_3m"):
        ep.loc[silent, col] = np.nan
    ep.loc[silent, "mic_12m"] = pd.NA
    # Two-year warranty events (drawn last so the columns above keep their values):
    # revisions are 40 % of reoperations; acute complications within 2 years are those
    # within 90 days plus late ones (2 %), which cost about 30,000 DKK in the second year.
    revision = reop & (rng.random(n) < 0.4)
    ep["revision_2y"] = pd.array(revision, dtype="boolean")
    preds["pred_revision_2y"] = 0.4 * preds["pred_reoperation_2y"]
    late = rng.random(n) < 0.02
    ep["complication_2y"] = pd.array(ep["complication_90d"].to_numpy(dtype=bool) | late, dtype="boolean")
    ep["cost_2y_dkk"] = ep["cost_2y_dkk"] + late * rng.gamma(10, 3000, n)
    return ep, preds, truth
