"""A small hand-made registry that passes every rule, and helpers to dirty it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cli_helpers import run_vbhc
from vbhc.core.io import write_parquet
from vbhc.schemas import load_schema

EXTRACT_DATE = "2020-12-31"


def frame(table: str, **columns: list) -> pd.DataFrame:
    """A frame of ``table`` in canonical dtypes; columns not given take the first allowed
    value, or missing when nullable (so tests keep working when columns are added)."""
    schema = load_schema(table)
    n = len(next(iter(columns.values())))
    data = {}
    for spec in schema.columns:
        if spec.name in columns:
            values = columns[spec.name]
        elif spec.allowed is not None:
            values = [spec.allowed[0]] * n
        elif spec.nullable:
            values = [None] * n
        else:
            raise KeyError(f"{table}.{spec.name} needs values")
        if spec.type in ("date", "timestamp"):
            data[spec.name] = pd.Series(pd.to_datetime(values), dtype=spec.pandas_dtype)
        else:
            data[spec.name] = pd.Series(values, dtype=spec.pandas_dtype)
    return pd.DataFrame(data)


def clean_registry() -> dict[str, pd.DataFrame]:
    """Five persons; p004 died on 2019-06-30; p005 has no other rows.  Contacts c1 and c2 are one stay split in two
    overlapping registrations (legitimate: the episode builder joins them).  The tariffs price every DRG/DAGS cost."""
    return {
        "patients": frame(
            "patients",
            person_id=["p001", "p002", "p003", "p004", "p005"],
            birth_date=["1950-01-02", "1948-05-05", "1960-07-07", "1940-03-03", "1955-09-09"],
            sex=["F", "M", "F", "M", "F"],
            death_date=[None, None, None, "2019-06-30", None],
            region_code=[1081, 1082, 1083, 1084, 1085],
            municipality_code=[851, 751, 461, 101, 253],
        ),
        "contacts": frame(
            "contacts",
            contact_id=["c1", "c2", "c3", "c4", "c5"],
            person_id=["p001", "p001", "p002", "p003", "p004"],
            hospital_id=["8001", "8001", "7005", "6006", "8001"],
            department_id=["8001011", "8001022", "7005011", "6006011", "8001011"],
            contact_type=["inpatient", "inpatient", "outpatient", "emergency", "inpatient"],
            start_time=["2019-03-01 08:00", "2019-03-03 09:00", "2019-04-01 10:00", "2019-05-01 12:00", "2019-06-01 08:00"],
            end_time=["2019-03-03 10:00", "2019-03-04 11:00", "2019-04-01 10:30", "2019-05-01 15:00", "2019-06-30 08:00"],
            is_acute=[False, False, False, True, True],
            primary_diagnosis=["DM161", "DM161", "DM171", "DS720", "DI219"],
        ),
        "diagnoses": frame(
            "diagnoses",
            contact_id=["c1", "c1", "c2", "c3", "c4", "c5"],
            diagnosis_code=["DM161", "DE119", "DM161", "DM171", "DS720", "DI219"],
            diagnosis_type=["A", "B", "A", "A", "A", "A"],
        ),
        "procedures": frame(
            "procedures",
            contact_id=["c1", "c3", "c5"],
            procedure_code=["KNFB20", "UXRC00", "BGDA0"],
            procedure_date=["2019-03-01", "2019-04-01", "2019-06-02"],
            laterality=["left", None, None],
        ),
        "arthroplasty_registry": frame(
            "arthroplasty_registry",
            person_id=["p001", "p002", "p003"],
            operation_date=["2019-03-01", "2019-04-02", "2019-05-03"],
            joint=["hip", "knee", "knee"],
            laterality=["left", "right", "left"],
            operation_type=["primary", "primary", "primary"],
            hospital_id=["8001", "7005", "6006"],
            asa_class=[2, 3, None],
            bmi=[28.5, 33.1, None],
            smoking=["never", "current", None],
            alcohol_units_week=[3.0, 14.0, None],
            indication=["primary_osteoarthritis", "primary_osteoarthritis", "rheumatoid_arthritis"],
        ),
        "prom_responses": frame(
            "prom_responses",
            response_id=["r1", "r1", "r2", "r3", "r3"],
            person_id=["p001"] * 5,
            joint=["hip"] * 5,
            instrument=["OHS", "OHS", "EQ-VAS", "EQ-5D-5L", "EQ-5D-5L"],
            item=["PAIN", "NIGHT_PAIN", "VAS", "MO", "SC"],
            answer=[2.0, 3.0, 70.0, 2.0, 1.0],
            response_date=["2019-02-01", "2019-02-01", "2019-02-01", "2019-02-01", "2019-02-01"],
            mode=["web"] * 5,
        ),
        "costs": frame(
            "costs",
            cost_id=["k1", "k2", "k3", "k4"],
            person_id=["p001", "p001", "p002", "p003"],
            contact_id=["c1", "c2", None, "c4"],
            cost_date=["2019-03-03", "2019-03-04", "2019-04-15", "2019-05-01"],
            cost_category=["drg_tariff", "drg_tariff", "primary_care", "dags_tariff"],
            amount_dkk=[52000.0, 1000.0, 350.0, 2100.0],
            tariff_year=[2019, 2019, 2019, 2019],
            drg_code=["08MP14", "08MP14", None, "30PR01"],
        ),
        "transfer_payments": frame(
            "transfer_payments",
            person_id=["p001", "p001", "p004"],
            year_week=[201910, 201911, 201926],  # p004 died on Sunday 2019-06-30, in ISO week 201926
            benefit_code=["sickness_benefit", "sickness_benefit", "state_pension"],
        ),
        "drg_tariffs": frame(
            "drg_tariffs",
            tariff_year=[2019, 2019, 2019],
            drg_code=["08MP14", "30PR01", "08MP11"],
            tariff_system=["DRG", "DAGS", "DRG"],
            description=["Hemialloplastik i hofte", "Telemedicinsk kontakt", "Primær hoftealloplastik"],
            tariff_dkk=[70000.0, 450.0, 54000.0],
            trim_point_days=[14, None, 7],
            per_day_dkk=[2150.0, None, 2350.0],
        ),
    }


def write_registry(tables: dict[str, pd.DataFrame], folder: Path, *, extract_date: str | None = EXTRACT_DATE) -> Path:
    """Write the tables as ``folder/<table>.parquet`` (schema-typed) and ``extract.json``."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        write_parquet(df, folder / f"{name}.parquet", load_schema(name))
    if extract_date is not None:
        (folder / "extract.json").write_text(json.dumps({"extract_date": extract_date}))
    return folder


def vbhc(*args: str | Path, capsys) -> tuple[int, str, str]:
    """Run the CLI in this process: (exit code, stdout, stderr)."""
    return run_vbhc(*args, capsys=capsys)
