"""Scenario files: errors name the file, the key and the problem; includes compose."""

from __future__ import annotations

import textwrap

import pytest
from settlement_cohort import episode_frame

from vbhc.core.errors import ConfigError, InputError
from vbhc.settlement import load_scenario, parse_scenario, simulate


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "key", "problem"),
    [
        ("schemes:\n  - type: activity\n    tarif_share: 0.4\n", "schemes.0.activity.tarif_share", "unknown key"),
        ("schemes:\n  - type: activity\n    tariff_share: high\n", "schemes.0.activity.tariff_share", "valid number"),
        ("schemes:\n  - type: activity\n    tariff_share: 1.5\n", "schemes.0.activity.tariff_share", "less than or equal to 1"),
        ("schemes:\n  - type: activity\n", "schemes.0.activity.tariff_share", "required key is missing"),
        ("schemes:\n  - type: knaek\n", "schemes.0", "does not match any of the expected tags"),
        (
            "schemes:\n  - type: activity\n    tariff_share: 0.4\n    cap: {type: pool}\n",
            "schemes.0.activity.cap.pool.pool_dkk",
            "required key is missing",
        ),
        (
            "schemes:\n  - type: p4p_pool\n    pool: {amount_dkk: 1}\n    goals:\n"
            "      - {name: a, statistic: assumed, assumed_payout: 1, weight: 0.5}\n"
            "      - {name: b, statistic: assumed, assumed_payout: 1, weight: 0.4}\n",
            "schemes.0.p4p_pool",
            "weights sum to 0.9, not 1",
        ),
        (
            "schemes:\n  - type: p4p_pool\n    pool: {amount_dkk: 1, share_of_budget: 0.1}\n"
            "    goals: [{name: a, statistic: assumed, assumed_payout: 1, weight: 1}]\n",
            "schemes.0.p4p_pool.pool",
            "exactly one of",
        ),
        (
            "schemes:\n  - {type: bundled, name: x}\n  - {type: capitation, name: x}\n",
            "(top level)",
            "scheme names repeated ['x']",
        ),
        ("schemes:\n  - type: bundled\nbehaviour:\n  - {type: cherry_pick, size: 2}\n", "behaviour.0.cherry_pick.size", "less than or equal to 1"),
        ("schemes: []\n", "schemes", "at least one scheme"),
    ],
)
def test_scenario_errors_name_file_key_and_problem(tmp_path, body, key, problem):
    path = _write(tmp_path, "bad.yaml", "name: bad\n" + body)
    with pytest.raises(ConfigError) as err:
        load_scenario(path)
    message = str(err.value)
    assert str(path) in message and key in message and problem in message, message


def test_yaml_syntax_and_missing_files(tmp_path):
    with pytest.raises(ConfigError, match=r"bad.yaml: line 3, column 1: not valid YAML"):
        load_scenario(_write(tmp_path, "bad.yaml", "name: x\nschemes: [\n"))
    with pytest.raises(ConfigError, match="file not found"):
        load_scenario(tmp_path / "nothing.yaml")
    with pytest.raises(ConfigError, match=r"main.yaml: include.0: file not found: other.yaml"):
        load_scenario(_write(tmp_path, "main.yaml", "name: m\ninclude: [other.yaml]\n"))


def test_include_composes_schemes_and_reports_errors_in_the_included_file(tmp_path):
    _write(tmp_path, "a.yaml", "name: a\nschemes:\n  - {type: bundled, name: pay}\n")
    main = _write(tmp_path, "main.yaml", "name: m\ninclude: [a.yaml]\nschemes:\n  - {type: capitation, name: cap}\n")
    assert [s.label for s in load_scenario(main).schemes] == ["pay", "cap"]
    clash = _write(tmp_path, "clash.yaml", "name: m\ninclude: [a.yaml]\nschemes:\n  - {type: capitation, name: pay}\n")
    with pytest.raises(ConfigError, match=r"clash.yaml: \(top level\): .*scheme names repeated \['pay'\]"):
        load_scenario(clash)
    broken = _write(tmp_path, "broken.yaml", "name: b\nschemes:\n  - {type: bundled, colour: red}\n")
    outer = _write(tmp_path, "outer.yaml", "name: o\ninclude: [broken.yaml]\n")
    with pytest.raises(ConfigError, match=r"broken.yaml: schemes.0.bundled.colour: unknown key"):
        load_scenario(outer)
    loop = _write(tmp_path, "loop.yaml", "name: l\ninclude: [loop.yaml]\nschemes: [{type: bundled}]\n")
    with pytest.raises(ConfigError, match="includes itself"):
        load_scenario(loop)


def test_input_problems_name_the_scenario_and_column():
    one_year = episode_frame([{"hospital_id": "H1", "cost_1y_drg_tariff_dkk": 1.0}] * 3)
    activity = parse_scenario({"name": "a", "schemes": [{"type": "activity", "tariff_share": 0.4}]}, source="a.yaml")
    with pytest.raises(InputError, match=r"a.yaml: .*baseline.source: source 'previous_year' needs episodes of 2015"):
        simulate(activity, one_year, replicates=0)
    bundled = parse_scenario({"name": "b", "schemes": [{"type": "bundled"}]}, source="b.yaml")
    with pytest.raises(ConfigError, match=r"b.yaml: schemes.0.price_column: column .price_dkk. is missing: .*vbhc price.*--prices"):
        simulate(bundled, one_year, replicates=0)
    partial = one_year[["episode_id", "hospital_id"]].iloc[:2].assign(price_dkk=1.0)
    with pytest.raises(InputError, match="1 episode\\(s\\) of 2016 have no price"):
        simulate(bundled, one_year, partial, replicates=0)
    with pytest.raises(ConfigError, match=r"q: behaviour.0.events.0: column 'complication_90d' is not in the episodes"):
        simulate(parse_scenario({"name": "q", "schemes": [{"type": "bundled"}], "behaviour": [{"type": "quality_improvement", "size": 0.1}]}, source="q"),
                 one_year.drop(columns="complication_90d"), partial, replicates=0)  # fmt: skip
    with pytest.raises(InputError, match="year: no episodes in 2020"):
        simulate(parse_scenario({"name": "y", "year": 2020, "schemes": [{"type": "capitation"}]}), one_year, replicates=0)


def test_column_references_are_checked_before_running_with_file_and_key(tmp_path):
    eps = episode_frame([{"hospital_id": "H1", "cost_1y_drg_tariff_dkk": 1.0, "eq5d_gain_12m": 0.2}] * 6)
    prices = eps[["episode_id", "hospital_id"]].assign(price_dkk=1.0, warranty_dkk=0.0)
    _write(tmp_path, "p4p.yaml", """\
        name: p
        schemes:
          - type: bundled
          - type: p4p_pool
            pool: {per_goal_dkk: 1}
            goals:
              - {name: a, statistic: assumed, assumed_payout: 1}
              - {name: b, statistic: mean, column: eq5d_gain_24m, threshold: 0.1}
        """)
    main = _write(tmp_path, "main.yaml", "name: m\ninclude: [p4p.yaml]\nschemes: [{type: capitation, amount_dkk: 1}]\n")
    with pytest.raises(ConfigError, match=r"p4p.yaml: schemes.1.goals.1.column: column 'eq5d_gain_24m' is not in the episodes$"):
        simulate(load_scenario(main), eps, prices, replicates=0)
    cases = [
        ({"schemes": [{"type": "p4p_pool", "pool": {"per_goal_dkk": 1}, "goals": [{"name": "j", "statistic": "rate", "column": "joint", "threshold": 0.5}]}]},
         r"schemes.0.goals.0.column: column 'joint' is not a true/false column"),
        ({"schemes": [{"type": "activity", "tariff_share": 0.4, "exempt": [{"column": "ward", "eq": "ER"}]}]}, r"schemes.0.exempt.0.column: column 'ward'"),
        ({"schemes": [{"type": "capitation", "complication_column": "complication_1y"}]}, r"schemes.0.complication_column: column 'complication_1y'"),
        ({"schemes": [{"type": "outcome_contingent", "outcome_column": "mic_24m"}]}, r"schemes.0.outcome_column: column 'mic_24m'"),
        ({"schemes": [{"type": "bundled"}], "risk_column": "frailty"}, r"risk_column: column 'frailty'"),
        ({"schemes": [{"type": "bundled"}], "behaviour": [{"type": "cherry_pick", "size": 0.1, "risk_column": "frailty"}]},
         r"behaviour.0.risk_column: column 'frailty'"),
        ({"schemes": [{"type": "bundled", "require_warranty": True}]},
         r"schemes.0.require_warranty: the prices carry no warranty \(warranty_dkk is 0 for every episode\)"),
        ({"schemes": [{"type": "bundled"}], "cost_column": "actual_cost_dkk"},
         r"cost_column: column 'actual_cost_dkk' is missing: it comes from the prices of `vbhc price` \(pass --prices\)"),
    ]  # fmt: skip
    for body, problem in cases:
        with pytest.raises(ConfigError, match=r"^x.yaml: " + problem):
            simulate(parse_scenario({"name": "x", **body}, source="x.yaml"), eps, prices, replicates=0)


def test_include_inherits_top_level_keys_and_rejects_disagreement(tmp_path):
    _write(tmp_path, "a.yaml", "name: a\nvalidity_year: 2016\ncost_column: cost_1y_dkk\npool_scaling: {method: none}\n"
           "schemes: [{type: bundled, name: pay}]\nbehaviour: [{type: consolidate_visits, size: 0.1}]\n")  # fmt: skip
    _write(tmp_path, "b.yaml", "name: b\ncost_column: cost_2y_dkk\nschemes: [{type: capitation, name: cap}]\n")
    one = load_scenario(_write(tmp_path, "one.yaml", "name: one\ninclude: [a.yaml]\n"))
    assert (one.validity_year, one.cost_column, one.pool_scaling.method) == (2016, "cost_1y_dkk", "none")
    assert [b.type for b in one.behaviour] == ["consolidate_visits"]
    own = load_scenario(_write(tmp_path, "own.yaml", "name: own\ninclude: [a.yaml]\ncost_column: cost_1y_society_dkk\n"))
    assert own.cost_column == "cost_1y_society_dkk"  # the including file's own setting wins
    with pytest.raises(ConfigError, match=r"both.yaml: include: cost_column is 'cost_1y_dkk' in a.yaml but 'cost_2y_dkk' in b.yaml; set cost_column"):
        load_scenario(_write(tmp_path, "both.yaml", "name: both\ninclude: [a.yaml, b.yaml]\n"))
    assert load_scenario(_write(tmp_path, "set.yaml", "name: s\ninclude: [a.yaml, b.yaml]\ncost_column: cost_1y_dkk\n")).cost_column == "cost_1y_dkk"
