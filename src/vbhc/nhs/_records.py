"""Read the NHS England PROMs record-level files (provider files) as published.

NHS Digital's "PROMs CSV data packs" hold one zip per procedure and organisation type
(``Hip Replacement Provider 1617.csv.zip``, ``Knee Replacements CCG 1718.csv.zip``...),
each with one CSV (81 columns) and a ``__MACOSX/`` entry.  Provider and CCG files hold
the same patients keyed by a different organisation code, so only provider files are
read.  Values are kept as the strings of the file; column names are harmonised across
hip and knee (see :func:`harmonise_column`).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pandas as pd

from vbhc.core.errors import InputError

TABLE = "nhs_proms_records"

# Columns common to hip and knee files, after harmonisation.
COMMON_COLUMNS = [
    "Provider Code", "Procedure", "Revision Flag", "Year", "Age Band", "Gender",
    "Pre-Op Q Assisted", "Pre-Op Q Assisted By", "Pre-Op Q Symptom Period", "Pre-Op Q Previous Surgery",
    "Pre-Op Q Living Arrangements", "Pre-Op Q Disability",
    "Heart Disease", "High Bp", "Stroke", "Circulation", "Lung Disease", "Diabetes", "Kidney Disease",
    "Nervous System", "Liver Disease", "Cancer", "Depression", "Arthritis",
    "Pre-Op Q Mobility", "Pre-Op Q Self-Care", "Pre-Op Q Activity", "Pre-Op Q Discomfort", "Pre-Op Q Anxiety",
    "Pre-Op Q EQ5D Index Profile", "Pre-Op Q EQ5D Index",
    "Post-Op Q Assisted", "Post-Op Q Assisted By", "Post-Op Q Living Arrangements", "Post-Op Q Disability",
    "Post-Op Q Mobility", "Post-Op Q Self-Care", "Post-Op Q Activity", "Post-Op Q Discomfort", "Post-Op Q Anxiety",
    "Post-Op Q Satisfaction", "Post-Op Q Sucess", "Post-Op Q Allergy", "Post-Op Q Bleeding", "Post-Op Q Wound",
    "Post-Op Q Urine", "Post-Op Q Further Surgery", "Post-Op Q Readmitted",
    "Post-Op Q EQ5D Index Profile", "Post-Op Q EQ5D Index", "EQ5D Index Post-Op Q Predicted",
    "Pre-Op Q EQ VAS", "Post-Op Q EQ VAS", "EQ VAS Post-Op Q Predicted",
    "Pre-Op Q Score", "Post-Op Q Score", "Oxford Post-Op Q Predicted",
]  # fmt: skip
OXFORD_ITEM_COLUMNS = {
    "hip": ["Pain", "Sudden Pain", "Night Pain", "Washing", "Transport", "Dressing", "Shopping", "Walking",
            "Limping", "Stairs", "Standing", "Work"],
    "knee": ["Pain", "Night Pain", "Washing", "Transport", "Walking", "Standing", "Limping", "Kneeling",
             "Work", "Confidence", "Shopping", "Stairs"],
}  # fmt: skip
"""NHS item column suffixes (``Pre-Op Q <item>`` / ``Post-Op Q <item>``) of each joint's form."""

_PREFIX = re.compile(r"^(Hip|Knee) Replacement ")
_RENAMES = {
    "EQ 5D Index Post-Op Q Predicted": "EQ5D Index Post-Op Q Predicted",
    "EQ VAS_Post-Op Q Predicted": "EQ VAS Post-Op Q Predicted",
    "OHS Post-Op Q Predicted": "Oxford Post-Op Q Predicted",
    "OKS Post-Op Q Predicted": "Oxford Post-Op Q Predicted",
}


def harmonise_column(name: str) -> str:
    """One name for hip and knee columns: drop the ``Hip/Knee Replacement`` prefix and fix
    the source's inconsistent spellings of the "Predicted" columns (``Post-Op Q Sucess``
    keeps its published spelling)."""
    stripped = _PREFIX.sub("", name.strip())
    return _RENAMES.get(stripped, stripped)


def required_columns(joint: str) -> list[str]:
    """Harmonised columns a provider file of ``joint`` must hold."""
    items = OXFORD_ITEM_COLUMNS[joint]
    return COMMON_COLUMNS + [f"Pre-Op Q {i}" for i in items] + [f"Post-Op Q {i}" for i in items]


def find_record_files(src_dir: str | Path) -> list[Path]:
    """Provider record-level zips under ``src_dir`` (any depth), never CCG files."""
    src = Path(src_dir)
    if not src.is_dir():
        raise InputError(f"folder not found: {src}", table=TABLE)
    files = sorted(
        p
        for p in src.rglob("*.csv.zip")
        if "__MACOSX" not in p.parts and "Provider" in p.name and "CCG" not in p.name
    )
    if not files:
        raise InputError(f"no provider record-level files ('* Provider *.csv.zip') under {src}", table=TABLE)
    return files


def _read_zip(path: Path) -> pd.DataFrame:
    try:
        with zipfile.ZipFile(path) as zf:
            members = [
                m for m in zf.namelist()
                if m.lower().endswith(".csv") and not m.startswith("__MACOSX") and "/._" not in m
            ]  # fmt: skip
            if len(members) != 1:
                raise InputError(f"{path.name}: expected one CSV file in the zip, found {members}", table=TABLE)
            with zf.open(members[0]) as fh:
                df = pd.read_csv(fh, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig")
    except zipfile.BadZipFile:
        raise InputError(f"{path.name}: not a zip file", table=TABLE) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{path.name}: not a readable CSV ({exc})", table=TABLE) from None
    return df


def read_nhs_records(src_dir: str | Path) -> pd.DataFrame:
    """All provider record-level files under ``src_dir``, stacked, values as published strings.

    Adds ``joint`` (hip/knee, from ``Procedure``), ``source_file`` and ``source_row``
    (1-based data row in that file).  Columns are harmonised (:func:`harmonise_column`);
    Oxford items of the other joint's form are empty strings.  A file with missing
    columns, an unknown procedure or two files for the same joint and year raise
    :class:`InputError` naming the file.
    """
    frames = []
    seen: dict[tuple[str, str], str] = {}
    for path in find_record_files(src_dir):
        df = _read_zip(path)
        df.columns = [harmonise_column(c) for c in df.columns]
        procedures = set(df["Procedure"].unique()) if "Procedure" in df else set()
        joints = {p.split()[0].lower() for p in procedures}
        if not procedures or not joints <= {"hip", "knee"} or len(joints) != 1:
            raise InputError(f"{path.name}: expected one procedure (Hip or Knee Replacement), found {sorted(procedures)}",
                             table=TABLE, column="Procedure")  # fmt: skip
        joint = joints.pop()
        absent = [c for c in required_columns(joint) if c not in df.columns]
        if absent:
            raise InputError(f"{path.name}: missing columns {absent}", table=TABLE)
        for year in df["Year"].unique():
            if (joint, year) in seen:
                raise InputError(f"{path.name} and {seen[joint, year]} both hold {joint} records of {year}", table=TABLE)
            seen[joint, year] = path.name
        df.insert(0, "joint", joint)
        df["source_file"] = path.name
        df["source_row"] = range(1, len(df) + 1)
        frames.append(df)
    records = pd.concat(frames, ignore_index=True)
    item_cols = [c for c in records.columns if c.startswith(("Pre-Op Q ", "Post-Op Q "))]
    records[item_cols] = records[item_cols].fillna("")
    return records
