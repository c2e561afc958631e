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


def test_mic_oxford_thresholds():
    assert _list(mic_achieved([10, 10, 10, np.nan], [17.9, 18, 40, 40], instrument="OHS")) == [False, True, True, None]
    assert _list(mic_achieved([10, 10], [16.9, 17], instrument="OKS")) == [False, True]


def test_mic_by_joint():
    pre, post = [0.3, 0.3], [0.5, 0.5]  # gain 0.2: above the knee MCID 0.085, below the hip MCII 0.31
    assert _list(mic_achieved(pre, post, instrument="EQ-5D", joint=["knee", "hip"])) == [True, False]
    assert _list(mic_achieved(pre, post, instrument="EQ-5D-5L", joint="knee")) == [True, True]
    assert _list(mic_achieved([50], [57], instrument="EQ-VAS", joint="knee")) == [True]
    with pytest.raises(ValueError, match="differs by joint"):
        mic_achieved(pre, post, instrument="EQ-5D")
    with pytest.raises(ValueError, match="no value for joint"):
        mic_achieved(pre, post, instrument="EQ-5D", joint="shoulder")
    with pytest.raises(ValueError, match="no minimal important change configured for 'PAIN-NRS'"):
        mic_achieved([5], [1], instrument="PAIN-NRS")


def test_thresholds_come_from_settings():
    settings = load_prom_settings().model_copy(update={"minimal_important_change": {"OHS": 12.0}})
    assert _list(mic_achieved([10], [20], instrument="OHS", settings=settings)) == [False]
    assert _list(mic_achieved([10], [20], instrument="OHS")) == [True]


def test_pass():
    assert _list(pass_achieved([39.5, 40, np.nan], instrument="OHS", months=12)) == [False, True, None]
    assert _list(pass_achieved([41], instrument="OHS", months=36)) == [False]
    assert _list(pass_achieved([0.95], instrument="EQ-5D", months=12, joint="hip")) == [True]
    with pytest.raises(ValueError, match=r"at 6 months \(configured: \[3, 12, 24, 36\]\)"):
        pass_achieved([40], instrument="OHS", months=6)
    with pytest.raises(ValueError, match="no value for joint"):
        pass_achieved([0.95], instrument="EQ-5D", months=12, joint="knee")
    with pytest.raises(ValueError, match="higher is better"):
        pass_achieved([2], instrument="PAIN-NRS", months=12)


def test_oxford_band():
    got = oxford_band([0, 19.5, 20, 29.9, 30, 39.99, 40, 48, np.nan])
    assert _list(got) == [
        "severe", "severe", "moderate to severe", "moderate to severe",
        "mild to moderate", "mild to moderate", "satisfactory", "satisfactory", None,
    ]  # fmt: skip
    assert got.ordered


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
