"""Small cells: primary and complementary suppression in the tables, and withheld units
kept out of the report's figures and tables, with n and the withheld count in the captions."""

from __future__ import annotations

import html as htmllib
import re

import numpy as np
import pandas as pd
from test_value_provider import tiny
from value_helpers import COMPLICATION, OXFORD, make_settings
from value_sim import simulate_registry

from vbhc.value import assess_value
from vbhc.value._report import value_report
from vbhc.value._suppression import complementary_suppression


def test_one_small_hospital_takes_a_complementary_one_with_it():
    """A (6), B (6), C (3): C alone withheld would follow from the nation minus A and B
    (3 x 30 = 15 x 30 - 6 x 35 - 6 x 25), so the smallest other hospital is withheld too."""
    ep, pred = tiny(small=1)
    pv = assess_value(ep, pred, make_settings(joints=["hip"])).provider_value
    for outcome in ("oxford_12m", "complication_90d"):
        hosp = pv[(pv["level"] == "hospital") & (pv["outcome"] == outcome)].set_index("unit_id")
        assert hosp["suppressed"].sum() == 2 and hosp.loc["C", "suppressed"], outcome
        hidden = hosp[hosp["suppressed"]]
        assert hidden[["observed", "expected", "adjusted", "shrunken"]].isna().all().all()
        assert hidden["n"].notna().all()  # counts are kept
        nation = pv[(pv["level"] == "nation") & (pv["outcome"] == outcome)].iloc[0]
        assert not nation["suppressed"]
    # With two small hospitals primary suppression is enough: A and B are shown.
    pv = assess_value(*tiny(), make_settings(joints=["hip"])).provider_value
    hosp = pv[(pv["level"] == "hospital") & (pv["outcome"] == "oxford_12m")].set_index("unit_id")
    assert hosp["suppressed"].to_dict() == {"A": False, "B": False, "C": True, "D": True}


def _frame(hospital: list[str], department: list[str], joint: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(0)
    n = len(hospital)
    ep = pd.DataFrame(
        {
            "episode_id": [f"E{i}" for i in range(n)],
            "joint": joint,
            "hospital_id": hospital,
            "department_id": department,
            "oxford_12m": rng.normal(35, 5, n),
            "complication_90d": pd.array(rng.random(n) < 0.2, dtype="boolean"),
        }
    )
    return ep, pd.DataFrame({"episode_id": ep["episode_id"], "pred_oxford_12m": 35.0, "pred_complication_90d": 0.2})


def _no_single_withheld(pv: pd.DataFrame) -> None:
    """No set of rows adding up to a shown total (a level's units per joint) has exactly one withheld row."""
    for key, grp in pv[pv["level"] != "nation"].groupby(["outcome", "level", "joint"]):
        assert grp["suppressed"].sum() != 1, key


def test_departments_within_hospitals():
    """Hospital H: departments H1 (3 patients) and H2 (20); G: G1 (30), G2 (25); K: K1 (40).
    H1 is withheld; the nation (or H) minus the other departments would give it, so H2, the
    smallest shown department, goes too; H1 + H2 = H cannot be split.  The hospitals stay."""
    dept = ["H1"] * 3 + ["H2"] * 20 + ["G1"] * 30 + ["G2"] * 25 + ["K1"] * 40
    ep, pred = _frame([d[0] for d in dept], dept, ["hip"] * len(dept))
    settings = make_settings(levels={"hospital": "hospital_id", "department": "department_id"}, joints=["hip"])
    pv = assess_value(ep, pred, settings).provider_value
    for _, grp in pv.groupby("outcome"):
        withheld = set(grp.loc[grp["suppressed"], "unit_id"])
        assert withheld == {"H1", "H2"}
    _no_single_withheld(pv)


def test_a_units_joints_within_its_pooled_row():
    """Hospitals A (40 hip, 3 knee), B (30, 30), C (25, 20), both joints pooled.  A's knee
    row is withheld; the knee rows' nation total would give it, so C's knee row (smallest)
    goes too; and since each unit's pooled row minus its hip row would give its knee row,
    A's and C's hip rows go as well.  The pooled rows stay: A's hip and knee cannot be split."""
    hosp = ["A"] * 43 + ["B"] * 60 + ["C"] * 45
    joint = ["hip"] * 40 + ["knee"] * 3 + ["hip"] * 30 + ["knee"] * 30 + ["hip"] * 25 + ["knee"] * 20
    ep, pred = _frame(hosp, hosp, joint)
    pv = assess_value(ep, pred, make_settings(pooled_joints=True)).provider_value
    for _, grp in pv[pv["level"] == "hospital"].groupby("outcome"):
        withheld = set(zip(grp.loc[grp["suppressed"], "unit_id"], grp.loc[grp["suppressed"], "joint"], strict=True))
        assert withheld == {("A", "hip"), ("A", "knee"), ("C", "hip"), ("C", "knee")}
    _no_single_withheld(pv)


def test_secondary_suppression_repeats_until_no_single_withheld_row():
    """Groups {0, 1, 2} and {2, 3}: row 0 withheld takes row 2 (smallest of 1, 2); that
    leaves row 2 alone in {2, 3}, so row 3 goes too."""
    counts = np.array([3, 50, 10, 40])
    groups = [(np.array([True, True, True, False]), [np.zeros(4)]), (np.array([False, False, True, True]), [np.zeros(4)])]
    out = complementary_suppression(counts, np.array([True, False, False, False]), groups)
    assert out.tolist() == [True, False, True, True]


def _rows_of(html: str, unit: str) -> list[list[str]]:
    rows = re.findall(r"<tr>(.*?)</tr>", html, flags=re.S)
    return [re.findall(r"<td>(.*?)</td>", r, flags=re.S) for r in rows if f"<td>{unit}</td>" in r]


def test_report_withholds_small_units_and_says_how_many():
    ep, pred, _ = simulate_registry(1500, 10, seed=3)
    hip = ep.index[(ep["joint"] == "hip").to_numpy()][:3]
    ep.loc[hip, "hospital_id"] = "HSMALL"  # a hospital with 3 hip patients
    outcomes = [
        OXFORD,
        COMPLICATION,
        {"name": "oxford_change_12m", "type": "continuous", "prom": True, "prediction": "pred_oxford_12m",
         "prediction_minus": "oxford_pre"},
        {"name": "cost_1y_dkk", "type": "continuous", "higher_is_better": False},
    ]  # fmt: skip
    settings = make_settings(outcomes=outcomes, pooled_joints=True, value={"outcome": "oxford_change_12m"})
    result = assess_value(ep, pred, settings)
    html = value_report(result, settings)
    assert "HSMALL" in set(result.provider_value["unit_id"])
    # Tables: the small hospital's rows keep its id and n, every figure is a withheld marker.
    rows = _rows_of(html, "HSMALL")
    assert len(rows) >= 4  # PROM table, value table, tier tables
    for cells in rows:
        for cell in cells:
            assert cell in {"hospital", "hip", "all", "HSMALL", "oxford_change_12m"} or re.fullmatch(r"[0-3]", cell) or (
                'class="suppressed"' in cell or cell == "withheld"
            ), cells
    # Figures: every panel draws the shown hospitals only and its caption says n and the withheld count.
    pv = result.provider_value
    for outcome in ("oxford_12m", "complication_90d"):
        for joint in ("hip", "knee"):
            units = pv[(pv["outcome"] == outcome) & (pv["joint"] == joint) & (pv["level"] == "hospital")]
            shown = units[~units["suppressed"]]
            if joint == "hip":  # the small hospital and at least one complementary one
                assert units.set_index("unit_id").loc["HSMALL", "suppressed"] and units["suppressed"].sum() >= 2
            title = f"{joint}: {len(shown)} hospitals, n = {int(shown['n'].sum()):,}"
            assert html.count(title) >= 2, title  # funnel and caterpillar panels
            caption = (
                f"{joint}: {len(shown)} hospitals drawn, n = {int(shown['n'].sum()):,} patients; "
                f"{int(units['suppressed'].sum())} hospitals withheld"
            )
            assert htmllib.escape(caption) in html or caption in html, caption
    v = result.value[(result.value["level"] == "hospital") & (result.value["joint"] == "hip")]
    matrix = f"hip: {int((~v['suppressed']).sum())} hospitals drawn, n = {int(v.loc[~v['suppressed'], 'n_episodes'].sum()):,}"
    assert matrix in html
    assert int(v["suppressed"].sum()) >= 1
