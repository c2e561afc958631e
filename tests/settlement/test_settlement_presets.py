"""The presets reproduce the seeds' parameters (seeds-digest §3.1, §3.3, §3.6) and run."""

from __future__ import annotations

import re

import pytest
from settlement_cohort import synthetic_episodes, synthetic_prices

from vbhc.core.errors import InputError
from vbhc.settlement import list_presets, load_scenario, presets_dir, simulate

REGIONS = {"hovedstaden": 1084, "sjaelland": 1085, "syddanmark": 1083, "midtjylland": 1082, "nordjylland": 1081}
YEARS = (2014, 2015, 2016)

# (tariff share up to baseline, rate above baseline, settlement level, pool cap in DKK or None,
#  approved over-activity pool in DKK or None)
ACTIVITY = {
    # over-activity not paid as a rule; an approved pool, off by default (004:774-839)
    ("hovedstaden", 2014): (0.50, 0.0, "hospital", None, 120_000_000),
    ("hovedstaden", 2015): (0.50, 0.0, "hospital", None, 188_300_000),
    ("hovedstaden", 2016): (0.50, 0.0, "hospital", None, 140_000_000),
    ("sjaelland", 2014): (0.70, 0.40, "hospital", None, None),  # 004:902-942, grant 30 %
    ("sjaelland", 2015): (0.70, 0.40, "hospital", None, None),
    ("syddanmark", 2014): (0.55, 0.55, "hospital", None, None),  # 004:1050-1056, no cap
    ("syddanmark", 2015): (0.55, 0.55, "hospital", None, None),  # 004:1186-1222
    ("syddanmark", 2016): (0.55, 0.55, "hospital", None, None),
    # 50 %/0 %, approved projects ~20-40 mio. kr. (004:1336-1341, 1834-1848; digest §7 D25)
    ("midtjylland", 2014): (0.50, 0.0, "hospital", None, 30_000_000),
    ("midtjylland", 2015): (0.50, 0.0, "hospital", None, 30_000_000),
    ("midtjylland", 2016): (0.50, 0.0, "hospital", None, 30_000_000),
    ("nordjylland", 2014): (0.40, 0.50, "department", 9_300_000, None),  # 004:1489-1533
    ("nordjylland", 2015): (0.40, 0.50, "department", 9_400_000, None),
    ("nordjylland", 2016): (0.40, 0.40, "hospital", 11_000_000, None),  # 004:1443-1457
}


def _schemes(scenario):
    return {s.type: s for s in scenario.schemes}


def test_every_region_and_year_has_a_preset():
    names = set(list_presets())
    assert {f"{r}-{y}" for r in REGIONS for y in YEARS} <= names
    assert {"bundled-warranty", "bundled-p4p", "outcome-contingent", "outcome-oe", "denmark-2016"} <= names


@pytest.mark.parametrize(("region", "year"), [(r, y) for r in REGIONS for y in YEARS])
def test_preset_parameters_match_the_seeds(region, year):
    s = load_scenario(f"{region}-{year}")
    assert s.validity_year == year
    schemes = _schemes(s)
    assert all(x.regions == [REGIONS[region]] for x in s.schemes)
    if (region, year) in ACTIVITY:
        tariff, above, level, pool, approved = ACTIVITY[(region, year)]
        a = schemes["activity"]
        assert (a.tariff_share, a.above_baseline_rate, a.level) == (tariff, above, level)
        assert a.baseline.source == "previous_year" and a.baseline.productivity_requirement == 0.02  # 004:648-652
        assert a.budget is not None and a.budget.change == 0.0  # 000:40-46: more activity for the same money
        assert (a.cap.pool_dkk if a.cap is not None else None) == pool
        assert (a.approved_pool.pool_dkk if a.approved_pool is not None else None) == approved
        if approved is not None:  # the pool is an explicit option, off by default: nothing paid above baseline
            assert not a.approved_pool.enabled and a.over_activity == (0.0, None)
        assert a.grant == pytest.approx(0.30 if region == "sjaelland" else 1 - tariff)
        # implicit defaults are written out (with their source or "default, not in the seeds")
        assert {"grant_share", "deduction_rate", "budget", "level"} <= a.model_fields_set
    else:  # Sjælland 2016: activity budget without mechanical sanctions (004:861-875, 958-1020)
        assert "activity" not in schemes and schemes["frame_budget"].targets == []
    state, municipal = schemes["state_pool"], schemes["municipal_cofinancing"]
    assert (state.rate, state.baseline.productivity_requirement, state.a_conto_rate) == (0.40, 0.02, 0.012)  # 004:634-658
    assert (municipal.inpatient_share, municipal.cap_per_admission_dkk) == (0.34, 14_811)  # 004:660-668


def test_bonus_pools_match_the_seeds():
    for year, amount in ((2014, 3_100_000), (2015, 3_100_000), (2016, 1_600_000)):  # 004:1459-1471, 1527-1529
        assert _schemes(load_scenario(f"nordjylland-{year}"))["p4p_pool"].pool.amount_dkk == amount
    for year in YEARS:  # Værdi for borgeren: 1.5 % of budgets (004:851-859)
        p4p = _schemes(load_scenario(f"sjaelland-{year}"))["p4p_pool"]
        assert p4p.pool.share_of_budget == 0.015 and p4p.withhold
    weights = {g.name: g.weight for g in _schemes(load_scenario("sjaelland-2016"))["p4p_pool"].goals}
    assert weights == {"cancer_packages": 0.25, "diagnosis_treatment_rights": 0.75}  # 004:3051-3059


SOURCE = re.compile(r"#.*(\d{3}:\d+|assumption|default, not in the seeds)")
UNCITED_KEYS = {"name", "type", "description"}


def test_every_parameter_cites_its_source():
    """Every parameter of a preset's schemes (numbers, booleans, words, lists) carries the
    seed line it comes from, or says it is an assumption or a default not in the seeds."""
    checked = 0
    for path in sorted((presets_dir() / "presets").glob("*.yaml")):
        in_schemes = False
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.startswith("schemes:"):
                in_schemes = True
                continue
            m = re.match(r"^\s+(?:- )?([a-z_]+): (?!#)(\S.*)$", line)
            if not in_schemes or not m or m.group(1) in UNCITED_KEYS:
                continue
            checked += 1
            assert SOURCE.search(line), f"{path.name}:{number}: no source: {line.strip()}"
    assert checked > 15 * 15  # regions, levels, flags and sources are checked, not only numbers


def test_presets_and_alternatives_run_side_by_side():
    eps = synthetic_episodes(n_hospitals=10, per_hospital=25, years=(2013, 2014, 2015, 2016), seed=5)
    prices = synthetic_prices(eps[eps["operation_year"] == 2016])
    names = ["denmark-2016", "bundled-warranty", "bundled-p4p", "outcome-contingent"]
    names += [f"{r}-{y}" for r in REGIONS for y in YEARS]
    scenarios = [load_scenario(n) for n in names]
    res = simulate(scenarios, eps, prices, replicates=0)
    national = res.summary(level="national", metric="payment_dkk", scheme="total").set_index("scenario")
    assert set(national.index) == set(names)
    assert (national["estimate"] > 0).all()
    # the national preset pays each hospital under its own region's scheme
    today = res.payments[(res.payments["scenario"] == "denmark-2016") & (res.payments["scheme"] != "total")]
    for scheme, group in today.groupby("scheme"):
        region = scheme.split("-")[0]
        assert set(group["region"]) == {REGIONS[region]}
    assert res.payments.query("scenario == 'denmark-2016' and scheme == 'total'")["hospital_id"].nunique() == 10


def test_a_preset_on_one_region_needs_its_pool_share(tmp_path):
    eps = synthetic_episodes(n_hospitals=3, per_hospital=30, regions=(1081,), seed=8)
    with pytest.raises(InputError, match=r"nordjylland-2016.yaml: pool_scaling: .*all five regions.*give pool_scaling"):
        simulate(load_scenario("nordjylland-2016"), eps, replicates=0)
    wrapper = tmp_path / "nordjylland-only.yaml"
    preset = presets_dir() / "presets" / "nordjylland-2016.yaml"
    wrapper.write_text(f"name: nordjylland-only\ninclude: [{preset}]\npool_scaling: {{method: share, share: 0.03}}\n")
    scenario = load_scenario(wrapper)
    assert scenario.validity_year == 2016 and scenario.pool_scaling.share == 0.03  # inherited and own keys
    pay = simulate(scenario, eps, replicates=0).payments
    bonus = pay.query("scheme == 'nordjylland-result-goals'")["bonus_dkk"].sum()
    assert bonus == pytest.approx(0.03 * 1_600_000)  # the discharge-letter pool scaled to the cohort
