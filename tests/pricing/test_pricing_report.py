"""The pricing report: withheld hospitals and cells are not shown; captions say n and how many were withheld."""

from __future__ import annotations

import re

from pricing_helpers import QUALITY, pricing

from vbhc.pricing import price_episodes
from vbhc.pricing._report import pricing_report


def test_small_hospital_is_withheld_from_figures_and_tables(priced_registry):
    ep, pred = priced_registry
    ep = ep.copy()
    ep.loc[ep.index[:3], "hospital_id"] = "HSMALL"  # 3 episodes
    settings = pricing(quality=QUALITY, warranty={"enabled": True})
    res = price_episodes(ep, pred, settings)
    html = pricing_report(res, settings)
    pay = res.provider_payments
    assert pay.set_index("hospital_id").loc["HSMALL", "suppressed"] and pay["suppressed"].sum() == 2
    rows = [r for r in re.findall(r"<tr>(.*?)</tr>", html, flags=re.S) if "<td>HSMALL</td>" in r]
    assert len(rows) == 2  # payments and quality tables
    for row in rows:
        for cell in re.findall(r"<td>(.*?)</td>", row, flags=re.S):
            assert cell in ("HSMALL", "3") or 'class="suppressed"' in cell, cell
    shown = pay[~pay["suppressed"]]
    n = int(shown["n_episodes"].sum())
    assert f"{len(shown)} hospitals, n = {n:,} episodes" in html  # the margin figure's title
    assert f"{len(shown)} hospitals drawn, n = {n:,} episodes; 2 hospitals withheld" in html
    # Base prices per cell with their n.
    for cell in res.summary["cells"]:
        assert f"<td>{cell['cell']}</td><td>{cell['n_episodes']:,}</td>" in html
    assert f"n = {len(ep):,} episodes drawn; deciles with fewer than 5 episodes withheld (0)" in html
