"""Small hand-made episode frames for the settlement tests (and the benchmark).

``episode_frame(rows)`` fills every column the simulator reads with neutral defaults,
so a test states only what it is about.  ``synthetic_episodes`` makes a plausible cohort
(risk drives complications, readmissions, reoperations and costs) with the generator's
expected values (``expected_<outcome>``, a perfect case-mix model); ``predictions``
turns them into ``vbhc predict`` output and ``price_cohort`` prices the cohort with the
real pricing stage (``vbhc.pricing.price_episodes``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vbhc.settlement._behaviour import COST_CATEGORIES

CATEGORIES = tuple(COST_CATEGORIES)  # cost_1y_<category>_dkk columns of the episodes table
DEFAULTS = {
    "joint": "hip",
    "department_id": None,  # default: hospital_id + "-ORT"
    "hospital_region_code": 1081,
    "operation_year": 2016,
    "age": 68.0,
    "bmi": 27.0,
    "asa_class": 2,
    "charlson_index": 0,
    "drg_value_index_dkk": 0.0,
    "outpatient_visits_90d": 0,
    "outpatient_visits_1y": 0,
    "inpatient_admissions_1y": 0,
    "complication_90d": False,
    "readmission_30d": False,
    "readmission_90d": False,
    "mic_12m": True,
    "reoperation_2y": False,
    "eq5d_gain_12m": 0.2,
    "oxford_change_12m": 15.0,
}


def episode_frame(rows: list[dict]) -> pd.DataFrame:
    """Episodes from ``rows`` (dicts with at least ``hospital_id``); cost categories
    default to 0 and the hospital, region and society aggregates are their sums."""
    records = []
    for i, row in enumerate(rows):
        r = {**DEFAULTS, **row}
        r.setdefault("episode_id", f"E{i:05d}")
        r.setdefault("person_id", f"P{i:05d}")
        if r["department_id"] is None:
            r["department_id"] = f"{r['hospital_id']}-ORT"
        for c in CATEGORIES:
            r.setdefault(f"cost_1y_{c}_dkk", 0.0)
        records.append(r)
    df = pd.DataFrame(records)
    hospital = sum(df[f"cost_1y_{c}_dkk"] for c in ("drg_tariff", "dags_tariff", "implant", "medicine"))
    if "cost_1y_hospital_dkk" not in df:
        df["cost_1y_hospital_dkk"] = hospital
    if "cost_1y_dkk" not in df:
        df["cost_1y_dkk"] = df["cost_1y_hospital_dkk"] + df["cost_1y_primary_care_dkk"]
    if "cost_1y_society_dkk" not in df:
        df["cost_1y_society_dkk"] = df["cost_1y_dkk"] + sum(
            df[f"cost_1y_{c}_dkk"] for c in ("municipal_rehabilitation", "home_care", "sickness_benefit")
        )
    for col in ("cost_index_dkk", "cost_90d_dkk"):
        if col not in df:
            df[col] = 0.0
    for col in ("cost_2y_dkk", "cost_2y_hospital_dkk", "cost_2y_society_dkk"):
        if col not in df:
            df[col] = np.nan
    return _types(df)


def _types(df: pd.DataFrame) -> pd.DataFrame:
    ints = {
        "operation_year": "Int16",
        "hospital_region_code": "Int16",
        "asa_class": "Int8",
        "charlson_index": "Int8",
        "outpatient_visits_90d": "Int16",
        "outpatient_visits_1y": "Int16",
        "inpatient_admissions_1y": "Int16",
    }
    for col, dtype in ints.items():
        df[col] = df[col].astype(dtype)
    for col in ("complication_90d", "readmission_30d", "readmission_90d", "reoperation_2y", "mic_12m"):
        df[col] = df[col].astype("boolean")
    for col in ("hospital_id", "department_id", "episode_id", "person_id", "joint"):
        df[col] = df[col].astype(str)
    return df


def synthetic_episodes(
    n_hospitals: int = 6,
    per_hospital: int = 60,
    years: tuple[int, ...] = (2015, 2016),
    seed: int = 1,
    regions: tuple[int, ...] = (1081, 1082, 1083, 1084, 1085),
) -> pd.DataFrame:
    """A plausible cohort: hospital volumes vary ±30 %, risk raises complications,
    readmissions and costs; tariffs ~ 2016 DKK."""
    rng = np.random.default_rng(seed)
    sizes = np.maximum(5, (per_hospital * rng.uniform(0.7, 1.3, n_hospitals)).astype(int))
    frames = []
    expected_cost = _expected_cost_1y
    for year in years:
        hosp = np.repeat(np.arange(n_hospitals), sizes + rng.integers(-3, 4, n_hospitals))
        n = hosp.size
        age = np.clip(rng.normal(69, 9, n), 30, 95)
        asa = rng.choice([1, 2, 3, 4], n, p=[0.15, 0.55, 0.27, 0.03])
        bmi = np.clip(rng.normal(28, 5, n), 16, 55)
        charlson = rng.poisson(0.5, n)
        score = (asa >= 3) + (bmi >= 35) + (age >= 80) + (charlson >= 2)
        p_comp = 0.04 + 0.04 * score
        p_readmit = 0.03 + 0.03 * score + 0.2 * p_comp
        complication = rng.random(n) < p_comp
        readmit = rng.random(n) < 0.03 + 0.03 * score + 0.2 * complication
        reoperation = rng.random(n) < 0.02 + 0.01 * score
        visits = rng.poisson(3 + score)
        visits_90d = np.minimum(visits, rng.poisson(2, n))
        drg_index = 60_000 + 4_000 * score + rng.gamma(2, 2_000, n)
        extra_adm = readmit.astype(int) + (rng.random(n) < 0.05)
        drg = drg_index + extra_adm * 32_000 + complication * 25_000
        dags = visits * 1_600.0
        implant = rng.normal(16_000, 2_000, n)
        medicine = rng.gamma(2, 1_000, n) + complication * 6_000
        primary = rng.gamma(2, 1_500, n)
        region_1y = drg + dags + implant + medicine + primary
        frames.append(
            pd.DataFrame(
                {
                    "hospital_id": np.char.add("H", np.char.zfill(hosp.astype(str), 2)),
                    "hospital_region_code": np.array(regions)[hosp % len(regions)],
                    "operation_year": year,
                    "joint": rng.choice(["hip", "knee"], n),
                    "age": age,
                    "bmi": bmi,
                    "asa_class": asa,
                    "charlson_index": charlson,
                    "drg_value_index_dkk": drg_index,
                    "cost_index_dkk": drg_index + implant,
                    "cost_90d_dkk": complication * 25_000 + readmit * 32_000 + visits_90d * 1_600.0 + 0.5 * (medicine + primary),
                    "cost_1y_drg_tariff_dkk": drg,
                    "cost_1y_dags_tariff_dkk": dags,
                    "cost_1y_implant_dkk": implant,
                    "cost_1y_medicine_dkk": medicine,
                    "cost_1y_primary_care_dkk": primary,
                    "cost_1y_municipal_rehabilitation_dkk": rng.gamma(2, 2_500, n),
                    "cost_1y_home_care_dkk": rng.gamma(1, 3_000, n) * (age > 75),
                    "cost_1y_sickness_benefit_dkk": rng.gamma(1, 8_000, n) * (age < 65),
                    "cost_2y_dkk": region_1y + rng.gamma(4, 1_500, n) + reoperation * rng.gamma(20, 4_500, n),
                    "outpatient_visits_1y": visits,
                    "outpatient_visits_90d": visits_90d,
                    "inpatient_admissions_1y": extra_adm,
                    "complication_90d": complication,
                    "readmission_90d": readmit,
                    "readmission_30d": readmit & (rng.random(n) < 0.6),
                    "reoperation_2y": reoperation,
                    "mic_12m": np.where(rng.random(n) < 0.15, None, rng.random(n) < 0.85 - 0.1 * score),
                    "eq5d_gain_12m": np.where(rng.random(n) < 0.15, np.nan, rng.normal(0.25 - 0.03 * score, 0.15, n)),
                    "expected_cost_1y_dkk": expected_cost(score),
                    "expected_complication_90d": p_comp,
                    "expected_readmission_90d": p_readmit,
                    "expected_mic_12m": 0.85 - 0.1 * score,
                }
            )
        )
    df = pd.concat(frames, ignore_index=True)
    rows = df.to_dict("records")
    for i, r in enumerate(rows):
        r["episode_id"] = f"E{r['operation_year']}{i:06d}"
    return episode_frame(rows)


def _expected_cost_1y(score: np.ndarray) -> np.ndarray:
    """Expected 1-year region-perspective cost (DKK) of a synthetic episode with ``score``
    risk criteria: the mean of each cost part of :func:`synthetic_episodes`."""
    p_comp = 0.04 + 0.04 * score
    p_readmit = 0.03 + 0.03 * score + 0.2 * p_comp
    drg = 60_000 + 4_000 * score + 4_000 + (p_readmit + 0.05) * 32_000 + p_comp * 25_000
    return drg + (3 + score) * 1_600.0 + 16_000 + (2_000 + 6_000 * p_comp) + 3_000


def predictions(episodes: pd.DataFrame) -> pd.DataFrame:
    """``vbhc predict`` output for a synthetic cohort: ``pred_<outcome>`` = the generator's
    expected value."""
    expected = [c for c in episodes.columns if c.startswith("expected_")]
    out = episodes[["episode_id", *expected]].rename(columns={c: "pred_" + c.removeprefix("expected_") for c in expected})
    return out.reset_index(drop=True)


QUALITY = {
    "enabled": True,
    "max_share": 0.03,
    "min_episodes": 25,
    "components": [
        {"name": "complication_90d", "type": "binary", "higher_is_better": False, "weight": 0.6},
        {"name": "readmission_90d", "type": "binary", "higher_is_better": False, "weight": 0.4},
    ],
}
"""A quality composite the synthetic cohort can feed (complications and readmissions)."""


def price_cohort(episodes: pd.DataFrame, **overrides):
    """Price ``episodes`` with ``vbhc.pricing`` (the real pricing stage): a 90-day bundle,
    risk-adjusted by expected cost (``pred_cost_1y_dkk``), a 2-year reoperation warranty,
    outlier protection, the :data:`QUALITY` composite, no discount; ``overrides`` replace
    top-level pricing settings.  Returns the :class:`~vbhc.pricing.PricingResult`."""
    from vbhc.core.config import parse_config
    from vbhc.pricing import PricingSettings, price_episodes

    settings = {
        "cells": ["joint"],
        "bundle": {"window_days": 90},
        "risk_adjustment": {"method": "expected_cost", "prediction": "pred_cost_1y_dkk"},
        "warranty": {"enabled": True, "window_days": 730, "events": ["reoperation_2y"]},
        "outlier": {"enabled": True},
        "quality": QUALITY,
        "discount": 0.0,
    }
    settings.update(overrides)
    config = parse_config(settings, PricingSettings, source="settlement test pricing")
    return price_episodes(episodes.reset_index(drop=True), predictions(episodes), config)


def synthetic_prices(episodes: pd.DataFrame, **overrides) -> pd.DataFrame:
    """``episode_prices`` of :func:`price_cohort`."""
    return price_cohort(episodes, **overrides).episode_prices
