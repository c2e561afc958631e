"""Fixtures for the NHS PROMs import tests: the published file headers and hand-made zips."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

HIP_HEADER = (
    'Provider Code,Procedure,Revision Flag,Year,Age Band,Gender,Pre-Op Q Assisted,Pre-Op Q Assisted '
    'By,Pre-Op Q Symptom Period,Pre-Op Q Previous Surgery,Pre-Op Q Living Arrangements,Pre-Op Q '
    'Disability,Heart Disease,High Bp,Stroke,Circulation,Lung Disease,Diabetes,Kidney Disease,Nervous '
    'System,Liver Disease,Cancer,Depression,Arthritis,Pre-Op Q Mobility,Pre-Op Q Self-Care,Pre-Op Q '
    'Activity,Pre-Op Q Discomfort,Pre-Op Q Anxiety,Pre-Op Q EQ5D Index Profile,Pre-Op Q EQ5D '
    'Index,Post-Op Q Assisted,Post-Op Q Assisted By,Post-Op Q Living Arrangements,Post-Op Q '
    'Disability,Post-Op Q Mobility,Post-Op Q Self-Care,Post-Op Q Activity,Post-Op Q Discomfort,Post-Op Q '
    'Anxiety,Post-Op Q Satisfaction,Post-Op Q Sucess,Post-Op Q Allergy,Post-Op Q Bleeding,Post-Op Q '
    'Wound,Post-Op Q Urine,Post-Op Q Further Surgery,Post-Op Q Readmitted,Post-Op Q EQ5D Index '
    'Profile,Post-Op Q EQ5D Index,Hip Replacement EQ5D Index Post-Op Q Predicted,Pre-Op Q EQ VAS,Post-Op '
    'Q EQ VAS,Hip Replacement EQ VAS Post-Op Q Predicted,Hip Replacement Pre-Op Q Pain,Hip Replacement '
    'Pre-Op Q Sudden Pain,Hip Replacement Pre-Op Q Night Pain,Hip Replacement Pre-Op Q Washing,Hip '
    'Replacement Pre-Op Q Transport,Hip Replacement Pre-Op Q Dressing,Hip Replacement Pre-Op Q '
    'Shopping,Hip Replacement Pre-Op Q Walking,Hip Replacement Pre-Op Q Limping,Hip Replacement Pre-Op Q '
    'Stairs,Hip Replacement Pre-Op Q Standing,Hip Replacement Pre-Op Q Work,Hip Replacement Pre-Op Q '
    'Score,Hip Replacement Post-Op Q Pain,Hip Replacement Post-Op Q Sudden Pain,Hip Replacement Post-Op Q'
    ' Night Pain,Hip Replacement Post-Op Q Washing,Hip Replacement Post-Op Q Transport,Hip Replacement '
    'Post-Op Q Dressing,Hip Replacement Post-Op Q Shopping,Hip Replacement Post-Op Q Walking,Hip '
    'Replacement Post-Op Q Limping,Hip Replacement Post-Op Q Stairs,Hip Replacement Post-Op Q '
    'Standing,Hip Replacement Post-Op Q Work,Hip Replacement Post-Op Q Score,Hip Replacement OHS Post-Op '
    'Q Predicted'
)

KNEE_HEADER = (
    'Provider Code,Procedure,Revision Flag,Year,Age Band,Gender,Pre-Op Q Assisted,Pre-Op Q Assisted '
    'By,Pre-Op Q Symptom Period,Pre-Op Q Previous Surgery,Pre-Op Q Living Arrangements,Pre-Op Q '
    'Disability,Heart Disease,High Bp,Stroke,Circulation,Lung Disease,Diabetes,Kidney Disease,Nervous '
    'System,Liver Disease,Cancer,Depression,Arthritis,Pre-Op Q Mobility,Pre-Op Q Self-Care,Pre-Op Q '
    'Activity,Pre-Op Q Discomfort,Pre-Op Q Anxiety,Pre-Op Q EQ5D Index Profile,Pre-Op Q EQ5D '
    'Index,Post-Op Q Assisted,Post-Op Q Assisted By,Post-Op Q Living Arrangements,Post-Op Q '
    'Disability,Post-Op Q Mobility,Post-Op Q Self-Care,Post-Op Q Activity,Post-Op Q Discomfort,Post-Op Q '
    'Anxiety,Post-Op Q Satisfaction,Post-Op Q Sucess,Post-Op Q Allergy,Post-Op Q Bleeding,Post-Op Q '
    'Wound,Post-Op Q Urine,Post-Op Q Further Surgery,Post-Op Q Readmitted,Post-Op Q EQ5D Index '
    'Profile,Post-Op Q EQ5D Index,Knee Replacement EQ 5D Index Post-Op Q Predicted,Pre-Op Q EQ '
    'VAS,Post-Op Q EQ VAS,Knee Replacement EQ VAS_Post-Op Q Predicted,Knee Replacement Pre-Op Q Pain,Knee'
    ' Replacement Pre-Op Q Night Pain,Knee Replacement Pre-Op Q Washing,Knee Replacement Pre-Op Q '
    'Transport,Knee Replacement Pre-Op Q Walking,Knee Replacement Pre-Op Q Standing,Knee Replacement '
    'Pre-Op Q Limping,Knee Replacement Pre-Op Q Kneeling,Knee Replacement Pre-Op Q Work,Knee Replacement '
    'Pre-Op Q Confidence,Knee Replacement Pre-Op Q Shopping,Knee Replacement Pre-Op Q Stairs,Knee '
    'Replacement Pre-Op Q Score,Knee Replacement Post-Op Q Pain,Knee Replacement Post-Op Q Night '
    'Pain,Knee Replacement Post-Op Q Washing,Knee Replacement Post-Op Q Transport,Knee Replacement '
    'Post-Op Q Walking,Knee Replacement Post-Op Q Standing,Knee Replacement Post-Op Q Limping,Knee '
    'Replacement Post-Op Q Kneeling,Knee Replacement Post-Op Q Work,Knee Replacement Post-Op Q '
    'Confidence,Knee Replacement Post-Op Q Shopping,Knee Replacement Post-Op Q Stairs,Knee Replacement '
    'Post-Op Q Score,Knee Replacement OKS Post-Op Q Predicted'
)


def _row(header: str, **values: str) -> list[str]:
    """A valid, fully answered record for ``header`` with ``values`` (NHS column names) overridden."""
    joint = "Hip" if "Hip Replacement Pre-Op Q Pain" in header else "Knee"
    row = {}
    for col in header.split(","):
        if col.endswith("Q Score"):
            row[col] = "24"
        elif col.endswith("Predicted"):
            row[col] = "0.7" if "EQ" in col and "5D" in col else ("70.5" if "VAS" in col else "36.5")
        elif col.startswith(f"{joint} Replacement"):
            row[col] = "2"  # Oxford items: 2 points each -> score 24
        else:
            row[col] = "2"
    row.update(
        {
            "Provider Code": "RXX01", "Procedure": f"{joint} Replacement", "Revision Flag": "0",
            "Year": "2016/17", "Age Band": "60 to 69", "Gender": "2", "Pre-Op Q Assisted By": "0",
            "Pre-Op Q EQ5D Index Profile": "22222", "Pre-Op Q EQ5D Index": "0.516",
            "Post-Op Q EQ5D Index Profile": "22222", "Post-Op Q EQ5D Index": "0.516",
            "Pre-Op Q EQ VAS": "60", "Post-Op Q EQ VAS": "80",
        }
    )  # fmt: skip
    for c in ("Heart Disease", "High Bp", "Stroke", "Circulation", "Lung Disease", "Diabetes", "Kidney Disease",
              "Nervous System", "Liver Disease", "Cancer", "Depression", "Arthritis"):  # fmt: skip
        row[c] = "9"
    unknown = set(values) - set(row)
    assert not unknown, unknown
    row.update(values)
    return [row[c] for c in header.split(",")]


@pytest.fixture
def nhs_zip():
    """Write a provider zip as NHS publishes it (one CSV plus a ``__MACOSX`` entry)."""

    def write(folder: Path, name: str, header: str, rows: list[list[str]]) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        text = "\r\n".join([header] + [",".join(r) for r in rows]) + "\r\n"
        path = folder / f"{name}.csv.zip"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr(f"{name}.csv", text)
            zf.writestr(f"__MACOSX/._{name}.csv", "\x00\x05\x16\x07 mac resource fork")
        return path

    return write


@pytest.fixture
def nhs_row():
    return _row


@pytest.fixture
def headers() -> dict[str, str]:
    return {"hip": HIP_HEADER, "knee": KNEE_HEADER}
