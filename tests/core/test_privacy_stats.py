from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from vbhc.core import mean_ci, pseudonymise, suppress_small_cells, wilson_ci


def test_pseudonymise_is_keyed_stable_and_keeps_missing():
    a = pseudonymise(["0101501234", "0101501234", None, "0202602345"], b"secret")
    assert a[0] == a[1] != a[3]
    assert a[2] is None
    assert len(a[0]) == 16 and "0101501234" not in a[0]
    b = pseudonymise(["0101501234"], b"other key")
    assert b[0] != a[0]
    with pytest.raises(ValueError):
        pseudonymise(["x"], b"")


def test_suppress_small_cells_withholds_values_not_counts():
    df = pd.DataFrame({"unit": ["a", "b"], "n": [4, 30], "rate": [0.25, 0.1]})
    out = suppress_small_cells(df)
    assert out["suppressed"].tolist() == [True, False]
    assert np.isnan(out.loc[0, "rate"]) and out.loc[1, "rate"] == 0.1
    assert out["n"].tolist() == [4, 30]


def test_wilson_matches_statsmodels():
    k = np.array([0, 6, 50, 127])
    n = np.array([10, 127, 100, 127])
    lo, hi = wilson_ci(k, n)
    ref_lo, ref_hi = proportion_confint(k, n, method="wilson")
    np.testing.assert_allclose(lo, ref_lo, atol=1e-12)
    np.testing.assert_allclose(hi, ref_hi, atol=1e-12)
    lo0, hi0 = wilson_ci(0, 0)
    assert np.isnan(lo0) and np.isnan(hi0)


def test_mean_ci_t_interval():
    m, lo, hi = mean_ci(np.array([1.0, 2.0, 3.0, np.nan]))
    assert m == 2.0
    assert lo == pytest.approx(2 - 4.302652729911275 * 1 / np.sqrt(3))
    assert hi == pytest.approx(2 + 4.302652729911275 * 1 / np.sqrt(3))
