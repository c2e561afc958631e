"""Generated columns to Arrow tables in the schemas' column order and types, with the
string identifiers (pseudonymised person keys, contact, cost and response keys)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vbhc.core.privacy import pseudonymise
from vbhc.schemas import load_schema
from vbhc.synth import _catalogue as cat
from vbhc.synth._calendar import iso_year_week, to_datetime64_days, to_datetime64_minutes
from vbhc.synth._frame import Frame
from vbhc.synth._world import (
    BENEFITS, CONTACT_TYPES, COST_CATEGORIES, INDICATIONS, JOINTS, SIDES, SMOKING, World,
)

INSTRUMENTS = ("EQ-5D-5L", "EQ-VAS", "OHS", "OKS", "PAIN-NRS", "WORK")


def person_pseudonyms(world: World, global_index: np.ndarray) -> pa.Array:
    """Keyed pseudonyms (HMAC-SHA256) of the persons' running numbers; the key depends on
    the seed, so two registries never share pseudonyms."""
    key = f"vbhc-synth-{world.cfg.seed}".encode()
    return pa.array(pseudonymise(global_index.tolist(), key), type=pa.string())


def keys(prefix: str, block: int, numbers: np.ndarray, width: int) -> pa.Array:
    """String keys like ``K0030000001234``: prefix, block (3 digits), zero-padded number."""
    digits = pc.utf8_lpad(pc.cast(pa.array(np.asarray(numbers, np.int64)), pa.string()), width, "0")
    return pc.binary_join_element_wise(f"{prefix}{block:03d}", digits, "")


def decode(values: list[str] | tuple[str, ...], codes: np.ndarray) -> pa.Array:
    """Strings from integer codes (-1 = null) via a dictionary array."""
    codes = np.asarray(codes)
    dictionary = pa.array(list(values), type=pa.string())
    indices = pa.array(np.where(codes < 0, 0, codes).astype(np.int32), mask=codes < 0)
    return pa.DictionaryArray.from_arrays(indices, dictionary).cast(pa.string())


def dates(days: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(to_datetime64_days(days), type=pa.date32(), mask=mask)


def timestamps(minutes: np.ndarray) -> pa.Array:
    return pa.array(to_datetime64_minutes(minutes), type=pa.timestamp("us"))


def table(name: str, columns: dict[str, pa.Array]) -> pa.Table:
    """Columns in schema order, cast to the schema's Arrow types."""
    schema = load_schema(name).arrow_schema()
    arrays = [columns[f.name].cast(f.type) if columns[f.name].type != f.type else columns[f.name] for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def patients_table(world: World, persons: Frame, pid: pa.Array) -> pa.Table:
    death = persons["death_day"]
    return table("patients", {
        "person_id": pid,
        "birth_date": dates(persons["birth_day"]),
        "sex": decode(("M", "F"), persons["female"].astype(int)),
        "death_date": dates(np.minimum(death, world.data_end), mask=death > world.data_end),
        "region_code": pa.array(persons["region"], pa.int16()),
        "municipality_code": pa.array(persons["municipality"], pa.int16()),
    })


def contacts_table(world: World, c: Frame, pid: pa.Array, contact_id: pa.Array) -> pa.Table:
    return table("contacts", {
        "contact_id": contact_id,
        "person_id": pc.take(pid, pa.array(c["person"])),
        "hospital_id": decode(list(world.hospitals.code), c["hospital"]),
        "department_id": decode(world.dept.values, c["dept"]),
        "contact_type": decode(CONTACT_TYPES, c["ctype"]),
        "start_time": timestamps(c["start"]),
        "end_time": timestamps(c["end"]),
        "is_acute": pa.array(c["acute"], pa.bool_()),
        "primary_diagnosis": decode(world.dx.values, c["dx"]),
    })


def diagnoses_table(world: World, d: Frame, contact_id: pa.Array) -> pa.Table:
    return table("diagnoses", {
        "contact_id": pc.take(contact_id, pa.array(d["contact"])),
        "diagnosis_code": decode(world.dx.values, d["dx"]),
        "diagnosis_type": decode(("A", "B"), d["dtype"]),
    })


def procedures_table(world: World, p: Frame, contact_id: pa.Array) -> pa.Table:
    return table("procedures", {
        "contact_id": pc.take(contact_id, pa.array(p["contact"])),
        "procedure_code": decode(world.px.values, p["px"]),
        "procedure_date": dates(p["day"]),
        "laterality": decode(SIDES, p["side"]),
    })


def registry_table(world: World, r: Frame, pid: pa.Array) -> pa.Table:
    return table("arthroplasty_registry", {
        "person_id": pc.take(pid, pa.array(r["person"])),
        "operation_date": dates(r["day"]),
        "joint": decode(JOINTS, r["joint"]),
        "laterality": decode(SIDES, r["side"]),
        "operation_type": decode(("primary", "revision"), r["revision"].astype(int)),
        "hospital_id": decode(list(world.hospitals.code), r["hospital"]),
        "asa_class": pa.array(r["asa"], pa.int8(), mask=r["asa"] < 0),
        "bmi": pa.array(r["bmi"], pa.float64(), from_pandas=True),
        "smoking": decode(SMOKING, r["smoking"]),
        "alcohol_units_week": pa.array(r["alcohol"], pa.float64(), from_pandas=True),
        "indication": decode(INDICATIONS, r["indication"]),
    })


def prom_table(world: World, p: Frame, pid: pa.Array, response_id: pa.Array) -> pa.Table:
    return table("prom_responses", {
        "response_id": response_id,
        "person_id": pc.take(pid, pa.array(p["person"])),
        "joint": decode(JOINTS, p["joint"]),
        "instrument": decode(INSTRUMENTS, p["instrument"]),
        "item": pa.array(p["item"], pa.string()),
        "answer": pa.array(p["answer"], pa.float64()),
        "response_date": dates(p["day"]),
        "mode": decode(("web", "paper"), p["mode"]),
    })


def costs_table(world: World, c: Frame, pid: pa.Array, contact_id: pa.Array, cost_id: pa.Array) -> pa.Table:
    linked = c["contact"] >= 0
    return table("costs", {
        "cost_id": cost_id,
        "person_id": pc.take(pid, pa.array(c["person"])),
        "contact_id": pc.take(contact_id, pa.array(np.where(linked, c["contact"], 0), mask=~linked)),
        "cost_date": dates(c["day"]),
        "cost_category": decode(COST_CATEGORIES, c["category"]),
        "amount_dkk": pa.array(np.round(c["amount"], 2), pa.float64()),
        "tariff_year": pa.array(c["tariff_year"], pa.int16()),
        "drg_code": decode(world.drg.values, c["drg"]),
    })


def transfers_table(d: Frame, pid: pa.Array) -> pa.Table:
    return table("transfer_payments", {
        "person_id": pc.take(pid, pa.array(d["person"])),
        "year_week": pa.array(iso_year_week(d["week"]), pa.int32()),
        "benefit_code": decode(BENEFITS, d["benefit"]),
    })


def drg_tariffs_table(world: World) -> pa.Table:
    """Every DRG/DAGS group for every year of the extract at that year's nominal prices."""
    years = np.arange(world.cfg.start_year, world.cfg.end_year + 1)
    n = len(cat.TARIFFS)
    yy = np.repeat(years, n)
    codes = np.tile(np.array([world.drg.code(t.code) for t in cat.TARIFFS]), len(years))
    tariff, per_day = world.tariff_nominal(codes, yy)
    t = [cat.TARIFFS[i % n] for i in range(len(yy))]
    drg = np.array([x.system == "DRG" for x in t])
    return table("drg_tariffs", {
        "tariff_year": pa.array(yy, pa.int16()),
        "drg_code": pa.array([x.code for x in t], pa.string()),
        "tariff_system": pa.array([x.system for x in t], pa.string()),
        "description": pa.array([x.description for x in t], pa.string()),
        "tariff_dkk": pa.array(tariff, pa.float64()),
        "trim_point_days": pa.array(np.array([x.trim_days or 0 for x in t]), pa.int16(), mask=~drg),
        "per_day_dkk": pa.array(per_day, pa.float64(), mask=~drg),
    })
