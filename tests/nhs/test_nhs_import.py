"""The NHS PROMs import on hand-made files: missing codes, flags, errors, CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from vbhc.cli import app
from vbhc.core.errors import InputError
from vbhc.core.io import read_parquet
from vbhc.nhs import read_nhs_proms, read_nhs_records
from vbhc.schemas import load_schema

OHS_COLS = ["Pain", "Sudden Pain", "Night Pain", "Washing", "Transport", "Dressing", "Shopping", "Walking",
            "Limping", "Stairs", "Standing", "Work"]  # fmt: skip


@pytest.fixture
def src(tmp_path, nhs_zip, nhs_row, headers):
    hip, knee = headers["hip"], headers["knee"]
    post_hip = {f"Hip Replacement Post-Op Q {c}": "3" for c in OHS_COLS[:7]}  # 7 items 2 -> 3: +7 points
    hip_rows = [
        nhs_row(hip, **post_hip),
        nhs_row(
            hip,
            **{
                "Age Band": "*", "Gender": "*", "Revision Flag": "1", "Pre-Op Q Assisted": "9",
                "Pre-Op Q Symptom Period": "4", "Pre-Op Q Living Arrangements": "3", "Heart Disease": "1",
                "Pre-Op Q EQ VAS": "999", "Pre-Op Q Mobility": "9", "Pre-Op Q EQ5D Index Profile": "92222",
                "Pre-Op Q EQ5D Index": "", "Hip Replacement Pre-Op Q Pain": "9",
                "Hip Replacement Pre-Op Q Work": "9", "Hip Replacement Pre-Op Q Stairs": "9",
                "Hip Replacement Pre-Op Q Score": "", "Hip Replacement OHS Post-Op Q Predicted": "",
                "Post-Op Q Satisfaction": "1", "Post-Op Q Sucess": "5", "Post-Op Q Readmitted": "1",
            },
        ),
        nhs_row(hip, **{"Age Band": "90 to 120", "Gender": "1", "Hip Replacement Post-Op Q Work": "9",
                        "Hip Replacement Post-Op Q Score": "24"}),
    ]  # fmt: skip
    post_knee = {f"Knee Replacement Post-Op Q {c}": "3" for c in ["Pain", "Kneeling", "Confidence", "Work", "Stairs",
                                                                    "Walking", "Limping"]}  # fmt: skip
    knee_rows = [nhs_row(knee, **post_knee)]
    nhs_zip(tmp_path / "2016-17", "Hip Replacement Provider 1617", hip, hip_rows)
    nhs_zip(tmp_path / "2016-17", "Knee Replacement Provider 1617", knee, knee_rows)
    nhs_zip(tmp_path / "2016-17", "Hip Replacement CCG 1617", hip, [nhs_row(hip, **{"Gender": "nonsense"})])
    return tmp_path


def test_records_as_published(src):
    records = read_nhs_records(src)
    assert len(records) == 4  # the CCG file and the __MACOSX entries are skipped
    assert set(records["source_file"]) == {"Hip Replacement Provider 1617.csv.zip", "Knee Replacement Provider 1617.csv.zip"}
    assert records["Oxford Post-Op Q Predicted"].tolist()[:2] == ["36.5", ""]
    assert "EQ VAS Post-Op Q Predicted" in records and "Pre-Op Q Kneeling" in records


def test_missing_codes_and_flags(src):
    e = read_nhs_proms(src).set_index("episode_id")
    assert list(e.index) == ["NHS1617H000001", "NHS1617H000002", "NHS1617H000003", "NHS1617K000001"]
    full, coded, old, knee = (e.iloc[i] for i in range(4))
    # a complete record
    assert (full["age_band"], full["sex"], full["revision"], full["hospital_id"]) == ("60-69", "F", False, "RXX01")
    assert full["operation_year"] == 2016 and full["year"] == "2016/17"
    assert full["eq5d_pre"] == pytest.approx(1 - 0.081 - 0.069 - 0.104 - 0.036 - 0.123 - 0.071)
    assert (full["eqvas_pre"], full["oxford_pre"], full["oxford_6m"]) == (60.0, 24.0, 31.0)
    assert full["oxford_change_6m"] == 7.0 and not full["mic_6m"]  # hip needs 8
    assert not full["comorb_heart_disease"] and full["assisted"] == False  # noqa: E712 (2 = no)
    assert full["nhs_pred_oxford_6m"] == 36.5 and full["nhs_pred_eq5d_6m"] == 0.7 and full["nhs_pred_eqvas_6m"] == 70.5
    # missing codes: * -> missing, 9 -> missing (yes/no, items, EQ-5D), 999 -> missing, unticked comorbidity -> False
    assert pd.isna(coded["age_band"]) and pd.isna(coded["sex"]) and coded["revision"]
    assert pd.isna(coded["assisted"]) and coded["symptom_period"] == "over_10y"
    assert coded["living_arrangements"] == "care_home" and coded["comorb_heart_disease"]
    assert np.isnan(coded["eqvas_pre"]) and np.isnan(coded["eq5d_pre"]) and pd.isna(coded["eq5d_pre_mo"])
    assert coded["eq5d_pre_sc"] == 2
    assert pd.isna(coded["oxford_pre_pain"]) and np.isnan(coded["oxford_pre"])  # three items missing
    assert np.isnan(coded["oxford_change_6m"]) and pd.isna(coded["mic_6m"])
    assert np.isnan(coded["nhs_pred_oxford_6m"])
    assert (coded["satisfaction_6m"], coded["success_6m"], coded["readmitted_6m"]) == ("excellent", "much_worse", True)
    # one missing item: 12 x mean of the answered items
    assert (old["age_band"], old["sex"]) == ("90+", "M") and old["oxford_6m"] == 24.0
    assert pd.isna(old["oxford_6m_work"])
    # the knee form has its own items; the knee MIC is 7
    assert knee["joint"] == "knee" and knee["oxford_6m"] == 31.0 and knee["mic_6m"]
    assert knee["oxford_pre_kneeling"] == 2 and pd.isna(knee["oxford_pre_dressing"])
    assert pd.isna(full["oxford_pre_kneeling"]) and full["oxford_pre_dressing"] == 2


def test_table_fits_its_schema(src):
    e = read_nhs_proms(src)
    schema = load_schema("nhs_episodes")
    assert list(e.columns) == schema.column_names
    schema.pandera_schema().validate(e)


def test_unknown_code_names_file_column_row(tmp_path, nhs_zip, nhs_row, headers):
    rows = [nhs_row(headers["hip"]), nhs_row(headers["hip"], **{"Pre-Op Q EQ VAS": "101"})]
    nhs_zip(tmp_path, "Hip Replacement Provider 1617", headers["hip"], rows)
    with pytest.raises(InputError, match=r"column 'Pre-Op Q EQ VAS', row 2, rule 'published codes': Hip Replacement "
                                         r"Provider 1617.csv.zip: unexpected value '101' in 1 row\(s\); expected a whole "
                                         r"number 0-100 or missing code \['999'\]"):  # fmt: skip
        read_nhs_proms(tmp_path)


def test_unknown_sex_code_in_a_knee_file(tmp_path, nhs_zip, nhs_row, headers):
    nhs_zip(tmp_path, "Knee Replacement Provider 1617", headers["knee"], [nhs_row(headers["knee"], **{"Gender": "7"})])
    with pytest.raises(InputError, match="column 'Gender', row 1"):
        read_nhs_proms(tmp_path)


def test_file_level_errors(tmp_path, nhs_zip, nhs_row, headers):
    with pytest.raises(InputError, match="folder not found"):
        read_nhs_proms(tmp_path / "nowhere")
    with pytest.raises(InputError, match="no provider record-level files"):
        read_nhs_proms(tmp_path)
    hip = headers["hip"]
    nhs_zip(tmp_path / "a", "Hip Replacement Provider 1617", hip, [nhs_row(hip)])
    nhs_zip(tmp_path / "b", "Hip Replacements Provider 1617 copy", hip, [nhs_row(hip)])
    with pytest.raises(InputError, match="both hold hip records of 2016/17"):
        read_nhs_proms(tmp_path)
    short = ",".join(c for c in hip.split(",") if c != "Stroke")
    nhs_zip(tmp_path / "c", "Hip Replacement Provider 1617", short, [nhs_row(hip)[:-1]])
    with pytest.raises(InputError, match=r"missing columns \['Stroke'\]"):
        read_nhs_proms(tmp_path / "c")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "Hip Replacement Provider 1617.csv.zip").write_text("not a zip")
    with pytest.raises(InputError, match="not a zip file"):
        read_nhs_proms(tmp_path / "d")


def test_cli_import(src, tmp_path):
    out = tmp_path / "out" / "nhs_episodes.parquet"
    result = CliRunner().invoke(app, ["nhs-proms", "import", "--src", str(src), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "2016/17 hip        3 records,      1 revisions" in result.output
    table = read_parquet(out, load_schema("nhs_episodes"))
    assert len(table) == 4 and table["mic_6m"].dtype == "boolean"
    pd.testing.assert_frame_equal(table, read_nhs_proms(src), check_dtype=False)
