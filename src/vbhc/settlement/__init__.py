"""Settlement simulator (``vbhc simulate``): today's Danish DRG schemes, bundled and
value-based payment, and behaviour changes, side by side.

Load a scenario (``load_scenario``: a YAML file of composable schemes and behaviour
changes, or a shipped preset such as ``nordjylland-2016``), run it on an episodes
DataFrame (``simulate``), and read the :class:`SimulationResult`: payments per
scenario, scheme, hospital and bootstrap replicate, ``summary()`` with 90 % intervals,
marginal incentives, ``plot()`` and an HTML report.  Formulas: ``docs/settlement.md``.
"""

from vbhc.settlement._behaviour import (
    apply_behaviour,
    apply_behaviours,
    case_mix_score,
    drg_creep_check,
    risk_score,
)
from vbhc.settlement._result import SUMMARY_METRICS, SimulationResult, summarise
from vbhc.settlement._scenario import (
    REGION_NAMES,
    Scenario,
    list_presets,
    load_scenario,
    parse_scenario,
    presets_dir,
)
from vbhc.settlement._schemes import Components, settle
from vbhc.settlement._simulate import PAYMENT_COLUMNS, marginal_incentives, merge_prices, prepare_data, simulate

__all__ = [
    "PAYMENT_COLUMNS",
    "REGION_NAMES",
    "SUMMARY_METRICS",
    "Components",
    "Scenario",
    "SimulationResult",
    "apply_behaviour",
    "apply_behaviours",
    "case_mix_score",
    "drg_creep_check",
    "list_presets",
    "load_scenario",
    "marginal_incentives",
    "merge_prices",
    "parse_scenario",
    "prepare_data",
    "presets_dir",
    "risk_score",
    "settle",
    "simulate",
    "summarise",
]
