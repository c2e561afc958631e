"""Small hand-made episode frames for the settlement tests (and the benchmark).

``episode_frame(rows)`` fills every column the simulator reads with neutral defaults,
so a test states only what it is about.  ``synthetic_episodes`` makes a plausible cohort
(risk drives complications, readmissions and costs) and ``synthetic_prices`` prices it
the way ``vbhc price`` does: risk-adjusted (mean cost of the patient's risk group) or
flat (``base_price_dkk``).
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
    for col in ("complication_90d", "readmission_30d", "readmission_90d", "mic_12m"):
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
    for year in years:
        hosp = np.repeat(np.arange(n_hospitals), sizes + rng.integers(-3, 4, n_hospitals))
        n = hosp.size
        age = np.clip(rng.normal(69, 9, n), 30, 95)
        asa = rng.choice([1, 2, 3, 4], n, p=[0.15, 0.55, 0.27, 0.03])
        bmi = np.clip(rng.normal(28, 5, n), 16, 55)
        charlson = rng.poisson(0.5, n)
        score = (asa >= 3) + (bmi >= 35) + (age >= 80) + (charlson >= 2)
        complication = rng.random(n) < 0.04 + 0.04 * score
        readmit = rng.random(n) < 0.03 + 0.03 * score + 0.2 * complication
        visits = rng.poisson(3 + score)
        drg_index = 60_000 + 4_000 * score + rng.gamma(2, 2_000, n)
        extra_adm = readmit.astype(int) + (rng.random(n) < 0.05)
        drg = drg_index + extra_adm * 32_000 + complication * 25_000
        dags = visits * 1_600.0
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
                    "cost_1y_drg_tariff_dkk": drg,
                    "cost_1y_dags_tariff_dkk": dags,
                    "cost_1y_implant_dkk": rng.normal(16_000, 2_000, n),
                    "cost_1y_medicine_dkk": rng.gamma(2, 1_000, n) + complication * 6_000,
                    "cost_1y_primary_care_dkk": rng.gamma(2, 1_500, n),
                    "cost_1y_municipal_rehabilitation_dkk": rng.gamma(2, 2_500, n),
                    "cost_1y_home_care_dkk": rng.gamma(1, 3_000, n) * (age > 75),
                    "cost_1y_sickness_benefit_dkk": rng.gamma(1, 8_000, n) * (age < 65),
                    "outpatient_visits_1y": visits,
                    "outpatient_visits_90d": np.minimum(visits, rng.poisson(2, n)),
                    "inpatient_admissions_1y": extra_adm,
                    "complication_90d": complication,
                    "readmission_90d": readmit,
                    "readmission_30d": readmit & (rng.random(n) < 0.6),
                    "mic_12m": np.where(rng.random(n) < 0.15, None, rng.random(n) < 0.85 - 0.1 * score),
                    "eq5d_gain_12m": np.where(rng.random(n) < 0.15, np.nan, rng.normal(0.25 - 0.03 * score, 0.15, n)),
                }
            )
        )
    df = pd.concat(frames, ignore_index=True)
    rows = df.to_dict("records")
    for i, r in enumerate(rows):
        r["episode_id"] = f"E{r['operation_year']}{i:06d}"
    return episode_frame(rows)


def synthetic_prices(episodes: pd.DataFrame, *, cost_column: str = "cost_1y_hospital_dkk") -> pd.DataFrame:
    """``episode_prices`` as ``vbhc price`` writes it: price = mean cost of the episode's
    risk group (case-mix score), base price = overall mean (flat)."""
    from vbhc.settlement import case_mix_score

    score = case_mix_score(episodes)
    cost = episodes[cost_column].to_numpy(dtype=float)
    base = cost.mean()
    group_mean = pd.Series(cost).groupby(score).transform("mean").to_numpy()
    return pd.DataFrame(
        {
            "episode_id": episodes["episode_id"].astype(str),
            "hospital_id": episodes["hospital_id"].astype(str),
            "base_price_dkk": base,
            "risk_factor": group_mean / base,
            "warranty_dkk": 0.0,
            "outlier_dkk": 0.0,
            "quality_adjustment_dkk": 0.0,
            "price_dkk": group_mean,
            "actual_cost_dkk": cost,
            "margin_dkk": group_mean - cost,
        }
    )
