"""Benchmark ``vbhc validate``: time, rows per second and peak memory of the real CLI.

Target (issue 2): a national extract (1,000,000 persons, about 180 million rows over all
tables) validated within about 12 GB of memory.

    python benchmarks/bench_validate.py --persons 20000            # quick check
    python benchmarks/bench_validate.py --persons 1000000          # national scale
    python benchmarks/bench_validate.py --raw demo/raw             # an existing extract

Without ``--raw`` it first writes a plain registry (not the realistic generator: valid
codes, uniform values, ``--dirty-rate`` of rows made invalid) of ``--persons`` persons,
in blocks so that writing it stays small.  Rows per person: about 20 contacts, 40
diagnoses, 6 procedures, 1 arthroplasty, 57 PROM items, 25 costs, 40 transfer weeks.
Validation runs as ``python -m vbhc validate`` in a child process; its peak memory is
the child's max RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from vbhc.schemas import load_schema

OHS = ["PAIN", "NIGHT_PAIN", "SUDDEN_PAIN", "LIMPING", "WALKING", "STAIRS", "DRESSING", "STANDING",
       "TRANSPORT", "WASHING", "SHOPPING", "WORK"]  # fmt: skip
PROM_ITEMS = [("OHS", i, 0, 4) for i in OHS] + [("EQ-5D-5L", d, 1, 5) for d in ["MO", "SC", "UA", "PD", "AD"]]
PROM_ITEMS += [("EQ-VAS", "VAS", 0, 100), ("PAIN-NRS", "PAIN", 0, 10)]


def _ids(prefix: str, numbers: np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise(prefix, pc.cast(pa.array(numbers), pa.string()), "")


def _dates(rng: np.random.Generator, n: int, start: str = "2012-01-01", days: int = 3000) -> np.ndarray:
    return np.datetime64(start, "D") + rng.integers(0, days, n)


def _dirty(rng: np.random.Generator, n: int, rate: float) -> np.ndarray:
    return rng.random(n) < rate


def _block(rng: np.random.Generator, first: int, n: int, rate: float) -> dict[str, dict[str, object]]:
    """One block of persons ``first .. first + n - 1``: column arrays per table."""
    persons = np.arange(first, first + n)
    pid = _ids("P", persons + 10**7)
    out: dict[str, dict[str, object]] = {}
    out["patients"] = {
        "person_id": pid,
        "birth_date": _dates(rng, n, "1930-01-01", 20000),
        "sex": rng.choice(["F", "M"], n),
        "death_date": np.where(rng.random(n) < 0.05, _dates(rng, n, "2019-01-01", 700), np.datetime64("NaT")),
        "region_code": rng.choice([1081, 1082, 1083, 1084, 1085], n).astype(np.int16),
        "municipality_code": rng.integers(101, 861, n).astype(np.int16),
    }
    n_c = 20 * n
    owner = rng.integers(first, first + n, n_c)
    start = np.datetime64("2012-01-01T00:00", "m") + rng.integers(0, 3000 * 1440, n_c)
    contact_no = np.arange(first * 20, first * 20 + n_c)
    bad_c = _dirty(rng, n_c, rate)
    hospital = rng.choice(["8001", "7005", "6006", "5501"], n_c)
    out["contacts"] = {
        "contact_id": _ids("C", contact_no),
        "person_id": _ids("P", np.where(_dirty(rng, n_c, rate / 4), owner + 10**9, owner + 10**7)),
        "hospital_id": hospital,
        "department_id": pc.binary_join_element_wise(pa.array(hospital), pa.array(rng.choice(["011", "022"], n_c)), ""),
        "contact_type": rng.choice(["inpatient", "outpatient", "emergency", "telemedicine"], n_c),
        "start_time": start.astype("datetime64[us]"),
        "end_time": (start + np.where(bad_c, -60, rng.integers(10, 4000, n_c))).astype("datetime64[us]"),
        "is_acute": rng.random(n_c) < 0.3,
        "primary_diagnosis": rng.choice(["DM161", "DM171", "DI219", "DE119", "DJ449"], n_c),
    }
    n_d = 2 * n_c
    out["diagnoses"] = {
        "contact_id": _ids("C", np.repeat(contact_no, 2)),
        "diagnosis_code": np.where(_dirty(rng, n_d, rate), "XX", rng.choice(["DM161", "DE119", "DI109", "DF329"], n_d)),
        "diagnosis_type": np.tile(["A", "B"], n_c),
    }
    n_p = 6 * n
    pc_ = rng.integers(first * 20, first * 20 + n_c, n_p)
    out["procedures"] = {
        "contact_id": _ids("C", pc_),
        "procedure_code": rng.choice(["KNFB20", "KNGB20", "UXRC00", "BGDA0"], n_p),
        "procedure_date": start[pc_ - first * 20].astype("datetime64[D]"),  # within its contact
        "laterality": rng.choice(np.array(["left", "right", None], dtype=object), n_p),
    }
    out["arthroplasty_registry"] = {
        "person_id": pid,
        "operation_date": _dates(rng, n, "2014-01-01", 2000),
        "joint": rng.choice(["hip", "knee"], n),
        "laterality": rng.choice(["left", "right"], n),
        "operation_type": np.full(n, "primary"),
        "hospital_id": rng.choice(["8001", "7005", "6006"], n),
        "asa_class": rng.integers(1, 5, n).astype(np.int8),
        "bmi": np.round(rng.normal(29, 5, n), 1).clip(15, 60),
        "smoking": rng.choice(["never", "former", "current"], n),
        "alcohol_units_week": rng.integers(0, 30, n).astype(float),
        "indication": np.full(n, "primary_osteoarthritis"),
    }
    per = len(PROM_ITEMS) * 3
    n_r = per * n
    item = np.tile(np.arange(len(PROM_ITEMS)), 3 * n)
    lo = np.array([p[2] for p in PROM_ITEMS])[item]
    hi = np.array([p[3] for p in PROM_ITEMS])[item]
    answer = lo + np.floor(rng.random(n_r) * (hi - lo + 1))
    questionnaire = np.repeat(np.arange(first * 3, (first + n) * 3), len(PROM_ITEMS))
    instrument = np.array([p[0] for p in PROM_ITEMS])[item]
    out["prom_responses"] = {
        "response_id": pc.binary_join_element_wise(_ids("R", questionnaire), pa.array(instrument), "-"),
        "person_id": _ids("P", np.repeat(persons + 10**7, per)),
        "joint": np.full(n_r, "hip"),
        "instrument": instrument,
        "item": np.array([p[1] for p in PROM_ITEMS])[item],
        "answer": np.where(_dirty(rng, n_r, rate), hi + 1, answer),
        "response_date": np.repeat(_dates(rng, 3 * n, "2014-01-01", 2000), len(PROM_ITEMS)),
        "mode": rng.choice(["web", "paper"], n_r),
    }
    n_k = 25 * n
    out["costs"] = {
        "cost_id": _ids("K", np.arange(first * 25, first * 25 + n_k)),
        "person_id": _ids("P", rng.integers(first, first + n, n_k) + 10**7),
        "contact_id": pa.array(
            np.where(rng.random(n_k) < 0.6, _ids("C", rng.integers(first * 20, first * 20 + n_c, n_k)).to_numpy(zero_copy_only=False), None),
            type=pa.string(),
        ),
        "cost_date": _dates(rng, n_k),
        "cost_category": rng.choice(["drg_tariff", "dags_tariff", "medicine", "primary_care"], n_k),
        "amount_dkk": np.where(_dirty(rng, n_k, rate), -100.0, np.round(rng.gamma(2, 2000, n_k), 2)),
        "tariff_year": rng.integers(2012, 2021, n_k).astype(np.int16),
        "drg_code": rng.choice(["08MP14", "30PR01", "08MA98"], n_k),
    }
    weeks = 40
    n_t = weeks * n
    year = rng.integers(2012, 2020, n)
    out["transfer_payments"] = {
        "person_id": _ids("P", np.repeat(persons + 10**7, weeks)),
        "year_week": (np.repeat(year * 100, weeks) + np.tile(np.arange(1, weeks + 1), n)).astype(np.int32),
        "benefit_code": rng.choice(["sickness_benefit", "unemployment_benefit", "state_pension"], n_t),
    }
    return out


def write_registry(folder: Path, persons: int, rate: float, seed: int, block: int = 50_000) -> int:
    """Write the plain registry in blocks of persons; returns the number of rows."""
    rng = np.random.default_rng(seed)
    writers: dict[str, pq.ParquetWriter] = {}
    rows = 0
    try:
        for first in range(0, persons, block):
            for table, cols in _block(rng, first, min(block, persons - first), rate).items():
                schema = load_schema(table).arrow_schema()
                arrays = [pa.array(cols[f.name], type=f.type) if not isinstance(cols[f.name], pa.Array) else cols[f.name]
                          for f in schema]  # fmt: skip
                t = pa.Table.from_arrays(arrays, schema=pa.schema([pa.field(f.name, f.type) for f in schema]))
                if table not in writers:
                    writers[table] = pq.ParquetWriter(folder / f"{table}.parquet", t.schema, compression="zstd")
                writers[table].write_table(t, row_group_size=1_000_000)
                rows += t.num_rows
    finally:
        for w in writers.values():
            w.close()
    (folder / "extract.json").write_text(json.dumps({"extract_date": "2020-12-31"}))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=20_000, help="persons in the plain registry (default 20,000)")
    parser.add_argument("--dirty-rate", type=float, default=0.01, help="share of rows made invalid (default 0.01)")
    parser.add_argument("--seed", type=int, default=20240501, help="random seed")
    parser.add_argument("--raw", type=Path, default=None, help="validate this extract instead of writing one")
    parser.add_argument("--work", type=Path, default=None, help="folder for the extract and outputs (default: temp)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-validate-", dir=args.work) as tmp:
        raw = args.raw
        if raw is None:
            raw = Path(tmp) / "raw"
            raw.mkdir()
            t0 = time.perf_counter()
            rows = write_registry(raw, args.persons, args.dirty_rate, args.seed)
            print(f"wrote {rows:,} rows for {args.persons:,} persons in {time.perf_counter() - t0:.1f} s")
        out = Path(tmp) / "validated"
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "vbhc", "--quiet", "validate", "--raw", str(raw), "--out", str(out)],
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - t0
        if proc.returncode != 0:
            sys.exit(f"validate failed ({proc.returncode}): {proc.stderr.strip()}")
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        report = json.loads((out / "report.json").read_text())
        total = report["totals"]["rows_in"]
        print(proc.stdout.strip())
        print(
            f"validate: {total:,} rows in {seconds:.1f} s ({total / seconds / 1e6:.2f} M rows/s), "
            f"peak RSS {peak_mib:,.0f} MiB, {report['totals']['rows_quarantined']:,} quarantined"
        )


if __name__ == "__main__":
    main()
