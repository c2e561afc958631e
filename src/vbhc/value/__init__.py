"""Risk-adjusted provider value (``vbhc value``).

Turns observed outcomes and case-mix predictions into fair comparisons of hospitals,
departments and regions: indirectly standardised outcomes with intervals, funnel-plot
flags (Spiegelhalter limits with overdispersion), empirical-Bayes shrunken estimates,
PROM response rates, and value (risk-adjusted outcome per risk-adjusted cost, QALYs,
cost per QALY) with Porter's three outcome tiers.  Methods: ``docs/value-and-pricing.md``.
"""

from vbhc.value._config import OutcomeSpec, ValueSettings, load_value_settings
from vbhc.value._funnel import Funnel, fit_funnel, poisson_ratio_ci, z_scores
from vbhc.value._inputs import check_predictions, read_predictions
from vbhc.value._shrinkage import RandomIntercept, fit_random_intercept
from vbhc.value._value import ValueResult, assess_value, qaly_gain

__all__ = [
    "Funnel",
    "OutcomeSpec",
    "RandomIntercept",
    "ValueResult",
    "ValueSettings",
    "assess_value",
    "check_predictions",
    "fit_funnel",
    "fit_random_intercept",
    "load_value_settings",
    "poisson_ratio_ci",
    "qaly_gain",
    "read_predictions",
    "z_scores",
]
