"""A tiny registry builder for episode-builder tests: every row written by hand.

Each method adds rows to one raw table with the values a test states; defaults are
the unremarkable case (elective, right side, hospital 8001).  ``write(folder)``
writes every table as Parquet typed by its schema, as ``vbhc validate`` would.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from vbhc.core.io import write_parquet
from vbhc.prepare import REQUIRED_TABLES
from vbhc.proms import OHS_ITEMS, OKS_ITEMS
from vbhc.schemas import load_schema

TABLES = REQUIRED_TABLES

D = dt.date
T = dt.datetime


def ts(value: dt.date | dt.datetime | str, hour: int = 8) -> dt.datetime:
    """A timestamp: dates get ``hour`` o'clock."""
    if isinstance(value, str):
        value = pd.Timestamp(value).to_pydatetime()
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime(value.year, value.month, value.day, hour)


class Registry:
    """Rows of the raw tables, added one event at a time."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict]] = {t: [] for t in TABLES}
        self._n = 0

    def _id(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}{self._n:06d}"

    # -- persons and contacts --------------------------------------------------------
    def person(self, pid: str, *, birth: dt.date = D(1950, 6, 1), sex: str = "F", death: dt.date | None = None,
               region: int = 1081, municipality: int = 851) -> str:
        self.rows["patients"].append(
            {"person_id": pid, "birth_date": birth, "sex": sex, "death_date": death,
             "region_code": region, "municipality_code": municipality}
        )  # fmt: skip
        return pid

    def contact(self, pid: str, start, end=None, *, kind: str = "inpatient", acute: bool = False,
                hospital: str = "8001", dx: str = "DZ000", secondary: tuple[str, ...] = (), cid: str | None = None) -> str:
        """A contact; ``start``/``end`` are dates (08:00 / 12:00) or datetimes."""
        cid = cid or self._id("C")
        start_t = ts(start, 8)
        end_t = ts(end, 12) if end is not None else start_t + dt.timedelta(hours=1)
        self.rows["contacts"].append(
            {"contact_id": cid, "person_id": pid, "hospital_id": hospital, "department_id": hospital + "011",
             "contact_type": kind, "start_time": start_t, "end_time": end_t, "is_acute": acute, "primary_diagnosis": dx}
        )  # fmt: skip
        self.diagnosis(cid, dx, "A")
        for code in secondary:
            self.diagnosis(cid, code, "B")
        return cid

    def diagnosis(self, cid: str, code: str, kind: str = "B") -> None:
        self.rows["diagnoses"].append({"contact_id": cid, "diagnosis_code": code, "diagnosis_type": kind})

    def procedure(self, cid: str, code: str, date: dt.date, side: str | None = "right") -> None:
        self.rows["procedures"].append({"contact_id": cid, "procedure_code": code, "procedure_date": date, "laterality": side})

    def registry(self, pid: str, date: dt.date, joint: str = "hip", side: str = "right", *, kind: str = "primary",
                 indication: str = "primary_osteoarthritis", asa: int | None = 2, bmi: float | None = 28.0,
                 smoking: str | None = "never", alcohol: float | None = 3.0, hospital: str = "8001") -> None:
        self.rows["arthroplasty_registry"].append(
            {"person_id": pid, "operation_date": date, "joint": joint, "laterality": side, "operation_type": kind,
             "hospital_id": hospital, "asa_class": asa, "bmi": bmi, "smoking": smoking,
             "alcohol_units_week": alcohol, "indication": indication}
        )  # fmt: skip

    def operation(self, pid: str, date: dt.date, joint: str = "hip", side: str | None = "right", *, los: int = 2,
                  code: str | None = None, acute: bool = False, registry: bool = True, hospital: str = "8001",
                  dx: str | None = None, indication: str = "primary_osteoarthritis", drg_dkk: float | None = 50_000.0,
                  secondary: tuple[str, ...] = ()) -> str:
        """An index-type operation: inpatient contact ``date`` 08:00 to ``date + los`` 12:00,
        the procedure, the registry row and the DRG cost of the contact."""
        code = code or ("KNFB20" if joint == "hip" else "KNGB20")
        dx = dx or ("DM161" if joint == "hip" else "DM171")
        cid = self.contact(pid, date, date + dt.timedelta(days=los), acute=acute, hospital=hospital, dx=dx, secondary=secondary)
        self.procedure(cid, code, date, side)
        if registry:
            self.registry(pid, date, joint, side or "right", indication=indication, hospital=hospital)
        if drg_dkk is not None:
            self.cost(pid, date, "drg_tariff", drg_dkk, contact=cid, drg="08MP14")
        return cid

    # -- PROMs -------------------------------------------------------------------------
    def prom(self, pid: str, joint: str, instrument: str, date: dt.date, answers: dict[str, float | None]) -> str:
        rid = self._id("R")
        for item, answer in answers.items():
            if answer is not None:
                self.rows["prom_responses"].append(
                    {"response_id": rid, "person_id": pid, "joint": joint, "instrument": instrument, "item": item,
                     "answer": float(answer), "response_date": date, "mode": "web"}
                )  # fmt: skip
        return rid

    def oxford(self, pid: str, joint: str, date: dt.date, answers: list[float | None] | float) -> str:
        """Oxford questionnaire of the joint: 12 answers (None = missing) or one answer for all items."""
        items = OHS_ITEMS if joint == "hip" else OKS_ITEMS
        values = answers if isinstance(answers, list) else [answers] * 12
        return self.prom(pid, joint, "OHS" if joint == "hip" else "OKS", date, dict(zip(items, values, strict=True)))

    def eq5d(self, pid: str, joint: str, date: dt.date, profile: str) -> str:
        """EQ-5D-5L by profile, e.g. "21345"; a "." is a missing dimension."""
        dims = dict(zip(("MO", "SC", "UA", "PD", "AD"), profile, strict=True))
        return self.prom(pid, joint, "EQ-5D-5L", date, {k: None if v == "." else int(v) for k, v in dims.items()})

    # -- costs and transfers ----------------------------------------------------------
    def cost(self, pid: str, date: dt.date, category: str, amount: float, *, year: int | None = None,
             contact: str | None = None, drg: str | None = None) -> None:
        self.rows["costs"].append(
            {"cost_id": self._id("K"), "person_id": pid, "contact_id": contact, "cost_date": date,
             "cost_category": category, "amount_dkk": amount, "tariff_year": year or date.year, "drg_code": drg}
        )  # fmt: skip

    def transfer(self, pid: str, date: dt.date, code: str = "sickness_benefit", weeks: int = 1) -> None:
        """``weeks`` consecutive DREAM weeks from the ISO week of ``date``."""
        for k in range(weeks):
            y, w, _ = (date + dt.timedelta(weeks=k)).isocalendar()
            self.rows["transfer_payments"].append({"person_id": pid, "year_week": y * 100 + w, "benefit_code": code})

    def repeat_last(self, table: str, n: int = 1) -> None:
        """Deliver the last ``n`` rows of ``table`` again, unchanged (an extract that duplicates rows)."""
        self.rows[table] += [dict(row) for row in self.rows[table][-n:]]

    # -- output -------------------------------------------------------------------------
    def frames(self) -> dict[str, pd.DataFrame]:
        out = {}
        for name in TABLES:
            schema = load_schema(name)
            frame = pd.DataFrame(self.rows[name], columns=schema.column_names)
            out[name] = frame
        return out

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        for name, frame in self.frames().items():
            write_parquet(frame, folder / f"{name}.parquet", load_schema(name))
        return folder
