from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vbhc.core.errors import ConfigError
from vbhc.core.paths import pipelines_dir
from vbhc.proms import change_category, load_prom_settings, mic_achieved, oxford_band, pass_achieved


def _list(x):
    return [None if pd.isna(v) else v for v in list(x)]


def test_change_category_any_change():
    got = change_category([20, 20, 20, np.nan], [21, 20, 19.5, 30], instrument="OHS")
    assert _list(got) == ["improved", "unchanged", "worsened", None]
    assert got.ordered and list(got.categories) == ["worsened", "unchanged", "improved"]
    # floating-point noise is not a change; for pain lower is better
    assert _list(change_category([0.85], [1 - 0.081 - 0.069], instrument="EQ-5D-5L")) == ["unchanged"]
    assert _list(change_category([7, 3], [3, 7], instrument="PAIN-NRS")) == ["improved", "worsened"]
    with pytest.raises(ValueError, match="unknown score"):
        change_category([1], [2], instrument="KOOS")
    with pytest.raises(ValueError, match="differ in length"):
        change_category([1, 2], [2], instrument="OHS")


# -- the shipped thresholds, as published -----------------------------------------------
# Written out from ../shared/reference/prom-scoring-and-prediction.md (never read from
# pipelines/proms.yaml), so that changing any configured number fails a test here.

REFERENCE_MIC = {
    "OHS": 8,  # §2.4 MIC individual (ROC), NHS PROMs 82,415 hips, J Clin Epidemiol 2015;68(1):73-9
    "OKS": 7,  # §2.4 same study, 94,015 knees
    "EQ-5D": {
        "hip": 0.31,  # §2.5 EQ-5D index MCII 1 year after THA, n = 1,335, Acta Orthop 2014 (Paulsen)
        "knee": 0.085,  # §2.5 EQ-5D-3L index MCID, primary knee arthroplasty, n = 3,181, Bone Joint Res 2022
    },
    "EQ-VAS": {
        "hip": 23,  # §2.5 EQ-VAS MCII 1 year after THA, Acta Orthop 2014
        "knee": 6.41,  # §2.5 EQ-VAS MCID, primary knee arthroplasty, Bone Joint Res 2022
    },
}
REFERENCE_PASS = {
    "total": {
        "OHS": {
            3: 34,  # §2.4 PASS at 3 months, 597 THA, Galea et al., Acta Orthop 2020;91:372-7
            12: 40,  # §2.4 same, 1 year
            24: 39,  # §2.4 same, 2 years
            36: 42,  # §2.4 PASS mid-term (mean 3 years), 550 THR, Bone Joint Res 2014;3:7-13
        },
        "OKS": {36: 37},  # §2.4 PASS mid-term, 367 TKR, Bone Joint Res 2014;3:7-13
        "EQ-5D": {12: {"hip": 0.92}},  # §2.5 EQ-5D index PASS 1 year after THA, Acta Orthop 2014
        "EQ-VAS": {12: {"hip": 85}},  # §2.5 EQ-VAS PASS 1 year after THA, same study
    },
    "unicompartmental": {
        "OKS": {3: 28.9, 12: 32.7, 24: 31.3},  # §2.4 PASS at 3 / 12 / 24 months, Danish UKA, Harris et al.
    },
}
_EPS = 1e-6  # "just below": well above the 1e-9 tolerance for floating-point noise


def _mic_cases():
    for name, value in REFERENCE_MIC.items():
        for joint, v in value.items() if isinstance(value, dict) else [(None, value)]:
            yield pytest.param(name, joint, v, id=f"{name}-{joint or 'both'}")


def _pass_cases():
    for operation, scores in REFERENCE_PASS.items():
        for name, by_month in scores.items():
            for months, value in by_month.items():
                for joint, v in value.items() if isinstance(value, dict) else [(None, value)]:
                    yield pytest.param(operation, name, months, joint, v, id=f"{operation}-{name}-{months}m-{joint or 'both'}")


def test_configured_thresholds_are_the_reference_values():
    settings = load_prom_settings()
    assert settings.minimal_important_change == REFERENCE_MIC
    assert settings.acceptable_state == REFERENCE_PASS


@pytest.mark.parametrize(("name", "joint", "mic"), list(_mic_cases()))
def test_mic_boundary(name, joint, mic):
    pre = {"OHS": 10.0, "OKS": 12.0, "EQ-5D": 0.2, "EQ-VAS": 40.0}[name]
    post = [pre + mic - _EPS, pre + mic, pre + mic + 1]
    got = mic_achieved([pre] * 3, post, instrument=name, joint=joint)
    assert _list(got) == [False, True, True]


@pytest.mark.parametrize(("operation", "name", "months", "joint", "value"), list(_pass_cases()))
def test_pass_boundary(operation, name, months, joint, value):
    got = pass_achieved([value - _EPS, value, np.nan], instrument=name, months=months, joint=joint, operation=operation)
    assert _list(got) == [False, True, None]


def test_mic_oxford_thresholds():
    assert _list(mic_achieved([10, 10, 10, np.nan], [17.9, 18, 40, 40], instrument="OHS")) == [False, True, True, None]
    assert _list(mic_achieved([10, 10], [16.9, 17], instrument="OKS")) == [False, True]


def test_mic_by_joint():
    pre, post = [0.3, 0.3], [0.5, 0.5]  # gain 0.2: above the knee MCID 0.085, below the hip MCII 0.31
    assert _list(mic_achieved(pre, post, instrument="EQ-5D", joint=["knee", "hip"])) == [True, False]
    assert _list(mic_achieved(pre, post, instrument="EQ-5D-5L", joint="knee")) == [True, True]
    assert _list(mic_achieved(pre, post, instrument="EQ-5D", joint=pd.Series(["hip", None]))) == [False, None]
    assert _list(mic_achieved([50], [57], instrument="EQ-VAS", joint="knee")) == [True]
    with pytest.raises(ValueError, match="no value for joint"):
        mic_achieved(pre, post, instrument="EQ-5D", joint="shoulder")
    with pytest.raises(ValueError, match="no minimal important change configured for 'PAIN-NRS'"):
        mic_achieved([5], [1], instrument="PAIN-NRS")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: mic_achieved([0.3], [0.5], instrument="EQ-5D"),
            "joint= is required for EQ-5D: its minimal important change differs by joint (hip 0.31, knee 0.085); "
            "pass joint='hip' or 'knee' (one value, or one per row)",
        ),
        (
            lambda: mic_achieved([50], [60], instrument="EQ-VAS"),
            "joint= is required for EQ-VAS: its minimal important change differs by joint (hip 23, knee 6.41); "
            "pass joint='hip' or 'knee' (one value, or one per row)",
        ),
        (
            lambda: pass_achieved([0.95], instrument="EQ-5D-5L", months=12),
            "joint= is required for EQ-5D: its acceptable state at 12 months differs by joint (hip 0.92); "
            "pass joint='hip' or 'knee' (one value, or one per row)",
        ),
    ],
)
def test_joint_is_required_where_thresholds_differ_by_joint(call, message):
    with pytest.raises(ValueError) as info:
        call()
    assert str(info.value) == message


def test_thresholds_come_from_settings():
    settings = load_prom_settings().model_copy(update={"minimal_important_change": {"OHS": 12.0}})
    assert _list(mic_achieved([10], [20], instrument="OHS", settings=settings)) == [False]
    assert _list(mic_achieved([10], [20], instrument="OHS")) == [True]


def test_pass():
    assert _list(pass_achieved([39.5, 40, np.nan], instrument="OHS", months=12)) == [False, True, None]
    assert _list(pass_achieved([41], instrument="OHS", months=36)) == [False]
    assert _list(pass_achieved([0.95], instrument="EQ-5D", months=12, joint="hip")) == [True]
    with pytest.raises(ValueError, match=r"OHS at 6 months after total hip or knee replacement \(configured months: \[3, 12, 24, 36\]\)$"):
        pass_achieved([40], instrument="OHS", months=6)
    with pytest.raises(ValueError, match="no value for joint"):
        pass_achieved([0.95], instrument="EQ-5D", months=12, joint="knee")
    with pytest.raises(ValueError, match="higher is better"):
        pass_achieved([2], instrument="PAIN-NRS", months=12)
    with pytest.raises(ValueError, match="operation must be one of"):
        pass_achieved([30], instrument="OKS", months=12, operation="partial")


@pytest.mark.parametrize("months", [3, 12, 24])
def test_oks_pass_of_unicompartmental_knees_is_not_used_for_total_knees(months):
    """The OKS PASS at 3 / 12 / 24 months is from UKA (Harris et al.): a TKA has none."""
    with pytest.raises(ValueError) as info:
        pass_achieved([45], instrument="OKS", months=months, joint="knee")
    assert str(info.value) == (
        f"no acceptable-state (PASS) threshold for OKS at {months} months after total hip or knee replacement "
        "(configured months: [36]); configured for operation='unicompartmental' at [3, 12, 24] months"
    )
    assert _list(pass_achieved([45], instrument="OKS", months=months, operation="unicompartmental")) == [True]
    with pytest.raises(ValueError, match=r"OKS at 36 months after unicompartmental knee arthroplasty"):
        pass_achieved([45], instrument="OKS", months=36, operation="unicompartmental")


def test_oxford_band():
    got = oxford_band([0, 19.5, 20, 29.9, 30, 39.99, 40, 48, np.nan])
    assert _list(got) == [
        "severe", "severe", "moderate to severe", "moderate to severe",
        "mild to moderate", "mild to moderate", "satisfactory", "satisfactory", None,
    ]  # fmt: skip
    assert got.ordered


def test_oxford_band_out_of_range():
    with pytest.raises(ValueError) as info:
        oxford_band(np.array([49, 30, -1, 48.5]))
    assert str(info.value) == "oxford_band: 3 scores outside 0-48 points: position 0: 49; position 2: -1; position 3: 48.5"
    got = oxford_band([49, 30, -1, np.nan], errors="coerce")
    assert _list(got) == [None, "mild to moderate", None, None]
    with pytest.raises(ValueError, match="errors must be"):
        oxford_band([30], errors="ignore")


def test_settings_errors_name_file_and_key(tmp_path):
    text = (pipelines_dir() / "proms.yaml").read_text()
    bad = tmp_path / "proms.yaml"
    bad.write_text(text.replace("eq5d_value_set: dk_5l", "eq5d_value_set: uk_3l_tto"))
    with pytest.raises(ConfigError, match=r"proms.yaml: eq5d_value_set: .*scores EQ-5D-3L answers"):
        load_prom_settings(bad)
    bad.write_text(text.replace("eq5d_value_set: dk_5l", "eq5d_value_set: uk_5l"))
    with pytest.raises(ConfigError, match="unknown value set 'uk_5l'"):
        load_prom_settings(bad)
    bad.write_text(text + "\nunexpected: 1\n")
    with pytest.raises(ConfigError, match="unexpected: unknown key"):
        load_prom_settings(bad)
    bad.write_text(text.replace("  OHS: 8 ", "  HOOS: 8 "))
    with pytest.raises(ConfigError, match="unknown scores"):
        load_prom_settings(bad)
    bad.write_text(text.replace("{lower: 20,", "{lower: 50,"))
    with pytest.raises(ConfigError, match="oxford_bands"):
        load_prom_settings(bad)
    bad.write_text(text.replace("  unicompartmental:", "  partial:"))
    with pytest.raises(ConfigError, match=r"acceptable_state\.partial"):
        load_prom_settings(bad)
    bad.write_text(text.replace("      36: 37 ", "      HOOS: 37 "))
    with pytest.raises(ConfigError, match=r"acceptable_state\.total\.OKS"):
        load_prom_settings(bad)
