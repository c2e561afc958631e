"""NHS England PROMs records -> an episodes-style table (``data_schemas/nhs_episodes.yaml``).

One row per linked pre-op (Q1) and 6-month post-op (Q2) questionnaire pair.  Codes
``9`` (categorical and item columns), ``999`` (EQ-VAS) and ``*`` (suppressed age band
and sex) become missing; the comorbidity boxes have no "No" code, so unticked (``9``)
is False.  Oxford scores and EQ-5D indices are recomputed with :mod:`vbhc.proms`
(UK 3L TTO value set, as NHS Digital publishes) and checked against the published ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vbhc.core.errors import InputError
from vbhc.core.log import get_logger
from vbhc.nhs._records import OXFORD_ITEM_COLUMNS, TABLE
from vbhc.proms import EQ5D_DIMENSIONS, PromSettings, eq5d_index, load_prom_settings, mic_achieved, oxford_score
from vbhc.schemas import load_schema

NHS_VALUE_SET = "uk_3l_tto"
"""EQ-5D-3L value set of the NHS PROMs files (Dolan 1997)."""

COMORBIDITIES = {
    "Heart Disease": "comorb_heart_disease",
    "High Bp": "comorb_high_bp",
    "Stroke": "comorb_stroke",
    "Circulation": "comorb_circulation",
    "Lung Disease": "comorb_lung_disease",
    "Diabetes": "comorb_diabetes",
    "Kidney Disease": "comorb_kidney_disease",
    "Nervous System": "comorb_nervous_system",
    "Liver Disease": "comorb_liver_disease",
    "Cancer": "comorb_cancer",
    "Depression": "comorb_depression",
    "Arthritis": "comorb_arthritis",
}
_EQ5D_COLUMNS = dict(zip(EQ5D_DIMENSIONS, ["Mobility", "Self-Care", "Activity", "Discomfort", "Anxiety"]))
OXFORD_ITEMS_UNION = list(dict.fromkeys(OXFORD_ITEM_COLUMNS["hip"] + OXFORD_ITEM_COLUMNS["knee"]))
_YES_NO = {"1": True, "2": False}
_SYMPTOM_PERIOD = {"1": "under_1y", "2": "1_5y", "3": "6_10y", "4": "over_10y"}
_LIVING = {"1": "with_others", "2": "alone", "3": "care_home", "4": "other"}
_SATISFACTION = {"1": "excellent", "2": "very_good", "3": "good", "4": "fair", "5": "poor"}
_SUCCESS = {"1": "much_better", "2": "a_little_better", "3": "about_the_same", "4": "a_little_worse", "5": "much_worse"}
_COMPLICATIONS = {
    "Allergy": "complication_allergy_6m",
    "Bleeding": "complication_bleeding_6m",
    "Wound": "complication_wound_6m",
    "Urine": "complication_urine_6m",
    "Further Surgery": "further_surgery_6m",
    "Readmitted": "readmitted_6m",
}
_PHASES = {"pre": "Pre-Op Q", "6m": "Post-Op Q"}


def item_column(item: str) -> str:
    """Snake-case item name of an NHS Oxford item suffix (``Night Pain`` -> ``night_pain``)."""
    return item.lower().replace(" ", "_")


class _Parser:
    """Decode published string codes, with errors that name the file, column and row."""

    def __init__(self, records: pd.DataFrame) -> None:
        self.records = records

    def fail(self, column: str, bad: np.ndarray, expected: str) -> None:
        i = int(np.flatnonzero(bad)[0])
        r = self.records
        raise InputError(
            f"{r['source_file'].iat[i]}: unexpected value {r[column].iat[i]!r} in {int(bad.sum())} row(s); "
            f"expected {expected}",
            table=TABLE, column=column, row=int(r["source_row"].iat[i]), rule="published codes",
        )  # fmt: skip

    def decode(self, column: str, mapping: dict[str, object], missing: tuple[str, ...] = ("9",), applies=None,
               expected: str | None = None):  # fmt: skip
        """Decode each distinct code once: returns ``(lookup, codes, valid)`` so that
        ``lookup[codes]`` are the mapped values, valid where the code is in ``mapping`` and
        the column ``applies`` to the row.  ``missing`` codes are not valid; rows where the
        column does not apply must be empty; anything else raises :class:`InputError`."""
        codes, uniques = pd.factorize(self.records[column])
        uniques = list(uniques)
        known = np.array([u in mapping for u in uniques] + [False], dtype=bool)[codes]
        is_missing = np.array([u in missing for u in uniques] + [False], dtype=bool)[codes]
        empty = np.array([u == "" for u in uniques] + [True], dtype=bool)[codes]
        applies = np.ones(len(codes), bool) if applies is None else np.asarray(applies)
        bad = (applies & ~known & ~is_missing) | (~applies & ~empty)
        if bad.any():
            self.fail(column, bad, f"{expected or f'one of {sorted(mapping)}'} or missing code {list(missing)}")
        return [mapping.get(u) for u in uniques] + [None], codes, known & applies

    def boolean(self, column: str, mapping=_YES_NO, missing=("9",)) -> pd.arrays.BooleanArray:
        lookup, codes, valid = self.decode(column, mapping, missing)
        return pd.arrays.BooleanArray(np.array([bool(v) for v in lookup])[codes], ~valid)

    def flag(self, column: str, mapping: dict[str, bool]) -> np.ndarray:
        """A column without missing values (every code must be in ``mapping``)."""
        lookup, codes, _ = self.decode(column, mapping, missing=())
        return np.array([bool(v) for v in lookup])[codes]

    def category(self, column: str, mapping: dict[str, str], missing=("9",)) -> pd.Series:
        lookup, codes, valid = self.decode(column, mapping, missing)
        return pd.Series(np.where(valid, np.array(lookup, dtype=object)[codes], None)).astype("str")

    def level(self, column: str, low: int, high: int, missing=("9",), applies=None) -> pd.arrays.IntegerArray:
        mapping = {str(v): v for v in range(low, high + 1)}
        lookup, codes, valid = self.decode(column, mapping, missing, applies)
        values = np.array([v or 0 for v in lookup], dtype=np.int8)[codes]
        return pd.arrays.IntegerArray(np.where(valid, values, 0).astype(np.int8), ~valid)

    def measure(self, column: str, low: int, high: int, missing: tuple[str, ...]) -> np.ndarray:
        """Whole-number measurement ``low``-``high`` as float; ``missing`` codes -> NaN."""
        mapping = {str(v): float(v) for v in range(low, high + 1)}
        lookup, codes, valid = self.decode(column, mapping, missing, expected=f"a whole number {low}-{high}")
        return np.where(valid, np.array([np.nan if v is None else v for v in lookup])[codes], np.nan)

    def number(self, column: str) -> np.ndarray:
        """Decimal column; empty = missing."""
        s = self.records[column]
        values = pd.to_numeric(s.where(s != ""), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = np.isnan(values) & (s != "").to_numpy()
        if bad.any():
            self.fail(column, bad, "a number or empty")
        return values


def nhs_episodes(records: pd.DataFrame, settings: PromSettings | None = None) -> pd.DataFrame:
    """Episodes-style table from :func:`read_nhs_records` output (pure; no I/O).

    Columns and their definitions: ``data_schemas/nhs_episodes.yaml``.  ``mic_6m`` uses
    the OHS/OKS minimal important change of ``settings`` (default ``pipelines/proms.yaml``:
    8 hip, 7 knee).  Published codes outside the data dictionary raise
    :class:`InputError` naming the file, column and row.
    """
    settings = settings or load_prom_settings()
    p = _Parser(records)
    out = _keys_and_case_mix(p)
    published: dict[str, np.ndarray] = {}
    for phase, prefix in _PHASES.items():
        out |= _questionnaire(p, phase, prefix, settings.oxford_max_missing_items)
        published[f"oxford_{phase}"] = p.number(f"{prefix} Score")
        published[f"eq5d_{phase}"] = p.number(f"{prefix} EQ5D Index")
        if phase == "6m":
            out |= _post_op_reports(p)
    out["nhs_pred_oxford_6m"] = p.number("Oxford Post-Op Q Predicted")
    out["nhs_pred_eq5d_6m"] = p.number("EQ5D Index Post-Op Q Predicted")
    out["nhs_pred_eqvas_6m"] = p.number("EQ VAS Post-Op Q Predicted")
    out["oxford_change_6m"] = out["oxford_6m"] - out["oxford_pre"]
    out["eq5d_gain_6m"] = out["eq5d_6m"] - out["eq5d_pre"]
    out["mic_6m"] = _mic(out, records["joint"].to_numpy(), settings)

    df = pd.DataFrame({k: (v.to_numpy() if isinstance(v, pd.Series) else v) for k, v in out.items()})
    log = get_logger("vbhc.nhs")
    for name, theirs in published.items():
        ours = df[name].to_numpy()
        differ = ~(np.isclose(ours, theirs, rtol=0, atol=5e-4) | (np.isnan(ours) & np.isnan(theirs)))
        if differ.any():
            log.warning("%s differs from the published value in %d of %d records", name, int(differ.sum()), len(df))
    if df["episode_id"].duplicated().any():
        raise InputError("episode ids are not unique: a joint and year appear in two files", table=TABLE)
    schema = load_schema("nhs_episodes")
    return df[schema.column_names].astype(schema.pandas_dtypes())


def _keys_and_case_mix(p: _Parser) -> dict[str, object]:
    records = p.records
    joint = records["joint"].to_numpy()
    out: dict[str, object] = {}
    years = records["Year"]
    bad = ~years.str.fullmatch(r"\d{4}/\d{2}").to_numpy()
    if bad.any():
        p.fail("Year", bad, "a financial year such as '2016/17'")
    code = np.char.add(np.char.add("NHS", years.str.replace("/", "").str[2:].to_numpy(dtype=str)),
                       np.where(joint == "hip", "H", "K"))  # fmt: skip
    out["episode_id"] = np.char.add(code, records["source_row"].map("{:06d}".format).to_numpy(dtype=str))
    out["joint"] = records["joint"]
    out["year"] = years
    out["operation_year"] = years.str[:4].astype(int)
    provider = records["Provider Code"].str.strip()
    if (provider == "").any():
        p.fail("Provider Code", (provider == "").to_numpy(), "a provider code")
    out["hospital_id"] = provider
    out["revision"] = p.flag("Revision Flag", {"0": False, "1": True})
    bands = {f"{lo} to {lo + 9}": f"{lo}-{lo + 9}" for lo in range(10, 90, 10)} | {"90 to 120": "90+"}
    out["age_band"] = p.category("Age Band", bands, missing=("*",))
    out["sex"] = p.category("Gender", {"1": "M", "2": "F"}, missing=("*", "9"))
    out["assisted"] = p.boolean("Pre-Op Q Assisted")
    out["symptom_period"] = p.category("Pre-Op Q Symptom Period", _SYMPTOM_PERIOD)
    out["previous_surgery"] = p.boolean("Pre-Op Q Previous Surgery")
    out["living_arrangements"] = p.category("Pre-Op Q Living Arrangements", _LIVING)
    out["disability"] = p.boolean("Pre-Op Q Disability")
    for column, name in COMORBIDITIES.items():
        out[name] = p.flag(column, {"1": True, "9": False})
    return out


def _questionnaire(p: _Parser, phase: str, prefix: str, max_missing: int) -> dict[str, object]:
    """EQ-5D (index and levels), EQ-VAS and Oxford (score and items) of one questionnaire."""
    joint = p.records["joint"].to_numpy()
    out: dict[str, object] = {}
    dims = {d: p.level(f"{prefix} {c}", 1, 3) for d, c in _EQ5D_COLUMNS.items()}
    levels = np.column_stack([a.to_numpy(dtype=float, na_value=np.nan) for a in dims.values()])
    out[f"eq5d_{phase}"] = eq5d_index(levels, NHS_VALUE_SET)
    for d in EQ5D_DIMENSIONS:
        out[f"eq5d_{phase}_{d.lower()}"] = dims[d]
    out[f"eqvas_{phase}"] = p.measure(f"{prefix} EQ VAS", 0, 100, missing=("999",))
    items = {}
    for item in OXFORD_ITEMS_UNION:
        applies = np.isin(joint, [j for j, names in OXFORD_ITEM_COLUMNS.items() if item in names])
        items[item] = p.level(f"{prefix} {item}", 0, 4, applies=applies)
    oxford = np.full(len(joint), np.nan)
    for j, names in OXFORD_ITEM_COLUMNS.items():
        rows = joint == j
        matrix = np.column_stack([items[n][rows].to_numpy(dtype=float, na_value=np.nan) for n in names])
        oxford[rows] = oxford_score(matrix, instrument="OHS" if j == "hip" else "OKS", max_missing=max_missing)
    out[f"oxford_{phase}"] = oxford
    for item in OXFORD_ITEMS_UNION:
        out[f"oxford_{phase}_{item_column(item)}"] = items[item]
    return out


def _post_op_reports(p: _Parser) -> dict[str, object]:
    """Satisfaction, transition ("success"), self-reported complications, living situation at 6 months."""
    out: dict[str, object] = {
        "satisfaction_6m": p.category("Post-Op Q Satisfaction", _SATISFACTION),
        "success_6m": p.category("Post-Op Q Sucess", _SUCCESS),
    }
    for column, name in _COMPLICATIONS.items():
        out[name] = p.boolean(f"Post-Op Q {column}")
    out["living_arrangements_6m"] = p.category("Post-Op Q Living Arrangements", _LIVING)
    out["disability_6m"] = p.boolean("Post-Op Q Disability")
    return out


def _mic(out: dict, joint: np.ndarray, settings: PromSettings) -> pd.arrays.BooleanArray:
    mic = pd.array([pd.NA] * len(joint), dtype="boolean")
    for j, instrument in (("hip", "OHS"), ("knee", "OKS")):
        rows = joint == j
        pre, post = out["oxford_pre"][rows], out["oxford_6m"][rows]
        mic[rows] = mic_achieved(pre, post, instrument=instrument, settings=settings)
    return mic
